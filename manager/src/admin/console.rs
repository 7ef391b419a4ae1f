//! The developer console: a page on the admin port, written small with no library, built into
//! the binary so that nothing is fetched at run time. It drives the host only through the
//! admin API and the marketplace bridge, as any other page could.

use super::http::{Request, Response};
use super::{method_not_allowed, not_found};

const INDEX: &str = include_str!("console/index.html");
const SCRIPT: &str = include_str!("console/console.js");
const STYLE: &str = include_str!("console/console.css");

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
        // The page runs only its own script and talks only to this port and the marketplace
        // bridge on loopback.
        .with_header(
            "Content-Security-Policy",
            "default-src 'self'; connect-src 'self' ws://127.0.0.1:* ws://localhost:* \
             ws://[::1]:*; img-src 'self' data:; frame-ancestors 'none'",
        )
        .with_header("X-Content-Type-Options", "nosniff")
}
