//! An in-memory byte stream pair: a manager and plugins in one process, and tests.
//!
//! Each direction is a bounded pipe, so a side that stops reading slows its peer down instead of
//! growing memory; on top, the pair is an ordinary framed byte stream ([`StreamTransport`]).
//!
//! [`StreamTransport`]: crate::StreamTransport

use crate::duplex::Duplex;

/// How many bytes each direction buffers before the writer waits.
pub const PIPE_CAPACITY: usize = 256 * 1024;

/// One end of an in-memory connection.
pub type MemoryStream = Duplex<piper::Reader, piper::Writer>;

/// Two connected ends: what one writes, the other reads.
pub fn pair() -> (MemoryStream, MemoryStream) {
    let (a_reader, b_writer) = piper::pipe(PIPE_CAPACITY);
    let (b_reader, a_writer) = piper::pipe(PIPE_CAPACITY);
    (
        Duplex {
            reader: a_reader,
            writer: a_writer,
        },
        Duplex {
            reader: b_reader,
            writer: b_writer,
        },
    )
}
