//! Stream framing for byte streams (named pipes, Unix domain sockets): each envelope is preceded
//! by its length as a protobuf varint, the format of `writeDelimitedTo` / `parseDelimitedFrom` in
//! every protobuf library, so peers in any language interoperate.
//!
//! [`FrameDecoder`] accepts the stream split at any byte, one byte at a time included, and checks
//! an announced length against its limit before buffering any of the frame.

use bytes::{Buf, Bytes, BytesMut};
use prost::encoding::{encode_varint, encoded_len_varint};

use super::binary::Sizes;
use crate::EnvelopeRef;

/// The default largest frame, in bytes: 8 MiB.
pub const DEFAULT_MAX_FRAME_LEN: usize = 8 * 1024 * 1024;

/// The most bytes a varint can take.
const MAX_VARINT_LEN: usize = 10;

/// Why an envelope was not framed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The envelope is larger than the frame limit, so the peer would refuse it.
    #[error("envelope of {len} bytes exceeds the frame limit of {limit} bytes")]
    Oversized {
        /// The envelope's encoded length.
        len: usize,
        /// The limit.
        limit: usize,
    },
}

/// Why a byte stream could not be split into frames. After any of these the stream cannot be
/// trusted: the decoder stays failed and the connection should be closed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The length prefix announces more than the limit.
    #[error(
        "frame at stream offset {offset} announces {announced} bytes, over the limit of {limit} bytes"
    )]
    Oversized {
        /// The announced length.
        announced: u64,
        /// The limit.
        limit: usize,
        /// Where the frame's length prefix starts in the stream.
        offset: u64,
    },
    /// The length prefix is not a varint: ten bytes without an end, or a value past `u64`.
    #[error("frame at stream offset {offset} has a malformed length prefix: {prefix:02x?}")]
    MalformedLength {
        /// The bytes of the bad prefix.
        prefix: Vec<u8>,
        /// Where the frame's length prefix starts in the stream.
        offset: u64,
    },
    /// The stream ended inside a frame.
    #[error(
        "stream ended inside the frame at stream offset {offset}: {received} bytes received of {}",
        .expected.map_or("an unfinished length prefix".to_string(), |n| format!("{n} (prefix and body)"))
    )]
    Truncated {
        /// The frame's whole length (prefix and body), if the prefix was complete.
        expected: Option<usize>,
        /// The bytes of the frame that arrived.
        received: usize,
        /// Where the frame starts in the stream.
        offset: u64,
    },
}

/// Appends `envelope` as one frame (varint length, then the envelope) to `buf`.
///
/// Fails without writing anything when the envelope is longer than `max_frame_len`.
pub fn encode_frame<'a>(
    envelope: impl Into<EnvelopeRef<'a>>,
    max_frame_len: usize,
    buf: &mut BytesMut,
) -> Result<(), EncodeError> {
    let envelope = envelope.into();
    let sizes = Sizes::of(envelope);
    if sizes.envelope > max_frame_len {
        return Err(EncodeError::Oversized {
            len: sizes.envelope,
            limit: max_frame_len,
        });
    }
    buf.reserve(encoded_len_varint(sizes.envelope as u64) + sizes.envelope);
    encode_varint(sizes.envelope as u64, buf);
    sizes.encode(envelope, buf);
    Ok(())
}

/// An incremental decoder of length-delimited frames.
///
/// Feed it bytes as they arrive with [`push`](Self::push), then take complete frames with
/// [`next_frame`](Self::next_frame) until it returns `Ok(None)`. Frames come out as [`Bytes`]
/// slices of the decoder's buffer, without a copy.
#[derive(Debug)]
pub struct FrameDecoder {
    buf: BytesMut,
    max_frame_len: usize,
    /// The body length of the frame at the front of `buf`, once its prefix has been read (the
    /// prefix is then already consumed).
    body_len: Option<usize>,
    /// Stream offset of the front of `buf`.
    offset: u64,
    /// Stream offset where the current frame's prefix starts.
    frame_offset: u64,
    failed: Option<FrameError>,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::new(DEFAULT_MAX_FRAME_LEN)
    }
}

impl FrameDecoder {
    /// A decoder refusing frames longer than `max_frame_len` bytes.
    pub fn new(max_frame_len: usize) -> FrameDecoder {
        FrameDecoder {
            buf: BytesMut::new(),
            max_frame_len,
            body_len: None,
            offset: 0,
            frame_offset: 0,
            failed: None,
        }
    }

    /// The largest frame this decoder accepts.
    pub fn max_frame_len(&self) -> usize {
        self.max_frame_len
    }

    /// Bytes received and not yet returned as frames.
    pub fn buffered_len(&self) -> usize {
        self.buf.len()
    }

    /// Adds bytes received from the stream. Ignored once the decoder has failed.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_none() {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// The next complete frame, `Ok(None)` if more bytes are needed, or the error that makes the
    /// rest of the stream unreadable (returned again on every later call).
    pub fn next_frame(&mut self) -> Result<Option<Bytes>, FrameError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let body_len = match self.body_len {
            Some(len) => len,
            None => match self.read_prefix() {
                Ok(Some(len)) => len,
                Ok(None) => return Ok(None),
                Err(error) => {
                    self.buf = BytesMut::new();
                    self.failed = Some(error.clone());
                    return Err(error);
                }
            },
        };
        if self.buf.len() < body_len {
            self.body_len = Some(body_len);
            return Ok(None);
        }
        self.body_len = None;
        self.offset += body_len as u64;
        self.frame_offset = self.offset;
        Ok(Some(self.buf.split_to(body_len).freeze()))
    }

    /// Checks that the stream ended between frames.
    pub fn finish(&self) -> Result<(), FrameError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        if self.buf.is_empty() && self.body_len.is_none() {
            return Ok(());
        }
        // A prefix already read has been consumed from `buf`.
        let prefix_len = (self.offset - self.frame_offset) as usize;
        Err(FrameError::Truncated {
            expected: self.body_len.map(|len| prefix_len + len),
            received: prefix_len + self.buf.len(),
            offset: self.frame_offset,
        })
    }

    /// Reads and consumes a complete length prefix, checking it against the limit.
    fn read_prefix(&mut self) -> Result<Option<usize>, FrameError> {
        let mut value: u64 = 0;
        for (i, &byte) in self.buf.iter().take(MAX_VARINT_LEN).enumerate() {
            // The tenth byte may only carry the top bit of a u64.
            if i == MAX_VARINT_LEN - 1 && byte > 1 {
                return Err(self.malformed(MAX_VARINT_LEN));
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                if value > self.max_frame_len as u64 {
                    return Err(FrameError::Oversized {
                        announced: value,
                        limit: self.max_frame_len,
                        offset: self.frame_offset,
                    });
                }
                self.buf.advance(i + 1);
                self.offset += (i + 1) as u64;
                return Ok(Some(value as usize));
            }
        }
        if self.buf.len() >= MAX_VARINT_LEN {
            return Err(self.malformed(MAX_VARINT_LEN));
        }
        Ok(None)
    }

    fn malformed(&self, len: usize) -> FrameError {
        FrameError::MalformedLength {
            prefix: self.buf[..len].to_vec(),
            offset: self.frame_offset,
        }
    }
}
