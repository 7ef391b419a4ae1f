//! The frame limit, judged from the plugin's side: a request one byte over it closes only its
//! own connection, unread and unanswered.

use logi_plugin_core::codec::json;
use logi_plugin_core::proto::plugin as wire;
use logi_plugin_core::proto::plugin::SettingsRequest;
use logi_plugin_core::session::Frame;
use logi_plugin_core::{Envelope, Message, MessageType, ResponseCode};

use super::connect::{hello, plugin_hello};
use super::options::ManagerOptions;
use crate::exchange::{Exchange, Role};
use crate::wire::{Conn, describe};
use crate::{Found, fail, skip};

/// A request one byte over the frame limit on a fresh session, while another connection,
/// opened before it and not yet said hello, waits; that one then says hello.
pub(super) async fn oversized(options: &ManagerOptions) -> (Found, Found) {
    let mut ex = match hello(options).await {
        Ok((ex, _)) => ex,
        Err(error) => {
            let why = format!("the hello on a new connection failed: {error}");
            return (fail(why), skip("the oversized frame could not be sent"));
        }
    };
    let other = match options.endpoint.connect(options.format).await {
        Ok(transport) => Ok(Exchange::new(
            Conn::new(transport),
            Role::Plugin,
            options.reply_timeout,
        )),
        Err(error) => Err(format!("connecting a second time failed: {error}")),
    };
    let id = ex.id();
    let deadline = ex.reply_deadline();
    let limit = options.frame_limit;
    let sent = match ex.conn().writes_text() {
        true => {
            let text = sized_text_request(id, limit + 1);
            ex.conn().send_frame(Frame::Text(text), deadline).await
        }
        false => {
            let envelope = sized_request(id, limit + 1);
            ex.conn().send_raw(&envelope, deadline).await
        }
    };
    // A manager may close before it has read the whole frame: that is the point.
    let _ = sent;
    let mut answer = None;
    while let Some((_, envelope)) = ex.next(deadline).await {
        if envelope.id == id && envelope.response.is_some() {
            answer = Some(describe(&envelope));
        }
    }
    let oversized = match (answer, &ex.closed) {
        (Some(answer), _) => fail(format!(
            "expected the connection closed, the frame unread; the manager read the {} bytes \
             and answered {answer}: it has no limit of {limit} bytes (give --frame-limit if \
             its limit is higher)",
            limit + 1
        )),
        (None, Some(how)) => Ok(format!("a frame of {} bytes closed it: {how}", limit + 1)),
        (None, None) => fail(format!(
            "expected the connection closed; it stayed open for {:?} after a frame of {} bytes",
            ex.reply_timeout,
            limit + 1
        )),
    };
    drop(ex);
    let fresh = match other {
        Ok(other) => served_after(other, options).await,
        Err(error) => fail(error),
    };
    (oversized, fresh)
}

/// The hello on the connection opened before the oversized frame: any answer shows the
/// manager still serves it (`DUPLICATE_NAME` too, while it frees the closed session's id).
async fn served_after(mut ex: Exchange, options: &ManagerOptions) -> Found {
    let answer = ex
        .call(plugin_hello(options, &options.code))
        .await
        .or_else(|seen| fail(format!("expected its hello answered; {seen}")))?;
    let response = answer.response.as_ref().expect("a response");
    let served = match &answer.message {
        Some(Message::ManagerHello(_)) if response.is_ok() => "admitted with ManagerHello",
        _ if response.result == ResponseCode::DuplicateName as i32 => {
            "answered DUPLICATE_NAME (the closed session's id not yet free)"
        }
        _ => {
            return fail(format!(
                "expected ManagerHello (or DUPLICATE_NAME) for its hello; got {}",
                describe(&answer)
            ));
        }
    };
    ex.close().await;
    Ok(format!(
        "the connection opened before the oversized frame was {served} after it"
    ))
}

/// A `SettingsRequest` in JSON text of `len` bytes or one more (its name pads it).
fn sized_text_request(id: u32, len: usize) -> String {
    let text = |name_len: usize| {
        let request = SettingsRequest {
            setting_name: "x".repeat(name_len),
        };
        json::encode(&Envelope {
            id,
            message: Some(request.into()),
            response: None,
        })
    };
    let base = text(1).len();
    text(1 + len.saturating_sub(base))
}

/// A `SettingsRequest` envelope of exactly `len` bytes (or the nearest length above that the
/// varint lengths allow): a request any manager without a frame limit would read and answer.
fn sized_request(id: u32, len: usize) -> wire::Envelope {
    let envelope = |name_len: usize| {
        let request = SettingsRequest {
            setting_name: "x".repeat(name_len),
        };
        wire::Envelope {
            id,
            message: Some(prost_types::Any {
                type_url: MessageType::SettingsRequest.type_url().into(),
                value: prost::Message::encode_to_vec(&request),
            }),
            response: None,
        }
    };
    let mut name_len = len;
    loop {
        let candidate = envelope(name_len);
        let encoded = prost::Message::encoded_len(&candidate);
        if encoded <= len || name_len == 0 {
            let short = len.saturating_sub(encoded);
            if short == 0 {
                return candidate;
            }
            // Growing the name by `short` may lengthen a varint by a byte: over by one at most.
            return envelope(name_len + short);
        }
        name_len -= (encoded - len).min(name_len);
    }
}
