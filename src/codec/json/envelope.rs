//! The JSON form of an [`Envelope`]: `{"id":…,"message":{"@type":…,…},"response":{…}}`.
//!
//! Written by hand because its `message` is a `google.protobuf.Any`, whose JSON form depends on
//! the type its `@type` names. A body that cannot be read (unknown type, wrong field) does not stop
//! the envelope: the rest is read, so the error can carry the id to answer.

use super::JsonError;
use super::error::JsonErrorKind;
use super::reader::{FieldSet, JsonReader};
use super::writer::JsonWriter;
use crate::codec::{DecodeError, binary};
use crate::{Body, Envelope, EnvelopeRef, Message, MessageError, MessageType};

const ENVELOPE: &str = "logi.plugin.protocol.Envelope";

pub(super) fn write(envelope: EnvelopeRef<'_>, out: &mut String) {
    // JSON is larger than binary mostly by its field names: one allocation in the common case.
    let binary_len = binary::encoded_len(envelope);
    out.reserve(binary_len + binary_len / 2 + 64);
    let mut w = JsonWriter::new(out);
    w.begin_object();
    if envelope.id != 0 {
        w.key("id");
        w.u32(envelope.id);
    }
    if let Some(message) = envelope.message {
        w.key("message");
        w.begin_object();
        w.key("@type");
        w.string(message.type_url());
        match message {
            Body::Message(message) => message.write_json_fields(&mut w),
            Body::Encoded(encoded) => encoded.decode().write_json_fields(&mut w),
        }
        w.end_object();
    }
    if let Some(response) = envelope.response {
        w.key("response");
        w.message(response);
    }
    w.end_object();
}

pub(super) fn read(r: &mut JsonReader<'_>) -> Result<Envelope, DecodeError> {
    let mut body_error = None;
    let envelope = read_fields(r, &mut body_error).map_err(DecodeError::Json)?;
    match body_error {
        Some(source) => Err(DecodeError::Message {
            id: envelope.id,
            response: envelope.response,
            source,
        }),
        None => Ok(envelope),
    }
}

fn read_fields(
    r: &mut JsonReader<'_>,
    body_error: &mut Option<MessageError>,
) -> Result<Envelope, JsonError> {
    let mut envelope = Envelope::default();
    let mut seen = FieldSet::default();
    let mut first = true;
    r.begin_object()?;
    while let Some(key) = r.next_key(&mut first)? {
        let result = match &*key {
            "id" => seen.claim(0, "id", r).and_then(|()| {
                envelope.id = if r.null()? { 0 } else { r.u32()? };
                Ok(())
            }),
            "message" => seen.claim(1, "message", r).and_then(|()| {
                if !r.null()? {
                    match read_any(r)? {
                        Ok(message) => envelope.message = message,
                        Err(error) => *body_error = Some(error),
                    }
                }
                Ok(())
            }),
            "response" => seen.claim(2, "response", r).and_then(|()| {
                envelope.response = if r.null()? { None } else { Some(r.message()?) };
                Ok(())
            }),
            _ => r.unknown_field(ENVELOPE, &key),
        };
        result.map_err(|e| e.in_field(&key))?;
    }
    r.end()?;
    Ok(envelope)
}

/// Reads a JSON `Any`. The outer error means the text is not JSON (or not an `Any` object); the
/// inner one that its body is not a message of this protocol, after which the reader has passed
/// over the whole object.
fn read_any(r: &mut JsonReader<'_>) -> Result<Result<Option<Message>, MessageError>, JsonError> {
    let start = r.mark();
    // `@type` comes first from every writer we know; the mapping allows it anywhere, so otherwise
    // it is looked for first and the fields are read from the start again.
    let mut type_url = None;
    let mut first = true;
    let mut type_first = true;
    r.begin_object()?;
    while let Some(key) = r.next_key(&mut first)? {
        if key == "@type" {
            type_url = Some(r.str_value().map_err(|e| e.in_field("@type"))?);
            break;
        }
        type_first = false;
        r.skip_value().map_err(|e| e.in_field(&key))?;
    }
    let Some(type_url) = type_url else {
        if first {
            // `{}`: an empty Any, which carries nothing.
            return Ok(Ok(None));
        }
        r.reset(start);
        return Err(r.error(JsonErrorKind::MissingType));
    };
    let Some(message_type) = MessageType::from_type_url(&type_url) else {
        r.reset(start);
        r.skip_value()?;
        return Ok(Err(MessageError::UnknownTypeUrl {
            type_url: type_url.into_owned(),
        }));
    };
    if !type_first {
        r.reset(start);
    }
    match message_type.read_json_any(r, type_first) {
        Ok(message) => Ok(Ok(Some(message))),
        Err(source) => {
            // Tell a body that is valid JSON but not a valid message (answered with the id) from
            // text that is not JSON at all (the envelope cannot be trusted).
            r.reset(start);
            r.skip_value()?;
            Ok(Err(MessageError::MalformedJson {
                message_type,
                source,
            }))
        }
    }
}
