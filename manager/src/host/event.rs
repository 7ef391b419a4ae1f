//! What a host reports to its subscribers, and how it is written as JSON (the tool's `--json`
//! output and the admin port's event stream).

use std::time::SystemTime;

use logi_plugin_core::Envelope;
use logi_plugin_core::Message;
use logi_plugin_core::codec::json;
use logi_plugin_core::proto::manager::{ContainerState, InstallationEventNotice, LogSource};
use logi_plugin_core::proto::plugin::log_event::LogLevel;
use serde_json::{Value, json};

use super::InstallPhases;
use super::recent::{LogLine, log_line_json, tagged};

/// What a host reports to its subscribers.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum HostEvent {
    /// An installation event of the Kortex seed.
    Installation(InstallationEventNotice),
    /// A plugin's container state changed.
    State {
        /// The plugin.
        plugin_id: String,
        /// Its new state.
        state: ContainerState,
    },
    /// A plugin connected and said hello.
    Connected {
        /// The plugin.
        plugin_id: String,
        /// The version it announced.
        version: String,
    },
    /// A plugin's session closed (it may connect again).
    Disconnected {
        /// The plugin.
        plugin_id: String,
        /// Why the session closed.
        reason: String,
    },
    /// A line of a plugin's log: what it logged (seed 5.4), what its program wrote to stderr,
    /// or the host's note about it. Listed plugins keep it in their recent log
    /// ([`Host::logs`](super::Host::logs)).
    Log {
        /// The plugin.
        plugin_id: String,
        /// How serious.
        level: LogLevel,
        /// What it says (a stderr line without the `stderr: ` the host's log puts before it).
        message: String,
        /// Where it came from.
        source: LogSource,
        /// When the host got it.
        time: SystemTime,
        /// The number it is kept under in the plugin's recent log.
        seq: u32,
    },
    /// A plugin's configuration scheme said the user must log in (seed 11.1: the marketplace
    /// is told).
    LoginRequired {
        /// The plugin.
        plugin_id: String,
    },
    /// A plugin sent a status on its own (`ActionCellStatus`, `AnalogControlStatus`).
    Status {
        /// The plugin.
        plugin_id: String,
        /// The status.
        message: Message,
    },
    /// A plugin installed from a package is up: its first run said hello, just after its
    /// `RUNNING` (or it has no program, or that run ended without a hello: then
    /// `phases.hello` is `None`). Also written to the log.
    Installed {
        /// The plugin.
        plugin_id: String,
        /// The version installed.
        version: String,
        /// How long each phase of the install took.
        phases: InstallPhases,
    },
}

impl std::fmt::Display for HostEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostEvent::Installation(notice) => {
                write!(f, "{} {}", notice.event().as_str_name(), notice.plugin_id)?;
                match &notice.description {
                    Some(description) => write!(f, ": {description}"),
                    None => Ok(()),
                }
            }
            HostEvent::State { plugin_id, state } => {
                write!(f, "{plugin_id} is {}", state.as_str_name())
            }
            HostEvent::Connected { plugin_id, version } => {
                write!(f, "{plugin_id} {version} connected")
            }
            HostEvent::Disconnected { plugin_id, reason } => {
                write!(f, "{plugin_id} disconnected: {reason}")
            }
            HostEvent::Log {
                plugin_id,
                level,
                message,
                source,
                ..
            } => {
                let text = tagged(*source, message);
                write!(f, "{plugin_id} logged {}: {text:?}", level.as_str_name())
            }
            HostEvent::LoginRequired { plugin_id } => {
                write!(f, "{plugin_id} asks the user to log in")
            }
            HostEvent::Status { plugin_id, message } => {
                write!(f, "{plugin_id} sent {}", message.message_type().full_name())
            }
            HostEvent::Installed {
                plugin_id,
                version,
                phases,
            } => write!(f, "installed {plugin_id} {version} {phases}"),
        }
    }
}

impl HostEvent {
    /// The line of a [`HostEvent::Log`], as the plugin's recent log keeps it.
    pub fn log_line(&self) -> Option<LogLine> {
        let HostEvent::Log {
            level,
            message,
            source,
            time,
            seq,
            ..
        } = self
        else {
            return None;
        };
        Some(LogLine {
            seq: *seq,
            time: *time,
            level: *level,
            source: *source,
            message: message.clone(),
        })
    }

    /// The event as one JSON object: `"event"` names its kind (`installation`, `state`,
    /// `connected`, `disconnected`, `log`, `login_required`, `status`, `installed`), with its fields
    /// beside (a `log`'s as `logi-plugin logs --json` writes a line); durations in
    /// milliseconds.
    pub fn to_json(&self) -> Value {
        match self {
            HostEvent::Installation(notice) => json!({
                "event": "installation", "kind": notice.event().as_str_name(),
                "plugin_id": notice.plugin_id, "description": notice.description,
            }),
            HostEvent::State { plugin_id, state } => json!({
                "event": "state", "plugin_id": plugin_id, "state": state.as_str_name(),
            }),
            HostEvent::Connected { plugin_id, version } => json!({
                "event": "connected", "plugin_id": plugin_id, "version": version,
            }),
            HostEvent::Disconnected { plugin_id, reason } => json!({
                "event": "disconnected", "plugin_id": plugin_id, "reason": reason,
            }),
            HostEvent::Log { plugin_id, .. } => {
                // (`log_line` is `Some` for every `Log`.)
                let line = self.log_line().map(|line| line.to_proto(plugin_id));
                let mut json = log_line_json(&line.unwrap_or_default());
                json["event"] = "log".into();
                json
            }
            HostEvent::LoginRequired { plugin_id } => json!({
                "event": "login_required", "plugin_id": plugin_id,
            }),
            HostEvent::Status { plugin_id, message } => json!({
                "event": "status", "plugin_id": plugin_id,
                "message_type": message.message_type().full_name(),
                "message": message_json(message.clone()),
            }),
            HostEvent::Installed {
                plugin_id,
                version,
                phases,
            } => {
                let ms = |duration: std::time::Duration| duration.as_secs_f64() * 1e3;
                json!({
                    "event": "installed", "plugin_id": plugin_id, "version": version,
                    "total_ms": ms(phases.total), "read_ms": phases.read.map(ms),
                    "unpack_ms": ms(phases.unpack), "verify_ms": ms(phases.verify),
                    "write_ms": ms(phases.write), "commands_ms": ms(phases.commands),
                    "launch_ms": phases.launch.map(ms), "hello_ms": phases.hello.map(ms),
                    "archive_bytes": phases.archive_bytes, "unpacked_bytes": phases.unpacked_bytes,
                })
            }
        }
    }
}

/// A message as its canonical JSON, with its `@type`.
pub(crate) fn message_json(message: Message) -> Value {
    let text = json::encode(&Envelope::request(0, message));
    let mut envelope: Value = serde_json::from_str(&text).expect("the codec writes JSON");
    envelope["message"].take()
}
