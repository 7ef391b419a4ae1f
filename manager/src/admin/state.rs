//! What the admin port's connections share: the host, the owner's credential, the operations
//! in progress, and what the port was opened with.

use std::net::SocketAddr;

use super::operation::Operations;
use crate::bounds::Slots;
use crate::credential::Credential;
use crate::host::Host;

/// What the admin port's connections share.
pub(crate) struct Admin {
    pub(super) host: Host,
    pub(super) credential: Credential,
    pub(super) operations: Operations,
    pub(super) port: u16,
    /// Origins allowed besides this port's own.
    pub(super) origins: Vec<String>,
    /// Where the marketplace bridge is, for the console page, if it is open.
    pub(super) marketplace: Option<SocketAddr>,
    /// The open event streams.
    pub(super) streams: Slots,
}
