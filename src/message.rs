//! One typed enum of every message, and its conversion to and from `google.protobuf.Any`.
//!
//! [`Message`] and [`MessageType`] are generated from `proto/` by the build script. A type URL is
//! matched by the name after its last `/`, as the official protobuf libraries do, so
//! `type.googleapis.com/logi.plugin.protocol.Ping` and `example.com/logi.plugin.protocol.Ping`
//! name the same message; this crate always writes the `type.googleapis.com/` form.

use crate::ResponseCode;
use crate::codec::json::JsonError;

include!(concat!(env!("OUT_DIR"), "/messages.rs"));

/// Why a message body could not be turned into a typed [`Message`].
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// The type URL names no message of this protocol.
    #[error("unknown message type URL {type_url:?}")]
    UnknownTypeUrl {
        /// The type URL as received.
        type_url: String,
    },
    /// The binary body is not a valid message of its type.
    #[error("malformed {} body: {source}", message_type.full_name())]
    Malformed {
        /// The type the URL named.
        message_type: MessageType,
        /// What prost found wrong, with the field path.
        source: prost::DecodeError,
    },
    /// The JSON body is not a valid message of its type.
    #[error("malformed {} JSON body: {source}", message_type.full_name())]
    MalformedJson {
        /// The type the `@type` member named.
        message_type: MessageType,
        /// What was wrong, and where.
        source: JsonError,
    },
}

impl MessageError {
    /// The error code a session answers with: `NOT_IMPLEMENTED` for a message it does not know,
    /// `INVALID_ARG` for a body it cannot read.
    pub fn response_code(&self) -> ResponseCode {
        match self {
            MessageError::UnknownTypeUrl { .. } => ResponseCode::NotImplemented,
            MessageError::Malformed { .. } | MessageError::MalformedJson { .. } => {
                ResponseCode::InvalidArg
            }
        }
    }
}

impl MessageType {
    /// The message type a type URL names: the part after the last `/` is the full name.
    pub fn from_type_url(type_url: &str) -> Option<MessageType> {
        let name = type_url.rsplit_once('/').map_or(type_url, |(_, name)| name);
        MessageType::from_full_name(name)
    }

    /// The message type a type URL names, or the error a body of an unknown type is.
    pub(crate) fn of_type_url(type_url: &str) -> Result<MessageType, MessageError> {
        MessageType::from_type_url(type_url).ok_or_else(|| MessageError::UnknownTypeUrl {
            type_url: type_url.to_string(),
        })
    }
}

impl Message {
    /// The fully qualified protobuf name of this message.
    pub fn full_name(&self) -> &'static str {
        self.message_type().full_name()
    }

    /// The type URL this message is packed with.
    pub fn type_url(&self) -> &'static str {
        self.message_type().type_url()
    }

    /// Decodes a binary body packed under `type_url`.
    pub fn decode(type_url: &str, body: &[u8]) -> Result<Message, MessageError> {
        let message_type = MessageType::of_type_url(type_url)?;
        message_type
            .decode(body)
            .map_err(|source| MessageError::Malformed {
                message_type,
                source,
            })
    }

    /// Unpacks a `google.protobuf.Any`.
    pub fn from_any(any: &prost_types::Any) -> Result<Message, MessageError> {
        Message::decode(&any.type_url, &any.value)
    }

    /// Unpacks the fields of an envelope's `Any`, as received: an empty `Any` (no type URL, no
    /// body) carries no message, and a type URL that is not UTF-8 names no message.
    pub(crate) fn unpack(type_url: &[u8], body: &[u8]) -> Result<Option<Message>, MessageError> {
        if type_url.is_empty() && body.is_empty() {
            return Ok(None);
        }
        let type_url = std::str::from_utf8(type_url).map_err(|_| MessageError::UnknownTypeUrl {
            type_url: String::from_utf8_lossy(type_url).into_owned(),
        })?;
        Message::decode(type_url, body).map(Some)
    }

    /// Packs this message into a `google.protobuf.Any`.
    pub fn to_any(&self) -> prost_types::Any {
        let mut value = Vec::with_capacity(self.encoded_len());
        self.encode_raw(&mut value);
        prost_types::Any {
            type_url: self.type_url().to_string(),
            value,
        }
    }
}
