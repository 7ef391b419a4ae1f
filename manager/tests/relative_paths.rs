//! `logi-plugin serve` given relative paths resolves them once, at start, against its working
//! directory: a plugin it launches (which runs in its own folder) finds its program and the
//! socket all the same.
#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use logi_example_media::PLUGIN_ID;
use logi_plugin_manager::{Host, HostConfig};
use serde_json::{Value, json};

const LOGI_PLUGIN: &str = env!("CARGO_BIN_EXE_logi-plugin");

/// The daemon, asked to stop (SIGTERM: it stops its plugins) when dropped, even by a failing
/// test.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let pid = i32::try_from(self.0.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw);
        if let Some(pid) = pid {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let _ = self.0.wait();
    }
}

/// Installs the example media plugin (unsigned) into `data` with a host that then stops.
fn install_media(data: &Path) {
    let staging = tempfile::tempdir().unwrap();
    let package =
        logi_plugin_manager::demo::media_package(Path::new(LOGI_PLUGIN), staging.path()).unwrap();
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
    let mut daemon = Daemon(
        Command::new(LOGI_PLUGIN)
            .args(["--json", "serve", "--development", "--data-dir", "data"])
            .args(["--endpoint", "manager.sock"])
            .current_dir(work.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (lines_tx, lines) = std::sync::mpsc::channel();
    let stdout = BufReader::new(daemon.0.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = lines_tx.send(serde_json::from_str::<Value>(&line).unwrap_or_default());
        }
    });
    let first = lines.recv_timeout(Duration::from_secs(10)).unwrap();
    let running = json!({ "event": "state", "plugin_id": PLUGIN_ID,
                          "state": "CONTAINER_STATE_RUNNING" });
    let mut seen = Vec::new();
    let reached = loop {
        match lines.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if line == running => break true,
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
