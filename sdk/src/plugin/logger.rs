//! The `log` crate's macros, carried to the manager as `LogEvent`s: a plugin logs as any Rust
//! program does, and its lines are in the manager's log (and `logi-plugin logs`) with no
//! debugger attached. A line logged in a hook goes to the plugin whose hook it is (several
//! plugins may run in one process: tests on the mock host); one logged elsewhere (a thread of
//! the plugin's own) goes to the plugin started last; with none running, nowhere.

use std::cell::RefCell;
use std::sync::{Mutex, OnceLock};

use logi_plugin_core::proto::plugin::LogEvent;
use logi_plugin_core::proto::plugin::log_event::LogLevel;
use logi_plugin_transports::lock::lock;

/// A plugin's log lines, on their way to its manager.
pub(super) type Lines = async_channel::Sender<LogEvent>;

/// Where log lines logged outside a hook go: the plugin started last.
static SINK: Mutex<Option<Lines>> = Mutex::new(None);

thread_local! {
    /// Where log lines go during a hook: its plugin's.
    static HOOK: RefCell<Option<Lines>> = const { RefCell::new(None) };
}

/// Runs `hook` with the lines it logs going to `lines`.
pub(super) fn scoped<R>(lines: &Lines, hook: impl FnOnce() -> R) -> R {
    let outer = HOOK.with(|current| current.replace(Some(lines.clone())));
    let result = hook();
    HOOK.with(|current| *current.borrow_mut() = outer);
    result
}

struct ToManager;

impl log::Log for ToManager {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let level = match record.level() {
            log::Level::Error => LogLevel::Error,
            log::Level::Warn => LogLevel::Warning,
            log::Level::Info => LogLevel::Info,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Trace => LogLevel::Trace,
        };
        let event = LogEvent {
            log_level: level.into(),
            message: record.args().to_string(),
        };
        let hook = HOOK.with(|current| current.borrow().clone());
        if let Some(lines) = hook.or_else(|| lock(&SINK).clone()) {
            let _ = lines.try_send(event);
        }
    }

    fn flush(&self) {}
}

/// Makes the `log` macros reach the plugin being served from now on (info and above, unless
/// the plugin sets `log::set_max_level`): where its hooks' lines go, and the lines to send.
pub(super) fn install() -> (Lines, async_channel::Receiver<LogEvent>) {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        // Another logger set by the plugin itself keeps its place.
        if log::set_logger(&ToManager).is_ok() {
            log::set_max_level(log::LevelFilter::Info);
        }
    });
    let (sender, receiver) = async_channel::unbounded();
    *lock(&SINK) = Some(sender.clone());
    (sender, receiver)
}
