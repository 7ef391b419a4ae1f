//! A recording's header: which side recorded, and the configuration its session had, enough to
//! build the same session again for a replay.
//!
//! It is written from the configuration types themselves: [`Header::manager`],
//! [`Header::plugin`] and [`Header::library`] take their configuration apart naming every
//! field, and [`Header::manager_config`], [`Header::plugin_config`] and
//! [`Header::library_config`] build it again naming every field, so a field added to
//! [`ManagerConfig`], [`PluginConfig`] or [`LibraryConfig`] does not compile until the header
//! writes it and reads it back (or says here why it cannot). Each value goes through one
//! [`Field`] conversion, the same both ways.
//!
//! A header written before a field was added reads with that field's default: read such a
//! field with [`Members::get_or`].

use std::ops::RangeInclusive;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::RecordError;
use crate::MessageType;
use crate::session::{
    Format, LibraryConfig, Limits, ManagerConfig, PeerProcess, PluginConfig, RateLimit, Wire,
};

/// Which side recorded, with its configuration: enough to build the same session again.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    /// `"manager"`, `"plugin"`, or `"client"` for the client library.
    pub side: String,
    /// The session's configuration, as [`Header::manager`] or [`Header::plugin`] wrote it.
    pub config: Value,
}

impl Header {
    /// The header of a manager session with `config`.
    pub fn manager(config: &ManagerConfig) -> Header {
        let ManagerConfig {
            manager_version,
            options_version,
            ghub_version,
            language_code,
            protocol_versions,
            wire,
            peer_process,
            limits,
            hello_timeout,
            heartbeat_interval,
            heartbeat_timeout,
            rate_limit,
            max_rate_violations,
            handles,
            accept_clients,
        } = config;
        Header {
            side: "manager".into(),
            config: json!({
                "manager_version": manager_version.write(),
                "options_version": options_version.write(),
                "ghub_version": ghub_version.write(),
                "language_code": language_code.write(),
                "protocol_versions": protocol_versions.write(),
                "wire": wire.write(),
                "peer_process": peer_process.write(),
                "limits": limits.write(),
                "hello_timeout_ms": hello_timeout.write(),
                "heartbeat_interval_ms": heartbeat_interval.write(),
                "heartbeat_timeout_ms": heartbeat_timeout.write(),
                "rate_limit": rate_limit.write(),
                "max_rate_violations": max_rate_violations.write(),
                "handles": handles.write(),
                "accept_clients": accept_clients.write(),
            }),
        }
    }

    /// The header of a plugin session with `config`.
    pub fn plugin(config: &PluginConfig) -> Header {
        let PluginConfig {
            plugin_id,
            // The per-launch secret stays out of the header: the hello on the wire has it, and
            // a replay reads it from there.
            plugin_code: _,
            plugin_version,
            protocol_version,
            wire,
            limits,
            hello_timeout,
            heartbeat_interval,
            missed_heartbeats,
            handles,
            max_held,
        } = config;
        Header {
            side: "plugin".into(),
            config: json!({
                "plugin_id": plugin_id.write(),
                "plugin_version": plugin_version.write(),
                "protocol_version": protocol_version.write(),
                "wire": wire.write(),
                "limits": limits.write(),
                "hello_timeout_ms": hello_timeout.write(),
                "heartbeat_interval_ms": heartbeat_interval.write(),
                "missed_heartbeats": missed_heartbeats.write(),
                "handles": handles.write(),
                "max_held": max_held.write(),
            }),
        }
    }

    /// The header of a client library session with `config`.
    pub fn library(config: &LibraryConfig) -> Header {
        let LibraryConfig {
            client_name,
            client_version,
            protocol_version,
            wire,
            limits,
            hello_timeout,
            heartbeat_interval,
            missed_heartbeats,
        } = config;
        Header {
            side: "client".into(),
            config: json!({
                "client_name": client_name.write(),
                "client_version": client_version.write(),
                "protocol_version": protocol_version.write(),
                "wire": wire.write(),
                "limits": limits.write(),
                "hello_timeout_ms": hello_timeout.write(),
                "heartbeat_interval_ms": heartbeat_interval.write(),
                "missed_heartbeats": missed_heartbeats.write(),
            }),
        }
    }

    /// The manager configuration recorded. Who was admitted is not configuration: the owner's
    /// verdicts are recorded as they were given ([`Step::Admit`](super::Step::Admit)).
    pub fn manager_config(&self) -> Result<ManagerConfig, RecordError> {
        let read = || {
            let c = Members::of(&self.config)?;
            let defaults = ManagerConfig::new("");
            Ok(ManagerConfig {
                manager_version: c.get("manager_version")?,
                options_version: c.get("options_version")?,
                ghub_version: c.get("ghub_version")?,
                language_code: c.get("language_code")?,
                protocol_versions: c.get("protocol_versions")?,
                wire: c.get("wire")?,
                peer_process: c.get_or("peer_process", defaults.peer_process)?,
                limits: c.get_or("limits", defaults.limits)?,
                hello_timeout: c.get("hello_timeout_ms")?,
                heartbeat_interval: c.get("heartbeat_interval_ms")?,
                heartbeat_timeout: c.get("heartbeat_timeout_ms")?,
                rate_limit: c.get("rate_limit")?,
                max_rate_violations: c.get("max_rate_violations")?,
                handles: c.get_or("handles", defaults.handles)?,
                accept_clients: c.get("accept_clients")?,
            })
        };
        read().map_err(RecordError::Header)
    }

    /// The plugin configuration recorded, presenting `code` in its hello.
    pub fn plugin_config(&self, code: &str) -> Result<PluginConfig, RecordError> {
        let read = || {
            let c = Members::of(&self.config)?;
            let defaults = PluginConfig::new("", "", "");
            Ok(PluginConfig {
                plugin_id: c.get("plugin_id")?,
                plugin_code: code.into(),
                plugin_version: c.get("plugin_version")?,
                protocol_version: c.get("protocol_version")?,
                wire: c.get("wire")?,
                limits: c.get_or("limits", defaults.limits)?,
                hello_timeout: c.get("hello_timeout_ms")?,
                heartbeat_interval: c.get("heartbeat_interval_ms")?,
                missed_heartbeats: c.get("missed_heartbeats")?,
                handles: c.get_or("handles", defaults.handles)?,
                max_held: c.get_or("max_held", defaults.max_held)?,
            })
        };
        read().map_err(RecordError::Header)
    }

    /// The client library configuration recorded.
    pub fn library_config(&self) -> Result<LibraryConfig, RecordError> {
        let read = || {
            let c = Members::of(&self.config)?;
            Ok(LibraryConfig {
                client_name: c.get("client_name")?,
                client_version: c.get("client_version")?,
                protocol_version: c.get("protocol_version")?,
                wire: c.get("wire")?,
                limits: c.get("limits")?,
                hello_timeout: c.get("hello_timeout_ms")?,
                heartbeat_interval: c.get("heartbeat_interval_ms")?,
                missed_heartbeats: c.get("missed_heartbeats")?,
            })
        };
        read().map_err(RecordError::Header)
    }

    /// Whether the recorded session read a byte stream (rather than messages).
    pub(super) fn is_stream(&self) -> bool {
        matches!(Wire::read(&self.config["wire"]), Ok(Wire::Stream { .. }))
    }
}

/// The members of a JSON object, read by name; an error names the member and its value.
struct Members<'a>(&'a Map<String, Value>);

impl<'a> Members<'a> {
    fn of(value: &'a Value) -> Result<Members<'a>, String> {
        value
            .as_object()
            .map(Members)
            .ok_or_else(|| "expected an object".to_string())
    }

    /// A member every header has had since recordings began.
    fn get<T: Field>(&self, name: &str) -> Result<T, String> {
        let value = self.0.get(name).ok_or_else(|| format!("no {name}"))?;
        T::read(value).map_err(|why| format!("{name} is {value}: {why}"))
    }

    /// A member added later: `default` where an older header has none.
    fn get_or<T: Field>(&self, name: &str, default: T) -> Result<T, String> {
        match self.0.contains_key(name) {
            true => self.get(name),
            false => Ok(default),
        }
    }
}

/// A configuration value as a header holds it.
trait Field: Sized {
    /// The value as JSON.
    fn write(&self) -> Value;
    /// The value back from JSON; the error says what it should have been.
    fn read(value: &Value) -> Result<Self, String>;
}

/// Values JSON holds as they are.
macro_rules! plain {
    ($($t:ty),*) => {$(
        impl Field for $t {
            fn write(&self) -> Value {
                json!(self)
            }
            fn read(value: &Value) -> Result<Self, String> {
                serde_json::from_value(value.clone()).map_err(|error| error.to_string())
            }
        }
    )*};
}

plain!(String, bool, i32, u32, u64, usize, [i32; 2]);

impl<T: Field> Field for Option<T> {
    fn write(&self) -> Value {
        self.as_ref().map_or(Value::Null, T::write)
    }
    fn read(value: &Value) -> Result<Self, String> {
        match value {
            Value::Null => Ok(None),
            value => T::read(value).map(Some),
        }
    }
}

impl<T: Field> Field for Vec<T> {
    fn write(&self) -> Value {
        self.iter().map(T::write).collect()
    }
    fn read(value: &Value) -> Result<Self, String> {
        let items = value.as_array().ok_or("expected an array")?;
        let read = |(i, item)| T::read(item).map_err(|why| format!("item {i} is {item}: {why}"));
        items.iter().enumerate().map(read).collect()
    }
}

/// In milliseconds, every timer of the sessions being set in whole ones.
impl Field for Duration {
    fn write(&self) -> Value {
        json!(super::millis(*self))
    }
    fn read(value: &Value) -> Result<Self, String> {
        u64::read(value).map(Duration::from_millis)
    }
}

impl Field for RangeInclusive<i32> {
    fn write(&self) -> Value {
        json!([self.start(), self.end()])
    }
    fn read(value: &Value) -> Result<Self, String> {
        let [lowest, highest] = <[i32; 2]>::read(value)?;
        Ok(lowest..=highest)
    }
}

impl Field for MessageType {
    fn write(&self) -> Value {
        json!(self.full_name())
    }
    fn read(value: &Value) -> Result<Self, String> {
        MessageType::from_full_name(&String::read(value)?)
            .ok_or_else(|| "expected the full name of a message of the protocol".into())
    }
}

/// `{"stream": max_frame_len}` or `{"messages": "Binary" | "Json" | "FollowPeer"}`.
impl Field for Wire {
    fn write(&self) -> Value {
        match self {
            Wire::Stream { max_frame_len } => json!({ "stream": max_frame_len }),
            Wire::Messages { format } => json!({ "messages": format!("{format:?}") }),
        }
    }
    fn read(value: &Value) -> Result<Self, String> {
        let wire = Members::of(value)?;
        if wire.0.contains_key("stream") {
            return Ok(Wire::Stream {
                max_frame_len: wire.get("stream")?,
            });
        }
        let format = match wire.get::<String>("messages")?.as_str() {
            "Binary" => Format::Binary,
            "Json" => Format::Json,
            "FollowPeer" => Format::FollowPeer,
            _ => return Err("expected Binary, Json or FollowPeer messages".into()),
        };
        Ok(Wire::Messages { format })
    }
}

impl Field for Limits {
    fn write(&self) -> Value {
        let Limits {
            max_in_flight,
            max_peer_pending,
        } = self;
        json!({
            "max_in_flight": max_in_flight.write(),
            "max_peer_pending": max_peer_pending.write(),
        })
    }
    fn read(value: &Value) -> Result<Self, String> {
        let limits = Members::of(value)?;
        Ok(Limits {
            max_in_flight: limits.get("max_in_flight")?,
            max_peer_pending: limits.get("max_peer_pending")?,
        })
    }
}

impl Field for RateLimit {
    fn write(&self) -> Value {
        json!({
            "per_second": self.per_second().write(),
            "burst": self.burst().write(),
        })
    }
    fn read(value: &Value) -> Result<Self, String> {
        let limit = Members::of(value)?;
        RateLimit::new(limit.get("per_second")?, limit.get("burst")?)
            .map_err(|error| error.to_string())
    }
}

impl Field for PeerProcess {
    fn write(&self) -> Value {
        let PeerProcess {
            pid,
            uid,
            ancestors,
        } = self;
        json!({
            "pid": pid.write(),
            "uid": uid.write(),
            "ancestors": ancestors.write(),
        })
    }
    fn read(value: &Value) -> Result<Self, String> {
        let peer = Members::of(value)?;
        Ok(PeerProcess {
            pid: peer.get("pid")?,
            uid: peer.get("uid")?,
            ancestors: peer.get("ancestors")?,
        })
    }
}
