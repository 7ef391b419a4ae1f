//! What the host remembers of a plugin's current run, so that no stop goes unexplained: how far
//! its handshake got, the last message it sent, its last log lines (its own `LogEvent`s, what it
//! wrote to stderr, logged or not, and what the host said about it). When the run ends, that
//! becomes the plugin's [`StopReport`], with how it ended: its exit code or signal, or the
//! hello it never said in time.

use std::collections::VecDeque;
use std::fmt;

use logi_plugin_core::proto::manager::StopReport as StopReportProto;
use logi_plugin_core::proto::plugin::log_event::LogLevel;

/// How many log lines a stop report keeps.
pub const KEPT_LOG_LINES: usize = 20;

/// How far a run got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// It could not be started at all.
    NotStarted,
    /// It was started but never said an accepted hello (it may have been killed for not
    /// saying it within [`HostConfig::hello_timeout`](super::HostConfig::hello_timeout)).
    Launched,
    /// It said hello and was admitted.
    Connected,
}

impl Stage {
    /// The stage's name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::NotStarted => "not started",
            Stage::Launched => "launched, no hello",
            Stage::Connected => "connected",
        }
    }
}

/// How a run ended, as its container saw it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ending {
    /// In words: "crashed (exit status: 3)", "panicked: ...", "stopped by the host; it ended on
    /// its own", "stopped by the host; still running after 2s; killed", "said no hello within
    /// 30s; killed".
    pub how: String,
    /// The process's exit code, when it exited.
    pub exit_code: Option<i32>,
    /// The signal that ended the process, when one did (Unix).
    pub signal: Option<i32>,
}

impl From<String> for Ending {
    fn from(how: String) -> Ending {
        Ending {
            how,
            ..Ending::default()
        }
    }
}

/// Why a plugin's last run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StopReport {
    /// How it ended.
    pub ending: Ending,
    /// How far its handshake got.
    pub stage: Stage,
    /// The type of the last message it sent (full protobuf name), if it sent any.
    pub last_message: Option<String>,
    /// Its last log lines, oldest first.
    pub last_log: Vec<String>,
    /// Whether this stop put it in quarantine (too many crashes in a row: not restarted).
    pub quarantined: bool,
}

impl StopReport {
    /// The report as the client library carries it.
    pub fn to_proto(&self) -> StopReportProto {
        StopReportProto {
            how: self.ending.how.clone(),
            exit_code: self.ending.exit_code,
            signal: self.ending.signal,
            stage: self.stage.as_str().into(),
            last_message: self.last_message.clone(),
            last_log: self.last_log.clone(),
            quarantined: self.quarantined,
        }
    }
}

impl fmt::Display for StopReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (got as far as: {}",
            self.ending.how,
            self.stage.as_str()
        )?;
        if let Some(message) = &self.last_message {
            write!(f, "; last message: {message}")?;
        }
        write!(f, ")")?;
        if self.quarantined {
            write!(f, "; quarantined")?;
        }
        Ok(())
    }
}

/// What the host notes of the current run.
#[derive(Debug)]
pub(super) struct Diagnostics {
    stage: Stage,
    last_message: Option<&'static str>,
    log: VecDeque<String>,
    /// Dropped when the current run says hello, which its supervisor waits for.
    hello: Option<async_channel::Sender<()>>,
}

impl Default for Diagnostics {
    fn default() -> Diagnostics {
        Diagnostics {
            stage: Stage::NotStarted,
            last_message: None,
            log: VecDeque::with_capacity(KEPT_LOG_LINES),
            hello: None,
        }
    }
}

impl Diagnostics {
    /// A new run was started: its stage and last message start over; the log goes on, so that
    /// what led to a restart stays in view. `hello` is dropped (closing its channel) when the
    /// run says hello.
    pub(super) fn launched(&mut self, hello: async_channel::Sender<()>) {
        self.stage = Stage::Launched;
        self.last_message = None;
        self.hello = Some(hello);
    }

    /// The run could not even be started.
    pub(super) fn not_started(&mut self) {
        self.stage = Stage::NotStarted;
    }

    pub(super) fn connected(&mut self) {
        self.stage = Stage::Connected;
        self.hello = None;
    }

    pub(super) fn heard(&mut self, message_type: &'static str) {
        self.last_message = Some(message_type);
    }

    /// Keeps a log line about the plugin (logged or not) as the report shows it.
    pub(super) fn logged(&mut self, level: LogLevel, message: &str) {
        if self.log.len() == KEPT_LOG_LINES {
            self.log.pop_front();
        }
        self.log
            .push_back(format!("{}: {message}", level.as_str_name()));
    }

    /// The report of the run that just ended.
    pub(super) fn report(&self, ending: Ending, quarantined: bool) -> StopReport {
        StopReport {
            ending,
            stage: self.stage,
            last_message: self.last_message.map(Into::into),
            last_log: self.log.iter().cloned().collect(),
            quarantined,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_keeps_the_last_lines_only() {
        let mut diagnostics = Diagnostics::default();
        for i in 0..KEPT_LOG_LINES + 5 {
            diagnostics.logged(LogLevel::Info, &format!("line {i}"));
        }
        let report = diagnostics.report(Ending::default(), false);
        assert_eq!(report.last_log.len(), KEPT_LOG_LINES);
        assert_eq!(report.last_log[0], "INFO: line 5");
    }

    #[test]
    fn the_hello_closes_the_channel_the_supervisor_waits_on() {
        let mut diagnostics = Diagnostics::default();
        let (hello, said) = async_channel::bounded(1);
        diagnostics.launched(hello);
        assert!(!said.is_closed());
        diagnostics.connected();
        assert!(said.is_closed());
    }

    #[test]
    fn a_new_run_starts_its_stage_and_last_message_over() {
        let mut diagnostics = Diagnostics::default();
        diagnostics.launched(async_channel::bounded(1).0);
        diagnostics.connected();
        diagnostics.heard("logi.plugin.protocol.Settings");
        diagnostics.launched(async_channel::bounded(1).0);
        let report = diagnostics.report("crashed".to_string().into(), false);
        assert_eq!(report.stage, Stage::Launched);
        assert_eq!(report.last_message, None);
        assert_eq!(
            report.to_string(),
            "crashed (got as far as: launched, no hello)"
        );
    }
}
