//! The conformance kit: judges an implementation of the plugin protocol written in any language
//! by talking to it over a real connection and watching the raw frames and their timing.
//!
//! - [`check_plugin`] launches a plugin program as the host would (the `token` and
//!   `LOGI_PLUGIN_ENDPOINT` environment variables, a private local socket) and plays the manager:
//!   handshake, heartbeat, error codes, `RetryAfter`, an analog flood.
//! - [`check_manager`] connects to a running manager and plays a plugin: handshake, a refused
//!   code, heartbeat direction, error codes, settings, the rate limit, the frame limit.
//!
//! Over WebSocket either side runs in one [`Format`], binary or JSON text (the options'
//! `format`); in JSON the peer's text frames are also judged by the proto3 JSON mapping.
//!
//! Both return a [`Report`]: one [`Check`] per behaviour, passed, failed (with what was
//! expected and what was seen) or skipped (when the options give the kit nothing to provoke the
//! behaviour with). Checks read the peer's frames themselves (`wire.rs`) rather than through a
//! session of the core, which would hide the misbehaviour a check is looking for.
//!
//! ```no_run
//! use logi_plugin_conformance::{PluginOptions, check_plugin};
//!
//! // Launch the plugin program as a host would and play the manager against it.
//! let report = check_plugin(&PluginOptions::new("target/debug/my-plugin")).unwrap();
//! for check in report.failed() {
//!     eprintln!("{}: {}", check.name, check.detail);
//! }
//! std::process::exit(if report.passed() { 0 } else { 1 });
//! ```

mod exchange;
mod manager;
mod plugin;
mod probes;
mod text;
mod wire;

use std::time::Duration;

pub use logi_plugin_core::session::Format;
pub use manager::{ManagerOptions, check_manager};
pub use plugin::{PluginOptions, check_plugin};

/// How long the peer gets to answer a request, unless the options say otherwise: generous, so
/// that a loaded machine does not fail a check that is about correctness, not speed.
pub const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// A check's name and what it asks, in one line.
pub(crate) type Spec = (&'static str, &'static str);

/// What one check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The peer behaved as the protocol says.
    Passed,
    /// It did not.
    Failed,
    /// The behaviour could not be provoked (an option was not given, or the peer offered
    /// nothing to observe); not a failure.
    Skipped,
}

impl Outcome {
    /// `PASS`, `FAIL` or `SKIP`.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Passed => "PASS",
            Outcome::Failed => "FAIL",
            Outcome::Skipped => "SKIP",
        }
    }
}

/// One behaviour checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// A short stable name, e.g. `heartbeat`.
    pub name: &'static str,
    /// What the protocol asks, in one line.
    pub what: &'static str,
    /// What the kit found.
    pub outcome: Outcome,
    /// On a failure, what was expected and what was seen; otherwise what was observed.
    pub detail: String,
}

/// Every check of one run, in the order they ran.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    /// Whether no check failed.
    pub fn passed(&self) -> bool {
        self.failed().next().is_none()
    }

    /// The checks that failed.
    pub fn failed(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.outcome == Outcome::Failed)
    }

    /// The check named `name`.
    pub fn get(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    fn push(&mut self, (name, what): Spec, found: Found) {
        let (outcome, detail) = match found {
            Ok(detail) => (Outcome::Passed, detail),
            Err(Finding::Failed(detail)) => (Outcome::Failed, detail),
            Err(Finding::Skipped(detail)) => (Outcome::Skipped, detail),
        };
        self.checks.push(Check {
            name,
            what,
            outcome,
            detail,
        });
    }
}

/// What a check function returns: what it observed when it passed.
type Found = Result<String, Finding>;

/// Why a check did not pass.
#[derive(Debug)]
enum Finding {
    Failed(String),
    Skipped(String),
}

/// A failure with its detail.
fn fail<T>(detail: impl Into<String>) -> Result<T, Finding> {
    Err(Finding::Failed(detail.into()))
}

/// A skip with its reason.
fn skip<T>(reason: impl Into<String>) -> Result<T, Finding> {
    Err(Finding::Skipped(reason.into()))
}

/// Why the kit could not run at all (as opposed to a check failing).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConformanceError {
    /// The private socket for the plugin could not be made.
    #[error("cannot open the kit's socket at {path}: {reason}")]
    Listen {
        /// Where.
        path: String,
        /// Why.
        reason: String,
    },
    /// The manager could not be reached.
    #[error("cannot reach the manager at {endpoint}: {reason}")]
    Connect {
        /// The endpoint.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// The plugin program could not be started.
    #[error("cannot start the plugin program {program}: {source}")]
    Launch {
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// An option has a value the kit cannot use.
    #[error("option {option} = {value}: {why}")]
    Option {
        /// The option.
        option: &'static str,
        /// Its value.
        value: String,
        /// Why it is refused.
        why: &'static str,
    },
}

/// A fresh per-launch secret for a plugin the kit launches: 32 random bytes, in hex.
fn fresh_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source works");
    hex::encode(bytes)
}
