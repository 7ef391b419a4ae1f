//! The admin port's HTTP/1.1, served by hyper's HTTP/1 server on smol's executor (through
//! smol-hyper's runtime adapters). hyper parses and frames; this module bounds what a client
//! may hold and turns hyper's types into the small [`Request`] and [`Response`] the resources
//! work with.
//!
//! One request per connection: every answer says `Connection: close`, so there is no keep-alive
//! state to get wrong. A head longer than [`MAX_HEAD`] is answered 431 by hyper; the head must
//! arrive within [`READ_TIMEOUT`], and the body (by `Content-Length` or chunked, `Expect:
//! 100-continue` answered) too, up to [`MAX_BODY`] (413). Once the answer is written, what the
//! client is still sending is read and dropped before the connection closes (a "lingering
//! close", bounded in bytes and time): closing a socket with unread input makes the kernel send
//! a reset, which can destroy the answer before the client reads it.

use std::convert::Infallible;
use std::future::Future;
use std::net::TcpStream;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_io::Async;
use futures_lite::io::{AsyncRead, AsyncReadExt as _, AsyncWrite};
use futures_lite::{Stream, future};
use http_body_util::{BodyExt as _, Either, Full, Limited, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
use smol_hyper::rt::{FuturesIo, SmolTimer};

/// The largest request head (request line and headers) read.
pub(crate) const MAX_HEAD: usize = 16 * 1024;
/// The largest request body read: a configuration form, a JSON call.
pub(crate) const MAX_BODY: usize = 1024 * 1024;
/// How long a client may take to send its head, and then its body.
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of what a client still sends after its answer is read, and for how long, before the
/// connection is closed anyway.
const LINGER_BYTES: usize = 1024 * 1024;
const LINGER_TIME: Duration = Duration::from_secs(2);

/// A request as read off the connection.
#[derive(Debug)]
pub(crate) struct Request {
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query, without the `?`.
    pub query: Option<String>,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl Request {
    /// The header `name`'s value (its first, if it is repeated: a request that repeats a header
    /// the port decides on is refused before this is asked).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// A header sent more than once, of those named.
    pub fn repeated<'a>(&self, names: &[&'a str]) -> Option<&'a str> {
        let count = |name: &&str| self.headers.get_all(*name).iter().count();
        names.iter().find(|name| count(name) > 1).copied()
    }
}

/// What an answer carries.
#[derive(Debug)]
pub(crate) enum Body {
    /// All of it at once, with its length.
    Full(Vec<u8>),
    /// Pieces as they come, until the sender is dropped (a server-sent event stream).
    Stream(async_channel::Receiver<Vec<u8>>),
}

/// An answer.
#[derive(Debug)]
pub(crate) struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
}

/// provd's media type, which the provd resources' answers carry (`/logi/call` answers an
/// envelope, as `application/json`).
pub(crate) const PROVD_JSON: &str = "application/vnd.proformatique.provd+json";

impl Response {
    /// A JSON answer in provd's media type.
    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        Response::bytes(status, PROVD_JSON, value.to_string().into_bytes())
    }

    /// An answer with a body of `content_type`.
    pub fn bytes(status: u16, content_type: &str, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type", content_type.into())],
            body: Body::Full(body),
        }
    }

    /// `204 No Content`.
    pub fn no_content() -> Response {
        Response {
            status: 204,
            headers: Vec::new(),
            body: Body::Full(Vec::new()),
        }
    }

    /// An error: `{"error": {"code": ..., "message": ...}}`, `code` naming the kind of failure
    /// (the seed's result code when the failure is one).
    pub fn error(status: u16, code: &str, message: &str) -> Response {
        let body = serde_json::json!({ "error": { "code": code, "message": message } });
        Response::json(status, &body)
    }

    /// The same answer with the header `name` set to `value` (replacing it if it was set: an
    /// answer never carries a header twice).
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers
            .retain(|(set, _)| !set.eq_ignore_ascii_case(name));
        self.headers.push((name, value.into()));
        self
    }

    /// `201 Created`, the new resource at `location`.
    pub fn created(location: String) -> Response {
        Response::no_content()
            .with_status(201)
            .with_header("Location", location)
    }

    /// `303 See Other`: the client is to fetch `location` instead.
    pub fn see_other(location: String) -> Response {
        Response::no_content()
            .with_status(303)
            .with_header("Location", location)
    }

    /// An event stream: the body is what `pieces` sends, until it is dropped.
    pub fn stream(
        status: u16,
        content_type: &str,
        pieces: async_channel::Receiver<Vec<u8>>,
    ) -> Response {
        Response {
            status,
            headers: vec![("Content-Type", content_type.into())],
            body: Body::Stream(pieces),
        }
    }

    fn with_status(mut self, status: u16) -> Response {
        self.status = status;
        self
    }

    /// The answer as hyper writes it, with the headers every answer carries.
    fn into_hyper(self) -> hyper::Response<AnswerBody> {
        let body = match self.body {
            Body::Full(bytes) => Either::Left(Full::new(Bytes::from(bytes))),
            Body::Stream(pieces) => Either::Right(StreamBody::new(Pieces(Box::pin(pieces)))),
        };
        let mut answer = hyper::Response::new(body);
        *answer.status_mut() = http::StatusCode::from_u16(self.status)
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        let always = [
            // Live state, never cached; and never read as anything but what it says it is.
            ("Cache-Control", "no-store".to_string()),
            ("X-Content-Type-Options", "nosniff".to_string()),
        ];
        for (name, value) in self.headers.into_iter().chain(always) {
            if let Ok(value) = http::HeaderValue::try_from(value) {
                answer.headers_mut().insert(name, value);
            }
        }
        answer
    }
}

type AnswerBody = Either<Full<Bytes>, StreamBody<Pieces>>;

/// An event stream's pieces as body frames.
struct Pieces(Pin<Box<async_channel::Receiver<Vec<u8>>>>);

impl Stream for Pieces {
    type Item = Result<Frame<Bytes>, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0
            .as_mut()
            .poll_next(cx)
            .map(|piece| piece.map(|bytes| Ok(Frame::data(Bytes::from(bytes)))))
    }
}

/// Serves the one request of `stream` with `answer`, then closes the connection.
pub(crate) async fn serve<F, A>(stream: Async<TcpStream>, answer: F)
where
    F: Fn(Request) -> A + Send + Sync + 'static,
    A: Future<Output = Response> + Send,
{
    let stream = Arc::new(stream);
    let shared = Shared {
        stream: stream.clone(),
        stalled: None,
    };
    let answer = Arc::new(answer);
    let service = hyper::service::service_fn(move |request| {
        let answer = answer.clone();
        async move {
            let response = match read(request).await {
                Ok(request) => answer(request).await,
                Err(refusal) => refusal,
            };
            Ok::<_, Infallible>(response.into_hyper())
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(SmolTimer::new())
        .header_read_timeout(READ_TIMEOUT)
        .keep_alive(false)
        .title_case_headers(true)
        .max_buf_size(MAX_HEAD)
        .serve_connection(FuturesIo::new(shared), service);
    // The client went away, or sent what is not HTTP (answered by hyper): nothing more to do.
    let _ = connection.await;
    linger(&stream).await;
}

/// The request's body read whole, within the limits.
async fn read(request: hyper::Request<Incoming>) -> Result<Request, Response> {
    let (parts, body) = request.into_parts();
    let collect = async {
        match Limited::new(body, MAX_BODY).collect().await {
            Ok(collected) => Ok(collected.to_bytes().to_vec()),
            Err(error) if error.is::<http_body_util::LengthLimitError>() => {
                let what = format!("the body is longer than {MAX_BODY} bytes");
                Err(Response::error(413, "BODY_TOO_LARGE", &what))
            }
            Err(error) => {
                let what = format!("the body could not be read: {error}");
                Err(Response::error(400, "BAD_REQUEST", &what))
            }
        }
    };
    let late = async {
        async_io::Timer::after(READ_TIMEOUT).await;
        let what = format!("the body did not arrive within {READ_TIMEOUT:?}");
        Err(Response::error(408, "REQUEST_TIMEOUT", &what))
    };
    let body = future::or(collect, late).await?;
    Ok(Request {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts.headers,
        body,
    })
}

/// Reads and drops what the client still sends, until it closes its side or the bounds are
/// reached, so that closing does not reset the connection under an answer not yet read.
async fn linger(stream: &Async<TcpStream>) {
    let _ = stream.get_ref().shutdown(std::net::Shutdown::Write);
    let drain = async {
        let (mut source, mut left, mut buf) = (stream, LINGER_BYTES, [0u8; 8192]);
        while left > 0 {
            match source.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(read) => left = left.saturating_sub(read),
            }
        }
    };
    future::or(drain, async {
        async_io::Timer::after(LINGER_TIME).await;
    })
    .await;
}

/// How long a write may wait for a client that stopped reading (an event stream's page that
/// went away without closing) before the connection is given up.
const WRITE_TIMEOUT: Duration = Duration::from_secs(15);

/// The connection, shared by hyper and the lingering close that follows it; a write that waits
/// longer than [`WRITE_TIMEOUT`] fails.
struct Shared {
    stream: Arc<Async<TcpStream>>,
    stalled: Option<async_io::Timer>,
}

impl AsyncRead for Shared {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut &*self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Shared {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        match Pin::new(&mut &*this.stream).poll_write(cx, buf) {
            Poll::Pending => {
                let stalled = this
                    .stalled
                    .get_or_insert_with(|| async_io::Timer::after(WRITE_TIMEOUT));
                match Pin::new(stalled).poll(cx) {
                    Poll::Ready(_) => Poll::Ready(Err(std::io::ErrorKind::TimedOut.into())),
                    Poll::Pending => Poll::Pending,
                }
            }
            written => {
                this.stalled = None;
                written
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut &*self.stream).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut &*self.stream).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};
    use std::net::TcpListener;

    use super::*;

    /// What a server answering every request with its body's length writes back to `request`.
    fn exchange(request: &[u8]) -> String {
        let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
        let addr = listener.get_ref().local_addr().unwrap();
        let server = smol::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            serve(stream, |request: Request| async move {
                let length = request.body.len().to_string();
                Response::bytes(200, "text/plain", length.into_bytes())
            })
            .await;
        });
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        client.write_all(request).unwrap();
        let mut answer = String::new();
        client.read_to_string(&mut answer).unwrap();
        smol::block_on(server);
        answer
    }

    #[test]
    fn a_body_is_read_by_its_length_or_in_chunks() {
        let sized =
            exchange(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n{\"id\":1}\n");
        assert!(sized.starts_with("HTTP/1.1 200 OK\r\n"), "{sized}");
        assert!(sized.ends_with("\r\n\r\n9"), "{sized}");
        let chunked = exchange(
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        );
        assert!(chunked.ends_with("\r\n\r\n5"), "{chunked}");
    }

    #[test]
    fn a_body_over_the_limit_is_refused_413() {
        let head = format!(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        let mut request = head.into_bytes();
        request.resize(request.len() + MAX_BODY + 1, b'a');
        let answer = exchange(&request);
        assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
        assert!(answer.contains("BODY_TOO_LARGE"), "{answer}");
    }

    #[test]
    fn every_answer_closes_its_connection_and_is_never_cached() {
        let answer = exchange(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        for header in [
            "Connection: close",
            "Cache-Control: no-store",
            "X-Content-Type-Options: nosniff",
        ] {
            assert!(answer.contains(header), "{header}: {answer}");
        }
    }

    #[test]
    fn a_header_set_again_replaces_the_first() {
        let response = Response::no_content()
            .with_header("Vary", "Origin")
            .with_header("vary", "Origin");
        assert_eq!(response.headers, [("vary", "Origin".to_string())]);
    }

    #[test]
    fn what_is_not_http_is_answered_400() {
        let answer = exchange(b"\x00\x01 nonsense\r\n\r\n");
        assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    }
}
