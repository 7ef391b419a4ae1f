//! Whether bytes decode as a message of a given type, found without decoding them: how a
//! message handed over already encoded (an answer through the C ABI) is checked, so that its
//! bytes can go to the wire as they are instead of being decoded and encoded again.
//!
//! The check accepts exactly what prost's decoding accepts (`tests/wire_check.rs` compares the
//! two on random and on damaged encodings, and so does the `binary_decode` fuzz target): each
//! known field in its wire type, strings in UTF-8, nested
//! messages and unknown fields (groups too) within their lengths, down to prost's recursion
//! limit. Values are not kept: a message is walked, never built, so nothing is allocated.

use prost::encoding::{WireType, decode_key, decode_varint};

use crate::MessageType;

include!(concat!(env!("OUT_DIR"), "/checks.rs"));

/// How deep prost decodes nested messages and groups (its private `RECURSION_LIMIT`).
const RECURSION_LIMIT: u32 = 100;

/// How a field's value is laid out on the wire.
#[derive(Clone, Copy)]
enum Layout {
    /// `bool`, `int32`, `uint32` and enums: any varint.
    Varint,
    /// `float`: four bytes.
    Fixed32,
    /// `string`: length-delimited UTF-8.
    Text,
    /// `bytes`: length-delimited anything.
    Bytes,
    /// A message, by its index in `MESSAGES`.
    Message(usize),
}

impl Layout {
    fn wire_type(self) -> WireType {
        match self {
            Layout::Varint => WireType::Varint,
            Layout::Fixed32 => WireType::ThirtyTwoBit,
            Layout::Text | Layout::Bytes | Layout::Message(_) => WireType::LengthDelimited,
        }
    }
}

/// A field of a message. Repeated or not, its values are laid out alike: the schema has no
/// repeated number, which could be packed (`build/gen_check.rs` refuses one).
struct Field {
    number: u32,
    layout: Layout,
}

impl MessageType {
    /// Whether `body` decodes as a message of this type, as [`MessageType::decode`] would find,
    /// without decoding it: no value is built, nothing is allocated.
    pub fn is_decodable(self, body: &[u8]) -> bool {
        fields(MESSAGES[self.check_index()], body, RECURSION_LIMIT).is_some()
    }
}

/// Walks a message's fields; `left` is how much deeper prost would still go.
fn fields(fields: &[Field], mut buf: &[u8], left: u32) -> Option<()> {
    while !buf.is_empty() {
        let (number, wire_type) = decode_key(&mut buf).ok()?;
        match fields.iter().find(|field| field.number == number) {
            Some(field) => value(field, wire_type, &mut buf, left)?,
            None => skip(wire_type, number, &mut buf, left)?,
        }
    }
    Some(())
}

/// Walks one value of a known field.
fn value(field: &Field, wire_type: WireType, buf: &mut &[u8], left: u32) -> Option<()> {
    if wire_type != field.layout.wire_type() {
        return None;
    }
    match field.layout {
        Layout::Varint => decode_varint(buf).ok().map(drop),
        Layout::Fixed32 => advance(buf, 4),
        Layout::Text => std::str::from_utf8(delimited(buf)?).ok().map(drop),
        Layout::Bytes => delimited(buf).map(drop),
        Layout::Message(index) => {
            let nested = delimited(buf)?;
            let left = left.checked_sub(1)?;
            fields(MESSAGES[index], nested, left)
        }
    }
}

/// Walks an unknown field, as prost skips it.
fn skip(wire_type: WireType, number: u32, buf: &mut &[u8], left: u32) -> Option<()> {
    if left == 0 {
        return None;
    }
    let len = match wire_type {
        WireType::Varint => decode_varint(buf).ok().map(|_| 0)?,
        WireType::ThirtyTwoBit => 4,
        WireType::SixtyFourBit => 8,
        WireType::LengthDelimited => decode_varint(buf).ok()?,
        WireType::StartGroup => loop {
            let (inner, inner_type) = decode_key(buf).ok()?;
            if inner_type == WireType::EndGroup {
                if inner != number {
                    return None;
                }
                break 0;
            }
            skip(inner_type, inner, buf, left - 1)?;
        },
        WireType::EndGroup => return None,
    };
    advance(buf, usize::try_from(len).ok()?)
}

/// The length-delimited bytes at the front of `buf`, taken off it.
fn delimited<'a>(buf: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = usize::try_from(decode_varint(buf).ok()?).ok()?;
    let (value, rest) = buf.split_at_checked(len)?;
    *buf = rest;
    Some(value)
}

fn advance(buf: &mut &[u8], len: usize) -> Option<()> {
    *buf = buf.get(len..)?;
    Some(())
}
