//! The one face every session offers whatever drives it: a transport adapter, a test harness, a
//! fuzzer. A driver written against [`Session`] works for the plugin side, the client library
//! and the manager side alike, and holds no protocol logic of its own.

use std::time::{Duration, Instant};

use super::{CloseReason, Input, InputError, Output, Refused, Reply, SendError, Stats, Verdict};
use crate::Message;

/// A session as its driver sees it: one way in ([`handle_input`](Self::handle_input)), one way
/// out ([`poll_output`](Self::poll_output)), the owner's commands, and three getters. Time is
/// always an argument.
///
/// After every input or command, take outputs until [`Output::Timeout`] or [`Output::Idle`]:
/// events first (answers the owner gives while handling them leave in the same round), then
/// frames. Then wait for input, or until the [`Wake`](super::Wake), and hand the session
/// [`Input::Timeout`].
pub trait Session {
    /// The peer's hello, carried by [`Event::Connected`](super::Event::Connected).
    type PeerHello;

    /// Takes what the transport or the clock brings. Fails only when the input does not suit
    /// the wire (bytes on a message transport, a frame on a byte stream): a driver's mistake.
    fn handle_input(&mut self, now: Instant, input: Input<'_>) -> Result<(), InputError>;
    /// The next output. `unwritten`: how many bytes the transport has yet to write, from which
    /// the session decides whether bulk frames leave now or wait (`0` where the driver writes
    /// everything at once). Bulk frames that wait for a transport still writing go in a round
    /// polled once it has written everything: a driver polls again then, not only on input.
    fn poll_output(&mut self, unwritten: usize) -> Output<Self::PeerHello>;
    /// Sends a request; the id its answer or timeout will carry. Refused, the message comes
    /// back with why ([`Refused`]), to send again later if it was backpressure.
    fn send_request(
        &mut self,
        now: Instant,
        message: impl Into<Message>,
        timeout: Duration,
    ) -> Result<u32, Refused>;
    /// Sends a message that gets no answer (id 0), such as a status update or a log event.
    /// Refused, the message comes back with why.
    fn send_notification(
        &mut self,
        now: Instant,
        message: impl Into<Message>,
    ) -> Result<(), Refused>;
    /// Answers the peer's request `id`.
    fn respond(&mut self, now: Instant, id: u32, reply: Reply) -> Result<(), SendError>;
    /// The owner's verdict on the hello the session handed out as
    /// [`Event::Hello`](super::Event::Hello) (only the manager's does): accepted, the session
    /// answers `ManagerHello` and is connected ([`Event::Connected`](super::Event::Connected));
    /// refused, it answers the hello with the verdict's code and closes
    /// ([`CloseReason::HelloRefused`]). An error if no hello waits for a verdict, as on the
    /// plugin and client library sides, or for a refusal coded `SUCCESS`.
    fn admit(&mut self, now: Instant, verdict: Verdict) -> Result<(), SendError> {
        let _ = (now, verdict);
        Err(SendError::NoHelloWaiting)
    }
    /// Closes the session ([`CloseReason::Local`]).
    fn close(&mut self, now: Instant);
    /// Whether the handshake is done and the session open.
    fn is_connected(&self) -> bool;
    /// Why the session closed, once it has.
    fn close_reason(&self) -> Option<&CloseReason>;
    /// The session's counters.
    fn stats(&self) -> &Stats;
}
