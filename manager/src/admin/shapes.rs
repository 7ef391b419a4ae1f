//! provd's resource shapes the admin resources share: a `links` list, a plugin's information.

use logi_plugin_core::proto::manager::InstallationType;
use logi_plugin_manifest::Manifest;
use serde_json::{Map, Value, json};

use crate::PluginInfo;

/// A `links` list of `(href, rel)`.
pub(super) fn links(links: &[(&str, &str)]) -> Value {
    let links: Vec<Value> = links
        .iter()
        .map(|(href, rel)| json!({ "href": href, "rel": rel }))
        .collect();
    Value::Array(links)
}

/// A plugin's `plugin_info` (also an installed package's entry): its capabilities, description
/// and version.
pub(super) fn info(manifest: &Manifest) -> Value {
    let mut capabilities = Map::new();
    for action in &manifest.actions {
        let capability = json!({
            "kind": "action",
            "name": action.name,
            "tooltip": action.tooltip,
            "groups": action.group_ids,
        });
        capabilities.insert(action.id.clone(), capability);
    }
    for control in &manifest.controls {
        let capability = json!({
            "kind": "analog",
            "name": control.name,
            "tooltip": control.tooltip,
            "groups": control.group_ids,
            "minimum": control.minimum,
            "maximum": control.maximum,
            "default_step": control.default_step,
            "unit": control.unit_of_measurement,
        });
        capabilities.insert(control.id.clone(), capability);
    }
    json!({
        "capabilities": capabilities,
        "description": manifest.description,
        "version": manifest.version.to_string(),
    })
}

/// Whether a plugin came from a package (and so is an installed package of the installation
/// service).
pub(super) fn is_package(plugin: &PluginInfo) -> bool {
    plugin.installation == InstallationType::Installed
}
