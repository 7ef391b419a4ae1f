//! The admin port's own resources, for what provd has no word for:
//!
//! - `GET /logi`: links to the others, and to the marketplace bridge when it is open;
//! - `POST /logi/call`: one client-library call (seed chapter 9) as a canonical JSON envelope,
//!   carried out by [`Host::call`] exactly as over the local socket; the answer is the
//!   response envelope, or the seed's error code in a JSON error with the matching status;
//! - `GET /logi/events`: the host's events as server-sent events: first `plugins` (every
//!   plugin, as the client library's `PluginDetails`), then one `host` event per
//!   [`HostEvent`](crate::HostEvent) ([`to_json`](crate::HostEvent::to_json)), with a comment
//!   every 15 s so that a closed page is noticed.

use std::net::TcpStream;
use std::time::Duration;

use async_io::Async;
use futures_lite::future;
use futures_lite::io::AsyncWriteExt as _;
use logi_plugin_core::codec::json;
use logi_plugin_core::session::Reply;
use logi_plugin_core::{Envelope, ResponseInfo};
use serde_json::{Value, json};

use super::http::{self, Request, Response};
use super::provd::links;
use super::{Admin, status_of};
use crate::Host;
use crate::host::message_json;

/// The event stream's path.
pub(super) const EVENTS: &str = "/logi/events";

/// How often an idle event stream says something, to find out whether the page is still there;
/// also how long a write may wait for a page that stopped reading before the stream ends.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub(super) fn root(admin: &Admin) -> Response {
    let marketplace = admin
        .host
        .marketplace_addr()
        .map(|addr| format!("ws://{addr}/"));
    let mut pairs = vec![
        ("/logi/call", "logi.call"),
        (EVENTS, "logi.events"),
        ("/provd/pg_mgr", "pg.mgr"),
        ("/provd/configure", "srv.configure"),
    ];
    if let Some(href) = &marketplace {
        pairs.push((href, "logi.marketplace"));
    }
    Response::json(200, &json!({ "links": links(&pairs) }))
}

pub(super) async fn call(host: &Host, request: &Request) -> Response {
    let envelope = match std::str::from_utf8(&request.body)
        .map_err(|error| error.to_string())
        .and_then(|text| json::decode(text).map_err(|error| error.to_string()))
    {
        Ok(envelope) => envelope,
        Err(error) => {
            let what = format!("the body is not a JSON envelope: {error}");
            return Response::error(400, "INVALID_ARG", &what);
        }
    };
    let Some(message) = envelope.message else {
        let what = "the envelope carries no message: put the call in \"message\"";
        return Response::error(400, "INVALID_ARG", what);
    };
    let (info, answer) = match host.call(message).await {
        Reply::Ok => (ResponseInfo::ok(), None),
        Reply::Message(answer) => (ResponseInfo::ok(), Some(answer)),
        Reply::Error(code, what) => {
            return Response::error(status_of(code), code.as_str_name(), &what);
        }
    };
    let text = json::encode(&Envelope::response(envelope.id, info, answer));
    Response::bytes(200, "application/json", text.into_bytes())
}

/// Streams the host's events to one page until it goes away or the host shuts down.
pub(super) async fn events(host: &Host, mut stream: Async<TcpStream>) {
    let (plugins, events) = host.watch();
    let language = host.language();
    let details: Vec<Value> = plugins
        .iter()
        .map(|plugin| message_json(plugin.details(&language).into()))
        .collect();
    let mut out = http::head(200, &[("Content-Type", "text/event-stream".into())]);
    out.push_str("\r\n");
    out.push_str(&sse("plugins", &Value::Array(details)));
    if !send(&mut stream, &out).await {
        return;
    }
    loop {
        let next = future::or(
            async { Some(events.recv().await.ok()) },
            future::or(
                async {
                    async_io::Timer::after(KEEP_ALIVE).await;
                    None
                },
                async {
                    host.closed().await;
                    Some(None)
                },
            ),
        )
        .await;
        let text = match next {
            Some(Some(event)) => sse("host", &event.to_json()),
            Some(None) => return,
            None => ": still here\n\n".into(),
        };
        if !send(&mut stream, &text).await {
            return;
        }
    }
}

/// Writes to a page's stream; false if the page is gone or stopped reading (so that its
/// events stop piling up).
async fn send(stream: &mut Async<TcpStream>, text: &str) -> bool {
    let write = async {
        stream.write_all(text.as_bytes()).await?;
        stream.flush().await
    };
    let stuck = async {
        async_io::Timer::after(KEEP_ALIVE).await;
        Err(std::io::ErrorKind::TimedOut.into())
    };
    future::or(write, stuck).await.is_ok()
}

/// One server-sent event.
fn sse(name: &str, data: &Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}
