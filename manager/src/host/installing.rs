//! An install until its first run says hello: the launch and hello phases are timed by the
//! supervisor and the session (`HostCore::install_launched`, `HostCore::install_done`), then
//! the install is told whole ([`InstallPhases`]).

use std::time::Instant;

use super::phases::InstallPhases;

/// An install whose first run has not said hello yet.
#[derive(Debug)]
pub(super) struct Installing {
    /// The version installed.
    pub(super) version: String,
    /// The phases so far.
    pub(super) phases: InstallPhases,
    /// When the install began.
    pub(super) began: Instant,
    /// When the supervisor was asked to launch the program; the launch is timed from there.
    pub(super) launching_since: Instant,
    /// When the program was found running, once it was.
    pub(super) running_since: Option<Instant>,
}
