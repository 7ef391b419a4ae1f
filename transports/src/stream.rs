//! A byte stream (a Unix domain socket, a named pipe, any `AsyncRead + AsyncWrite`) as a
//! [`Transport`]: the session frames and deframes, this only reads and writes.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use futures_lite::{AsyncRead, AsyncWrite};
use logi_plugin_core::codec::frame::DEFAULT_MAX_FRAME_LEN;
use logi_plugin_core::session::{Frame, Wire};

use crate::transport::{Received, Transport};

/// How much the first read asks for: an idle connection holds no more than this.
const FIRST_READ_SIZE: usize = 4 * 1024;

/// The most one read asks for: a read that fills the buffer doubles it, up to this.
const MAX_READ_SIZE: usize = 64 * 1024;

/// A byte stream carrying length-delimited binary frames.
#[derive(Debug)]
pub struct StreamTransport<S> {
    io: S,
    max_frame_len: usize,
    read_buf: Box<[u8]>,
    /// Bytes queued to write, front first; the front may be partly written.
    queued: VecDeque<Bytes>,
    queued_bytes: usize,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> StreamTransport<S> {
    /// A transport over `io`, with frames up to the default limit (8 MiB).
    pub fn new(io: S) -> Self {
        StreamTransport::with_max_frame_len(io, DEFAULT_MAX_FRAME_LEN)
    }

    /// A transport over `io` whose session refuses frames longer than `max_frame_len`.
    pub fn with_max_frame_len(io: S, max_frame_len: usize) -> Self {
        StreamTransport {
            io,
            max_frame_len,
            read_buf: vec![0; FIRST_READ_SIZE].into_boxed_slice(),
            queued: VecDeque::new(),
            queued_bytes: 0,
        }
    }

    /// The stream inside.
    pub fn get_ref(&self) -> &S {
        &self.io
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> Transport for StreamTransport<S> {
    fn wire(&self) -> Wire {
        Wire::Stream {
            max_frame_len: self.max_frame_len,
        }
    }

    fn poll_receive(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Received<'_>>> {
        let read = ready!(Pin::new(&mut self.io).poll_read(cx, &mut self.read_buf))?;
        if read == self.read_buf.len() && read < MAX_READ_SIZE {
            // More is coming than fits: read in bigger pieces from the next read on.
            let grown = vec![0; read * 2].into_boxed_slice();
            let full = std::mem::replace(&mut self.read_buf, grown);
            self.read_buf[..read].copy_from_slice(&full);
        }
        Poll::Ready(Ok(match read {
            0 => Received::End,
            n => Received::Bytes(&self.read_buf[..n]),
        }))
    }

    fn queue(&mut self, frame: Frame) {
        self.queued_bytes += frame.as_bytes().len();
        match frame {
            Frame::Binary(bytes) => self.queued.push_back(bytes),
            // A stream session produces binary only; text would be a driver bug, sent as bytes.
            Frame::Text(text) => self.queued.push_back(Bytes::from(text)),
        }
    }

    fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some(front) = self.queued.front_mut() {
            let written = ready!(Pin::new(&mut self.io).poll_write(cx, front))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            front.advance(written);
            self.queued_bytes -= written;
            if front.is_empty() {
                self.queued.pop_front();
            }
        }
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_flush(cx))?;
        Pin::new(&mut self.io).poll_close(cx)
    }
}
