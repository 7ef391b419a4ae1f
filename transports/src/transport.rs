//! What a driver needs from a transport: input as it arrives, and a queue of frames to write.
//!
//! A transport moves bytes or frames and nothing else. Whether a frame is binary or text, how a
//! byte stream is split into envelopes, what a frame means: all of that is the session's.

use std::io;
use std::task::{Context, Poll};

use logi_plugin_core::session::{Frame, Wire};

/// What a transport read.
#[derive(Debug)]
pub enum Received<'a> {
    /// Bytes of a byte stream, split anywhere, in the transport's own buffer.
    Bytes(&'a [u8]),
    /// One whole frame of a message transport.
    Frame(Frame),
    /// The peer closed its side: nothing more will arrive.
    End,
}

/// A connection a session can be driven over.
///
/// Writing is queue-then-flush, so a slow peer never stops the driver from reading: frames the
/// session produces are [`queue`](Self::queue)d at once, and [`poll_flush`](Self::poll_flush)
/// writes them out as the connection allows.
pub trait Transport: Unpin + Send + std::fmt::Debug {
    /// How the session must see this connection: a framed byte stream, or whole frames.
    fn wire(&self) -> Wire;

    /// Polls for the next input.
    fn poll_receive(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Received<'_>>>;

    /// Queues a frame the session produced. Never blocks.
    fn queue(&mut self, frame: Frame);

    /// Bytes queued and not yet written: the driver stops reading while this is large, so a
    /// peer that does not read cannot make us buffer without bound, and takes status and image
    /// updates only when it is zero, so they never queue here ahead of an answer.
    fn queued_bytes(&self) -> usize;

    /// Writes queued frames out; ready once all are written and flushed.
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Flushes and shuts the connection down.
    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

/// Any transport, chosen at run time (a local socket or a WebSocket, say).
pub type BoxTransport = Box<dyn Transport>;

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn wire(&self) -> Wire {
        (**self).wire()
    }

    fn poll_receive(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Received<'_>>> {
        (**self).poll_receive(cx)
    }

    fn queue(&mut self, frame: Frame) {
        (**self).queue(frame)
    }

    fn queued_bytes(&self) -> usize {
        (**self).queued_bytes()
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        (**self).poll_flush(cx)
    }

    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        (**self).poll_close(cx)
    }
}
