//! Record and replay over a real local socket: a host recording its sessions, a plugin that
//! connects, stores a setting and is pressed, then `logi-plugin replay` feeding the recording
//! into a fresh session with no sockets, which writes what the recorded session wrote.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{host_with, media_manifest, until};
use logi_example_media::{PLUGIN_ID, VERSION};
use logi_plugin_manager::{Host, HostEvent};
use logi_plugin_sdk::{ClientConfig, Endpoint, PluginClient};
use tempfile::TempDir;

const LOGI_PLUGIN: &str = env!("CARGO_BIN_EXE_logi-plugin");
const CODE: &str = "the external code";

/// A host recording its sessions into a directory of their own, the media plugin added with
/// `CODE`: the recordings' directory, the host, its data directory, and the configuration of a
/// plugin that presents `code` to it.
fn recording_host(code: &str) -> (TempDir, Host, TempDir, ClientConfig) {
    let records = tempfile::tempdir().unwrap();
    let dir = records.path().to_path_buf();
    let (host, data) = host_with(|config| config.record_dir = Some(dir));
    host.add_external(media_manifest(), CODE).unwrap();
    let mut config = ClientConfig::new(PLUGIN_ID, VERSION, code);
    config.endpoint = Endpoint::Local(host.endpoint().to_path_buf());
    (records, host, data, config)
}

#[test]
fn a_recorded_plugin_session_replays_to_the_same_frames() {
    let (records, host, _data, mut config) = recording_host(CODE);
    let events = host.subscribe();
    config.record = Some(records.path().join("plugin"));
    let (plugin, runner) = PluginClient::new(config);
    smol::spawn(runner).detach();
    smol::spawn(logi_example_media::run(plugin.clone())).detach();
    until(&events, |event| {
        matches!(event, HostEvent::Connected { .. })
    });
    smol::block_on(host.trigger(PLUGIN_ID, "toggle_mute", "key")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while host.settings().get(PLUGIN_ID, "plugin").unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "the plugin never stored its setting"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    plugin.disconnect();
    until(&events, |event| {
        matches!(event, HostEvent::Disconnected { .. })
    });
    // The host's recording of the session, and the plugin's own.
    for (recording, expected) in [
        (
            "session-1.logirec",
            "owner requests logi.plugin.protocol.TriggerAction",
        ),
        (
            "plugin-1.logirec",
            "owner answers 1: SUCCESS with logi.plugin.protocol.ActionCellStatus",
        ),
    ] {
        let text = replayed(&records.path().join(recording));
        assert!(text.contains(expected), "no {expected:?} in:\n{text}");
        assert!(text.contains("logi.plugin.protocol.Settings"), "{text}");
    }
}

#[test]
fn a_hello_the_host_refused_replays_to_the_same_refusal_from_the_recorded_verdict() {
    let (records, _host, _data, config) = recording_host("a stolen code");
    let (plugin, runner) = PluginClient::new(config);
    smol::spawn(runner).detach();
    smol::block_on(plugin.wait_for_disconnect());
    let text = replayed(&records.path().join("session-1.logirec"));
    assert!(
        text.contains("owner refuses the hello: UNAUTHORIZED wrong plugin code"),
        "{text}"
    );
}

/// `logi-plugin replay` of a recording, which must succeed; what it printed.
fn replayed(recording: &std::path::Path) -> String {
    // The driver writes the last of it as it finishes.
    let deadline = Instant::now() + Duration::from_secs(10);
    let output = loop {
        let output = Command::new(LOGI_PLUGIN)
            .arg("replay")
            .arg(recording)
            .output()
            .unwrap();
        if output.status.success() || Instant::now() > deadline {
            break output;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("the fresh session wrote the same"), "{text}");
    text
}

#[test]
fn replaying_something_else_says_it_is_no_recording() {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), b"not a recording").unwrap();
    let output = Command::new(LOGI_PLUGIN)
        .arg("replay")
        .arg(file.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a session recording"));
}
