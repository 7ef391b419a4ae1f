//! The manager side of a connection: checks the peer's hello (a plugin's, seed chapter 5, or the
//! client library's, chapter 9) as far as it can alone, hands it to the owner to judge
//! ([`super::admission`]), answers it with `ManagerHello` once admitted, and sends `Ping` on an
//! interval, closing when a `Pong` is late.

use std::collections::VecDeque;
use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use super::PROTOCOL_VERSION;
use super::Session;
use super::direction::{Side, status_of};
use super::link::{Incoming, Limits, Link, end_round};
use super::output::{Input, Output, Timer, Timers, due};
use super::peer::PeerProcess;
use super::rate::{RateLimit, TokenBucket};
use super::types::{
    CloseReason, Event, InputError, Refused, Reply, SendError, Stats, Verdict, Wire,
};
use crate::proto::manager::ClientHello;
use crate::proto::plugin::{ManagerHello, Ping, PluginHello, RetryAfter};
use crate::{Envelope, Message, MessageType, ResponseCode, ResponseInfo};

/// Who said hello on a manager session.
#[derive(Clone, Debug, PartialEq)]
pub enum Peer {
    /// A plugin (seed chapter 5).
    Plugin(PluginHello),
    /// The client library of the configuration software (seed chapter 9).
    Client(ClientHello),
}

/// How a manager session behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct ManagerConfig {
    /// The manager's version, sent in `ManagerHello`.
    pub manager_version: String,
    /// The Options+ version, if installed.
    pub options_version: Option<String>,
    /// The G HUB version, if installed.
    pub ghub_version: Option<String>,
    /// The language in use, e.g. `en-US`.
    pub language_code: String,
    /// The protocol versions this manager speaks.
    pub protocol_versions: RangeInclusive<i32>,
    /// How envelopes travel.
    pub wire: Wire,
    /// The process at the other end, where the transport can tell (a local socket on Linux);
    /// set per connection, like `wire`, for the owner to judge the hello by.
    pub peer_process: Option<PeerProcess>,
    /// Request and queue limits.
    pub limits: Limits,
    /// How long a plugin has to say hello after connecting.
    pub hello_timeout: Duration,
    /// How often to send `Ping`.
    pub heartbeat_interval: Duration,
    /// How long a `Pong` may take.
    pub heartbeat_timeout: Duration,
    /// The rate limit on what the plugin sends (its answers excepted); `None` for no limit.
    pub rate_limit: Option<RateLimit>,
    /// How many messages the plugin may send inside one `RetryAfter` window before the session
    /// closes (some may have left before the plugin heard the `RetryAfter`: the messages it
    /// held through the last window, flushed beyond the bucket, say).
    pub max_rate_violations: u32,
    /// The requests the owner answers; the session answers any other `NOT_IMPLEMENTED`. `None`:
    /// the owner answers every request.
    pub handles: Option<Vec<MessageType>>,
    /// Whether the client library may say hello. It carries no secret, so admit it only where
    /// the transport itself tells who connects (a local socket only its owner can open).
    pub accept_clients: bool,
}

impl ManagerConfig {
    /// The defaults, for a manager of version `manager_version`.
    pub fn new(manager_version: impl Into<String>) -> Self {
        ManagerConfig {
            manager_version: manager_version.into(),
            options_version: None,
            ghub_version: None,
            language_code: "en-US".into(),
            protocol_versions: PROTOCOL_VERSION..=PROTOCOL_VERSION,
            wire: Wire::default(),
            peer_process: None,
            limits: Limits::default(),
            hello_timeout: Duration::from_secs(10),
            heartbeat_interval: Duration::from_secs(10),
            heartbeat_timeout: Duration::from_secs(5),
            rate_limit: ManagerConfig::default_rate_limit(),
            max_rate_violations: 100,
            handles: None,
            accept_clients: false,
        }
    }

    /// The rate limit a manager applies unless told otherwise: 100 messages a second, in
    /// bursts of up to 200.
    pub fn default_rate_limit() -> Option<RateLimit> {
        RateLimit::new(100, 200).ok()
    }
}

/// The manager side of one plugin connection, as a pure state machine.
///
/// Driven through [`Session`]: after every input or command, take
/// [`poll_output`](Session::poll_output) until it says when to wake the session.
#[derive(Debug)]
pub struct ManagerSession {
    link: Link<Peer>,
    config: ManagerConfig,
    state: State,
    /// The rate limit, from the handshake on.
    bucket: Option<TokenBucket>,
    /// The end of the `RetryAfter` window last sent.
    retry_until: Option<Instant>,
    /// Messages the plugin sent inside the current `RetryAfter` window.
    violations: u32,
    /// Status updates the rate limit refused, the latest per instance, oldest first: delivered
    /// when the window is over and the bucket allows, so a display never stays stale.
    deferred: VecDeque<Deferred>,
    /// A hello that passed the session's own checks and waits for the owner's verdict (the
    /// state is still `AwaitingHello`: an owner that never answers does not keep the peer past
    /// the hello's deadline). What the peer sends meanwhile waits behind it, unread. Boxed: a
    /// connected session carries only the pointer.
    awaiting_verdict: Option<Box<Hello>>,
}

/// A hello waiting for the owner's verdict.
#[derive(Debug)]
struct Hello {
    /// Its request id, to answer.
    id: u32,
    /// Who said it.
    peer: Peer,
}

/// A status update kept back by the rate limit.
#[derive(Debug)]
struct Deferred {
    kind: MessageType,
    instance: String,
    message: Message,
}

/// The most status updates kept back at once; beyond, refused ones are dropped (and counted as
/// rate limited). Each is the latest for its instance, so this is a count of instances.
pub const MAX_DEFERRED_STATUSES: usize = 256;

#[derive(Debug)]
enum State {
    AwaitingHello {
        /// `None`: too far to represent, so never.
        deadline: Option<Instant>,
    },
    Connected {
        /// The plugin id; `None` for the client library.
        plugin_id: Option<String>,
        /// `None`: too far to represent, so never.
        next_ping: Option<Instant>,
    },
}

impl ManagerSession {
    /// A session for a plugin that has just connected at `now`.
    pub fn new(now: Instant, config: ManagerConfig) -> ManagerSession {
        let mut link = Link::new(Side::Manager, config.wire, config.limits);
        let now = link.clock(now);
        // A hello deadline too far to represent never comes.
        let deadline = now.checked_add(config.hello_timeout);
        ManagerSession {
            link,
            config,
            state: State::AwaitingHello { deadline },
            bucket: None,
            retry_until: None,
            violations: 0,
            deferred: VecDeque::new(),
            awaiting_verdict: None,
        }
    }

    /// The configuration the session was made with.
    pub fn config(&self) -> &ManagerConfig {
        &self.config
    }

    /// The plugin id that said hello, once it has.
    pub fn plugin_id(&self) -> Option<&str> {
        match &self.state {
            State::Connected { plugin_id, .. } => plugin_id.as_deref(),
            State::AwaitingHello { .. } => None,
        }
    }

    /// Acts on the deadlines due at `now`, in the order its [`Timers`] shows them.
    fn handle_timeout(&mut self, now: Instant) {
        for timer in due(self, now) {
            if self.link.closed().is_some() {
                break;
            }
            match timer {
                Timer::Pong | Timer::Request => self.expire(now),
                Timer::Hello => {
                    self.link
                        .close(CloseReason::HelloTimeout(self.config.hello_timeout));
                }
                Timer::Ping => self.ping(now),
                Timer::Deferred => self.release_deferred(now),
                _ => {}
            }
        }
    }

    /// Ends the requests past their deadline: the owner's with [`Event::Timeout`]; a late
    /// `Pong` closes the session, unless the machine slept through the wait.
    fn expire(&mut self, now: Instant) {
        // The only request of its own is the Ping.
        while let Some(deadline) = self.link.expire_internal(now) {
            // Time jumped far past the Pong's deadline: the machine slept (or this process
            // stalled), and the plugin never had its chance to answer. Ask again, with a fresh
            // deadline, rather than call it dead; the fresh Ping is this interval's.
            let slept = now.saturating_duration_since(deadline) >= self.config.heartbeat_interval;
            if slept && self.send_ping(now) {
                self.link.stats_mut().reprobes += 1;
                continue;
            }
            self.link
                .close(CloseReason::HeartbeatTimeout(self.config.heartbeat_timeout));
        }
    }

    /// Sends the interval's `Ping`, if it is time.
    fn ping(&mut self, now: Instant) {
        if let State::Connected {
            next_ping: Some(next),
            ..
        } = self.state
            && now >= next
        {
            self.send_ping(now);
        }
    }

    /// Sends a `Ping` and counts the next interval from now; `false` if it could not go.
    fn send_ping(&mut self, now: Instant) -> bool {
        if let State::Connected { next_ping, .. } = &mut self.state {
            *next_ping = now.checked_add(self.config.heartbeat_interval);
        }
        let timeout = self.config.heartbeat_timeout;
        self.link
            .request(now, Ping {}.into(), timeout, true)
            .is_ok()
    }

    fn check_connected(&self) -> Result<(), SendError> {
        if let Some(reason) = self.link.closed() {
            return Err(SendError::Closed(reason.clone()));
        }
        if !self.is_connected() {
            return Err(SendError::NotConnected);
        }
        Ok(())
    }

    // Where every input passes: kept inside `handle_input` though `admit` calls it too. Left to
    // itself, the compiler keeps a function with two callers apart, and the reading and the
    // answer matching inside it with it (+0.5% on the round trip, measured by the gate).
    #[inline(always)]
    fn process(&mut self, now: Instant) {
        // Nothing is read past a hello before the owner has judged it.
        if self.awaiting_verdict.is_some() {
            return;
        }
        while let Some(incoming) = self.link.next_incoming() {
            match incoming {
                // A Pong: the heartbeat is answered, nothing more to do.
                Incoming::InternalResponse { .. } => {}
                Incoming::Message { id, message } => match self.state {
                    State::AwaitingHello { .. } => {
                        self.hello(id, message);
                        if self.awaiting_verdict.is_some() {
                            return;
                        }
                    }
                    State::Connected { .. } => {
                        if !self.rate_limited(now, id) {
                            self.supersede_deferred(&message);
                            self.peer_message(id, message);
                        } else if id == 0 {
                            self.defer(message);
                        }
                    }
                },
            }
        }
    }

    /// Checks a hello as far as the session can alone, then hands it to the owner to judge.
    fn hello(&mut self, id: u32, message: Message) {
        let checked = match message {
            Message::PluginHello(hello) => self
                .check_version(hello.protocol_version)
                .map(|()| Peer::Plugin(hello)),
            Message::ClientHello(hello) => self.check_client(&hello).map(|()| Peer::Client(hello)),
            message => {
                let first = message.full_name().to_string();
                self.link.answer_unsolicited(
                    id,
                    ResponseCode::Unauthorized,
                    "the first message must be the plugin's or the client library's hello".into(),
                );
                self.link.close(CloseReason::MessageBeforeHello(first));
                return;
            }
        };
        match checked {
            Ok(peer) => {
                self.link.emit(Event::Hello(peer.clone()));
                self.awaiting_verdict = Some(Box::new(Hello { id, peer }));
            }
            Err((code, what)) => {
                self.link.answer_unsolicited(id, code, what.clone());
                self.link.close(CloseReason::HelloRefused { code, what });
            }
        }
    }

    /// Answers an admitted hello: connected from `now`.
    fn connect(&mut self, now: Instant, id: u32, peer: Peer) {
        let (protocol_version, plugin_id) = match &peer {
            Peer::Plugin(hello) => (hello.protocol_version, Some(hello.plugin_id.clone())),
            Peer::Client(hello) => {
                self.link.set_side(Side::Agent);
                (hello.protocol_version, None)
            }
        };
        let answer = ManagerHello {
            manager_version: self.config.manager_version.clone(),
            options_version: self.config.options_version.clone(),
            ghub_version: self.config.ghub_version.clone(),
            protocol_version,
            language_code: self.config.language_code.clone(),
        };
        self.link.send(&Envelope::response(
            id,
            ResponseInfo::ok(),
            Some(answer.into()),
        ));
        let next_ping = now.checked_add(self.config.heartbeat_interval);
        // The configuration software is the user's own: it is not rate limited.
        if plugin_id.is_some() {
            self.bucket = self
                .config
                .rate_limit
                .map(|limit| TokenBucket::new(now, limit));
        }
        self.state = State::Connected {
            plugin_id,
            next_ping,
        };
        self.link.emit(Event::Connected(peer));
    }

    /// The transport admits the client library, and its version is spoken.
    fn check_client(&self, hello: &ClientHello) -> Result<(), (ResponseCode, String)> {
        if !self.config.accept_clients {
            let what = "the client library may not connect over this transport".to_string();
            return Err((ResponseCode::Unauthorized, what));
        }
        self.check_version(hello.protocol_version)
    }

    fn check_version(&self, version: i32) -> Result<(), (ResponseCode, String)> {
        let versions = &self.config.protocol_versions;
        if versions.contains(&version) {
            return Ok(());
        }
        let what = format!(
            "protocol version {version} is not supported (supported: {} to {})",
            versions.start(),
            versions.end()
        );
        Err((ResponseCode::InvalidArg, what))
    }

    /// Applies the rate limit to a peer message (not an answer): `true` if it was refused, which
    /// answers a request `NOT_READY` and drops a notification. The first refusal sends
    /// `RetryAfter` for as long as the bucket takes to fill; messages inside that window count as
    /// violations, and past the limit within one window the session closes.
    fn rate_limited(&mut self, now: Instant, id: u32) -> bool {
        if let Some(until) = self.retry_until {
            if now < until {
                self.violations += 1;
                self.link.stats_mut().rate_limited += 1;
                if self.violations > self.config.max_rate_violations {
                    self.link
                        .close(CloseReason::RateLimitViolations(self.violations));
                } else {
                    let what = format!(
                        "rate limit exceeded: retry after {} ms",
                        millis_up(until - now)
                    );
                    self.link
                        .answer_unsolicited(id, ResponseCode::NotReady, what);
                }
                return true;
            }
            self.retry_until = None;
        }
        let Some(bucket) = &mut self.bucket else {
            return false;
        };
        if bucket.try_take(now).is_ok() {
            return false;
        }
        // Until the bucket is full: a plugin sending its held messages then is admitted.
        let interval = millis_up(bucket.time_until_full(now));
        self.retry_until = now.checked_add(Duration::from_millis(interval.into()));
        // Counted per window: what a plugin sent before it heard this `RetryAfter` (its held
        // messages flushed at the end of the last window, beyond the bucket) is not held
        // against it for ever, or a well-behaved plugin would be closed after hours of bursts.
        self.violations = 0;
        let stats = self.link.stats_mut();
        stats.rate_limited += 1;
        stats.retry_after += 1;
        let _ = self.link.notify(RetryAfter { interval }.into());
        let what = format!("rate limit exceeded: retry after {interval} ms");
        self.link
            .answer_unsolicited(id, ResponseCode::NotReady, what);
        true
    }

    /// Keeps a refused status update to deliver later, replacing an older one for its instance;
    /// other notifications refused are dropped.
    fn defer(&mut self, message: Message) {
        let Some((kind, instance)) = status_of(&message) else {
            return;
        };
        let found = self
            .deferred
            .iter()
            .position(|d| d.kind == kind && d.instance == instance);
        match found {
            Some(index) => self.deferred[index].message = message,
            None if self.deferred.len() < MAX_DEFERRED_STATUSES => {
                let instance = instance.to_owned();
                self.deferred.push_back(Deferred {
                    kind,
                    instance,
                    message,
                });
            }
            None => return,
        }
        self.link.stats_mut().deferred += 1;
    }

    /// An admitted status update makes a deferred one for the same instance stale.
    fn supersede_deferred(&mut self, message: &Message) {
        if self.deferred.is_empty() {
            return;
        }
        if let Some((kind, instance)) = status_of(message) {
            self.deferred
                .retain(|d| d.kind != kind || d.instance != instance);
        }
    }

    /// When deferred status updates can next be delivered: the window over and a token there.
    fn deferred_due(&self) -> Option<Instant> {
        if self.deferred.is_empty() {
            return None;
        }
        let token = self.bucket.as_ref()?.next_token_at();
        Some(self.retry_until.map_or(token, |until| until.max(token)))
    }

    /// Delivers deferred status updates, oldest first, as far as the bucket allows.
    fn release_deferred(&mut self, now: Instant) {
        if self.retry_until.is_some_and(|until| now < until) {
            return;
        }
        while !self.deferred.is_empty() && self.link.closed().is_none() {
            let Some(bucket) = &mut self.bucket else {
                return;
            };
            if bucket.try_take(now).is_err() {
                return;
            }
            if let Some(deferred) = self.deferred.pop_front() {
                self.peer_message(0, deferred.message);
            }
        }
    }

    fn peer_message(&mut self, id: u32, message: Message) {
        let message_type = message.message_type();
        if matches!(
            message_type,
            MessageType::PluginHello | MessageType::ClientHello
        ) {
            self.link.answer_unsolicited(
                id,
                ResponseCode::Conflict,
                "this session has already said hello".into(),
            );
        } else if !self.link.refuse_wrong_direction(id, message_type)
            && self.link.admit(id, message_type, &self.config.handles)
        {
            self.link.deliver(id, message);
        }
    }
}

impl Timers for ManagerSession {
    /// The `Pong` due, the owner's requests, the plugin's hello, the next `Ping`, the status
    /// updates the rate limit kept back.
    #[inline]
    fn timers(&self, see: &mut impl FnMut(Timer, Option<Instant>)) {
        let (request, pong) = self.link.next_deadline();
        let (hello, ping) = match self.state {
            State::AwaitingHello { deadline } => (deadline, None),
            State::Connected { next_ping, .. } => (None, next_ping),
        };
        see(Timer::Pong, pong);
        see(Timer::Request, request);
        see(Timer::Hello, hello);
        see(Timer::Ping, ping);
        see(Timer::Deferred, self.deferred_due());
    }
}

impl Session for ManagerSession {
    type PeerHello = Peer;

    fn handle_input(&mut self, now: Instant, input: Input<'_>) -> Result<(), InputError> {
        let now = self.link.clock(now);
        if let Input::Timeout = input {
            self.handle_timeout(now);
            return Ok(());
        }
        self.link.take_input(input)?;
        self.process(now);
        Ok(())
    }

    #[inline]
    fn poll_output(&mut self, unwritten: usize) -> Output<Peer> {
        match self.link.poll_output(unwritten) {
            Some(output) => output,
            None => end_round(self, |session| &mut session.link),
        }
    }

    /// Sends a request to the plugin; the id its response or timeout will carry.
    fn send_request(
        &mut self,
        now: Instant,
        message: impl Into<Message>,
        timeout: Duration,
    ) -> Result<u32, Refused> {
        let message = message.into();
        if let Err(error) = self.check_connected() {
            return Err(Refused::new(error, message));
        }
        let now = self.link.clock(now);
        self.link.request(now, message, timeout, false)
    }

    /// Sends a message that gets no answer (id 0).
    fn send_notification(
        &mut self,
        now: Instant,
        message: impl Into<Message>,
    ) -> Result<(), Refused> {
        let message = message.into();
        if let Err(error) = self.check_connected() {
            return Err(Refused::new(error, message));
        }
        self.link.clock(now);
        self.link.notify(message)
    }

    /// Answers the plugin's request `id`.
    fn respond(&mut self, now: Instant, id: u32, reply: Reply) -> Result<(), SendError> {
        self.link.clock(now);
        self.link.respond(id, reply)
    }

    fn admit(&mut self, now: Instant, verdict: Verdict) -> Result<(), SendError> {
        if let Some(reason) = self.link.closed() {
            return Err(SendError::Closed(reason.clone()));
        }
        if let Verdict::Refuse {
            code: ResponseCode::Success,
            ..
        } = verdict
        {
            return Err(SendError::SuccessRefusal);
        }
        let Some(hello) = self.awaiting_verdict.take() else {
            return Err(SendError::NoHelloWaiting);
        };
        let Hello { id, peer } = *hello;
        let now = self.link.clock(now);
        match verdict {
            Verdict::Accept => {
                self.connect(now, id, peer);
                self.process(now);
            }
            Verdict::Refuse { code, what } => {
                self.link.answer_unsolicited(id, code, what.clone());
                self.link.close(CloseReason::HelloRefused { code, what });
            }
        }
        Ok(())
    }

    /// Closes the session.
    fn close(&mut self, now: Instant) {
        self.link.clock(now);
        self.link.close(CloseReason::Local);
    }

    fn is_connected(&self) -> bool {
        matches!(self.state, State::Connected { .. }) && self.link.closed().is_none()
    }

    fn close_reason(&self) -> Option<&CloseReason> {
        self.link.closed()
    }

    fn stats(&self) -> &Stats {
        self.link.stats()
    }
}

/// A wait in whole milliseconds, rounded up and at least 1, as `RetryAfter` carries it.
fn millis_up(wait: Duration) -> u32 {
    u32::try_from(wait.as_nanos().div_ceil(1_000_000))
        .unwrap_or(u32::MAX)
        .max(1)
}
