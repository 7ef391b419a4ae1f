//! What the plugin side and the client library share, facing the manager (seed 5.2, 5.4, 9.1):
//! they say hello first and are connected once the manager's hello answers it, answer its
//! `Ping`s by themselves, and take it for gone when it has been silent for too long. Each
//! session keeps what is its own (the plugin's `RetryAfter` hold and analog buffers).

use std::time::{Duration, Instant};

use super::direction::Side;
use super::link::{Incoming, Limits, Link};
use super::output::{Input, Timer, Timers};
use super::types::{CloseReason, Event, InputError, SendError, Wire};
use crate::proto::plugin::{ManagerHello, Pong};
use crate::{Envelope, Message, MessageType, ResponseCode, ResponseInfo};

/// The timing of the hello and of the manager's heartbeat, from the session's configuration.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timing {
    pub(crate) hello_timeout: Duration,
    pub(crate) heartbeat_interval: Duration,
    pub(crate) missed_heartbeats: u32,
}

/// One connection to the manager, from the side that dialed it.
#[derive(Debug)]
pub(crate) struct Facing {
    pub(crate) link: Link<ManagerHello>,
    timing: Timing,
    /// How long the manager may be silent: `missed_heartbeats` intervals (`None`: too long to
    /// represent, so forever).
    silence_limit: Option<Duration>,
    connected: bool,
    /// When the manager was last heard from.
    last_heard: Instant,
}

impl Facing {
    /// A connection of `side` that starts by sending `hello`.
    pub(crate) fn open(
        now: Instant,
        side: Side,
        hello: Message,
        wire: Wire,
        limits: Limits,
        timing: Timing,
    ) -> Facing {
        let mut link = Link::new(side, wire, limits);
        let now = link.clock(now);
        if let Err(error) = link.request(now, hello, timing.hello_timeout, true) {
            // Only an unsendable hello (a frame limit smaller than the hello) gets here.
            link.close(CloseReason::HelloNotSent(error.to_string()));
        }
        Facing {
            link,
            silence_limit: timing
                .heartbeat_interval
                .checked_mul(timing.missed_heartbeats),
            timing,
            connected: false,
            last_heard: now,
        }
    }

    /// Whether the handshake has succeeded and the session is not closed.
    pub(crate) fn is_connected(&self) -> bool {
        self.connected && self.link.closed().is_none()
    }

    /// Refuses a message the owner starts before the handshake or after the close.
    pub(crate) fn check_connected(&self) -> Result<(), SendError> {
        if let Some(reason) = self.link.closed() {
            return Err(SendError::Closed(reason.clone()));
        }
        if !self.connected {
            return Err(SendError::NotConnected);
        }
        Ok(())
    }

    /// What the transport brought (not [`Input::Timeout`]), at `now` as the link keeps it.
    pub(crate) fn take_input(&mut self, now: Instant, input: Input<'_>) -> Result<(), InputError> {
        if self.link.take_input(input)? {
            self.last_heard = now;
        }
        Ok(())
    }

    /// The owner closes the session.
    pub(crate) fn close(&mut self, now: Instant) {
        self.link.clock(now);
        self.link.close(CloseReason::Local);
    }
}

impl Timers for Facing {
    /// The connection's: the hello's answer, the owner's requests, the manager's silence.
    #[inline]
    fn timers(&self, see: &mut impl FnMut(Timer, Option<Instant>)) {
        let (request, hello) = self.link.next_deadline();
        see(Timer::Hello, hello);
        see(Timer::Request, request);
        see(Timer::Silence, self.silence_deadline());
    }
}

impl Facing {
    /// Acts on one of its [`Timers`] come due: the requests past their deadline end
    /// (the hello's closes the session); a silence too long closes it too.
    pub(crate) fn handle_timer(&mut self, now: Instant, timer: Timer) {
        match timer {
            // The only request of its own is the hello.
            Timer::Hello | Timer::Request if self.link.expire_internal(now).is_some() => {
                self.link
                    .close(CloseReason::HelloTimeout(self.timing.hello_timeout));
            }
            Timer::Silence => self.judge_silence(now),
            _ => {}
        }
    }

    /// Closes the session if the manager has been silent past its deadline.
    fn judge_silence(&mut self, now: Instant) {
        let Some(deadline) = self.silence_deadline().filter(|due| now >= *due) else {
            return;
        };
        let interval = self.timing.heartbeat_interval;
        if now.saturating_duration_since(deadline) >= interval {
            // Time jumped far past the deadline: this machine slept, and the manager had no
            // chance to be heard. It gets one more heartbeat interval from now.
            let limit = deadline.saturating_duration_since(self.last_heard);
            self.last_heard = now
                .checked_sub(limit.saturating_sub(interval))
                .unwrap_or(now);
            self.link.stats_mut().reprobes += 1;
        } else {
            self.link.close(CloseReason::ManagerSilent(
                now.duration_since(self.last_heard),
            ));
        }
    }

    /// The next message of the manager for the session itself: the answer to the hello, the
    /// `Ping`s and what this side may not receive are handled here and skipped.
    #[inline]
    pub(crate) fn next_message(&mut self) -> Option<(u32, Message)> {
        loop {
            match self.link.next_incoming()? {
                Incoming::InternalResponse { response, message } => {
                    self.hello_answered(response, message);
                }
                Incoming::Message { id, message } => {
                    let message_type = message.message_type();
                    if self.link.refuse_wrong_direction(id, message_type) {
                        continue;
                    }
                    if message_type == MessageType::Ping {
                        // Answered at once and never held back: a throttled plugin must stay
                        // alive.
                        if id != 0 {
                            self.link.send(&Envelope::response(
                                id,
                                ResponseInfo::ok(),
                                Some(Pong {}.into()),
                            ));
                        }
                        continue;
                    }
                    return Some((id, message));
                }
            }
        }
    }

    /// Whether the session takes the manager's message `id` of `message_type`: not before
    /// the handshake (answered `NOT_READY`), and not a request `handles` leaves out or one past
    /// the limits (answered by the link).
    pub(crate) fn admit(
        &mut self,
        id: u32,
        message_type: MessageType,
        handles: &Option<Vec<MessageType>>,
    ) -> bool {
        if !self.connected {
            let what = "the handshake has not finished".to_string();
            self.link
                .answer_unsolicited(id, ResponseCode::NotReady, what);
            return false;
        }
        self.link.admit(id, message_type, handles)
    }

    /// When the manager counts as gone if nothing more is heard.
    fn silence_deadline(&self) -> Option<Instant> {
        if !self.connected {
            return None;
        }
        self.last_heard.checked_add(self.silence_limit?)
    }

    fn hello_answered(&mut self, response: ResponseInfo, message: Option<Message>) {
        match message {
            Some(Message::ManagerHello(hello)) if response.is_ok() => {
                self.connected = true;
                self.link.emit(Event::Connected(*hello));
            }
            _ if !response.is_ok() => {
                let code = response.result();
                self.link.close(CloseReason::HelloRefusedByPeer {
                    code,
                    what: response.what,
                });
            }
            _ => {
                let what = "the answer to the hello carried no ManagerHello".to_string();
                self.link.close(CloseReason::HelloRefusedByPeer {
                    code: ResponseCode::InvalidArg,
                    what,
                });
            }
        }
    }
}
