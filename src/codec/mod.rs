//! Turning [`Envelope`](crate::Envelope)s into bytes and text, and back.
//!
//! - [`binary`]: an envelope as protobuf bytes (WebSocket binary frames, and the payload of a
//!   stream frame).
//! - [`frame`]: protobuf's varint length-delimited stream framing (`writeDelimitedTo` /
//!   `parseDelimitedFrom`) for named pipes and Unix domain sockets, with an incremental decoder.
//! - [`json`]: the canonical proto3 JSON mapping (WebSocket text frames, the marketplace).
//!
//! Decoding never panics and never allocates more than its input calls for: bad input is an
//! `Err` saying what was wrong and where.

pub mod binary;
mod check;
pub mod frame;
pub mod json;

use crate::{MessageError, ResponseInfo};

/// Why an envelope could not be decoded.
///
/// [`DecodeError::Message`] means the envelope itself was readable: its id and response field
/// are known, so a session can answer the request with [`MessageError::response_code`]. The other
/// variants mean the id cannot be trusted.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes are not a protobuf `Envelope`.
    #[error("malformed envelope: {0}")]
    Envelope(prost::DecodeError),
    /// The text is not a JSON `Envelope`.
    #[error("malformed JSON envelope: {0}")]
    Json(json::JsonError),
    /// The envelope was read, but the message it carries was not.
    #[error("envelope {id}: {source}")]
    Message {
        /// The envelope's id.
        id: u32,
        /// The envelope's response field: `Some` if it was a response.
        response: Option<ResponseInfo>,
        /// Why the message could not be read.
        source: MessageError,
    },
}
