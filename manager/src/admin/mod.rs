//! The admin HTTP port: provd's plugin-manager API (the provd seed) on loopback, a few
//! resources of our own for what provd has no word for, and the developer console page.
//!
//! - provd's resources, with its `links`, relations and media type: `/provd/pg_mgr`, its
//!   plugins, their `info`, `reload`, the installation service with operations in progress
//!   ([`provd`], [`install`]), and provd's configuration service for development mode and the
//!   language;
//! - `/logi`: a client-library call as a JSON envelope (`/logi/call`, seed chapter 9, the same
//!   calls the local socket carries) and the host's events as a server-sent event stream
//!   (`/logi/events`) ([`logi`]);
//! - `/` and `/console/...`: the developer console ([`console`]).
//!
//! A web page on another site must not be able to drive the manager, so a request is refused
//! unless its `Host` names this loopback port (no DNS rebinding), its `Origin` (or, for a
//! request a browser sends without one, its `Sec-Fetch-Site`) is this port's own or one of
//! [`HostConfig::admin_origins`](crate::HostConfig), and a `POST` or `PUT` says its body is
//! JSON, which no HTML form can send. Pages of the allowed origins get the CORS answers they
//! need.

mod console;
pub(crate) mod http;
mod install;
mod logi;
mod operation;
mod provd;

use std::net::{SocketAddr, TcpListener, TcpStream};

use async_io::Async;
use logi_plugin_core::proto::plugin::log_event::LogLevel;
use logi_plugin_transports::ws::{LOOPBACK_NAMES, is_loopback_host};

use crate::host::Host;
use http::{ReadError, Request, Response};
use operation::Operations;

/// What the admin port's connections share.
pub(crate) struct Admin {
    host: Host,
    operations: Operations,
    port: u16,
    /// Origins allowed besides this port's own.
    origins: Vec<String>,
}

/// The browser origins of a page served by the loopback port `port`.
pub(crate) fn own_origins(port: u16) -> Vec<String> {
    LOOPBACK_NAMES
        .iter()
        .map(|name| format!("http://{name}:{port}"))
        .collect()
}

/// Accepts admin connections until cancelled, each served in its own task.
pub(crate) async fn accept(
    host: Host,
    listener: Async<TcpListener>,
    port: u16,
    origins: Vec<String>,
) {
    let admin = std::sync::Arc::new(Admin {
        host,
        operations: Operations::default(),
        port,
        origins,
    });
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                smol::spawn(serve(admin.clone(), stream)).detach();
            }
            Err(error) => {
                let message = format!("admin accept: {error}");
                admin.host.log_host(LogLevel::Warning, &message);
                // A failing accept (out of descriptors) fails again at once: breathe first.
                async_io::Timer::after(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// Answers the one request of a connection.
async fn serve(admin: std::sync::Arc<Admin>, mut stream: Async<TcpStream>) {
    let request = match http::read_request(&mut stream).await {
        Ok(request) => request,
        Err(ReadError::Gone) => return,
        Err(ReadError::Refused(response)) => {
            let _ = http::write_response(&mut stream, &response).await;
            return;
        }
    };
    if let Err(refusal) = admin.admit(&request) {
        let _ = http::write_response(&mut stream, &refusal).await;
        return;
    }
    if request.path.trim_end_matches('/') == logi::EVENTS && request.method == "GET" {
        logi::events(&admin.host, stream).await;
        return;
    }
    let mut response = admin.answer(&request).await;
    // A page of another allowed origin reads the answer only if it is told it may.
    let allowed = |origin: &&str| admin.origins.iter().any(|allowed| allowed == origin);
    if let Some(origin) = request.header("origin").filter(allowed) {
        response = response
            .with_header("Access-Control-Allow-Origin", origin)
            .with_header("Vary", "Origin");
    }
    let _ = http::write_response(&mut stream, &response).await;
}

impl Admin {
    /// Refuses a request that a page of another site could have sent.
    fn admit(&self, request: &Request) -> Result<(), Response> {
        let port = self.port;
        let host = request.header("host").unwrap_or("");
        if !is_loopback_host(host, port) {
            let what = format!(
                "Host {host:?} is not this loopback port (127.0.0.1:{port}, localhost:{port} or \
                 [::1]:{port}): refused, so that no other site can reach the manager through \
                 its own name"
            );
            return Err(Response::error(403, "FORBIDDEN_HOST", &what));
        }
        match request.header("origin") {
            Some(origin) => {
                let own = own_origins(port);
                if !own
                    .iter()
                    .chain(&self.origins)
                    .any(|allowed| allowed == origin)
                {
                    let what = format!("origin {origin} may not drive the manager");
                    return Err(Response::error(403, "FORBIDDEN_ORIGIN", &what));
                }
            }
            // A browser sends no Origin with a plain GET (an <img>, a <script>), but it says
            // where the request comes from.
            None => {
                let site = request.header("sec-fetch-site").unwrap_or("none");
                if site != "same-origin" && site != "none" {
                    let what = format!("a request from a {site} page may not reach the manager");
                    return Err(Response::error(403, "FORBIDDEN_SITE", &what));
                }
            }
        }
        if matches!(request.method.as_str(), "POST" | "PUT") {
            sent_as_json(request)?;
        }
        Ok(())
    }

    /// The CORS preflight of a page of an allowed origin.
    fn preflight(&self, request: &Request) -> Response {
        match request.header("origin") {
            Some(origin) if self.origins.iter().any(|allowed| allowed == origin) => {
                Response::no_content()
                    .with_header("Access-Control-Allow-Origin", origin)
                    .with_header("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE")
                    .with_header("Access-Control-Allow-Headers", "Content-Type, Accept")
                    .with_header("Access-Control-Max-Age", "600")
                    .with_header("Vary", "Origin")
            }
            _ => method_not_allowed("GET, POST, PUT, DELETE"),
        }
    }

    async fn answer(&self, request: &Request) -> Response {
        if request.method == "OPTIONS" {
            return self.preflight(request);
        }
        let path = request.path.trim_end_matches('/');
        let segments: Vec<&str> = path.split('/').skip(1).collect();
        match segments.as_slice() {
            [] | ["console", ..] => console::answer(request),
            ["provd", "pg_mgr", rest @ ..] => provd::answer(self, request, rest).await,
            ["provd", "configure", rest @ ..] => provd::configure(self, request, rest),
            ["logi"] => only(request, "GET", || logi::root(self)),
            ["logi", "call"] => match request.method.as_str() {
                "POST" => logi::call(&self.host, request).await,
                _ => method_not_allowed("POST"),
            },
            // Its GET is streamed before this.
            ["logi", "events"] => method_not_allowed("GET"),
            _ => not_found(&request.path),
        }
    }
}

/// `answer` for a resource read with GET only.
fn only(request: &Request, method: &str, answer: impl FnOnce() -> Response) -> Response {
    if request.method == method {
        answer()
    } else {
        method_not_allowed(method)
    }
}

fn method_not_allowed(allowed: &str) -> Response {
    let what = format!("this resource takes {allowed}");
    Response::error(405, "METHOD_NOT_ALLOWED", &what).with_header("Allow", allowed)
}

fn not_found(path: &str) -> Response {
    Response::error(404, "NOT_FOUND", &format!("no resource at {path}"))
}

/// The JSON body of a request (an empty body is `{}`); [`Admin::admit`] checked its media type.
fn body(request: &Request) -> Result<serde_json::Value, Response> {
    if request.body.is_empty() {
        return Ok(serde_json::json!({}));
    }
    serde_json::from_slice(&request.body).map_err(|error| {
        Response::error(
            400,
            "INVALID_ARG",
            &format!("the body is not JSON: {error}"),
        )
    })
}

/// Refuses a body not sent as JSON: no HTML form can send that media type to another site.
fn sent_as_json(request: &Request) -> Result<(), Response> {
    let content_type = request.header("content-type").unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim();
    if media == http::PROVD_JSON || media == "application/json" {
        return Ok(());
    }
    let what = format!(
        "Content-Type {content_type:?}: send {} or application/json",
        http::PROVD_JSON
    );
    Err(Response::error(415, "UNSUPPORTED_MEDIA_TYPE", &what))
}

/// A string member of a JSON body, or the error naming it.
fn member<'a>(body: &'a serde_json::Value, name: &str) -> Result<&'a str, Response> {
    match body.get(name) {
        Some(serde_json::Value::String(value)) if !value.is_empty() => Ok(value),
        Some(other) => Err(Response::error(
            400,
            "INVALID_ARG",
            &format!("\"{name}\" must be a non-empty string, not {other}"),
        )),
        None => Err(Response::error(
            400,
            "INVALID_ARG",
            &format!("the body has no \"{name}\""),
        )),
    }
}

/// The answer for a host operation that failed: the seed's code, and an HTTP status that says
/// the same.
fn host_error(error: &crate::HostError) -> Response {
    let code = error.code();
    Response::error(status_of(code), code.as_str_name(), &error.to_string())
}

/// The HTTP status that says what a seed result code says.
fn status_of(code: logi_plugin_core::ResponseCode) -> u16 {
    use logi_plugin_core::ResponseCode as Code;
    match code {
        Code::InvalidArg | Code::NoSuchPath | Code::InvalidVerb | Code::InvalidDevice => 400,
        Code::Unauthorized => 403,
        Code::NotFound => 404,
        Code::NotReady | Code::DuplicateName | Code::Conflict | Code::Cancelled => 409,
        Code::NotImplemented => 501,
        Code::Unreachable => 504,
        _ => 500,
    }
}

/// Where the admin port listens: `addr`, which must be a loopback address.
pub(crate) fn bind(addr: SocketAddr) -> Result<(Async<TcpListener>, u16), crate::HostError> {
    if !addr.ip().is_loopback() {
        return Err(crate::HostError::NotLoopback(addr));
    }
    let io = |source| crate::HostError::Io {
        what: format!("opening the admin port on {addr}"),
        source,
    };
    let listener = Async::<TcpListener>::bind(addr).map_err(io)?;
    let port = listener.get_ref().local_addr().map_err(io)?.port();
    Ok((listener, port))
}
