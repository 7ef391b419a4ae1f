//! The admin port's own resources, for what provd has no word for:
//!
//! - `GET /logi`: links to the others, and to the marketplace bridge when it is open;
//! - `POST /logi/call`: one client-library call (seed chapter 9) as a canonical JSON envelope,
//!   carried out by [`Host::call`] as over the local socket, but for an `InstallPlugin` naming
//!   a file (only the owner-only local socket may name a path; here installs come from the
//!   package source by plugin id); the answer is the response envelope, or the seed's error
//!   code in a JSON error with the matching status;
//! - `GET /logi/events`: the host's events as server-sent events: first `plugins` (every
//!   plugin, as the client library's `PluginDetails`), then one `host` event per
//!   [`HostEvent`](crate::HostEvent) ([`to_json`](crate::HostEvent::to_json)), with a comment
//!   every 15 s so that a closed page is noticed; at most
//!   [`MAX_EVENT_STREAMS`](super::MAX_EVENT_STREAMS) at once.

use std::time::Duration;

use futures_lite::future;
use logi_plugin_core::codec::json;
use logi_plugin_core::session::Reply;
use logi_plugin_core::{Envelope, Message, ResponseCode, ResponseInfo};
use serde_json::{Value, json};

use super::answer::status_of;
use super::http::{Request, Response};
use super::shapes::links;
use super::state::Admin;
use crate::Host;
use crate::host::message_json;

/// The event stream's path.
pub(super) const EVENTS: &str = "/logi/events";

/// How often an idle event stream says something, to find out whether the page is still there.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub(super) fn root(admin: &Admin) -> Response {
    let marketplace = admin.marketplace.map(|addr| format!("ws://{addr}/"));
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
    if let Message::InstallPlugin(install) = &message
        && let Some(path) = &install.package_path
    {
        let what = format!(
            "InstallPlugin names the file {path:?}: a file path is taken only on the manager's \
             local socket (owner-only); here, leave packagePath out to install {:?} from the \
             package source",
            install.plugin_id
        );
        let code = ResponseCode::Unauthorized;
        return Response::error(status_of(code), code.as_str_name(), &what);
    }
    let (info, answer) = match host.call(message).await {
        Reply::Ok => (ResponseInfo::ok(), None),
        Reply::Message(answer) => (ResponseInfo::ok(), Some(answer)),
        Reply::Encoded(answer) => (ResponseInfo::ok(), Some(answer.decode())),
        Reply::Error(code, what) => {
            return Response::error(status_of(code), code.as_str_name(), &what);
        }
    };
    let text = json::encode(&Envelope::response(envelope.id, info, answer));
    Response::bytes(200, "application/json", text.into_bytes())
}

/// The host's events as a stream for one page, fed by a task of its own until the page goes
/// away or the host shuts down; 503 when [`MAX_EVENT_STREAMS`](super::MAX_EVENT_STREAMS) are
/// open already.
pub(super) fn events(admin: &Admin) -> Response {
    let Some(slot) = admin.streams.take() else {
        let what = format!(
            "{} event streams are open already: close one (a console tab) first",
            admin.streams.max()
        );
        return Response::error(503, "TOO_MANY_STREAMS", &what).with_header("Retry-After", "15");
    };
    let (pieces, stream) = async_channel::bounded(16);
    let host = admin.host.clone();
    smol::spawn(async move {
        let _slot = slot;
        feed(&host, &pieces).await;
    })
    .detach();
    Response::stream(200, "text/event-stream", stream)
}

/// Sends the plugins, then every event, to one page's stream; returns once the page is gone (its
/// stream dropped) or the host shuts down.
async fn feed(host: &Host, pieces: &async_channel::Sender<Vec<u8>>) {
    let (plugins, events) = host.watch();
    let language = host.language();
    let details: Vec<Value> = plugins
        .iter()
        .map(|plugin| message_json(plugin.details(&language).into()))
        .collect();
    let mut text = sse("plugins", &Value::Array(details));
    loop {
        if pieces.send(text.into_bytes()).await.is_err() {
            return;
        }
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
        text = match next {
            Some(Some(event)) => sse("host", &event.to_json()),
            Some(None) => return,
            None => ": still here\n\n".into(),
        };
    }
}

/// One server-sent event.
fn sse(name: &str, data: &Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}
