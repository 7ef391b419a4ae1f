//! The Logi plugin manager host library: installs plugin packages, launches and supervises
//! their programs, serves their sessions (local socket, WebSocket, in-process CORE plugins),
//! keeps their settings and answers the configuration software's client library.
//!
//! - [`host`]: the host itself ([`Host`] is a cheap handle; clone it into every task);
//! - [`settings`]: the plugins' settings, in SQLite, written in order and never clobbered by a
//!   stale copy;
//! - [`frontends`]: the loopback front-ends opened on top of a host, the admin HTTP port
//!   (`docs/admin.md`) and the [`marketplace`] bridge; the host never imports them;
//! - [`log`]: where the host's log lines go.
//!
//! Packages are the `logi-plugin-package` crate, the client library of the configuration
//! software is `logi-plugin-client`, and the `logi-plugin` tool that composes all of this
//! (`serve`, `demo`) is `logi-plugin-cli`.
//!
//! An embedding application starts a host, watches what happens, and shuts it down:
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use logi_plugin_manager::{Host, HostConfig, HostEvent};
//!
//! let host = Host::start(HostConfig::new("/var/lib/my-app/plugins"))?;
//! let (plugins, events) = host.watch();
//! println!("{} plugins installed", plugins.len());
//! smol::block_on(async {
//!     let archive = std::fs::read("volume-1.0.0.zip")?;
//!     host.install(&archive).await?;
//!     while let Ok(event) = events.recv().await {
//!         if let HostEvent::State { plugin_id, state } = &event {
//!             println!("{plugin_id}: {state:?}");
//!         }
//!     }
//!     host.shutdown().await;
//!     Ok(())
//! })
//! # }
//! ```
#![forbid(unsafe_code)]

mod admin;
mod bounds;
mod credential;
pub mod frontends;
pub mod host;
pub mod log;
pub mod marketplace;
mod offload;
mod secret;
pub mod settings;

pub use frontends::{FrontEndConfig, FrontEnds};
pub use host::{
    Ending, Host, HostConfig, HostError, HostEvent, InstallPhases, LogLine, PluginInfo, Stage,
    StopReport,
};
pub use log::{LogRecord, LogSink};
