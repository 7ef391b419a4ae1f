//! A message already encoded: its type and protobuf bytes, checked once to decode, then carried
//! to the wire as they are.

use bytes::Bytes;

use crate::{Message, MessageError, MessageType};

/// A message as protobuf bytes, with its type: what a caller with a protobuf library of its own
/// (a plugin through the C ABI) hands over, so that a binary wire takes its bytes as they are
/// instead of a decode and an encode again. A JSON wire decodes it to write it.
///
/// Only bytes that decode as the type make one ([`EncodedMessage::new`]), checked without
/// decoding them ([`MessageType::is_decodable`]).
#[derive(Clone, Debug, PartialEq)]
pub struct EncodedMessage {
    message_type: MessageType,
    body: Bytes,
}

impl EncodedMessage {
    /// The message of type `message_type` whose encoding is `body`; or why `body` does not
    /// decode as one, as [`Message::decode`] would say.
    pub fn new(
        message_type: MessageType,
        body: impl Into<Bytes>,
    ) -> Result<EncodedMessage, MessageError> {
        let body = body.into();
        // Decoded only when the check fails, for prost's account of what is wrong.
        if !message_type.is_decodable(&body)
            && let Err(source) = message_type.decode(&body)
        {
            return Err(MessageError::Malformed {
                message_type,
                source,
            });
        }
        Ok(EncodedMessage { message_type, body })
    }

    /// The message packed under `type_url` (or named by its full name) whose encoding is
    /// `body`; or why not, as [`Message::decode`] would say.
    pub fn with_type_url(
        type_url: &str,
        body: impl Into<Bytes>,
    ) -> Result<EncodedMessage, MessageError> {
        EncodedMessage::new(MessageType::of_type_url(type_url)?, body)
    }

    /// The message's type.
    pub fn message_type(&self) -> MessageType {
        self.message_type
    }

    /// The message's protobuf encoding.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The message, decoded.
    pub fn decode(&self) -> Message {
        self.message_type
            .decode(&self.body)
            .expect("an EncodedMessage's body was checked to decode when it was made")
    }
}

impl From<&Message> for EncodedMessage {
    fn from(message: &Message) -> EncodedMessage {
        let mut body = Vec::with_capacity(message.encoded_len());
        message.encode_raw(&mut body);
        EncodedMessage {
            message_type: message.message_type(),
            body: body.into(),
        }
    }
}
