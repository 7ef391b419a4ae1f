//! The plugin side of a connection (seed chapter 5, C++ SDK 7.1): says hello first, answers
//! `Ping` by itself, and reports the manager gone when it hears nothing for too long.

use std::time::{Duration, Instant};

use super::PROTOCOL_VERSION;
use super::Session;
use super::direction::Side;
use super::facing::{Facing, Timing};
use super::lanes::{LatestQueue, Queued, Route, lane_of};
use super::link::{Limits, end_round};
use super::output::{Input, Output, Timer, Timers, due};
use super::types::{CloseReason, Event, InputError, Refused, Reply, SendError, Stats, Wire};
use crate::buffer::{Admission, AnalogBuffer, BufferError, BufferManager, BufferStats};
use crate::proto::plugin::{ManagerHello, PluginHello};
use crate::{Envelope, Message, MessageType, ResponseInfo};

/// How a plugin session behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginConfig {
    /// The plugin's id, as in its manifest.
    pub plugin_id: String,
    /// The per-launch secret, from the `token` environment variable.
    pub plugin_code: String,
    /// The plugin's version.
    pub plugin_version: String,
    /// The protocol version the plugin requires.
    pub protocol_version: i32,
    /// How envelopes travel.
    pub wire: Wire,
    /// Request and queue limits.
    pub limits: Limits,
    /// How long to wait for the answer to the hello.
    pub hello_timeout: Duration,
    /// How often the manager is expected to send `Ping`.
    pub heartbeat_interval: Duration,
    /// After this many heartbeat intervals without a word from the manager, it is gone.
    pub missed_heartbeats: u32,
    /// The requests the application answers; the session answers any other `NOT_IMPLEMENTED`.
    /// `None`: the application answers every request.
    pub handles: Option<Vec<MessageType>>,
    /// The most messages held back by `RetryAfter` at once (status updates for one instance
    /// count once: a newer one replaces the held one).
    pub max_held: usize,
}

impl PluginConfig {
    /// The defaults for a plugin with this id, secret and version.
    pub fn new(
        plugin_id: impl Into<String>,
        plugin_code: impl Into<String>,
        plugin_version: impl Into<String>,
    ) -> Self {
        PluginConfig {
            plugin_id: plugin_id.into(),
            plugin_code: plugin_code.into(),
            plugin_version: plugin_version.into(),
            protocol_version: PROTOCOL_VERSION,
            wire: Wire::default(),
            limits: Limits::default(),
            hello_timeout: Duration::from_secs(10),
            heartbeat_interval: Duration::from_secs(10),
            missed_heartbeats: 3,
            handles: None,
            max_held: 256,
        }
    }
}

/// The plugin side of one connection to the manager, as a pure state machine.
///
/// Driven through [`Session`]: after every input or command, take
/// [`poll_output`](Session::poll_output) until it says when to wake the session.
#[derive(Debug)]
pub struct PluginSession {
    facing: Facing,
    config: PluginConfig,
    /// Until when the manager asked to hold back (`RetryAfter`).
    hold_until: Option<Instant>,
    /// What the plugin started while held back, in order.
    held: LatestQueue,
    /// Analog buffering between the manager's updates and the application (seed 7.3).
    buffers: BufferManager,
}

impl PluginSession {
    /// A session that starts by sending the plugin's hello.
    pub fn new(now: Instant, config: PluginConfig) -> PluginSession {
        let hello = PluginHello {
            plugin_id: config.plugin_id.clone(),
            plugin_code: config.plugin_code.clone(),
            plugin_version: config.plugin_version.clone(),
            protocol_version: config.protocol_version,
        };
        let timing = Timing {
            hello_timeout: config.hello_timeout,
            heartbeat_interval: config.heartbeat_interval,
            missed_heartbeats: config.missed_heartbeats,
        };
        PluginSession {
            facing: Facing::open(
                now,
                Side::Plugin,
                hello.into(),
                config.wire,
                config.limits,
                timing,
            ),
            config,
            hold_until: None,
            held: LatestQueue::default(),
            buffers: BufferManager::new(),
        }
    }

    /// The configuration the session was made with.
    pub fn config(&self) -> &PluginConfig {
        &self.config
    }

    /// The analog buffers' counters.
    pub fn buffer_stats(&self) -> BufferStats {
        self.buffers.stats()
    }

    /// Buffers the `UpdateAnalogControl` requests of these controls (seed 7.1.12
    /// `enable_control_buffering`): `control id -> buffer key`, the key naming a built-in buffer
    /// (`"throughput"`, `"timer"`) or one registered with
    /// [`register_custom_buffer`](Self::register_custom_buffer). An update merged into a later
    /// one is answered `SUCCESS` at once; the application sees the merged update as one request.
    pub fn enable_control_buffering<I, C, K>(&mut self, controls: I) -> Result<(), BufferError>
    where
        I: IntoIterator<Item = (C, K)>,
        C: Into<String>,
        K: AsRef<str>,
    {
        self.facing.link.changed();
        self.buffers.register_controls(controls)
    }

    /// Adds a buffer of the application's own under `name` (seed 7.3.3).
    pub fn register_custom_buffer(
        &mut self,
        name: impl Into<String>,
        buffer: Box<dyn AnalogBuffer>,
    ) -> Result<(), BufferError> {
        self.facing.link.changed();
        self.buffers.register_custom_buffer(name, buffer)
    }

    /// Whether a buffer is registered under `key` (a built-in one or the application's own).
    pub fn has_buffer(&self, key: &str) -> bool {
        self.buffers.buffer_keys().any(|name| name == key)
    }

    /// Acts on the deadlines due at `now`, in the order its [`Timers`] shows them.
    fn handle_timeout(&mut self, now: Instant) {
        for timer in due(self, now) {
            if self.facing.link.closed().is_some() {
                return;
            }
            match timer {
                Timer::Hold => {
                    self.hold_until = None;
                    while let Some(held) = self.held.pop_front() {
                        self.facing.link.queue_in(held.lane, held.envelope);
                    }
                }
                Timer::Flush => {
                    self.buffers.handle_timeout(now);
                    self.deliver_buffered(now);
                }
                timer => self.facing.handle_timer(now, timer),
            }
        }
    }

    fn process(&mut self, now: Instant) {
        while let Some((id, message)) = self.facing.next_message() {
            self.peer_message(now, id, message);
        }
    }

    #[inline]
    fn peer_message(&mut self, now: Instant, id: u32, message: Message) {
        let message_type = message.message_type();
        if let Message::RetryAfter(retry) = &message {
            self.throttle(now, retry.interval);
            if id != 0 {
                self.facing
                    .link
                    .send(&Envelope::response(id, ResponseInfo::ok(), None));
            }
            return;
        }
        if !self.facing.admit(id, message_type, &self.config.handles) {
            return;
        }
        match message {
            Message::UpdateAnalogControl(update) if id != 0 => {
                match self.buffers.on_update(now, id, update) {
                    Admission::Dispatch(update) => self.facing.link.deliver(id, update.into()),
                    Admission::Held {
                        superseded: Some(older),
                    } => {
                        // Merged into this one: its movement is not lost, and it gets its answer.
                        let _ = self.facing.link.respond(older, Reply::Ok);
                    }
                    Admission::Held { superseded: None } => {}
                }
            }
            message => self.facing.link.deliver(id, message),
        }
    }

    /// Hands the application the merged updates the buffers have ready.
    fn deliver_buffered(&mut self, now: Instant) {
        while let Some((id, update)) = self.buffers.poll_ready(now) {
            self.facing.link.emit(Event::Request {
                id,
                message: update.into(),
            });
        }
    }
}

impl PluginSession {
    /// Holds back what the plugin starts on its own for `interval` ms (seed 5.8), extending a
    /// hold already in force, and tells the application once per `RetryAfter`.
    fn throttle(&mut self, now: Instant, interval: u32) {
        self.facing.link.stats_mut().retry_after += 1;
        let Some(until) = now.checked_add(Duration::from_millis(interval.into())) else {
            return;
        };
        let until = self.hold_until.map_or(until, |held| held.max(until));
        self.hold_until = Some(until);
        self.facing.link.emit(Event::Throttled { until });
    }
}

impl Timers for PluginSession {
    /// The connection's, the end of a `RetryAfter` hold, the analog buffers' next release.
    #[inline]
    fn timers(&self, see: &mut impl FnMut(Timer, Option<Instant>)) {
        self.facing.timers(see);
        see(Timer::Hold, self.hold_until);
        see(Timer::Flush, self.buffers.poll_timeout());
    }
}

impl Session for PluginSession {
    type PeerHello = ManagerHello;

    fn handle_input(&mut self, now: Instant, input: Input<'_>) -> Result<(), InputError> {
        let now = self.facing.link.clock(now);
        if let Input::Timeout = input {
            self.handle_timeout(now);
        } else {
            self.facing.take_input(now, input)?;
            self.process(now);
        }
        Ok(())
    }

    #[inline]
    fn poll_output(&mut self, unwritten: usize) -> Output<ManagerHello> {
        match self.facing.link.poll_output(unwritten) {
            Some(output) => output,
            None => end_round(self, |session| &mut session.facing.link),
        }
    }

    /// Sends a request to the manager; the id its response or timeout will carry.
    fn send_request(
        &mut self,
        now: Instant,
        message: impl Into<Message>,
        timeout: Duration,
    ) -> Result<u32, Refused> {
        let message = message.into();
        if let Err(error) = self.facing.check_connected() {
            return Err(Refused::new(error, message));
        }
        let now = self.facing.link.clock(now);
        let Some(until) = self.hold_until else {
            return self.facing.link.request(now, message, timeout, false);
        };
        if self.held.len() >= self.config.max_held {
            let retry_in = until.duration_since(now);
            return Err(Refused::new(SendError::Throttled { retry_in }, message));
        }
        let envelope = self
            .facing
            .link
            .prepare_request(now, message, timeout, false)?;
        let id = envelope.id;
        self.facing.link.stats_mut().held += 1;
        self.held.push_back(Queued {
            lane: Route::Prompt,
            envelope,
        });
        Ok(id)
    }

    /// Sends a message that gets no answer (id 0), such as a status update or a log event.
    fn send_notification(
        &mut self,
        now: Instant,
        message: impl Into<Message>,
    ) -> Result<(), Refused> {
        let message = message.into();
        if let Err(error) = self.facing.check_connected() {
            return Err(Refused::new(error, message));
        }
        let now = self.facing.link.clock(now);
        let Some(until) = self.hold_until else {
            return self.facing.link.notify(message);
        };
        let lane = lane_of(&message);
        // Last wins: only the newest status of an instance is worth sending, and it takes the
        // place of the one held.
        let replaces = self.held.waiting_for(&lane).is_some();
        if !replaces && self.held.len() >= self.config.max_held {
            let retry_in = until.duration_since(now);
            return Err(Refused::new(SendError::Throttled { retry_in }, message));
        }
        let envelope = self.facing.link.prepare_notification(message)?;
        match self.held.waiting_for(&lane) {
            Some(older) => *older = envelope,
            None => self.held.push_back(Queued { lane, envelope }),
        }
        self.facing.link.stats_mut().held += 1;
        Ok(())
    }

    /// Answers the manager's request `id`.
    fn respond(&mut self, now: Instant, id: u32, reply: Reply) -> Result<(), SendError> {
        let now = self.facing.link.clock(now);
        self.facing.link.respond(id, reply)?;
        // A throughput buffer releases its merged update once the one before is answered.
        self.buffers.on_response(now, id);
        self.deliver_buffered(now);
        Ok(())
    }

    /// Closes the session.
    fn close(&mut self, now: Instant) {
        self.facing.close(now);
    }

    fn is_connected(&self) -> bool {
        self.facing.is_connected()
    }

    fn close_reason(&self) -> Option<&CloseReason> {
        self.facing.link.closed()
    }

    fn stats(&self) -> &Stats {
        self.facing.link.stats()
    }
}
