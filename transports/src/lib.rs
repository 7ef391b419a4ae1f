//! Thin IO adapters for the Logi plugin protocol engine: what the plugin SDK
//! (`logi-plugin-sdk`), the client library (`logi-plugin-client`) and the host share.
//!
//! They bind the sans-IO sessions of `logi-plugin-core` to real connections, on any async
//! runtime: they are built on `futures-io` traits and `async-io` timers, run under smol first,
//! and under tokio through its compat layer (see `examples/tokio_plugin.rs`).
//!
//! - [`Transport`]: what a connection must offer. [`StreamTransport`] carries framed binary
//!   envelopes over any byte stream: [`local`] sockets (Unix domain sockets, Windows named pipes,
//!   at the seed's per-user endpoint) and [`memory`] pipes; [`ws`] carries one envelope per
//!   WebSocket message, binary or JSON text, with a loopback-only listener that refuses browser
//!   origins off its allow-list.
//! - [`driver`]: one loop that runs either session over any transport: [`connect`] gives a
//!   [`Connection`] handle and the [`Driver`] future to spawn; [`block_on`] runs a driver and
//!   the code using it on one thread without a reactor poll per message.
//! - [`clock`]: the time drivers read and sleep on: the machine's by default, or a
//!   [`VirtualClock`] that moves only when a test advances it.
//! - [`reconnect`]: a connection that comes back by itself, for the plugin client and the
//!   client library alike.
//! - [`listener`]: the manager's listener, one session per plugin connection on every transport.
//! - [`endpoint`]: where a launched plugin finds its manager (`token`, `LOGI_PLUGIN_ENDPOINT`).
//!
//! No protocol logic lives here: every decision about bytes on the wire is the core's.
//!
//! A plugin session over the endpoint the host gave, driven on this thread (the plugin SDK
//! does this, with reconnects, for its users):
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::{Duration, Instant};
//! use logi_plugin_core::session::{Format, PluginConfig, PluginSession};
//! use logi_plugin_transports::{Endpoint, block_on, connect};
//!
//! block_on(async {
//!     let transport = Endpoint::from_env().connect(Format::Binary).await?;
//!     let config = PluginConfig::new("com.example.volume", "the host's token", "1.0.0");
//!     let (connection, driver) = connect(PluginSession::new(Instant::now(), config), transport);
//!     let driving = smol::spawn(driver);
//!     while let Some(event) = connection.next_event().await {
//!         println!("{event:?}"); // the hello, requests to answer, the session's end
//!     }
//!     driving.await;
//!     Ok(())
//! })
//! # }
//! ```
#![forbid(unsafe_code)]

pub mod clock;
pub mod driver;
mod duplex;
pub mod endpoint;
mod events;
pub mod listener;
pub mod local;
pub mod lock;
pub mod memory;
pub mod reconnect;
pub mod run;
mod stream;
mod transport;
#[cfg(test)]
mod wakes;
pub mod ws;

pub use clock::{Clock, VirtualClock};
pub use driver::{Answer, CommandError, Connection, Driver, Judge, RequestError, connect};
pub use duplex::Duplex;
pub use endpoint::{ENDPOINT_ENV, Endpoint, TOKEN_ENV};
pub use events::Events;
pub use listener::{Admitting, ManagerConnection, ManagerDriver, ManagerListener};
pub use reconnect::{ClientError, ClientEvent};
pub use run::block_on;
pub use stream::StreamTransport;
pub use transport::{BoxTransport, Received, Transport};
