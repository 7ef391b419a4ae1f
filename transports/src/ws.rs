//! WebSocket through `tungstenite`: binary messages carry protobuf envelopes, text messages the
//! canonical JSON ones, one envelope per message; the manager's side follows the plugin's first
//! frame (seed 7.1.2 `set_use_text_format`).
//!
//! The listener binds loopback addresses only, refuses upgrade requests whose `Origin` is not on
//! its allow-list (so a web page in a browser cannot drive a plugin session on localhost; tools
//! that send no `Origin` are let in), refuses `Origin: null` always (it is what a sandboxed
//! frame, a `file://` page or a `data:` URL sends: allowing it would allow every one of them),
//! refuses a `Host` that is not a loopback name with this port (a DNS-rebinding page reaches
//! 127.0.0.1 under its own name), and enforces a maximum message size.

use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use async_io::Async;
use async_tungstenite::WebSocketStream;
use futures_lite::Stream;
use futures_util::Sink;
use logi_plugin_core::codec::frame::DEFAULT_MAX_FRAME_LEN;
use logi_plugin_core::session::{Format, Frame, Wire};
use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::client::Request;
use tungstenite::handshake::server::{ErrorResponse, Response};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Error as WsError, Message};

use crate::transport::{Received, Transport};

/// How long a client has to complete its WebSocket upgrade, from its connection on: a slow or
/// silent one holds a descriptor no longer.
pub const UPGRADE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The largest message a side accepts by default: the core's frame limit.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = DEFAULT_MAX_FRAME_LEN;

/// How a WebSocket listener admits connections.
#[derive(Clone, Debug)]
pub struct WsOptions {
    /// `Origin` values allowed to connect (exact match, e.g. `http://localhost:3000`). A request
    /// with no `Origin` comes from a program, not a browser page, and is always let in; one with
    /// `Origin: null` never is, even if listed.
    pub allowed_origins: Vec<String>,
    /// The largest message accepted; a peer sending more is disconnected.
    pub max_message_size: usize,
    /// The owner's own check of an upgrade request that passed the `Host` and `Origin` checks
    /// (a credential, say); `None` admits every one.
    pub admit: Option<Admission>,
}

impl Default for WsOptions {
    fn default() -> Self {
        WsOptions {
            allowed_origins: Vec::new(),
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            admit: None,
        }
    }
}

/// An upgrade request as [`Admission`] sees it.
pub type UpgradeRequest = tungstenite::handshake::server::Request;

/// Why [`Admission`] refused an upgrade: the HTTP status it is answered with, and the reason,
/// sent as the answer's body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The status, e.g. 401.
    pub status: u16,
    /// What was wrong, for the peer.
    pub reason: String,
}

/// The function an [`Admission`] asks.
type Check = dyn Fn(&UpgradeRequest) -> Result<(), Refusal> + Send + Sync;

/// A check the listener's owner makes of each upgrade request, after the listener's own.
#[derive(Clone)]
pub struct Admission(Arc<Check>);

impl Admission {
    /// An admission that asks `check`.
    pub fn new(
        check: impl Fn(&UpgradeRequest) -> Result<(), Refusal> + Send + Sync + 'static,
    ) -> Admission {
        Admission(Arc::new(check))
    }
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Admission")
    }
}

/// Why a WebSocket could not be bound, accepted or connected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WsListenError {
    /// The address is not a loopback address.
    #[error("refusing to listen on {0}: the WebSocket listener binds loopback addresses only")]
    NotLoopback(SocketAddr),
    /// The socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: io::Error,
    },
    /// The upgrade came from a browser page whose origin is not allowed.
    #[error("refused a WebSocket upgrade from origin {0:?}: not on the allow-list")]
    OriginRefused(String),
    /// The upgrade named a `Host` that is not a loopback name with the listener's port.
    #[error("refused a WebSocket upgrade for Host {0:?}: not a loopback name with this port")]
    HostRefused(String),
    /// The owner's [`Admission`] refused the upgrade.
    #[error("refused a WebSocket upgrade ({}): {}", .0.status, .0.reason)]
    NotAdmitted(Refusal),
    /// The upgrade failed.
    #[error("WebSocket handshake failed: {0}")]
    Handshake(#[from] WsError),
    /// Connecting failed.
    #[error("cannot connect to {url}: {source}")]
    Connect {
        /// Where to.
        url: String,
        /// The OS error.
        source: io::Error,
    },
}

/// The names a loopback listener answers to in a `Host` header.
pub const LOOPBACK_NAMES: [&str; 3] = ["127.0.0.1", "localhost", "[::1]"];

/// Whether `host` (a `Host` header) is a loopback name with `port`; the port may be left out
/// only for port 80, as HTTP clients do.
pub fn is_loopback_host(host: &str, port: u16) -> bool {
    LOOPBACK_NAMES.iter().any(|name| {
        host.eq_ignore_ascii_case(&format!("{name}:{port}"))
            || (port == 80 && host.eq_ignore_ascii_case(name))
    })
}

/// A WebSocket listener on a loopback address.
#[derive(Debug)]
pub struct WsListener {
    listener: Async<TcpListener>,
    options: Arc<WsOptions>,
}

impl WsListener {
    /// Listens on `addr`, which must be a loopback address (port 0 picks a free port).
    pub fn bind(addr: SocketAddr, options: WsOptions) -> Result<WsListener, WsListenError> {
        if !addr.ip().is_loopback() {
            return Err(WsListenError::NotLoopback(addr));
        }
        let listener = Async::<TcpListener>::bind(addr)
            .map_err(|source| WsListenError::Bind { addr, source })?;
        Ok(WsListener {
            listener,
            options: Arc::new(options),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.get_ref().local_addr()
    }

    /// Waits for the next TCP connection; its WebSocket upgrade is [`WsIncoming::upgrade`]'s
    /// job, so that a slow client holds up nobody else.
    pub async fn accept(&self) -> io::Result<WsIncoming> {
        let (stream, _) = self.listener.accept().await?;
        stream.get_ref().set_nodelay(true)?;
        let port = stream.get_ref().local_addr()?.port();
        Ok(WsIncoming {
            stream,
            port,
            options: self.options.clone(),
        })
    }
}

/// A TCP connection waiting for its WebSocket upgrade.
#[derive(Debug)]
pub struct WsIncoming {
    stream: Async<TcpStream>,
    /// The listener's port, which the `Host` header must name.
    port: u16,
    options: Arc<WsOptions>,
}

impl WsIncoming {
    /// Completes the upgrade, checking the `Origin`: a transport whose session follows the
    /// plugin's first frame (binary or text).
    pub async fn upgrade(self) -> Result<WsTransport<Async<TcpStream>>, WsListenError> {
        let ws = self.upgrade_stream().await?;
        Ok(WsTransport::new(
            ws,
            Wire::Messages {
                format: Format::FollowPeer,
            },
        ))
    }

    /// Completes the upgrade with the same `Origin` check, size limit and time limit
    /// ([`UPGRADE_TIMEOUT`]), for a protocol that is not the Envelope one (the marketplace's
    /// text lines): the WebSocket itself.
    // The refusal's type is tungstenite's callback contract.
    #[allow(clippy::result_large_err)]
    pub async fn upgrade_stream(self) -> Result<WebSocketStream<Async<TcpStream>>, WsListenError> {
        let refused = Arc::new(Mutex::new(None));
        let check = {
            let refused = refused.clone();
            let allowed = self.options.clone();
            let port = self.port;
            move |request: &tungstenite::handshake::server::Request, response: Response| {
                let header = |name| {
                    let value = request.headers().get(name)?;
                    Some(String::from_utf8_lossy(value.as_bytes()).into_owned())
                };
                let host = header("host").unwrap_or_default();
                let forbidden = |what| (tungstenite::http::StatusCode::FORBIDDEN, what);
                let refusal = if !is_loopback_host(&host, port) {
                    let what = format!("Host {host:?} is not a loopback name with port {port}");
                    (forbidden(what), WsListenError::HostRefused(host))
                } else {
                    match header("origin") {
                        Some(origin)
                            if origin == "null" || !allowed.allowed_origins.contains(&origin) =>
                        {
                            let what = format!("origin {origin} may not connect here");
                            (forbidden(what), WsListenError::OriginRefused(origin))
                        }
                        _ => match allowed.admit.as_ref().map(|admit| (admit.0)(request)) {
                            None | Some(Ok(())) => return Ok(response),
                            Some(Err(refusal)) => {
                                let status =
                                    tungstenite::http::StatusCode::from_u16(refusal.status)
                                        .unwrap_or(tungstenite::http::StatusCode::FORBIDDEN);
                                let what = (status, refusal.reason.clone());
                                (what, WsListenError::NotAdmitted(refusal))
                            }
                        },
                    }
                };
                let ((status, what), error) = refusal;
                let mut answer = ErrorResponse::new(Some(what));
                *answer.status_mut() = status;
                *refused.lock().unwrap_or_else(|p| p.into_inner()) = Some(error);
                Err(answer)
            }
        };
        let config = config(self.options.max_message_size);
        let handshake =
            async_tungstenite::accept_hdr_async_with_config(self.stream, check, Some(config));
        let late = async {
            async_io::Timer::after(UPGRADE_TIMEOUT).await;
            Err(WsError::Io(io::ErrorKind::TimedOut.into()))
        };
        match futures_lite::future::or(handshake, late).await {
            Ok(ws) => Ok(ws),
            Err(error) => {
                let refusal = refused.lock().unwrap_or_else(|p| p.into_inner()).take();
                Err(refusal.unwrap_or(WsListenError::Handshake(error)))
            }
        }
    }
}

/// How much one read of the socket asks for. tungstenite zeroes this much of its buffer before
/// every read, including the reads that find nothing (a driver looks for input several times a
/// message): its default of 128 KiB made that zeroing 9% of a round trip's CPU. A larger
/// message takes a few reads.
pub const READ_BUFFER_SIZE: usize = 16 * 1024;

fn config(max_message_size: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(max_message_size))
        .max_frame_size(Some(max_message_size))
        .read_buffer_size(READ_BUFFER_SIZE)
}

/// Connects to a `ws://` URL, speaking `format` (binary protobuf or JSON text).
pub async fn connect_ws(
    url: &str,
    format: Format,
) -> Result<WsTransport<Async<TcpStream>>, WsListenError> {
    let request = url.into_client_request()?;
    connect_ws_request(request, format, DEFAULT_MAX_MESSAGE_SIZE).await
}

/// Connects with a prepared upgrade request (extra headers, such as an `Origin`).
pub async fn connect_ws_request(
    request: Request,
    format: Format,
    max_message_size: usize,
) -> Result<WsTransport<Async<TcpStream>>, WsListenError> {
    let url = request.uri().to_string();
    let connect_error = |source| WsListenError::Connect {
        url: url.clone(),
        source,
    };
    let host = request.uri().host().unwrap_or("localhost").to_string();
    let port = request.uri().port_u16().unwrap_or(80);
    let addr = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(connect_error)?
        .next()
        .ok_or_else(|| connect_error(io::ErrorKind::NotFound.into()))?;
    let stream = Async::<TcpStream>::connect(addr)
        .await
        .map_err(connect_error)?;
    stream.get_ref().set_nodelay(true).map_err(connect_error)?;
    let (ws, _) = async_tungstenite::client_async_with_config(
        request,
        stream,
        Some(config(max_message_size)),
    )
    .await?;
    Ok(WsTransport::new(ws, Wire::Messages { format }))
}

/// A WebSocket connection as a [`Transport`]: one envelope per message.
pub struct WsTransport<S> {
    ws: WebSocketStream<S>,
    wire: Wire,
    queued: VecDeque<Message>,
    queued_bytes: usize,
}

impl<S> std::fmt::Debug for WsTransport<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsTransport")
            .field("wire", &self.wire)
            .field("queued_bytes", &self.queued_bytes)
            .finish_non_exhaustive()
    }
}

impl<S> WsTransport<S> {
    fn new(ws: WebSocketStream<S>, wire: Wire) -> WsTransport<S> {
        WsTransport {
            ws,
            wire,
            queued: VecDeque::new(),
            queued_bytes: 0,
        }
    }
}

impl<S> Transport for WsTransport<S>
where
    S: futures_lite::AsyncRead + futures_lite::AsyncWrite + Unpin + Send,
{
    fn wire(&self) -> Wire {
        self.wire
    }

    fn poll_receive(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Received<'_>>> {
        loop {
            let message = match ready!(Pin::new(&mut self.ws).poll_next(cx)) {
                None => return Poll::Ready(Ok(Received::End)),
                Some(Err(error)) => return Poll::Ready(Err(io::Error::other(error))),
                Some(Ok(message)) => message,
            };
            return Poll::Ready(Ok(match message {
                Message::Binary(bytes) => Received::Frame(Frame::Binary(bytes)),
                Message::Text(text) => Received::Frame(Frame::Text(text.as_str().to_owned())),
                Message::Close(_) => Received::End,
                // Answered by tungstenite itself (on the next flush); nothing for the session.
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
            }));
        }
    }

    fn queue(&mut self, frame: Frame) {
        self.queued_bytes += frame.as_bytes().len();
        self.queued.push_back(match frame {
            Frame::Binary(bytes) => Message::Binary(bytes),
            Frame::Text(text) => Message::Text(text.into()),
        });
    }

    fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.queued.is_empty() {
            ready!(Pin::new(&mut self.ws).poll_ready(cx)).map_err(io::Error::other)?;
            if let Some(message) = self.queued.pop_front() {
                self.queued_bytes -= message.len();
                Pin::new(&mut self.ws)
                    .start_send(message)
                    .map_err(io::Error::other)?;
            }
        }
        Pin::new(&mut self.ws)
            .poll_flush(cx)
            .map_err(io::Error::other)
    }

    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_flush(cx))?;
        match ready!(Pin::new(&mut self.ws).poll_close(cx)) {
            Ok(()) | Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => Poll::Ready(Ok(())),
            Err(error) => Poll::Ready(Err(io::Error::other(error))),
        }
    }
}
