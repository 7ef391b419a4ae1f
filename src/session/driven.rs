//! The one interface both sessions offer whatever drives them: a transport adapter, a test
//! harness, a fuzzer. A driver written against [`Session`] works for the plugin side and the
//! manager side alike, and holds no protocol logic of its own.

use std::time::{Duration, Instant};

use super::{
    CloseReason, Event, Frame, InputError, ManagerSession, Peer, PluginSession, Reply, SendError,
    Stats,
};
use crate::Message;
use crate::proto::plugin::ManagerHello;

/// A session as its driver sees it: inputs, commands and outputs, time always an argument.
///
/// Each method means exactly what the inherent method of the same name on [`PluginSession`]
/// and [`ManagerSession`] means; [`LibrarySession`](super::LibrarySession) has this face
/// only.
pub trait Session {
    /// The peer's hello, carried by [`Event::Connected`].
    type PeerHello;

    /// Bytes from a byte stream, split anywhere.
    fn handle_bytes(&mut self, now: Instant, bytes: &[u8]) -> Result<(), InputError>;
    /// One frame from a message transport.
    fn handle_frame(&mut self, now: Instant, frame: Frame) -> Result<(), InputError>;
    /// The transport ended.
    fn handle_eof(&mut self, now: Instant);
    /// The transport failed; `what` says how. The session closes.
    fn handle_transport_error(&mut self, now: Instant, what: String);
    /// Time has reached `poll_timeout`.
    fn handle_timeout(&mut self, now: Instant);
    /// Sends a request; the id its answer or timeout will carry.
    fn send_request(
        &mut self,
        now: Instant,
        message: Message,
        timeout: Duration,
    ) -> Result<u32, SendError>;
    /// Sends a message that gets no answer.
    fn send_notification(&mut self, now: Instant, message: Message) -> Result<(), SendError>;
    /// Answers the peer's request `id`.
    fn respond(&mut self, now: Instant, id: u32, reply: Reply) -> Result<(), SendError>;
    /// Closes the session.
    fn close(&mut self, now: Instant);
    /// The next frame to write: every other frame before status and image updates (the bulk
    /// lane), a bulk frame at a time.
    fn poll_transmit(&mut self) -> Option<Frame>;
    /// The next frame to write that is not bulk: for a driver whose transport is still busy, so
    /// that bulk waits in the session, behind which nothing urgent ever queues.
    fn poll_transmit_prompt(&mut self) -> Option<Frame>;
    /// The next event for the owner.
    fn poll_event(&mut self) -> Option<Event<Self::PeerHello>>;
    /// When `handle_timeout` next has work.
    fn poll_timeout(&self) -> Option<Instant>;
    /// Whether the handshake is done and the session open.
    fn is_connected(&self) -> bool;
    /// Why the session closed, once it has.
    fn close_reason(&self) -> Option<&CloseReason>;
    /// The session's counters.
    fn stats(&self) -> &Stats;
}

macro_rules! delegate {
    ($session:ty, $hello:ty, |$this:ident| $inner:expr) => {
        impl Session for $session {
            type PeerHello = $hello;

            fn handle_bytes(&mut self, now: Instant, bytes: &[u8]) -> Result<(), InputError> {
                let $this = self;
                $inner.handle_bytes(now, bytes)
            }
            fn handle_frame(&mut self, now: Instant, frame: Frame) -> Result<(), InputError> {
                let $this = self;
                $inner.handle_frame(now, frame)
            }
            fn handle_eof(&mut self, now: Instant) {
                let $this = self;
                $inner.handle_eof(now)
            }
            fn handle_transport_error(&mut self, now: Instant, what: String) {
                let $this = self;
                $inner.handle_transport_error(now, what)
            }
            fn handle_timeout(&mut self, now: Instant) {
                let $this = self;
                $inner.handle_timeout(now)
            }
            fn send_request(
                &mut self,
                now: Instant,
                message: Message,
                timeout: Duration,
            ) -> Result<u32, SendError> {
                let $this = self;
                $inner.send_request(now, message, timeout)
            }
            fn send_notification(
                &mut self,
                now: Instant,
                message: Message,
            ) -> Result<(), SendError> {
                let $this = self;
                $inner.send_notification(now, message)
            }
            fn respond(&mut self, now: Instant, id: u32, reply: Reply) -> Result<(), SendError> {
                let $this = self;
                $inner.respond(now, id, reply)
            }
            fn close(&mut self, now: Instant) {
                let $this = self;
                $inner.close(now)
            }
            fn poll_transmit(&mut self) -> Option<Frame> {
                let $this = self;
                $inner.poll_transmit()
            }
            fn poll_transmit_prompt(&mut self) -> Option<Frame> {
                let $this = self;
                $inner.poll_transmit_prompt()
            }
            fn poll_event(&mut self) -> Option<Event<$hello>> {
                let $this = self;
                $inner.poll_event()
            }
            fn poll_timeout(&self) -> Option<Instant> {
                let $this = self;
                $inner.poll_timeout()
            }
            fn is_connected(&self) -> bool {
                let $this = self;
                $inner.is_connected()
            }
            fn close_reason(&self) -> Option<&CloseReason> {
                let $this = self;
                $inner.close_reason()
            }
            fn stats(&self) -> &Stats {
                let $this = self;
                $inner.stats()
            }
        }
    };
}

delegate!(PluginSession, ManagerHello, |this| this);
delegate!(ManagerSession, Peer, |this| this);
