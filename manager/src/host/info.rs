//! A plugin as the host knows it, and as the client library describes it.

use std::path::PathBuf;

use logi_plugin_core::proto::manager::{ContainerState, InstallationType, PluginDetails};
use logi_plugin_manifest::Manifest;
use logi_plugin_manifest::localization::Localizations;

use super::diagnostics::StopReport;

/// A plugin as the host knows it.
#[derive(Clone, Debug, PartialEq)]
pub struct PluginInfo {
    /// Its manifest, as installed.
    pub manifest: Manifest,
    /// How it came to the host.
    pub installation: InstallationType,
    /// Its process's state.
    pub state: ContainerState,
    /// Whether its session is up.
    pub connected: bool,
    /// Why the host does not run it, when it does not (its files no longer match their
    /// signature, say).
    pub problem: Option<String>,
    /// Whether its latest configuration scheme said the user must log in.
    pub login_required: bool,
    /// Its `manifest.json` as its package holds it; `None` for CORE and EXTERNAL plugins, which
    /// are registered with a manifest already read.
    pub manifest_file: Option<String>,
    /// Its package's translations (none for CORE and EXTERNAL plugins).
    pub localizations: Localizations,
    /// Why its last run ended, once one has.
    pub last_stop: Option<StopReport>,
    /// The author's package folder it runs from, when it is linked for development.
    pub linked: Option<PathBuf>,
}

impl PluginInfo {
    /// The plugin as the client library describes it (seed 9.3.3), localized for `language`.
    pub fn details(&self, language: &str) -> PluginDetails {
        let manifest = self.localizations.localize(&self.manifest, language);
        let manifest_json = self.manifest_file.as_deref().and_then(|text| {
            let mut json: serde_json::Value = serde_json::from_str(text).ok()?;
            self.localizations.localize_json(&mut json, language);
            Some(json.to_string())
        });
        PluginDetails {
            plugin_id: manifest.plugin_id,
            name: manifest.name,
            version: manifest.version.to_string(),
            author: manifest.author,
            description: manifest.description,
            installation_type: self.installation.into(),
            container_state: self.state.into(),
            connected: self.connected,
            manifest_json,
            problem: self.problem.clone(),
            last_stop: self
                .last_stop
                .as_ref()
                .map(|stop| Box::new(stop.to_proto())),
            linked_folder: self.linked.as_ref().map(|dir| dir.display().to_string()),
        }
    }
}
