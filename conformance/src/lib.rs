//! The conformance kit: judges an implementation of the plugin protocol written in any language
//! by talking to it over a real connection and watching the raw frames and their timing.
//!
//! - [`check_plugin`] launches a plugin program as the host would (the `token` and
//!   `LOGI_PLUGIN_ENDPOINT` environment variables, a private local socket) and plays the manager:
//!   handshake, heartbeat, error codes, `RetryAfter`, an analog flood.
//! - [`check_manager`] connects to a running manager and plays a plugin: handshake, a refused
//!   code, the manager's heartbeat (its `Ping`s, the close of a silent plugin), heartbeat
//!   direction, error codes answered with the session kept, settings, the rate limit, the
//!   session kept through the run, the frame limit.
//!
//! Over WebSocket either side runs in one [`Format`], binary or JSON text (the options'
//! `format`); in JSON the peer's text frames are also judged by the proto3 JSON mapping.
//!
//! Both return a [`Report`]: one [`Check`] per behaviour, passed, failed (with what was
//! expected and what was seen) or skipped (when the options give the kit nothing to provoke the
//! behaviour with). Each check has a [`Level`]: it enforces the seed's rule, or a decision of
//! this project's profile (with where that decision is written down); the options' `level`
//! says which failures fail the run. Checks read the peer's frames themselves (`wire.rs`)
//! rather than through a session of the core, which would hide the misbehaviour a check is
//! looking for.
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
pub use text::JSON_CHECKS;

/// How long the peer gets to answer a request, unless the options say otherwise: generous, so
/// that a loaded machine does not fail a check that is about correctness, not speed.
pub const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// Whose rule a check enforces, and so at which `--level` its failure fails the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// The seed's own rule: any implementation of the protocol must keep it.
    Seed,
    /// A decision of this project where the seed is silent or open (a profile of the seed):
    /// judging at this level fails the run on every check, the seed's included.
    #[default]
    Profile,
}

impl Level {
    /// `seed` or `profile`.
    pub fn label(self) -> &'static str {
        match self {
            Level::Seed => "seed",
            Level::Profile => "profile",
        }
    }

    /// Whether a failure of a check at level `check` fails a run judged at this level.
    pub fn counts(self, check: Level) -> bool {
        check <= self
    }
}

impl std::str::FromStr for Level {
    type Err = ConformanceError;

    fn from_str(text: &str) -> Result<Level, ConformanceError> {
        match text {
            "seed" => Ok(Level::Seed),
            "profile" => Ok(Level::Profile),
            _ => Err(ConformanceError::Option {
                option: "level",
                value: text.into(),
                why: "expected seed or profile",
            }),
        }
    }
}

/// A check's name, what it asks in one line, its level and where its rule is written.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Spec {
    name: &'static str,
    what: &'static str,
    level: Level,
    rule: &'static str,
}

impl Spec {
    /// A check of the seed's rule, found at `rule` (a chapter of the seed).
    pub(crate) const fn seed(name: &'static str, what: &'static str, rule: &'static str) -> Spec {
        Spec {
            name,
            what,
            level: Level::Seed,
            rule,
        }
    }

    /// A check of a decision of this project, written down at `rule`.
    pub(crate) const fn profile(
        name: &'static str,
        what: &'static str,
        rule: &'static str,
    ) -> Spec {
        Spec {
            name,
            what,
            level: Level::Profile,
            rule,
        }
    }
}

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
    /// Whether it enforces the seed or a decision of this project.
    pub level: Level,
    /// Where its rule is written: a chapter of the seed (`seed 5.7 Heartbeat message`) or this
    /// project's document (`docs/protocol.md: Error answers, by cause`).
    pub rule: &'static str,
    /// What the kit found.
    pub outcome: Outcome,
    /// On a failure, what was expected and what was seen; otherwise what was observed.
    pub detail: String,
}

/// Every check of one run, in the order they ran, and the level the run is judged at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The checks.
    pub checks: Vec<Check>,
    /// Which failures fail the run: at [`Level::Seed`], only the seed's checks'.
    pub level: Level,
}

impl Report {
    /// An empty report judged at `level`.
    pub fn new(level: Level) -> Report {
        Report {
            checks: Vec::new(),
            level,
        }
    }

    /// Whether no check failed that counts at the report's level.
    pub fn passed(&self) -> bool {
        self.failed().next().is_none()
    }

    /// The checks that failed and count at the report's level: these fail the run.
    pub fn failed(&self) -> impl Iterator<Item = &Check> {
        self.failures().filter(|c| self.level.counts(c.level))
    }

    /// Every check that failed, whatever its level: at [`Level::Seed`] a profile check's
    /// failure is reported here without failing the run.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.outcome == Outcome::Failed)
    }

    /// The check named `name`.
    pub fn get(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    fn push(&mut self, spec: Spec, found: Found) {
        let (outcome, detail) = match found {
            Ok(detail) => (Outcome::Passed, detail),
            Err(Finding::Failed(detail)) => (Outcome::Failed, detail),
            Err(Finding::Skipped(detail)) => (Outcome::Skipped, detail),
        };
        self.checks.push(Check {
            name: spec.name,
            what: spec.what,
            level: spec.level,
            rule: spec.rule,
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
