//! The canonical proto3 JSON mapping of envelopes and messages.
//!
//! Output is the mapping as the reference implementation (Python's `google.protobuf.json_format`)
//! writes it, compact: fields in field-number order under their lowerCamelCase JSON names, fields
//! without presence omitted when they hold their default, enums by name, `Any` as an object with
//! `"@type"` first and the message's fields inline, floats as Python prints them.
//!
//! Input follows the mapping's parsing rules: JSON names and original field names, integers as
//! numbers or strings, enums by name or number, `null` for "absent". A field given twice (under
//! the same name, as the reference refuses too, or under its other name) is an error, so two
//! readers of one text can never disagree on its meaning. Unknown fields are an error unless
//! [`JsonOptions::ignore_unknown_fields`] is set.

mod envelope;
mod error;
mod float;
mod reader;
mod scan;
mod writer;

pub use error::{JsonError, JsonErrorKind};
pub use reader::{FieldSet, JsonOptions, JsonRead, JsonReader};
pub use writer::{JsonWrite, JsonWriter};

use super::DecodeError;
use crate::{Envelope, EnvelopeRef};

/// The generated [`JsonRead`] and [`JsonWrite`] implementations and enum name tables.
// Every message field is read through `Into`, so that the few prost keeps boxed need no list
// of their own here; for the others the conversion is the identity.
#[allow(clippy::useless_conversion)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/json_impls.rs"));
}

/// A protobuf message with a canonical JSON form, read ([`JsonRead`]) and written
/// ([`JsonWrite`]). Every generated message type is one, by the build script's implementations of
/// the two; not meant to be implemented by hand.
pub trait JsonMessage: JsonRead + JsonWrite {}

impl<M: JsonRead + JsonWrite> JsonMessage for M {}

/// The envelope as canonical JSON text.
pub fn encode<'a>(envelope: impl Into<EnvelopeRef<'a>>) -> String {
    let mut out = String::new();
    encode_into(envelope, &mut out);
    out
}

/// Appends the envelope as canonical JSON text to `out`.
pub fn encode_into<'a>(envelope: impl Into<EnvelopeRef<'a>>, out: &mut String) {
    envelope::write(envelope.into(), out);
}

/// Reads an envelope from JSON text.
pub fn decode(text: &str) -> Result<Envelope, DecodeError> {
    decode_with(text, JsonOptions::default())
}

/// Reads an envelope from JSON text with the given options.
pub fn decode_with(text: &str, options: JsonOptions) -> Result<Envelope, DecodeError> {
    envelope::read(&mut JsonReader::new(text, options))
}

/// A message (not in an envelope) as canonical JSON text, e.g. for the marketplace protocol.
pub fn to_string<M: JsonMessage>(message: &M) -> String {
    let mut out = String::new();
    JsonWriter::new(&mut out).message(message);
    out
}

/// Reads a message (not in an envelope) from JSON text.
pub fn from_str<M: JsonMessage>(text: &str) -> Result<M, JsonError> {
    from_str_with(text, JsonOptions::default())
}

/// Reads a message (not in an envelope) from JSON text with the given options.
pub fn from_str_with<M: JsonMessage>(text: &str, options: JsonOptions) -> Result<M, JsonError> {
    let mut reader = JsonReader::new(text, options);
    let message = reader.message()?;
    reader.end()?;
    Ok(message)
}
