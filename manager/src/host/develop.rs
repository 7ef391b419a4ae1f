//! A plugin in development (`logi-plugin dev`): the author's package folder linked to the host,
//! run from where it is, and linked again after each rebuild to reload it. Only in development
//! mode, since what runs is unsigned; a linked plugin is not replaced by a package install
//! (`install.rs`), and removing it unlinks it ([`folder`](super::folder) keeps the link).

use std::path::Path;

use logi_plugin_core::proto::manager::{InstallationType, PluginInstallationEvent};
use logi_plugin_core::proto::plugin::log_event::LogLevel;
use logi_plugin_manifest::{Manifest, Platform};

use super::folder::Folder;
use super::{Host, HostError};
use crate::offload::off_executor;

impl Host {
    /// Links the package folder `dir` (its program at `program` when given, a build's output)
    /// and launches it; a plugin already linked with the same id is stopped and launched again
    /// from what the folder holds now. Refused outside development mode, for an id that a
    /// plugin not linked holds, and for a folder that does not read as a package for this
    /// platform, in which case what ran before runs on. Emits `INSTALLATION_COMPLETED` or
    /// `INSTALLATION_FAILED`.
    pub async fn link(&self, dir: &Path, program: Option<&Path>) -> Result<Manifest, HostError> {
        let result = self.link_folder(dir, program).await;
        let (event, plugin_id, description) = match &result {
            Ok(manifest) => (
                PluginInstallationEvent::InstallationCompleted,
                manifest.plugin_id.as_str(),
                None,
            ),
            Err(error) => (
                PluginInstallationEvent::InstallationFailed,
                "",
                Some(error.to_string()),
            ),
        };
        self.shared.notice(event, plugin_id, description);
        result
    }

    async fn link_folder(&self, dir: &Path, program: Option<&Path>) -> Result<Manifest, HostError> {
        let _one_at_a_time = self.shared.lifecycle.lock().await;
        // The host runs elsewhere than the caller: paths from the root only.
        let absolute = |path: &Path| {
            std::path::absolute(path).map_err(|source| HostError::Io {
                what: format!("resolving {}", path.display()),
                source,
            })
        };
        let folder = Folder::linked(absolute(dir)?, program.map(absolute).transpose()?);
        if !self.development_mode() {
            return Err(HostError::LinkNeedsDevelopment(folder.dir));
        }
        let (read, limits) = (folder.clone(), self.shared.config.limits);
        let package = off_executor(move || read.read(limits)).await?;
        package.check_platform(Platform::current())?;
        let manifest = package.manifest().clone();
        let plugin_id = manifest.plugin_id.clone();
        let holder = self.shared.core(|core| {
            core.plugin(&plugin_id)
                .map(|plugin| (plugin.info.installation, plugin.info.linked.is_some()))
        });
        match holder {
            Some((InstallationType::Core, _)) => return Err(HostError::CorePlugin(plugin_id)),
            // A package installed, or a plugin of its own: the author removes it knowingly.
            Some((InstallationType::Installed, false)) => {
                return Err(HostError::InstalledNotLinked(plugin_id));
            }
            Some((installation, false)) => {
                return Err(HostError::Taken {
                    plugin_id,
                    installation,
                });
            }
            _ => {}
        }
        self.stop(&plugin_id).await;
        let plugins_dir = self.shared.config.data_dir.join("plugins");
        folder.write_link(&plugins_dir, &plugin_id)?;
        let message = match &folder.link.as_ref().and_then(|link| link.program.as_ref()) {
            Some(program) => format!(
                "linked to {} for development, its program {}",
                folder.dir.display(),
                program.display()
            ),
            None => format!("linked to {} for development", folder.dir.display()),
        };
        // Logged once it is listed, which keeps the lines of listed plugins only.
        let launched = self.launch_installed(&package, folder);
        self.shared.log(&plugin_id, LogLevel::Info, message);
        launched.map(|()| manifest)
    }
}
