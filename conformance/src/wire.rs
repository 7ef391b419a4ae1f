//! The kit's raw view of one connection: envelopes written exactly as the kit means them (an
//! unknown type URL, a body that does not decode, a length prefix past any limit) and read
//! exactly as the peer sent them, each with the instant it arrived. No session stands between
//! the kit and the peer, so a check sees what a foreign implementation really did: a `Pong`
//! that never came, a status sent inside a `RetryAfter` window, a wrong error code.
//! On a WebSocket the kit writes in the connection's mode (binary, or JSON text) and notes the
//! mode of each frame the peer sends and, in JSON, the shape of its text (`text.rs`).

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;
use futures_lite::future;
use logi_plugin_core::codec::frame::FrameDecoder;
use logi_plugin_core::codec::{binary, json};
use logi_plugin_core::proto::plugin as wire;
use logi_plugin_core::session::{Format, Frame, Wire};
use logi_plugin_core::{Envelope, ResponseCode, ResponseInfo};
use logi_plugin_transports::{BoxTransport, Received};
use prost::Message as _;

use super::text::FrameLog;

/// What arrived from the peer.
#[derive(Clone, Debug)]
pub(super) enum Incoming {
    /// A readable envelope (boxed: most of what arrives is one, and it is large).
    Envelope(Box<Envelope>),
    /// A frame that is not a readable envelope of this protocol, with the decoder's reason.
    Unreadable(String),
    /// The peer closed the connection (or it failed), with how.
    Closed(String),
}

/// One connection, read and written raw.
#[derive(Debug)]
pub(super) struct Conn {
    transport: BoxTransport,
    /// The deframer of a byte-stream connection; `None` on a message transport (WebSocket).
    frames: Option<FrameDecoder>,
    arrived: VecDeque<(Instant, Incoming)>,
    closed: bool,
    /// On a message transport (WebSocket): each frame's mode and each text frame's shape.
    log: Option<FrameLog>,
    /// The format the kit writes in: the transport's, or on `FollowPeer` the peer's first
    /// frame's (binary until one came).
    writes: Format,
}

impl Conn {
    /// Reads and writes `transport`.
    pub(super) fn new(transport: BoxTransport) -> Conn {
        let (frames, log, writes) = match transport.wire() {
            Wire::Stream { max_frame_len } => {
                (Some(FrameDecoder::new(max_frame_len)), None, Format::Binary)
            }
            Wire::Messages {
                format: Format::Json,
            } => (None, Some(FrameLog::new(Format::Json)), Format::Json),
            Wire::Messages { .. } => (None, Some(FrameLog::new(Format::Binary)), Format::Binary),
        };
        Conn {
            transport,
            frames,
            arrived: VecDeque::new(),
            closed: false,
            log,
            writes,
        }
    }

    /// What the peer's frames were, on a message transport (WebSocket).
    pub(super) fn frame_log(&mut self) -> Option<&mut FrameLog> {
        self.log.as_mut()
    }

    /// Whether the kit writes JSON text on this connection.
    pub(super) fn writes_text(&self) -> bool {
        self.writes == Format::Json
    }

    /// Shuts the connection down, by `deadline` at the latest, and lets it go: on a local
    /// socket the peer sees the end only once the socket is dropped.
    pub(super) async fn close(mut self, deadline: Instant) {
        let closing = future::poll_fn(|cx| self.transport.poll_close(cx));
        let _ = until(deadline, closing).await;
    }

    /// Sends `envelope` as it is, by `deadline`.
    pub(super) async fn send_raw(
        &mut self,
        envelope: &wire::Envelope,
        deadline: Instant,
    ) -> Result<(), String> {
        let frame = match self.frames {
            Some(_) => envelope.encode_length_delimited_to_vec(),
            None => envelope.encode_to_vec(),
        };
        self.send_frame(Frame::Binary(Bytes::from(frame)), deadline)
            .await
    }

    /// Sends a typed envelope by `deadline`, in the connection's format.
    pub(super) async fn send(
        &mut self,
        envelope: &Envelope,
        deadline: Instant,
    ) -> Result<(), String> {
        if self.writes_text() {
            let text = json::encode(envelope);
            return self.send_frame(Frame::Text(text), deadline).await;
        }
        self.send_raw(&envelope.to_proto(), deadline).await
    }

    /// Writes `frame` as it is (raw bytes on a byte stream) and waits until it is written.
    pub(super) async fn send_frame(
        &mut self,
        frame: Frame,
        deadline: Instant,
    ) -> Result<(), String> {
        self.transport.queue(frame);
        let flushed = future::poll_fn(|cx| self.transport.poll_flush(cx));
        match until(deadline, flushed).await {
            Some(Ok(())) => Ok(()),
            Some(Err(error)) => Err(format!("writing failed: {error}")),
            None => Err("the peer read nothing: the write did not finish in time".into()),
        }
    }

    /// The next thing that arrived, with when, or `None` if nothing did by `deadline`.
    pub(super) async fn next(&mut self, deadline: Instant) -> Option<(Instant, Incoming)> {
        loop {
            if let Some(arrived) = self.arrived.pop_front() {
                return Some(arrived);
            }
            if self.closed {
                let closed = Incoming::Closed("the connection had already closed".into());
                return Some((Instant::now(), closed));
            }
            let read = future::poll_fn(|cx| {
                self.transport
                    .poll_receive(cx)
                    .map(|received| match received {
                        Ok(Received::Bytes(bytes)) => Read::Bytes(bytes.to_vec()),
                        Ok(Received::Frame(frame)) => Read::Frame(frame),
                        Ok(Received::End) => Read::End("the peer closed the connection".into()),
                        Err(error) => Read::End(format!("the connection failed: {error}")),
                    })
            });
            let read = until(deadline, read).await?;
            self.take(Instant::now(), read);
        }
    }

    /// Decodes what a read brought.
    fn take(&mut self, now: Instant, read: Read) {
        if let (Read::Frame(frame), Some(log)) = (&read, &mut self.log) {
            let follows = self.transport.wire()
                == (Wire::Messages {
                    format: Format::FollowPeer,
                });
            if log.frames() == 0 && follows {
                self.writes = match frame {
                    Frame::Text(_) => Format::Json,
                    Frame::Binary(_) => Format::Binary,
                };
            }
            match frame {
                Frame::Text(text) => log.text(text),
                Frame::Binary(bytes) => log.binary(bytes.len()),
            }
        }
        match read {
            Read::End(how) => {
                self.closed = true;
                if let Some(Err(error)) = self.frames.as_ref().map(FrameDecoder::finish) {
                    self.arrived
                        .push_back((now, Incoming::Unreadable(error.to_string())));
                }
                self.arrived.push_back((now, Incoming::Closed(how)));
            }
            Read::Frame(Frame::Binary(bytes)) => self
                .arrived
                .push_back((now, decoded(binary::decode(bytes)))),
            Read::Frame(Frame::Text(text)) => {
                self.arrived.push_back((now, decoded(json::decode(&text))))
            }
            Read::Bytes(bytes) => {
                let Some(frames) = &mut self.frames else {
                    return;
                };
                frames.push(&bytes);
                loop {
                    match frames.next_frame() {
                        Ok(Some(frame)) => self
                            .arrived
                            .push_back((now, decoded(binary::decode(frame)))),
                        Ok(None) => break,
                        Err(error) => {
                            // The rest of the stream cannot be read: as good as closed.
                            self.closed = true;
                            self.arrived
                                .push_back((now, Incoming::Unreadable(error.to_string())));
                            let closed =
                                Incoming::Closed("the stream could not be read further".into());
                            self.arrived.push_back((now, closed));
                            break;
                        }
                    }
                }
            }
        }
    }
}

enum Read {
    Bytes(Vec<u8>),
    Frame(Frame),
    End(String),
}

fn decoded<E: std::fmt::Display>(result: Result<Envelope, E>) -> Incoming {
    match result {
        Ok(envelope) => Incoming::Envelope(Box::new(envelope)),
        Err(error) => Incoming::Unreadable(error.to_string()),
    }
}

/// `future`'s output, or `None` if `deadline` comes first.
pub(super) async fn until<T>(deadline: Instant, future: impl Future<Output = T>) -> Option<T> {
    future::or(async { Some(future.await) }, async {
        async_io::Timer::at(deadline).await;
        None
    })
    .await
}

/// The result code of a response, by name (`NOT_IMPLEMENTED`), or its number if it names none.
pub(super) fn code_name(response: &ResponseInfo) -> String {
    ResponseCode::try_from(response.result).map_or_else(
        |_| response.result.to_string(),
        |code| code.as_str_name().to_string(),
    )
}

/// How an envelope reads in a check's detail: `TriggerAction request 3`, `response 7 (SUCCESS,
/// Pong)`.
pub(super) fn describe(envelope: &Envelope) -> String {
    let name = envelope.message.as_ref().map_or("no message", |m| {
        m.full_name().rsplit('.').next().unwrap_or_default()
    });
    match &envelope.response {
        Some(response) => format!("response {} ({}, {name})", envelope.id, code_name(response)),
        None if envelope.id == 0 => format!("{name} notification"),
        None => format!("{name} request {}", envelope.id),
    }
}
