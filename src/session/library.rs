//! The client library's side of a connection to the manager (seed chapter 9): what the
//! configuration software (Options+, G HUB) runs to install, list and drive plugins.
//!
//! It faces the manager as the plugin side does ([`super::facing`]), with its own hello and its
//! own messages: it says `ClientHello` first, answers `Ping` by itself, and reports the manager
//! gone when it hears nothing for too long. Each call is a request; the manager's events
//! (installations, plugins available or removed, action states) arrive as notifications.
//! Nothing of a plugin's rides along: no analog buffers, no `RetryAfter` hold (the manager
//! sends the client library neither).

use std::time::{Duration, Instant};

use super::direction::Side;
use super::facing::{Facing, Timing};
use super::link::{Limits, end_round};
use super::output::{Input, Output, Timer, Timers, due};
use super::plugin::PluginConfig;
use super::types::{CloseReason, InputError, Refused, Reply, SendError, Stats};
use super::{PROTOCOL_VERSION, Session, Wire};
use crate::Message;
use crate::proto::manager::ClientHello;
use crate::proto::plugin::ManagerHello;

/// How a client library session behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LibraryConfig {
    /// Name of the configuration software, e.g. `Options+`.
    pub client_name: String,
    /// Its version.
    pub client_version: String,
    /// The protocol version it speaks.
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
}

impl LibraryConfig {
    /// The defaults for this configuration software.
    pub fn new(client_name: impl Into<String>, client_version: impl Into<String>) -> Self {
        let plugin = PluginConfig::new("", "", "");
        LibraryConfig {
            client_name: client_name.into(),
            client_version: client_version.into(),
            protocol_version: PROTOCOL_VERSION,
            wire: plugin.wire,
            limits: plugin.limits,
            hello_timeout: plugin.hello_timeout,
            heartbeat_interval: plugin.heartbeat_interval,
            missed_heartbeats: plugin.missed_heartbeats,
        }
    }
}

/// The client library's side of one connection to the manager, as a pure state machine,
/// driven through [`Session`] as a driver drives any session. It has only what chapter 9
/// needs: its hello, its calls and their answers, the manager's notifications, and the
/// heartbeat.
#[derive(Debug)]
pub struct LibrarySession {
    facing: Facing,
    config: LibraryConfig,
}

impl LibrarySession {
    /// A session that starts by sending the client library's hello.
    pub fn new(now: Instant, config: LibraryConfig) -> LibrarySession {
        let hello = ClientHello {
            client_name: config.client_name.clone(),
            client_version: config.client_version.clone(),
            protocol_version: config.protocol_version,
        };
        let timing = Timing {
            hello_timeout: config.hello_timeout,
            heartbeat_interval: config.heartbeat_interval,
            missed_heartbeats: config.missed_heartbeats,
        };
        LibrarySession {
            facing: Facing::open(
                now,
                Side::Client,
                hello.into(),
                config.wire,
                config.limits,
                timing,
            ),
            config,
        }
    }

    /// The configuration the session was made with.
    pub fn config(&self) -> &LibraryConfig {
        &self.config
    }

    /// Hands the owner each message of the manager it takes: every request (none comes, in
    /// chapter 9, but the Ping the connection answers) and notification.
    fn process(&mut self) {
        while let Some((id, message)) = self.facing.next_message() {
            if self.facing.admit(id, message.message_type(), &None) {
                self.facing.link.deliver(id, message);
            }
        }
    }
}

impl Timers for LibrarySession {
    /// The connection's alone.
    #[inline]
    fn timers(&self, see: &mut impl FnMut(Timer, Option<Instant>)) {
        self.facing.timers(see);
    }
}

impl Session for LibrarySession {
    type PeerHello = ManagerHello;

    fn handle_input(&mut self, now: Instant, input: Input<'_>) -> Result<(), InputError> {
        let now = self.facing.link.clock(now);
        if let Input::Timeout = input {
            for timer in due(&self.facing, now) {
                self.facing.handle_timer(now, timer);
            }
        } else {
            self.facing.take_input(now, input)?;
            self.process();
        }
        Ok(())
    }

    fn poll_output(&mut self, unwritten: usize) -> Output<ManagerHello> {
        match self.facing.link.poll_output(unwritten) {
            Some(output) => output,
            None => end_round(self, |session| &mut session.facing.link),
        }
    }

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
        self.facing.link.request(now, message, timeout, false)
    }

    fn send_notification(
        &mut self,
        now: Instant,
        message: impl Into<Message>,
    ) -> Result<(), Refused> {
        let message = message.into();
        if let Err(error) = self.facing.check_connected() {
            return Err(Refused::new(error, message));
        }
        self.facing.link.clock(now);
        self.facing.link.notify(message)
    }

    fn respond(&mut self, now: Instant, id: u32, reply: Reply) -> Result<(), SendError> {
        self.facing.link.clock(now);
        self.facing.link.respond(id, reply)
    }

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
