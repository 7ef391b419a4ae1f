//! The Logi plugin manager host.
//!
//! The manager side above the protocol engine:
//! - [`host`]: the host itself, which installs packages, launches and supervises plugins,
//!   serves their sessions and keeps their [`settings`];
//! - the client library (seed chapter 9) the configuration software uses to drive a running
//!   manager is the crate `logi-plugin-client`, which needs none of this one;
//! - the admin HTTP port (`docs/admin.md`): provd's plugin-manager API and the developer
//!   console, opened with [`HostConfig::admin`];
//! - [`conformance`]: the conformance kit, judging a plugin or a manager of any language on
//!   the wire;
//! - [`demo`]: the project's demo, a host running the example plugin;
//! - the `logi-plugin` command-line tool (`src/bin/logi-plugin/`).
#![forbid(unsafe_code)]

mod admin;
mod bounds;
pub mod host;
pub mod marketplace;
mod offload;
pub mod settings;

pub use host::{
    Ending, Host, HostConfig, HostError, HostEvent, InstallPhases, LogRecord, LogSink, PluginInfo,
    Stage, StopReport,
};
