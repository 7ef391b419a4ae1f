//! The typed envelope: a [`Message`] with its request id and, for a response, its outcome.

use crate::codec::DecodeError;
use crate::{EncodedMessage, Message, MessageType, ResponseCode, ResponseInfo, proto};

/// One unit of the protocol (seed chapter 5): the typed form of `logi.plugin.protocol.Envelope`.
///
/// A request carries the sender's id for it and no `response`; a response carries the id of the
/// request it answers and a [`ResponseInfo`]. The `message` is absent on a bare ok or error answer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Envelope {
    /// The request id (for a response, the id of the request it answers); 0 means none.
    pub id: u32,
    /// The message carried, if any.
    pub message: Option<Message>,
    /// Present if and only if this envelope is a response.
    pub response: Option<ResponseInfo>,
}

/// An envelope whose parts are borrowed: what the encoders read. A session encodes the message
/// it was given, or a reply it still holds, without first moving it into an [`Envelope`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EnvelopeRef<'a> {
    /// The request id (for a response, the id of the request it answers); 0 means none.
    pub id: u32,
    /// The message carried, if any.
    pub message: Option<Body<'a>>,
    /// Present if and only if this envelope is a response.
    pub response: Option<&'a ResponseInfo>,
}

impl<'a> EnvelopeRef<'a> {
    /// A request (or notification, id 0) with id `id` carrying `message`.
    pub fn request(id: u32, message: &'a Message) -> EnvelopeRef<'a> {
        EnvelopeRef {
            id,
            message: Some(Body::Message(message)),
            response: None,
        }
    }
}

impl<'a> From<&'a Envelope> for EnvelopeRef<'a> {
    fn from(envelope: &'a Envelope) -> EnvelopeRef<'a> {
        EnvelopeRef {
            id: envelope.id,
            message: envelope.message.as_ref().map(Body::Message),
            response: envelope.response.as_ref(),
        }
    }
}

/// The message an [`EnvelopeRef`] carries: typed, or already encoded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Body<'a> {
    /// A typed message, encoded as the envelope is.
    Message(&'a Message),
    /// A message's bytes, copied as they are (decoded only for JSON).
    Encoded(&'a EncodedMessage),
}

impl Body<'_> {
    /// The message's type.
    pub fn message_type(self) -> MessageType {
        match self {
            Body::Message(message) => message.message_type(),
            Body::Encoded(encoded) => encoded.message_type(),
        }
    }

    /// The type URL the message is packed with.
    pub fn type_url(self) -> &'static str {
        self.message_type().type_url()
    }

    /// The length of the message's protobuf encoding.
    pub fn encoded_len(self) -> usize {
        match self {
            Body::Message(message) => message.encoded_len(),
            Body::Encoded(encoded) => encoded.body().len(),
        }
    }

    /// Appends the message's protobuf encoding to `buf`.
    pub fn encode_raw(self, buf: &mut impl bytes::BufMut) {
        match self {
            Body::Message(message) => message.encode_raw(buf),
            Body::Encoded(encoded) => buf.put_slice(encoded.body()),
        }
    }
}

impl Envelope {
    /// A request (or notification) with id `id` carrying `message`.
    pub fn request(id: u32, message: impl Into<Message>) -> Envelope {
        Envelope {
            id,
            message: Some(message.into()),
            response: None,
        }
    }

    /// A response to request `id`.
    pub fn response(id: u32, response: ResponseInfo, message: Option<Message>) -> Envelope {
        Envelope {
            id,
            message,
            response: Some(response),
        }
    }

    /// Whether this envelope answers a request (it has a `response` field).
    pub fn is_response(&self) -> bool {
        self.response.is_some()
    }

    /// Converts the generated protobuf form, unpacking its `Any`.
    pub fn from_proto(envelope: proto::plugin::Envelope) -> Result<Envelope, DecodeError> {
        let message = match &envelope.message {
            Some(any) => {
                Message::unpack(any.type_url.as_bytes(), &any.value).map_err(|source| {
                    DecodeError::Message {
                        id: envelope.id,
                        response: envelope.response.clone(),
                        source,
                    }
                })?
            }
            None => None,
        };
        Ok(Envelope {
            id: envelope.id,
            message,
            response: envelope.response,
        })
    }

    /// Converts to the generated protobuf form, packing the message into an `Any`.
    pub fn to_proto(&self) -> proto::plugin::Envelope {
        proto::plugin::Envelope {
            id: self.id,
            message: self.message.as_ref().map(Message::to_any),
            response: self.response.clone(),
        }
    }
}

impl ResponseInfo {
    /// A `SUCCESS` response.
    pub fn ok() -> ResponseInfo {
        ResponseInfo {
            result: ResponseCode::Success as i32,
            what: String::new(),
        }
    }

    /// A response with an error code of seed chapter 6 and a description.
    pub fn error(code: ResponseCode, what: impl Into<String>) -> ResponseInfo {
        ResponseInfo {
            result: code as i32,
            what: what.into(),
        }
    }

    /// Whether the result is `SUCCESS`.
    pub fn is_ok(&self) -> bool {
        self.result == ResponseCode::Success as i32
    }
}
