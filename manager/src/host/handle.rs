//! The host's handle: what an embedding application holds. Its methods are in the modules of
//! what they do (`mod.rs`: start, events, requests, shutdown; `install.rs`; `registered.rs`;
//! `source.rs`).

use std::sync::Arc;

use super::shared::Shared;

/// A plugin manager host. Clones share one host.
#[derive(Clone)]
pub struct Host {
    pub(super) shared: Arc<Shared>,
}
