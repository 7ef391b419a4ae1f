//! A plugin's recent log, for its developer (`logi-plugin logs`, the console's card): its last
//! [`RECENT_LOG_LINES`] lines, each with when the host got it, how serious it is and where it
//! came from (the plugin's `LogEvent`, its stderr, the host's notes). Kept apart from the stop
//! report's last lines (`diagnostics.rs`), which a report copies when a run ends; this one goes
//! on across runs, restarts and reloads until the plugin is removed.

use std::collections::VecDeque;
use std::time::SystemTime;

use logi_plugin_core::proto::manager::{LogSource, PluginLogLine};
use logi_plugin_core::proto::plugin::log_event::LogLevel;
use serde_json::{Value, json};

use super::stderr::MAX_LINE;
use crate::log::utc_text;

/// How many lines a plugin's recent log keeps.
pub const RECENT_LOG_LINES: usize = 200;

/// One line of a plugin's log, as the host keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// Its number: one more for each line the host keeps, across plugins (wrapping), so that
    /// a follower can tell a line it already has.
    pub seq: u32,
    /// When the host got it.
    pub time: SystemTime,
    /// How serious.
    pub level: LogLevel,
    /// Where it came from.
    pub source: LogSource,
    /// What it says, cut at 4 KiB.
    pub message: String,
}

impl LogLine {
    /// The line as the client library carries it.
    pub fn to_proto(&self, plugin_id: &str) -> PluginLogLine {
        PluginLogLine {
            plugin_id: plugin_id.into(),
            seq: self.seq,
            time: utc_text(self.time),
            level: self.level.into(),
            source: self.source.into(),
            message: self.message.clone(),
        }
    }
}

/// A line as one JSON object (the tool's `logs --json`, the `log` events of `serve --json` and
/// the admin port): `plugin_id`, `seq`, `time` (RFC 3339, UTC, milliseconds), `level`
/// (`INFO`...), `source` (`plugin`, `stderr` or `host`) and `message`.
pub fn log_line_json(line: &PluginLogLine) -> Value {
    json!({
        "plugin_id": line.plugin_id, "seq": line.seq, "time": line.time,
        "level": line.level().as_str_name(), "source": source_name(line.source()),
        "message": line.message,
    })
}

/// A source's short name: `plugin`, `stderr`, `host` (`unspecified` from a peer that said none).
pub fn source_name(source: LogSource) -> &'static str {
    match source {
        LogSource::Plugin => "plugin",
        LogSource::Stderr => "stderr",
        LogSource::Host => "host",
        LogSource::Unspecified => "unspecified",
    }
}

/// A line's text as the host's log and the stop report write it: a stderr line says so.
pub(super) fn tagged(source: LogSource, message: &str) -> String {
    match source {
        LogSource::Stderr => format!("stderr: {message}"),
        _ => message.to_string(),
    }
}

/// Cuts `message` at [`MAX_LINE`] bytes (on a character boundary), saying how much went, as
/// stderr's lines are cut: a plugin's `LogEvent` may be as long as a frame.
pub(super) fn cut(mut message: String) -> String {
    if message.len() <= MAX_LINE {
        return message;
    }
    let mut end = MAX_LINE;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    let cut = message.len() - end;
    message.truncate(end);
    message.push_str(&format!(" [{cut} more bytes cut]"));
    message
}

/// A plugin's last [`RECENT_LOG_LINES`] lines, oldest first.
#[derive(Debug, Default)]
pub(super) struct RecentLog {
    lines: VecDeque<LogLine>,
}

impl RecentLog {
    /// Keeps `line`, forgetting the oldest past [`RECENT_LOG_LINES`].
    pub(super) fn push(&mut self, line: LogLine) {
        if self.lines.len() == RECENT_LOG_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }

    /// The lines, oldest first.
    pub(super) fn lines(&self) -> Vec<LogLine> {
        self.lines.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn a_long_message_is_cut_on_a_character_boundary_saying_how_much_went() {
        let long = format!("{}é{}", "a".repeat(MAX_LINE - 1), "b".repeat(10));
        let kept = cut(long);
        assert_eq!(
            kept,
            format!("{} [12 more bytes cut]", "a".repeat(MAX_LINE - 1))
        );
        assert_eq!(cut("short".into()), "short");
    }

    #[test]
    fn a_line_as_json_says_its_time_in_utc_and_its_source_by_name() {
        let line = LogLine {
            seq: 7,
            time: UNIX_EPOCH + Duration::from_millis(1_767_225_600_123),
            level: LogLevel::Warning,
            source: LogSource::Stderr,
            message: "disk full".into(),
        };
        assert_eq!(
            log_line_json(&line.to_proto("com.example.a")),
            json!({
                "plugin_id": "com.example.a", "seq": 7, "time": "2026-01-01T00:00:00.123Z",
                "level": "WARNING", "source": "stderr", "message": "disk full",
            })
        );
    }
}
