//! The little HTTP/1.1 the admin port speaks: one request per connection (every answer says
//! `Connection: close`), heads parsed by `httparse`, bodies framed by `Content-Length` only,
//! with a bound on each and on the time they take. A browser and `curl` need nothing more, and
//! there is no keep-alive state to get wrong.

use std::time::Duration;

use futures_lite::future;
use futures_lite::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

/// The largest request head (request line and headers) read.
pub(crate) const MAX_HEAD: usize = 16 * 1024;
/// The largest request body read: a configuration form, a JSON call.
pub(crate) const MAX_BODY: usize = 1024 * 1024;
/// How long a client may take to send its whole request.
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A request as read off the connection.
#[derive(Debug)]
pub(crate) struct Request {
    pub method: String,
    /// The path, without the query (no resource here reads one).
    pub path: String,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Why no request could be read; the answer to send, if the peer is still there to read it.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The peer went away (or sent nothing).
    Gone,
    /// The request is refused with this answer.
    Refused(Response),
}

/// Reads one request, within [`READ_TIMEOUT`].
pub(crate) async fn read_request(
    stream: &mut (impl AsyncRead + AsyncWrite + Unpin),
) -> Result<Request, ReadError> {
    future::or(read(stream), async {
        async_io::Timer::after(READ_TIMEOUT).await;
        Err(ReadError::Gone)
    })
    .await
}

async fn read(stream: &mut (impl AsyncRead + AsyncWrite + Unpin)) -> Result<Request, ReadError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let (head_len, mut request) = loop {
        let read = stream.read(&mut chunk).await.map_err(|_| ReadError::Gone)?;
        if read == 0 {
            return Err(ReadError::Gone);
        }
        buf.extend_from_slice(&chunk[..read]);
        if let Some(parsed) = parse_head(&buf)? {
            break parsed;
        }
        if buf.len() > MAX_HEAD {
            let what = format!("the request head is longer than {MAX_HEAD} bytes");
            return Err(refused(431, "HEAD_TOO_LARGE", what));
        }
    };
    if request.header("transfer-encoding").is_some() {
        let what = "chunked bodies are not read here: send Content-Length";
        return Err(refused(411, "LENGTH_REQUIRED", what.into()));
    }
    let length = match request.header("content-length") {
        None => 0,
        Some(text) => text.trim().parse::<usize>().map_err(|_| {
            let what = format!("Content-Length {text:?} is not a number of bytes");
            refused(400, "BAD_REQUEST", what)
        })?,
    };
    if length > MAX_BODY {
        let what = format!("the body is {length} bytes; at most {MAX_BODY} are read");
        return Err(refused(413, "BODY_TOO_LARGE", what));
    }
    let mut body = buf.split_off(head_len);
    body.truncate(length);
    // curl asks before sending a body; it would wait a second, then send it anyway.
    let expects = request
        .header("expect")
        .is_some_and(|expect| expect.eq_ignore_ascii_case("100-continue"));
    if expects && body.len() < length {
        let go_on = b"HTTP/1.1 100 Continue\r\n\r\n";
        stream.write_all(go_on).await.map_err(|_| ReadError::Gone)?;
    }
    let start = body.len();
    body.resize(length, 0);
    stream
        .read_exact(&mut body[start..])
        .await
        .map_err(|_| ReadError::Gone)?;
    request.body = body;
    Ok(request)
}

/// The head's length and the request it describes, once the buffer holds all of it.
fn parse_head(buf: &[u8]) -> Result<Option<(usize, Request)>, ReadError> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Request::new(&mut headers);
    let head_len = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(error) => {
            return Err(refused(
                400,
                "BAD_REQUEST",
                format!("not an HTTP request: {error}"),
            ));
        }
    };
    let target = parsed.path.unwrap_or("/");
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    let headers = parsed
        .headers
        .iter()
        .map(|header| {
            let value = String::from_utf8_lossy(header.value).into_owned();
            (header.name.to_string(), value)
        })
        .collect();
    let request = Request {
        method: parsed.method.unwrap_or("GET").to_string(),
        path: path.to_string(),
        headers,
        body: Vec::new(),
    };
    Ok(Some((head_len, request)))
}

fn refused(status: u16, code: &str, what: String) -> ReadError {
    ReadError::Refused(Response::error(status, code, &what))
}

/// provd's media type, which the provd resources' answers carry (`/logi/call` answers an
/// envelope, as `application/json`).
pub(crate) const PROVD_JSON: &str = "application/vnd.proformatique.provd+json";

/// An answer.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

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
            body,
        }
    }

    /// `204 No Content`.
    pub fn no_content() -> Response {
        Response {
            status: 204,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// An error: `{"error": {"code": ..., "message": ...}}`, `code` naming the kind of failure
    /// (the seed's result code when the failure is one).
    pub fn error(status: u16, code: &str, message: &str) -> Response {
        let body = serde_json::json!({ "error": { "code": code, "message": message } });
        Response::json(status, &body)
    }

    /// The same answer with one more header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }

    /// `201 Created`, the new resource at `location`.
    pub fn created(location: String) -> Response {
        Response {
            status: 201,
            headers: vec![("Location", location)],
            body: Vec::new(),
        }
    }

    /// The head and body as sent.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = head(self.status, &self.headers);
        // A 204 has no body, and says nothing of its length.
        if self.status != 204 {
            out.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        out.push_str("\r\n");
        let mut out = out.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }
}

/// The status line and headers, without the blank line that ends them: the caller adds the
/// framing (`Content-Length`, or none for a stream that ends when the connection closes).
pub(crate) fn head(status: u16, headers: &[(&'static str, String)]) -> String {
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    // Live state, never cached; and never read as anything but what it says it is.
    out.push_str("Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n");
    out.push_str("Connection: close\r\n");
    out
}

/// Writes an answer.
pub(crate) async fn write_response(
    stream: &mut (impl AsyncWrite + Unpin),
    response: &Response,
) -> std::io::Result<()> {
    stream.write_all(&response.to_bytes()).await?;
    stream.flush().await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Result<Request, ReadError> {
        let mut stream = futures_lite::io::Cursor::new(bytes.to_vec());
        futures_lite::future::block_on(read_request(&mut stream))
    }

    fn refusal_status(result: Result<Request, ReadError>) -> u16 {
        match result {
            Err(ReadError::Refused(response)) => response.status,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_request_with_a_body_is_read_whole() {
        let request = read(
            b"POST /provd/pg_mgr/reload?x=1&y HTTP/1.1\r\nHost: localhost\r\n\
              Content-Length: 9\r\n\r\n{\"id\":1}\n",
        )
        .unwrap();
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/provd/pg_mgr/reload");
        assert_eq!(request.header("HOST"), Some("localhost"));
        assert_eq!(request.body, b"{\"id\":1}\n");
    }

    #[test]
    fn a_body_arriving_after_the_head_is_read_to_its_length() {
        let mut stream = Trickle(vec![
            b"POST /x HTTP/1.1\r\nContent-Length: 6\r\nExpect: 100-continue\r\n\r\nab".to_vec(),
            b"cdef".to_vec(),
        ]);
        let request = futures_lite::future::block_on(read_request(&mut stream)).unwrap();
        assert_eq!(request.body, b"abcdef");
    }

    /// A stream that hands out its chunks one read at a time, and swallows what is written.
    struct Trickle(Vec<Vec<u8>>);

    impl AsyncRead for Trickle {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut [u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            if self.0.is_empty() {
                return std::task::Poll::Ready(Ok(0));
            }
            let chunk = self.0.remove(0);
            buf[..chunk.len()].copy_from_slice(&chunk);
            std::task::Poll::Ready(Ok(chunk.len()))
        }
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            std::task::Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }

        fn poll_close(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn a_body_shorter_than_its_length_is_a_peer_gone() {
        let result = read(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
        assert!(matches!(result, Err(ReadError::Gone)));
    }

    #[test]
    fn garbage_is_refused_400() {
        assert_eq!(refusal_status(read(b"\x00\x01 nonsense\r\n\r\n")), 400);
    }

    #[test]
    fn a_body_over_the_limit_is_refused_413() {
        let head = format!(
            "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        assert_eq!(refusal_status(read(head.as_bytes())), 413);
    }

    #[test]
    fn a_chunked_body_is_refused_411() {
        let result = read(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
        assert_eq!(refusal_status(result), 411);
    }

    #[test]
    fn an_endless_head_is_refused_431() {
        let mut bytes = b"GET / HTTP/1.1\r\nX-Padding: ".to_vec();
        bytes.resize(MAX_HEAD + 100, b'a');
        assert_eq!(refusal_status(read(&bytes)), 431);
    }

    #[test]
    fn an_answer_has_its_length_and_closes_the_connection() {
        let response = Response::created("/x".into());
        let text = String::from_utf8(response.to_bytes()).unwrap();
        assert_eq!(
            text,
            "HTTP/1.1 201 Created\r\nLocation: /x\r\nCache-Control: no-store\r\n\
             X-Content-Type-Options: nosniff\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        );
        let empty = String::from_utf8(Response::no_content().to_bytes()).unwrap();
        assert!(!empty.contains("Content-Length"), "{empty}");
    }
}
