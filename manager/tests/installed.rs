//! What a host makes of its plugins folder at start: what an interrupted install left behind,
//! and an installed plugin whose folder no longer reads as a package.

#![cfg(unix)]

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{host_config, script_archive};
use logi_plugin_core::proto::manager::ContainerState;
use logi_plugin_manager::{Host, LogSink};

/// A host on `data` in development mode (the test packages are unsigned), stopping plugins
/// quickly, and the lines it logs.
fn start(data: &Path) -> (Host, Arc<Mutex<Vec<String>>>) {
    let logged = Arc::new(Mutex::new(Vec::new()));
    let mut config = host_config(data);
    config.development = true;
    config.stop_grace = Duration::from_millis(100);
    let sink = logged.clone();
    config.log = LogSink::new(move |record| sink.lock().unwrap().push(record.to_string()));
    (Host::start(config).unwrap(), logged)
}

#[test]
fn a_staging_folder_left_by_an_interrupted_install_is_removed_at_start() {
    let data = tempfile::tempdir().unwrap();
    let staging = data.path().join("plugins/.staging-com.example.script");
    std::fs::create_dir_all(staging.join("bin")).unwrap();
    std::fs::write(staging.join("bin/run.sh"), "half written").unwrap();

    let (host, logged) = start(data.path());
    assert!(!staging.exists(), "{} is still there", staging.display());
    let logged = logged.lock().unwrap().clone();
    let said = staging.display().to_string();
    assert!(logged.iter().any(|line| line.contains(&said)), "{logged:?}");
    assert!(host.plugins().is_empty());
    smol::block_on(host.shutdown());
}

#[test]
fn an_installed_plugin_missing_a_file_its_manifest_names_is_listed_with_the_reason() {
    let data = tempfile::tempdir().unwrap();
    let (host, _) = start(data.path());
    smol::block_on(host.install(&script_archive("#!/bin/sh\nexec sleep 30\n"))).unwrap();
    smol::block_on(host.shutdown());
    let folder = data.path().join("plugins/com.example.script");
    std::fs::remove_file(folder.join("icon.png")).unwrap();

    let (host, _) = start(data.path());
    let plugins = host.plugins();
    assert_eq!(plugins.len(), 1, "the plugin is not listed");
    let info = &plugins[0];
    assert_eq!(info.manifest.plugin_id, "com.example.script");
    assert_eq!(info.state, ContainerState::Stopped);
    let problem = info.problem.as_deref().unwrap_or_default();
    assert!(problem.contains("icon.png"), "{problem}");

    // Uninstalling it is the way out, and removes its folder.
    smol::block_on(host.uninstall("com.example.script")).unwrap();
    assert!(host.plugins().is_empty());
    assert!(!folder.exists(), "{} is still there", folder.display());
    smol::block_on(host.shutdown());
}
