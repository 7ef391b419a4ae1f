//! What the kit is told when it plays a plugin against a manager.

use std::time::Duration;

use logi_plugin_core::codec::frame::DEFAULT_MAX_FRAME_LEN;
use logi_plugin_core::session::Format;
use logi_plugin_transports::Endpoint;

use crate::{DEFAULT_REPLY_TIMEOUT, Level};

/// How the kit reaches a manager and who it says it is.
#[derive(Clone, Debug)]
pub struct ManagerOptions {
    /// Where the manager listens.
    pub endpoint: Endpoint,
    /// A plugin id the manager admits.
    pub plugin_id: String,
    /// That plugin's code.
    pub code: String,
    /// How long the manager has to answer a request.
    pub reply_timeout: Duration,
    /// The most requests sent to reach the rate limit (`--flood`).
    pub flood: u32,
    /// The longest `RetryAfter` window the kit waits out to see requests served again.
    pub longest_retry_wait: Duration,
    /// How long the kit waits for the manager's first `Ping` after the hello, and for the next
    /// after that (`--ping-wait-ms`): at least the manager's heartbeat interval.
    pub ping_wait: Duration,
    /// How long a manager has, after a `Ping` the kit leaves unanswered, to close the session
    /// (`--silent-wait-ms`): at least the manager's `Pong` deadline.
    pub silent_wait: Duration,
    /// The manager's frame limit in bytes (`--frame-limit`): the oversized frame is one byte
    /// longer.
    pub frame_limit: usize,
    /// Which failures fail the run.
    pub level: Level,
    /// What the kit speaks over a `ws://` endpoint: `Binary` protobuf or `Json` text (a local
    /// socket carries binary only).
    pub format: Format,
}

impl ManagerOptions {
    /// The defaults for a manager at `endpoint` admitting `plugin_id` with `code`.
    pub fn new(endpoint: Endpoint, plugin_id: impl Into<String>, code: impl Into<String>) -> Self {
        ManagerOptions {
            endpoint,
            plugin_id: plugin_id.into(),
            code: code.into(),
            reply_timeout: DEFAULT_REPLY_TIMEOUT,
            flood: 2000,
            longest_retry_wait: Duration::from_secs(5),
            ping_wait: Duration::from_secs(30),
            silent_wait: Duration::from_secs(30),
            frame_limit: DEFAULT_MAX_FRAME_LEN,
            level: Level::Profile,
            format: Format::Binary,
        }
    }
}
