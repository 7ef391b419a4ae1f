//! The binary codec: an [`Envelope`] as protobuf bytes, without a length prefix.
//!
//! The bytes are exactly those of `logi.plugin.protocol.Envelope` with the message packed in a
//! `google.protobuf.Any`, as any protobuf library writes them. Encoding writes the `Any` in place
//! instead of building it first, and decoding reads it as a slice of the input, so each message
//! body is copied once.

use bytes::{BufMut, Bytes, BytesMut};
use prost::Message as _;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};

use super::DecodeError;
use crate::{Envelope, EnvelopeRef, Message, ResponseInfo};

/// The length of an envelope's encoding.
pub fn encoded_len<'a>(envelope: impl Into<EnvelopeRef<'a>>) -> usize {
    Sizes::of(envelope.into()).envelope
}

/// Appends the envelope's encoding to `buf`.
pub fn encode<'a>(envelope: impl Into<EnvelopeRef<'a>>, buf: &mut impl BufMut) {
    let envelope = envelope.into();
    Sizes::of(envelope).encode(envelope, buf);
}

/// The envelope's encoding in a buffer of its own.
pub fn encode_to_bytes<'a>(envelope: impl Into<EnvelopeRef<'a>>) -> Bytes {
    let envelope = envelope.into();
    let sizes = Sizes::of(envelope);
    let mut buf = BytesMut::with_capacity(sizes.envelope);
    sizes.encode(envelope, &mut buf);
    buf.freeze()
}

/// Decodes one envelope from exactly these bytes.
///
/// The message body is read in place from `bytes`; pass the frame as [`Bytes`] (a `Vec<u8>`
/// converts without copying).
pub fn decode(bytes: Bytes) -> Result<Envelope, DecodeError> {
    let wire = WireEnvelope::decode(bytes).map_err(DecodeError::Envelope)?;
    let message = match wire.message {
        None => None,
        Some(any) => {
            Message::unpack(&any.type_url, &any.value).map_err(|source| DecodeError::Message {
                id: wire.id,
                response: wire.response.clone(),
                source,
            })?
        }
    };
    Ok(Envelope {
        id: wire.id,
        message,
        response: wire.response,
    })
}

/// The lengths an envelope's encoding is made of, computed once for both the length prefix and
/// the nested length fields.
pub(crate) struct Sizes {
    body: usize,
    any: usize,
    /// The whole envelope.
    pub(crate) envelope: usize,
}

impl Sizes {
    pub(crate) fn of(envelope: EnvelopeRef<'_>) -> Sizes {
        let mut sizes = Sizes {
            body: 0,
            any: 0,
            envelope: 0,
        };
        if envelope.id != 0 {
            sizes.envelope += key_len(1) + encoded_len_varint(u64::from(envelope.id));
        }
        if let Some(message) = envelope.message {
            let url = message.type_url().len();
            sizes.body = message.encoded_len();
            sizes.any = key_len(1) + encoded_len_varint(url as u64) + url;
            if sizes.body > 0 {
                sizes.any += key_len(2) + encoded_len_varint(sizes.body as u64) + sizes.body;
            }
            sizes.envelope += key_len(2) + encoded_len_varint(sizes.any as u64) + sizes.any;
        }
        if let Some(response) = envelope.response {
            sizes.envelope += prost::encoding::message::encoded_len(3, response);
        }
        sizes
    }

    pub(crate) fn encode(&self, envelope: EnvelopeRef<'_>, buf: &mut impl BufMut) {
        if envelope.id != 0 {
            prost::encoding::uint32::encode(1, &envelope.id, buf);
        }
        if let Some(message) = envelope.message {
            encode_key(2, WireType::LengthDelimited, buf);
            encode_varint(self.any as u64, buf);
            let url = message.type_url();
            encode_key(1, WireType::LengthDelimited, buf);
            encode_varint(url.len() as u64, buf);
            buf.put_slice(url.as_bytes());
            if self.body > 0 {
                encode_key(2, WireType::LengthDelimited, buf);
                encode_varint(self.body as u64, buf);
                message.encode_raw(buf);
            }
        }
        if let Some(response) = envelope.response {
            prost::encoding::message::encode(3, response, buf);
        }
    }
}

/// `logi.plugin.protocol.Envelope` as read off the wire, with the `Any` left as slices of the
/// input.
#[derive(Clone, PartialEq, prost::Message)]
struct WireEnvelope {
    #[prost(uint32, tag = "1")]
    id: u32,
    #[prost(message, optional, tag = "2")]
    message: Option<WireAny>,
    #[prost(message, optional, tag = "3")]
    response: Option<ResponseInfo>,
}

/// `google.protobuf.Any` with its fields borrowed from the input.
#[derive(Clone, PartialEq, prost::Message)]
struct WireAny {
    #[prost(bytes = "bytes", tag = "1")]
    type_url: Bytes,
    #[prost(bytes = "bytes", tag = "2")]
    value: Bytes,
}
