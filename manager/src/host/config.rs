//! How a host is set up: where it keeps its data, which transports it opens, whom it trusts,
//! and where its log goes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use logi_plugin_core::session::{ManagerConfig, RateLimit};
use logi_plugin_transports::local::default_endpoint;
use logi_plugin_transports::reconnect::Backoff;
use logi_plugin_transports::ws::WsOptions;

use logi_plugin_package::Limits;
use logi_plugin_package::signature::TrustStore;

use crate::log::LogSink;

/// How a host is set up.
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// Where installed plugins (`plugins/<id>/`) and the settings database live.
    pub data_dir: PathBuf,
    /// The local socket plugins connect to.
    pub endpoint: PathBuf,
    /// A loopback address to accept plugins over WebSocket as well (EXTERNAL plugins written in
    /// JavaScript, for instance); port 0 picks a free port ([`crate::Host::websocket_addr`]).
    pub websocket: Option<SocketAddr>,
    /// Which browser origins may open that WebSocket, and its message size limit.
    pub websocket_options: WsOptions,
    /// A folder of packages named `<plugin id>-<version>.zip` (as `logi-plugin pack` names
    /// them), where installs that name a plugin but no file find it: the marketplace's
    /// `MPInstallPlugin` and `MPUpdatePlugin`, the client library's `install_plugin` without a
    /// path.
    pub package_source: Option<PathBuf>,
    /// A folder to record every session in (plugins' and the client library's), one
    /// `session-<n>.logirec` each, for `logi-plugin replay`. Recordings hold what the wire held,
    /// the plugins' per-launch secrets included.
    pub record_dir: Option<PathBuf>,
    /// The publisher keys packages must be signed with.
    pub trust: TrustStore,
    /// Accept unsigned and untrusted packages (with a warning in the log).
    pub development: bool,
    /// The language plugins are told in their hello.
    pub language: String,
    /// How long to wait before restarting a crashed plugin.
    pub restart: Backoff,
    /// How many crashes in a row (each within 30 s of its start, or before its hello) put a
    /// plugin in quarantine: listed as stopped with the reason, and not restarted until it is
    /// reloaded or installed again.
    pub crash_loop_limit: u32,
    /// Bounds on what a package may unpack to.
    pub limits: Limits,
    /// How long a stopping plugin gets to exit before it is killed.
    pub stop_grace: Duration,
    /// How long a launched plugin has to say an accepted hello (default 30 s): past it, it is
    /// killed and counted as a failed start (a crash, for
    /// [`crash_loop_limit`](Self::crash_loop_limit) and the restart backoff).
    pub hello_timeout: Duration,
    /// How often the manager sends each session a `Ping` (default 10 s).
    pub heartbeat_interval: Duration,
    /// How long a `Pong` may take before the session is closed (default 5 s).
    pub heartbeat_timeout: Duration,
    /// The rate limit on what each plugin sends, its answers excepted (default 100 a second,
    /// bursts of 200; docs/protocol.md, the error answers); `None` for no limit (a benchmark).
    pub rate_limit: Option<RateLimit>,
    /// Where the host's log goes: plugins' log events and the host's own messages.
    pub log: LogSink,
}

impl HostConfig {
    /// The defaults, keeping everything under `data_dir`, logging to stderr.
    pub fn new(data_dir: impl Into<PathBuf>) -> HostConfig {
        HostConfig {
            data_dir: data_dir.into(),
            endpoint: default_endpoint(),
            websocket: None,
            websocket_options: WsOptions::default(),
            package_source: None,
            record_dir: None,
            trust: TrustStore::default(),
            development: false,
            language: "en-US".into(),
            restart: Backoff {
                initial: Duration::from_millis(250),
                max: Duration::from_secs(30),
            },
            crash_loop_limit: 5,
            limits: Limits::default(),
            stop_grace: Duration::from_secs(2),
            hello_timeout: Duration::from_secs(30),
            heartbeat_interval: Duration::from_secs(10),
            heartbeat_timeout: Duration::from_secs(5),
            rate_limit: ManagerConfig::default_rate_limit(),
            log: LogSink::stderr(),
        }
    }
}
