//! `logi-plugin serve` given relative paths resolves them once, at start, against its working
//! directory: a plugin it launches (which runs in its own folder) finds its program and the
//! socket all the same.
#![cfg(unix)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::daemon::{Daemon, LOGI_PLUGIN};

use logi_example_media::PLUGIN_ID;
use logi_plugin_manager::{Host, HostConfig};

/// Installs the example media plugin (unsigned) into `data` with a host that then stops.
fn install_media(data: &Path) {
    let package = logi_example_media::package::packed(Path::new(LOGI_PLUGIN)).unwrap();
    let mut config = HostConfig::new(data);
    config.endpoint = data.join("installing.sock");
    config.development = true;
    let host = Host::start(config).unwrap();
    smol::block_on(host.install(&package.to_zip().unwrap())).unwrap();
    smol::block_on(host.shutdown());
}

#[test]
fn serve_with_a_relative_data_dir_and_endpoint_runs_its_plugins() {
    let work = tempfile::tempdir().unwrap();
    install_media(&work.path().join("data"));
    let (_daemon, lines) = Daemon::spawn(
        Command::new(LOGI_PLUGIN)
            .args(["--json", "serve", "--development", "--data-dir", "data"])
            .args(["--endpoint", "manager.sock"])
            .current_dir(work.path()),
    );
    let first = lines.recv_timeout(Duration::from_secs(10)).unwrap();
    // Running: said by the listing `serve` prints at its start, or by a state event after.
    let running = |line: &serde_json::Value| {
        line["plugin_id"] == PLUGIN_ID && line["state"] == "CONTAINER_STATE_RUNNING"
    };
    let mut seen = Vec::new();
    let reached = loop {
        match lines.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if running(&line) => break true,
            // Quarantined: it will not be launched again.
            Ok(line) if line["event"] == "state" && line["state"] == "CONTAINER_STATE_STOPPED" => {
                seen.push(line);
                break false;
            }
            Ok(line) => seen.push(line),
            Err(_) => break false,
        }
    };
    assert!(reached, "the plugin never ran; the daemon said: {seen:#?}");
    // It says where it serves and keeps its data as absolute paths.
    let socket = work.path().join("manager.sock");
    assert_eq!(first["serving"], socket.to_str().unwrap());
    assert_eq!(
        first["data_dir"],
        work.path().join("data").to_str().unwrap()
    );
}
