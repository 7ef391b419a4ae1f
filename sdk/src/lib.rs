//! The Rust plugin SDK (seed chapter 7): what a plugin links to talk to the plugin manager.
//!
//! [`PluginClient::new`] takes a [`ClientConfig`] (usually [`ClientConfig::from_env`], which
//! reads the secret and the endpoint the manager launched the plugin with) and gives the client
//! handle and its runner. Run the runner beside the plugin's own loop:
//!
//! ```no_run
//! use logi_plugin_sdk::{ClientConfig, ClientEvent, PluginClient};
//!
//! let config = ClientConfig::from_env("com.example.counter", "1.0.0").expect("launched by the manager");
//! let (client, runner) = PluginClient::new(config);
//! logi_plugin_sdk::block_on(futures_lite::future::zip(runner, async {
//!     while let Some(event) = client.next_event().await {
//!         if let ClientEvent::Request { id, .. } = event {
//!             client.send_ok_response(id).await.ok();
//!         }
//!     }
//! }));
//! ```
//!
//! - [`plugin`]: the handler API: actions and controls as types whose hooks return what to
//!   show, typed settings stored before the answer leaves, `log` to the manager, and
//!   [`Plugin::run`](plugin::Plugin::run) owning the executor. Start here.
//! - `mock` (feature `mock`): a mock host, to test a plugin in its own process with no
//!   daemon, on a virtual clock the test advances.
//! - [`client`]: the client (seed 7.1): connect, hello, events, answers, control buffering,
//!   reconnect with capped exponential backoff; for a plugin that wants its own event loop.
//! - [`utilities`]: the SDK's utilities (seed 7.2): `open_url`, and the OS secret store with the
//!   `secrets` feature (on by default).
//!
//! The connection itself (transports, the driver, [`block_on`]) is `logi-plugin-transports`,
//! which the client library and the host share.
#![forbid(unsafe_code)]

pub mod client;
#[cfg(feature = "mock")]
pub mod mock;
pub mod plugin;
pub mod utilities;

pub use client::{
    Backoff, ClientConfig, ClientError, ClientEvent, ClientRunner, Connector, PluginClient,
};
pub use logi_plugin_transports::{ENDPOINT_ENV, Endpoint, TOKEN_ENV, block_on};
