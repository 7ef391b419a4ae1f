//! Keeping a connection to the manager up, for whoever says hello first: connect, run a
//! session, and when it drops (the manager restarted, the machine slept, the manager went
//! silent) reconnect with capped exponential backoff and a new hello. Only a refused hello
//! (after an admitted one, the host stopping the plugin: [`CloseReason::StoppedByHost`]), an
//! endpoint another user serves ([`ConnectError::is_final`](crate::endpoint::ConnectError::is_final)) or
//! [`Reconnecting::disconnect`] stop it.
//!
//! What is said on each connection is its session's business, given by a [`Dialer`]: the plugin
//! SDK client (`logi_plugin_sdk::PluginClient`) runs a `PluginSession`, the client library
//! a `LibrarySession`.
//!
//! The loop owns what both of them share: how a connection is opened ([`Connector`]), how long
//! to wait between attempts ([`Backoff`]), what it reports ([`ClientEvent`]) and how a call
//! through it fails ([`ClientError`]). The plugin SDK re-exports them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_lite::future;
use logi_plugin_core::proto::plugin::ManagerHello;
use logi_plugin_core::session::record::Recordable;
use logi_plugin_core::session::{CloseReason, Event, Format, Refused, SendError, Session, Wire};
use logi_plugin_core::{Message, ResponseCode};

use crate::clock::Clock;
use crate::driver::{CommandError, Connection, RequestError, connect};
use crate::endpoint::{ConnectError, Endpoint, TOKEN_ENV};
use crate::events::{Events, Outbox, outbox};
use crate::lock::lock;
use crate::transport::BoxTransport;
use crate::transport::Transport as _;

/// Where and how to reach the manager, read again before each attempt.
#[derive(Clone, Debug)]
pub struct Target {
    /// Where the manager listens.
    pub endpoint: Endpoint,
    /// Opens connections instead of `endpoint` when set.
    pub connector: Option<Connector>,
    /// The message format over WebSocket; local sockets always carry binary.
    pub format: Format,
    /// How long to wait before reconnecting.
    pub backoff: Backoff,
    /// Record each connection's session into `<this>-<n>.logirec` (`n` counting connections
    /// from 1), for `logi-plugin replay`.
    pub record: Option<std::path::PathBuf>,
}

/// One side's way of talking to the manager: where to connect, and the session to run on each
/// new connection.
pub trait Dialer: Send + 'static {
    /// The session run on each connection.
    type Session: Session<PeerHello = ManagerHello> + Recordable + Send + Unpin + 'static;

    /// Where to connect next.
    fn target(&self) -> Target;

    /// A fresh session, saying hello, for a connection over `wire`; an error stops the client.
    fn open(&self, now: Instant, wire: Wire) -> Result<Self::Session, String>;

    /// The clock the connections run on and the waits between them are timed by, read once
    /// when the client starts: the machine's unless a test gives a virtual one.
    fn clock(&self) -> Clock {
        Clock::System
    }
}

/// Opens a connection to the manager in a way of the owner's choosing.
#[derive(Clone)]
pub struct Connector(Arc<dyn Fn() -> Connecting + Send + Sync>);

/// A connection being opened by a [`Connector`].
type Connecting =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<BoxTransport, ConnectError>> + Send>>;

impl Connector {
    /// A connector that runs `connect` for each attempt.
    pub fn new<F, Fut>(connect: F) -> Connector
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<BoxTransport, ConnectError>> + Send + 'static,
    {
        Connector(Arc::new(move || Box::pin(connect())))
    }

    pub(crate) async fn connect(&self) -> Result<BoxTransport, ConnectError> {
        (self.0)().await
    }
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Connector")
    }
}

/// Capped exponential backoff between reconnection attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The first wait.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(10),
        }
    }
}

impl Backoff {
    /// The wait after `failures` attempts in a row have failed: doubling from `initial`, at most
    /// `max`.
    pub fn delay(&self, failures: u32) -> Duration {
        self.initial
            .saturating_mul(1u32.checked_shl(failures.min(31)).unwrap_or(u32::MAX))
            .min(self.max)
    }
}

/// Why a client call failed: one type for every call of a client's handle, a message sent,
/// a request that waits for its answer, an answer given.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The host did not set the `token` environment variable.
    #[error("the `{TOKEN_ENV}` environment variable (the plugin's secret) is not set")]
    NoToken,
    /// Not connected to the manager right now.
    #[error("not connected to the manager")]
    NotConnected,
    /// The session refused the call.
    #[error(transparent)]
    Send(#[from] SendError),
    /// The session refused to send a message: it is handed back, with why (to send again once
    /// the backpressure is over: [`SendError::TooManyInFlight`], [`SendError::Throttled`]).
    #[error("not sent: {0}")]
    Refused(#[from] Refused),
    /// A control was registered to a buffer key that names no buffer.
    #[error(transparent)]
    Buffering(#[from] logi_plugin_core::buffer::BufferError),
    /// A request got no answer within its timeout.
    #[error("no answer within the timeout")]
    TimedOut,
    /// The connection closed before a request's answer came.
    #[error("the connection closed before the answer: {0}")]
    Closed(CloseReason),
}

impl From<RequestError> for ClientError {
    fn from(error: RequestError) -> Self {
        match error {
            RequestError::Refused(refused) => ClientError::Refused(refused),
            RequestError::TimedOut => ClientError::TimedOut,
            RequestError::Closed(reason) => ClientError::Closed(reason),
            // The connection's driver has ended: this client is between connections.
            _ => ClientError::NotConnected,
        }
    }
}

impl From<CommandError> for ClientError {
    fn from(error: CommandError) -> Self {
        match error {
            CommandError::Send(error) => ClientError::Send(error),
            CommandError::Refused(refused) => ClientError::Refused(refused),
            _ => ClientError::NotConnected,
        }
    }
}

/// What a reconnecting connection reports to its owner: the plugin SDK client, or the client
/// library (which turns these into its own events).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// Connected (again): the manager's hello, with the language it now uses.
    Connected(ManagerHello),
    /// The connection ended; the client reconnects unless the reason is final (see
    /// [`ClientEvent::Stopped`]).
    Disconnected(CloseReason),
    /// A request from the manager: answer it with its id.
    Request {
        /// Its id.
        id: u32,
        /// The message.
        message: Message,
    },
    /// A message from the manager that needs no answer.
    Notification(Message),
    /// The manager asked to slow down; what the plugin starts is held until `until`.
    Throttled {
        /// When sending resumes.
        until: Instant,
    },
    /// The client stopped for good: `disconnect` was called, the manager refused the hello
    /// (a refusal with `DUPLICATE_NAME`, a session still live for this plugin id, is tried
    /// again after the backoff instead), or the local socket is served by another user
    /// (`TransportFailed`, naming the endpoint and the uid). A hello refused `UNAUTHORIZED`
    /// after an earlier one was admitted is [`CloseReason::StoppedByHost`]: the host stopped
    /// the plugin (a stop, an uninstall, a reload, its shutdown), which should now end.
    Stopped(CloseReason),
}

struct Shared<D: Dialer> {
    current: Mutex<Option<Connection<D::Session>>>,
    stop: AtomicBool,
    language: Mutex<Option<String>>,
    dialer: Mutex<D>,
}

/// A connection to the manager that comes back by itself. Clones share one connection.
pub struct Reconnecting<D: Dialer> {
    shared: Arc<Shared<D>>,
    events: Events<ClientEvent>,
    stop_tx: async_channel::Sender<()>,
    /// Closed when the runner ends.
    stopped: async_channel::Receiver<()>,
}

impl<D: Dialer> Clone for Reconnecting<D> {
    fn clone(&self) -> Self {
        Reconnecting {
            shared: self.shared.clone(),
            events: self.events.clone(),
            stop_tx: self.stop_tx.clone(),
            stopped: self.stopped.clone(),
        }
    }
}

/// Runs a client's connection, reconnecting as needed; spawn it.
pub type ClientRunner = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

impl<D: Dialer> Reconnecting<D> {
    /// A client and the runner that keeps it connected.
    pub fn new(dialer: D) -> (Reconnecting<D>, ClientRunner) {
        let (event_tx, events) = outbox();
        let (stop_tx, stop_rx) = async_channel::bounded(1);
        let (stopped_tx, stopped) = async_channel::bounded::<()>(1);
        let shared = Arc::new(Shared {
            current: Mutex::new(None),
            stop: AtomicBool::new(false),
            language: Mutex::new(None),
            dialer: Mutex::new(dialer),
        });
        let client = Reconnecting {
            shared: shared.clone(),
            events,
            stop_tx,
            stopped,
        };
        let runner = Box::pin(async move {
            run(shared, event_tx, stop_rx).await;
            drop(stopped_tx);
        });
        (client, runner)
    }

    /// The next event; `None` after [`ClientEvent::Stopped`].
    pub async fn next_event(&self) -> Option<ClientEvent> {
        self.events.recv().await
    }

    /// Whether the client is connected and past the handshake.
    pub fn is_connected(&self) -> bool {
        self.connection().is_some_and(|c| c.is_connected())
    }

    /// The language the manager last said it uses.
    pub fn language(&self) -> Option<String> {
        lock(&self.shared.language).clone()
    }

    /// The dialer, to change what the next connections do.
    pub fn dialer(&self) -> MutexGuard<'_, D> {
        lock(&self.shared.dialer)
    }

    /// The current connection, handshaken or not.
    pub fn connection(&self) -> Option<Connection<D::Session>> {
        lock(&self.shared.current).clone()
    }

    /// The current connection if it is past the handshake.
    pub fn connected(&self) -> Result<Connection<D::Session>, ClientError> {
        self.connection()
            .filter(|c| c.is_connected())
            .ok_or(ClientError::NotConnected)
    }

    /// Disconnects for good: the session closes and the client does not reconnect.
    pub fn disconnect(&self) {
        self.shared.stop.store(true, Ordering::Release);
        let _ = self.stop_tx.try_send(());
        if let Some(connection) = self.connection() {
            connection.close();
        }
    }

    /// Waits until the client has stopped.
    pub async fn wait_for_disconnect(&self) {
        let _ = self.stopped.recv().await;
    }
}

/// Connects, runs, reconnects, until told to stop or refused.
async fn run<D: Dialer>(
    shared: Arc<Shared<D>>,
    mut events: Outbox<ClientEvent>,
    stop: async_channel::Receiver<()>,
) {
    let mut failures = 0u32;
    let mut connections = 0u32;
    let mut last_reason = CloseReason::Local;
    // Once a hello was admitted, one refused `UNAUTHORIZED` means the host withdrew this
    // launch's code: it stopped the plugin.
    let mut admitted_before = false;
    // Stop when told to, or when every handle is gone (nobody could use the connection).
    let stopping = || shared.stop.load(Ordering::Acquire) || stop.is_closed();
    let clock = lock(&shared.dialer).clock();
    while !stopping() {
        let target = lock(&shared.dialer).target();
        let stopped = async {
            let _ = stop.recv().await;
            None
        };
        let connecting = async {
            Some(match &target.connector {
                Some(connector) => connector.connect().await,
                None => target.endpoint.connect(target.format).await,
            })
        };
        let transport = match future::or(connecting, stopped).await {
            None => break,
            Some(Ok(transport)) => transport,
            Some(Err(error)) => {
                last_reason = CloseReason::TransportFailed(error.to_string());
                // Another user serves the endpoint: stop and say so, rather than knock again.
                if error.is_final() {
                    break;
                }
                wait(&clock, &target.backoff, &mut failures, &stop).await;
                continue;
            }
        };
        let opened = lock(&shared.dialer).open(clock.now(), transport.wire());
        let session = match opened {
            Ok(session) => session,
            Err(error) => {
                last_reason = CloseReason::TransportFailed(error);
                break;
            }
        };
        let (connection, driver) = connect(session, transport);
        let driver = driver.with_clock(clock.clone());
        connections += 1;
        let driver = match recording(&target, connections) {
            Some(sink) => driver.record(sink),
            None => driver,
        };
        *lock(&shared.current) = Some(connection.clone());
        let forward = async {
            let mut connected = false;
            while let Some(event) = connection.next_event().await {
                if let Event::Connected(hello) = &event {
                    connected = true;
                    *lock(&shared.language) = Some(hello.language_code.clone());
                }
                if let Some(event) = client_event(event) {
                    events.push(event);
                    events.flush();
                }
            }
            connected
        };
        // `disconnect`, or the last handle dropped, closes the session; its events still flow
        // until the driver ends.
        let close_on_stop = async {
            let _ = stop.recv().await;
            connection.close();
            future::pending::<bool>().await
        };
        let forward = future::or(forward, close_on_stop);
        let (reason, connected) = future::zip(driver, forward).await;
        *lock(&shared.current) = None;
        // A refused hello is final, except for a plugin id that still has a live session:
        // that one is closing (the manager restarted this plugin, and has not yet seen the
        // old process go), or is another copy of this plugin; either way, try again later.
        let final_reason = matches!(
            &reason,
            CloseReason::HelloRefusedByPeer { code, .. } if *code != ResponseCode::DuplicateName
        ) || matches!(reason, CloseReason::HelloNotSent(_));
        last_reason = match reason {
            CloseReason::HelloRefusedByPeer {
                code: ResponseCode::Unauthorized,
                what,
            } if admitted_before => CloseReason::StoppedByHost(what),
            reason => reason,
        };
        admitted_before |= connected;
        if final_reason || stopping() {
            break;
        }
        if connected {
            failures = 0;
        }
        wait(&clock, &target.backoff, &mut failures, &stop).await;
    }
    events.push(ClientEvent::Stopped(last_reason));
    events.flush();
}

/// Sleeps on `clock` before the next attempt (or until told to stop).
async fn wait(
    clock: &Clock,
    backoff: &Backoff,
    failures: &mut u32,
    stop: &async_channel::Receiver<()>,
) {
    let delay = backoff.delay(*failures);
    *failures = failures.saturating_add(1);
    future::or(
        async {
            clock.sleep(delay).await;
        },
        async {
            let _ = stop.recv().await;
        },
    )
    .await;
}

/// What a session event means to the client's owner.
fn client_event(event: Event<ManagerHello>) -> Option<ClientEvent> {
    Some(match event {
        Event::Connected(hello) => ClientEvent::Connected(hello),
        Event::Request { id, message } => ClientEvent::Request { id, message },
        Event::Notification { message } => ClientEvent::Notification(message),
        Event::Throttled { until } => ClientEvent::Throttled { until },
        Event::Closed(reason) => ClientEvent::Disconnected(reason),
        // Requests made through the client are answered to their caller; nothing else is left.
        _ => return None,
    })
}

/// The file the `n`th connection is recorded in, if the target asks for recordings and it can
/// be created (a recording is a debugging aid: the connection goes on without it otherwise).
fn recording(target: &Target, n: u32) -> Option<std::io::BufWriter<std::fs::File>> {
    let prefix = target.record.as_ref()?;
    let mut name = prefix.clone().into_os_string();
    name.push(format!("-{n}.logirec"));
    std::fs::File::create(name)
        .ok()
        .map(std::io::BufWriter::new)
}
