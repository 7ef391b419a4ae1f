//! A deliberately faulty manager for the conformance kit's JSON mode tests: a WebSocket proxy
//! in front of our real manager that passes every frame on as it is, except the manager's JSON
//! text frames, which it rewrites to carry one [`Fault`]. Everything else the manager does
//! right, so the kit must name that fault's check and nothing else.

use std::net::SocketAddr;
use std::task::Poll;

use futures_lite::future;
use logi_plugin_core::ResponseCode;
use logi_plugin_core::codec::{binary, json};
use logi_plugin_core::session::{Format, Frame};
use logi_plugin_transports::ws::{WsListener, WsOptions, connect_ws};
use logi_plugin_transports::{BoxTransport, Received, Transport};
use serde_json::Value;

/// What the proxy does wrong to the manager's text frames.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// Every field under its `.proto` name (`manager_version`), not its JSON name.
    ProtoNames,
    /// `ResponseInfo.result` as its number (`1`), not its name (`"SUCCESS"`).
    EnumNumbers,
    /// Each answer as a binary frame, on a connection the plugin opened in JSON.
    BinaryAnswers,
}

impl Fault {
    fn rewrite(self, text: String) -> Frame {
        match self {
            Fault::BinaryAnswers => {
                let envelope = json::decode(&text).expect("our manager writes readable JSON");
                Frame::Binary(binary::encode_to_bytes(&envelope))
            }
            Fault::ProtoNames | Fault::EnumNumbers => {
                let mut value: Value = serde_json::from_str(&text).expect("JSON");
                self.rewrite_value(&mut value);
                Frame::Text(value.to_string())
            }
        }
    }

    fn rewrite_value(self, value: &mut Value) {
        match value {
            Value::Object(object) => {
                let entries = std::mem::take(object);
                for (key, mut value) in entries {
                    self.rewrite_value(&mut value);
                    let key = match self {
                        Fault::ProtoNames if key != "@type" => snake_case(&key),
                        _ => key,
                    };
                    if let (Fault::EnumNumbers, "result", Value::String(name)) =
                        (self, key.as_str(), &value)
                    {
                        let code = ResponseCode::from_str_name(name).expect("a code's name");
                        value = Value::from(code as i32);
                    }
                    object.insert(key, value);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.rewrite_value(v)),
            _ => {}
        }
    }
}

/// `managerVersion` -> `manager_version`.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Starts a proxy with `fault` in front of the manager at `upstream` (a `ws://` URL); its own
/// `ws://` URL. It serves until the test process ends.
pub fn start(upstream: String, fault: Fault) -> String {
    let listener = WsListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)), WsOptions::default())
        .expect("a loopback port");
    let url = format!("ws://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        async_io::block_on(async {
            while let Ok(incoming) = listener.accept().await {
                let upstream = upstream.clone();
                std::thread::spawn(move || {
                    async_io::block_on(async {
                        let Ok(plugin) = incoming.upgrade().await else {
                            return;
                        };
                        let Ok(manager) = connect_ws(&upstream, Format::FollowPeer).await else {
                            return;
                        };
                        relay(Box::new(plugin), Box::new(manager), fault).await;
                    })
                });
            }
        })
    });
    url
}

/// Which side a frame came from; `None` when that side ended.
enum From {
    Plugin(Option<Frame>),
    Manager(Option<Frame>),
}

/// Passes frames both ways until either side ends, then closes the other.
async fn relay(mut plugin: BoxTransport, mut manager: BoxTransport, fault: Fault) {
    let frame = |received: std::io::Result<Received<'_>>| match received {
        Ok(Received::Frame(frame)) => Some(frame),
        _ => None,
    };
    loop {
        let next = future::poll_fn(|cx| {
            if let Poll::Ready(received) = plugin.poll_receive(cx) {
                return Poll::Ready(From::Plugin(frame(received)));
            }
            if let Poll::Ready(received) = manager.poll_receive(cx) {
                return Poll::Ready(From::Manager(frame(received)));
            }
            Poll::Pending
        });
        let (to, frame) = match next.await {
            From::Plugin(Some(frame)) => (&mut manager, frame),
            From::Manager(Some(Frame::Text(text))) => (&mut plugin, fault.rewrite(text)),
            From::Manager(Some(frame)) => (&mut plugin, frame),
            From::Plugin(None) | From::Manager(None) => break,
        };
        to.queue(frame);
        if future::poll_fn(|cx| to.poll_flush(cx)).await.is_err() {
            break;
        }
    }
    let _ = future::poll_fn(|cx| plugin.poll_close(cx)).await;
    let _ = future::poll_fn(|cx| manager.poll_close(cx)).await;
}
