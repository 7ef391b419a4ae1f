//! The probes both sides of the kit send alike: requests no implementation can serve (an
//! unknown type URL, a body that does not decode) and a response to a request never made,
//! each judged by the answer it gets; and the closing checks every run ends with.

use std::time::{Duration, Instant};

use logi_plugin_core::proto::plugin as wire;
use logi_plugin_core::session::Frame;
use logi_plugin_core::{Envelope, MessageType, ResponseCode, ResponseInfo};

use super::exchange::Exchange;
use super::text;
use super::wire::{code_name, describe};
use super::{Finding, Found, Report, Spec, fail};

/// The URL of a message no implementation knows.
pub(super) const UNKNOWN_URL: &str = "type.googleapis.com/logi.plugin.protocol.ConformanceKitProbe";

/// Unknown type URL.
pub(super) const UNKNOWN_TYPE: Spec = Spec::profile(
    "unknown-type",
    "a request of an unknown type URL is answered NOT_IMPLEMENTED with its id, the session kept",
    "docs/protocol.md: Error answers, by cause",
);
/// Unreadable body.
pub(super) const MALFORMED_BODY: Spec = Spec::profile(
    "malformed-body",
    "a request whose body does not decode is answered INVALID_ARG with its id, the session kept",
    "docs/protocol.md: Error answers, by cause",
);
/// A response to nothing.
pub(super) const UNKNOWN_RESPONSE: Spec = Spec::profile(
    "unknown-response",
    "a response to an id never used is ignored: not answered, not closed",
    "docs/protocol.md: Messages by direction (a response matching no request is dropped)",
);
/// Readable frames.
pub(super) const FRAMES: Spec = Spec::seed(
    "frames",
    "every frame the peer sent is a readable envelope",
    "seed ch. 5 (each message packed into an Envelope)",
);

/// An id the kit never uses for a request of its own.
const STRAY_ID: u32 = 0x7fff_0001;

/// The probes both sides run, in order: [`UNKNOWN_TYPE`], [`MALFORMED_BODY`] (a request of
/// `malformed` whose body does not decode) and [`UNKNOWN_RESPONSE`].
pub(super) async fn error_answers(report: &mut Report, ex: &mut Exchange, malformed: MessageType) {
    report.push(UNKNOWN_TYPE, unknown_type(ex).await);
    report.push(MALFORMED_BODY, malformed_body(ex, malformed).await);
    report.push(UNKNOWN_RESPONSE, stray_response(ex).await);
}

/// A request of a type no implementation knows, to be answered `NOT_IMPLEMENTED`.
pub(super) async fn unknown_type(ex: &mut Exchange) -> Found {
    error_code(ex, UNKNOWN_URL, (&[], ""), ResponseCode::NotImplemented).await
}

/// A request of a known type whose body does not decode, to be answered `INVALID_ARG`.
pub(super) async fn malformed_body(ex: &mut Exchange, message_type: MessageType) -> Found {
    // Field 1 announces 5 bytes and 1 follows.
    let body = [0x0a, 0x05, b'a'];
    // In JSON, field 1 (a string in every message probed) holds an object.
    let type_url = message_type.type_url();
    let full_name = type_url.rsplit('/').next().unwrap_or_default();
    let name = text::field_json_name(full_name, 1).unwrap_or("conformanceKitProbe");
    let fields = format!(r#","{name}":{{"conformanceKit":"not a string"}}"#);
    error_code(ex, type_url, (&body, &fields), ResponseCode::InvalidArg).await
}

/// A request of `type_url` with a body, to be answered with `expected`. The body is given in
/// both modes: protobuf bytes, and the JSON members that follow `"@type"` (each with a leading
/// comma).
async fn error_code(
    ex: &mut Exchange,
    type_url: &str,
    (body, json_fields): (&[u8], &str),
    expected: ResponseCode,
) -> Found {
    closed_before(ex)?;
    let id = ex.id();
    let deadline = ex.reply_deadline();
    let sent = if ex.conn().writes_text() {
        let url = serde_json::Value::from(type_url);
        let text = format!(r#"{{"id":{id},"message":{{"@type":{url}{json_fields}}}}}"#);
        ex.conn().send_frame(Frame::Text(text), deadline).await
    } else {
        let envelope = wire::Envelope {
            id,
            message: Some(prost_types::Any {
                type_url: type_url.into(),
                value: body.to_vec(),
            }),
            response: None,
        };
        ex.conn().send_raw(&envelope, deadline).await
    };
    ex.note_send(sent).or_else(fail)?;
    let (_, answer) = ex.response(id, deadline).await.or_else(|seen| {
        fail(format!(
            "expected a {} response to request {id}; {seen}",
            expected.as_str_name()
        ))
    })?;
    let response = answer.response.as_ref().expect("a response");
    if response.result != expected as i32 {
        return fail(format!(
            "expected {} for request {id}; got {} ({:?})",
            expected.as_str_name(),
            code_name(response),
            response.what
        ));
    }
    Ok(format!("{}: {:?}", expected.as_str_name(), response.what))
}

/// A response to an id the kit never used: nothing may answer it, and the connection stays.
pub(super) async fn stray_response(ex: &mut Exchange) -> Found {
    closed_before(ex)?;
    ex.send(&Envelope::response(STRAY_ID, ResponseInfo::ok(), None))
        .await
        .or_else(fail)?;
    let watch = Instant::now() + Duration::from_millis(500);
    while let Some((_, envelope)) = ex.next(watch).await {
        if envelope.id == STRAY_ID && envelope.response.is_some() {
            return fail(format!(
                "expected no answer to a response; got {}",
                describe(&envelope)
            ));
        }
    }
    closed_before(ex)?;
    Ok("no answer, connection kept".into())
}

/// Fails when the connection has already closed.
pub(super) fn closed_before(ex: &Exchange) -> Result<(), Finding> {
    match &ex.closed {
        Some(how) => fail(format!(
            "the connection had closed before this check: {how}"
        )),
        None => Ok(()),
    }
}

/// Every frame the peer sent was readable.
pub(super) fn frames(ex: &Exchange) -> Found {
    readable(&ex.unreadable, ex.answered)
}

/// Judges the reasons frames could not be read (`unreadable`) of a conversation, in which the
/// kit answered `answered` requests of the peer.
pub(super) fn readable(unreadable: &[String], answered: u32) -> Found {
    match unreadable.first() {
        None => Ok(format!(
            "{answered} requests of the peer answered by the kit"
        )),
        Some(first) => fail(format!(
            "{} frames could not be read, the first: {first}",
            unreadable.len()
        )),
    }
}
