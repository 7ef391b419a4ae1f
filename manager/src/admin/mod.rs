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
//! Loopback is reachable by every user of the machine and by every web page the user opens, so
//! a request is refused unless:
//! - it repeats none of the headers the port decides on (`Host`, `Origin`, ...): a request that
//!   says two things is not guessed at;
//! - its `Host` names this loopback port (no DNS rebinding), and its `Origin` (or, for a request
//!   a browser sends without one, its `Sec-Fetch-Site`) is this port's own or one of
//!   [`FrontEndConfig::admin_origins`](crate::FrontEndConfig);
//! - it presents the owner's credential (the host's `credential` module: a bearer token, the
//!   console's cookie, or `?token=`), so that another local user cannot drive the manager;
//!   a browser's CORS preflight, which never carries credentials, is the one exception;
//! - a `POST` or `PUT` says its body is JSON, which no HTML form can send.
//!
//! Pages of the allowed origins get the CORS answers they need. A `GET` that presents the
//! credential as `?token=` (the console's address as `logi-plugin serve` prints it) is answered
//! with the credential as an `HttpOnly`, `SameSite=Strict` cookie and a redirect to the same
//! page without it. Installing a package by its file path is refused here: only the owner-only
//! local socket may name a path.

mod answer;
mod console;
pub(crate) mod http;
mod install;
mod logi;
mod operation;
mod provd;
mod shapes;
mod state;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use async_io::Async;
use logi_plugin_transports::ws::{LOOPBACK_NAMES, is_loopback_host};

use crate::bounds::{AcceptFailures, Slots};
use crate::credential::{COOKIE, Credential};
use crate::host::Host;
use answer::{method_not_allowed, not_found, only};
use http::{Request, Response};
use operation::Operations;
use state::Admin;

/// How many event streams (`/logi/events`) may be open at once; past that one is refused 503.
pub(crate) const MAX_EVENT_STREAMS: usize = 16;

/// The headers a request may send only once.
const SINGLE_HEADERS: [&str; 6] = [
    "host",
    "origin",
    "sec-fetch-site",
    "content-type",
    "authorization",
    "cookie",
];

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
    credential: Credential,
    listener: Async<TcpListener>,
    port: u16,
    origins: Vec<String>,
    marketplace: Option<SocketAddr>,
) {
    let admin = Arc::new(Admin {
        host,
        credential,
        operations: Operations::default(),
        port,
        origins,
        marketplace,
        streams: Slots::new(MAX_EVENT_STREAMS),
    });
    let mut failures = AcceptFailures::new("admin requests");
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                failures.succeeded(&admin.host.config().log);
                let admin = admin.clone();
                let serve = http::serve(stream, move |request| {
                    let admin = admin.clone();
                    async move { admin.serve(request).await }
                });
                smol::spawn(serve).detach();
            }
            Err(error) => failures.failed(&admin.host.config().log, &error).await,
        }
    }
}

impl Admin {
    /// Answers one request.
    async fn serve(&self, request: Request) -> Response {
        let response = match self.admit(&request) {
            Err(refusal) => refusal,
            Ok(()) if request.method == "GET" && has_token_query(&request) => {
                // The console's address as printed: the secret moves into a cookie, out of the
                // address bar and the history.
                let cookie = format!(
                    "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
                    self.credential.secret()
                );
                Response::see_other(request.path.clone()).with_header("Set-Cookie", cookie)
            }
            Ok(()) => self.answer(&request).await,
        };
        // A page of another allowed origin reads the answer only if it is told it may.
        match request
            .header("origin")
            .filter(|origin| self.origins.iter().any(|o| o == origin))
        {
            Some(origin) => response
                .with_header("Access-Control-Allow-Origin", origin)
                .with_header("Vary", "Origin"),
            None => response,
        }
    }

    /// Refuses a request that a page of another site, or another user, could have sent.
    fn admit(&self, request: &Request) -> Result<(), Response> {
        if let Some(name) = request.repeated(&SINGLE_HEADERS) {
            let what = format!("the request sends {name} more than once: refused, not guessed at");
            return Err(Response::error(400, "DUPLICATE_HEADER", &what));
        }
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
        // A browser's preflight carries no credential; it is answered with what the page may
        // send, and the request itself must then present one.
        if request.method == "OPTIONS" {
            return Ok(());
        }
        if let Err(what) = self
            .credential
            .check(&request.headers, request.query.as_deref())
        {
            return Err(Response::error(401, "UNAUTHORIZED", &what)
                .with_header("WWW-Authenticate", "Bearer realm=\"logi-plugin\""));
        }
        if matches!(request.method.as_str(), "POST" | "PUT") {
            sent_as_json(request)?;
        }
        Ok(())
    }

    /// The CORS preflight of a page of an allowed origin ([`Admin::serve`] adds the origin).
    fn preflight(&self, request: &Request) -> Response {
        match request.header("origin") {
            Some(origin) if self.origins.iter().any(|allowed| allowed == origin) => {
                Response::no_content()
                    .with_header("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE")
                    .with_header(
                        "Access-Control-Allow-Headers",
                        "Content-Type, Accept, Authorization",
                    )
                    .with_header("Access-Control-Max-Age", "600")
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
            ["logi", "events"] => only(request, "GET", || logi::events(self)),
            _ => not_found(&request.path),
        }
    }
}

/// Whether the request's query names a `token` (the console's address as printed).
fn has_token_query(request: &Request) -> bool {
    let query = request.query.as_deref().unwrap_or("");
    query.split('&').any(|pair| pair.starts_with("token="))
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
