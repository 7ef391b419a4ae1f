//! An install until its first run says hello: the launch and hello phases timed by the
//! supervisor and the session, then the install told whole ([`InstallPhases`]).

use std::time::Instant;

use logi_plugin_core::proto::manager::ContainerState;
use logi_plugin_core::proto::plugin::log_event::LogLevel;

use super::phases::InstallPhases;
use super::{HostEvent, Shared, lock};

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

impl Shared {
    /// The program of a plugin just installed runs: its launch is timed until now, its hello
    /// from now. Only the install's first launch counts.
    pub(super) fn install_launched(&self, plugin_id: &str) {
        let mut plugins = lock(&self.plugins);
        let installing = plugins
            .get_mut(plugin_id)
            .and_then(|plugin| plugin.installing.as_mut())
            .filter(|installing| installing.running_since.is_none());
        if let Some(installing) = installing {
            let now = Instant::now();
            installing.phases.launch = Some(now - installing.launching_since);
            installing.running_since = Some(now);
        }
    }

    /// A plugin's run said hello (or, with `ended`, ended without one, saying how): a plugin
    /// just installed has its install told whole, with the phases measured.
    pub(super) fn install_done(&self, plugin_id: &str, ended: Option<&str>) {
        let installing = lock(&self.plugins)
            .get_mut(plugin_id)
            .and_then(|plugin| plugin.installing.take());
        if let Some(installing) = installing {
            self.installed(plugin_id, installing, ended);
        }
    }

    /// A plugin just installed that has no program to launch is up as soon as its install is
    /// complete: its install is told whole.
    pub(super) fn install_done_without_program(&self, plugin_id: &str) {
        let installing = lock(&self.plugins)
            .get_mut(plugin_id)
            .filter(|plugin| plugin.info.state == ContainerState::NotApplicable)
            .and_then(|plugin| plugin.installing.take());
        if let Some(installing) = installing {
            self.installed(plugin_id, installing, None);
        }
    }

    /// Tells an install whole: `installed <id> <version> in N ms: read a ms, ...` in the log,
    /// and [`HostEvent::Installed`].
    pub(super) fn installed(
        &self,
        plugin_id: &str,
        mut installing: Installing,
        ended: Option<&str>,
    ) {
        let now = Instant::now();
        if ended.is_none() {
            installing.phases.hello = installing.running_since.map(|since| now - since);
        }
        installing.phases.total = now - installing.began;
        let Installing {
            version, phases, ..
        } = installing;
        let mut message = format!("installed {plugin_id} {version} {phases}");
        if let Some(how) = ended {
            message.push_str(&format!("; its first run said no hello: {how}"));
        }
        // To the log, not as a `Log` event too: subscribers have the `Installed` event.
        self.write_log(plugin_id, LogLevel::Info, &message);
        self.emit(HostEvent::Installed {
            plugin_id: plugin_id.into(),
            version,
            phases,
        });
    }
}
