//! The host's log: one [`LogRecord`] per line, written to a [`LogSink`] the embedder chooses.
//! A leaf module: the host and its front-ends (admin port, marketplace bridge) all write here.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

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

/// `time` in RFC 3339, in UTC to the millisecond: `2026-01-01T00:00:00.123Z` (a time before
/// 1970 reads as 1970's start).
pub fn utc_text(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since.as_secs();
    let (days, of_day) = (seconds / 86_400, seconds % 86_400);
    // Howard Hinnant's days-to-civil, on the era of 400 years starting 0000-03-01.
    let z = days + 719_468;
    let (era, of_era) = (z / 146_097, z % 146_097);
    let year_of_era = (of_era - of_era / 1460 + of_era / 36_524 - of_era / 146_096) / 365;
    let of_year = of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * of_year + 2) / 153;
    let day = of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_time_is_written_in_rfc_3339_utc_to_the_millisecond() {
        let at = |ms: u64| utc_text(UNIX_EPOCH + Duration::from_millis(ms));
        assert_eq!(at(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(at(1_767_225_599_999), "2025-12-31T23:59:59.999Z");
        assert_eq!(at(1_772_323_200_500), "2026-03-01T00:00:00.500Z");
    }
}
