//! Where a plugin finds its manager.
//!
//! The host launches a plugin with two environment variables: [`TOKEN_ENV`] (`token`, the
//! per-launch secret the plugin presents in its hello, seed 7.1) and [`ENDPOINT_ENV`] (where to
//! connect: a local-socket path, or a `ws://` URL). A plugin launched without an endpoint uses
//! the platform's default local socket ([`crate::local::default_endpoint`]).

use std::fmt;
use std::path::PathBuf;

use logi_plugin_core::session::Format;

use crate::local::{LocalError, connect_local};
use crate::transport::BoxTransport;
use crate::ws::{WsListenError, connect_ws};

/// The environment variable holding the plugin's per-launch secret (seed 7.1).
pub const TOKEN_ENV: &str = "token";

/// The environment variable holding the manager's endpoint: a local-socket path or a `ws://`
/// URL.
pub const ENDPOINT_ENV: &str = "LOGI_PLUGIN_ENDPOINT";

/// A manager's address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// A Unix domain socket path, or a Windows named pipe (`\\.\pipe\...`).
    Local(PathBuf),
    /// A `ws://` URL.
    WebSocket(String),
}

impl Endpoint {
    /// Reads an endpoint as [`ENDPOINT_ENV`] holds it: a `ws://` URL, or else a path.
    pub fn parse(text: &str) -> Endpoint {
        if text.starts_with("ws://") {
            Endpoint::WebSocket(text.to_string())
        } else {
            Endpoint::Local(PathBuf::from(text))
        }
    }

    /// [`ENDPOINT_ENV`] if set and not empty, else the default local socket.
    pub fn from_env() -> Endpoint {
        std::env::var(ENDPOINT_ENV)
            .ok()
            .filter(|text| !text.is_empty())
            .map_or_else(
                || Endpoint::Local(crate::local::default_endpoint()),
                |text| Endpoint::parse(&text),
            )
    }

    /// Connects: a local socket carries binary frames; a WebSocket carries `format`.
    pub async fn connect(&self, format: Format) -> Result<BoxTransport, ConnectError> {
        Ok(match self {
            Endpoint::Local(path) => Box::new(connect_local(path).await?),
            Endpoint::WebSocket(url) => Box::new(connect_ws(url, format).await?),
        })
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Local(path) => write!(f, "{}", path.display()),
            Endpoint::WebSocket(url) => f.write_str(url),
        }
    }
}

/// Why connecting to a manager failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// Over a local socket.
    #[error(transparent)]
    Local(#[from] LocalError),
    /// Over WebSocket.
    #[error(transparent)]
    WebSocket(#[from] WsListenError),
}

impl ConnectError {
    /// Whether the client should stop rather than try again: the endpoint is served by another
    /// user ([`LocalError::NotOwner`]), whom every new attempt would reach again, where a
    /// manager not (yet) listening is worth waiting for.
    pub fn is_final(&self) -> bool {
        matches!(self, ConnectError::Local(LocalError::NotOwner { .. }))
    }
}
