//! The client library's side of a connection to the manager (seed chapter 9): what the
//! configuration software (Options+, G HUB) runs to install, list and drive plugins.
//!
//! It behaves as the plugin side does, with its own hello and its own messages: it says
//! `ClientHello` first, answers `Ping` by itself, and reports the manager gone when it hears
//! nothing for too long. Each call is a request; the manager's events (installations, plugins
//! available or removed, action states) arrive as notifications.

use std::time::{Duration, Instant};

use super::direction::Side;
use super::link::Limits;
use super::plugin::{PluginConfig, PluginSession};
use super::{PROTOCOL_VERSION, Wire};
use crate::proto::manager::ClientHello;

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

/// The client library's side of one connection to the manager, as a pure state machine. It is
/// driven through [`Session`](super::Session), exactly as a [`PluginSession`] is.
#[derive(Debug)]
pub struct LibrarySession(pub(crate) PluginSession);

impl LibrarySession {
    /// A session that starts by sending the client library's hello.
    pub fn new(now: Instant, config: LibraryConfig) -> LibrarySession {
        let hello = ClientHello {
            client_name: config.client_name,
            client_version: config.client_version,
            protocol_version: config.protocol_version,
        };
        let mut plugin = PluginConfig::new("", "", "");
        plugin.protocol_version = config.protocol_version;
        plugin.wire = config.wire;
        plugin.limits = config.limits;
        plugin.hello_timeout = config.hello_timeout;
        plugin.heartbeat_interval = config.heartbeat_interval;
        plugin.missed_heartbeats = config.missed_heartbeats;
        LibrarySession(PluginSession::open(now, Side::Client, hello.into(), plugin))
    }
}
