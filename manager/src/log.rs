//! The host's log: one [`LogRecord`] per line, written to a [`LogSink`] the embedder chooses.
//! A leaf module: the host and its front-ends (admin port, marketplace bridge) all write here.

use std::fmt;
use std::sync::Arc;

use logi_plugin_core::proto::plugin::log_event::LogLevel;

/// One line of the host's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogRecord<'a> {
    /// The plugin it is about (its own log event, or what the host did with it); `None` for the
    /// host itself.
    pub plugin_id: Option<&'a str>,
    /// How serious.
    pub level: LogLevel,
    /// What happened.
    pub message: &'a str,
}

impl fmt::Display for LogRecord<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = self.plugin_id.unwrap_or("logi-plugin host");
        write!(f, "[{tag}] {}: {}", self.level.as_str_name(), self.message)
    }
}

/// Where the host's log goes: a function called for each [`LogRecord`], from any thread.
#[derive(Clone)]
pub struct LogSink(Arc<dyn Fn(&LogRecord<'_>) + Send + Sync>);

impl LogSink {
    /// A sink calling `write` for each record.
    pub fn new(write: impl Fn(&LogRecord<'_>) + Send + Sync + 'static) -> LogSink {
        LogSink(Arc::new(write))
    }

    /// One line per record on stderr: `[plugin id] LEVEL: message`.
    pub fn stderr() -> LogSink {
        LogSink::new(|record| eprintln!("{record}"))
    }

    /// Logs `message`.
    pub(crate) fn write(&self, plugin_id: Option<&str>, level: LogLevel, message: &str) {
        (self.0)(&LogRecord {
            plugin_id,
            level,
            message,
        });
    }
}

impl fmt::Debug for LogSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LogSink")
    }
}
