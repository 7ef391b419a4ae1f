//! Identity bound to the connection, with real processes on the local socket (Linux, where the
//! socket reports its peer): the code of an installed plugin admits only the process the host
//! launched for it, or one that process started.
#![cfg(target_os = "linux")]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{host_with, script_package, until_state};
use logi_plugin_core::ResponseCode;
use logi_plugin_core::proto::manager::ContainerState;
use logi_plugin_core::session::CloseReason;
use logi_plugin_package::{Limits, Package};
use logi_plugin_sdk::{ClientConfig, ClientEvent, Endpoint, PluginClient};

const LOGI_PLUGIN: &str = env!("CARGO_BIN_EXE_logi-plugin");

/// The line a launched script writes to `file`, once it is all there (at most 10 s).
fn written(file: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(line) = std::fs::read_to_string(file)
            && line.ends_with('\n')
        {
            return line.trim_end().to_string();
        }
        assert!(
            Instant::now() < deadline,
            "{} was never written",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn another_process_with_a_launched_plugins_code_is_refused_unauthorized_naming_both() {
    let (host, data) = host_with(|config| config.development = true);
    // The launched program leaks its code and never connects itself.
    let script = "#!/bin/sh\necho \"$token\" > token.txt\nexec sleep 30\n";
    smol::block_on(host.install(&script_package(script).to_zip().unwrap())).unwrap();
    let token = written(&data.path().join("plugins/com.example.script/token.txt"));

    // This test process (the launched program's parent, not its child) says hello with it.
    let mut config = ClientConfig::new("com.example.script", "1.0.0", token);
    config.endpoint = Endpoint::Local(host.endpoint().to_path_buf());
    let (client, runner) = PluginClient::new(config);
    let _runner = smol::spawn(runner);
    let stopped = smol::block_on(async {
        loop {
            match client.next_event().await {
                Some(ClientEvent::Stopped(reason)) => return reason,
                Some(ClientEvent::Connected(_)) => panic!("the impostor was admitted"),
                Some(_) => {}
                None => panic!("the client ended without a reason"),
            }
        }
    });
    let CloseReason::HelloRefusedByPeer { code, what } = stopped else {
        panic!("expected the hello refused, got {stopped:?}");
    };
    assert_eq!(code, ResponseCode::Unauthorized);
    assert!(what.contains("the process the host launched"), "{what}");
    assert!(
        what.contains(&format!("process {}", std::process::id())),
        "{what}"
    );
    smol::block_on(host.shutdown());
}

#[test]
fn a_plugin_started_by_a_launcher_script_is_admitted_and_ends_with_it() {
    let (host, data) = host_with(|config| {
        config.development = true;
        config.stop_grace = Duration::from_millis(200);
    });
    let events = host.subscribe();
    let staging = tempfile::tempdir().unwrap();
    let package = launched_through_a_script(staging.path());
    smol::block_on(host.install(&package.to_zip().unwrap())).unwrap();
    until_state(
        &events,
        logi_example_media::PLUGIN_ID,
        ContainerState::Running,
    );
    let pid_file = data
        .path()
        .join("plugins")
        .join(logi_example_media::PLUGIN_ID)
        .join("plugin.pid");
    let plugin_pid = written(&pid_file);
    smol::block_on(host.shutdown());
    // The launcher was stopped, and the plugin it started went with it.
    let deadline = Instant::now() + Duration::from_secs(5);
    while is_alive(&plugin_pid) {
        assert!(
            Instant::now() < deadline,
            "the plugin outlived its launcher"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether process `pid` runs (a zombie, ended but not yet reaped, does not).
fn is_alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    })
}

/// The example plugin's package whose program is a shell script running the plugin as its
/// child (as launchers of interpreted plugins do).
fn launched_through_a_script(staging: &Path) -> Package {
    use std::os::unix::fs::PermissionsExt;
    let packed = logi_example_media::package::packed(Path::new(LOGI_PLUGIN)).unwrap();
    packed.extract(staging).unwrap();
    let launcher = PathBuf::from("bin/launch.sh");
    let plugin = Path::new(logi_example_media::PROGRAM_PATH)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap();
    // Not `exec`: the plugin runs as the script's child, under another pid, which it notes.
    let script =
        format!("#!/bin/sh\n\"$(dirname \"$0\")/{plugin}\" &\necho $! > plugin.pid\nwait\n");
    std::fs::write(staging.join(&launcher), script).unwrap();
    let permissions = std::fs::Permissions::from_mode(0o755);
    std::fs::set_permissions(staging.join(&launcher), permissions).unwrap();
    let manifest_path = staging.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    manifest["programPath"] = launcher.to_str().unwrap().into();
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    Package::from_dir(staging, Limits::default()).unwrap()
}
