//! The developer console: a page on the admin port, written small with no library, built into
//! the binary so that nothing is fetched at run time. It drives the host only through the
//! admin API and the marketplace bridge, as any other page could.

use super::answer::{method_not_allowed, not_found};
use super::http::{Request, Response};

const INDEX: &str = include_str!("console/index.html");
const SCRIPT: &str = include_str!("console/console.js");
const STYLE: &str = include_str!("console/console.css");

/// What the page may do: run its own script and style, talk to this port and to WebSockets on
/// loopback (the marketplace bridge), and nothing else; no page may frame it.
pub(super) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; \
    connect-src 'self' ws://127.0.0.1:* ws://localhost:* ws://[::1]:*; img-src 'self' data:; \
    object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Answers `/` and `/console/...`.
pub(super) fn answer(request: &Request) -> Response {
    if request.method != "GET" {
        return method_not_allowed("GET");
    }
    let (content_type, text) = match request.path.as_str() {
        "/" | "/console" | "/console/" | "/console/index.html" => {
            ("text/html; charset=utf-8", INDEX)
        }
        "/console/console.js" => ("text/javascript; charset=utf-8", SCRIPT),
        "/console/console.css" => ("text/css; charset=utf-8", STYLE),
        _ => return not_found(&request.path),
    };
    Response::bytes(200, content_type, text.as_bytes().to_vec())
        .with_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
}
