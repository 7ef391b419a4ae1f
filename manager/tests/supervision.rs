//! Supervision with diagnostics, with real child processes: a plugin that crashes again and
//! again is quarantined instead of restarted for ever, and every stop keeps its reason (exit
//! code or signal, how far the handshake got, the last message, the last log lines), readable
//! through the embedding API, the client library and `logi-plugin status`.
#![cfg(unix)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::{host_with, media_host, script_package, until, until_state};
use logi_example_media::PLUGIN_ID;
use logi_plugin_core::proto::manager::ContainerState;
use logi_plugin_manager::{Host, HostEvent, Stage};

const LOGI_PLUGIN: &str = env!("CARGO_BIN_EXE_logi-plugin");

/// Installs a script plugin on a host that quarantines after 3 crashes in a row; the host's
/// events from before the install.
fn crashing(script: &str) -> (Host, tempfile::TempDir, async_channel::Receiver<HostEvent>) {
    let (host, data) = host_with(|config| {
        config.development = true;
        config.crash_loop_limit = 3;
    });
    let events = host.subscribe();
    let archive = script_package(script).to_zip().unwrap();
    smol::block_on(host.install(&archive)).unwrap();
    (host, data, events)
}

#[test]
fn a_plugin_crashing_in_a_loop_is_quarantined_with_its_exit_code_and_stderr() {
    let (host, _data, events) = crashing("#!/bin/sh\necho 'cannot open the device' >&2\nexit 3\n");
    until(
        &events,
        |event| matches!(event, HostEvent::Log { message, .. } if message.starts_with("quarantined")),
    );
    until_state(&events, "com.example.script", ContainerState::Stopped);
    let script = host.plugin("com.example.script").unwrap();
    assert_eq!(script.state, ContainerState::Stopped);
    let problem = script.problem.unwrap();
    assert!(problem.contains("quarantined after 3 crashes"), "{problem}");
    let stop = script.last_stop.unwrap();
    assert!(stop.quarantined);
    assert_eq!(stop.ending.exit_code, Some(3));
    assert_eq!(stop.stage, Stage::Launched);
    assert!(
        stop.last_log
            .iter()
            .any(|line| line.contains("stderr: cannot open the device")),
        "{:?}",
        stop.last_log
    );
    // Not restarted any more.
    let quiet = smol::block_on(futures_lite::future::or(
        async {
            loop {
                if let Ok(HostEvent::State { state, .. }) = events.recv().await
                    && state == ContainerState::Launching
                {
                    return false;
                }
            }
        },
        async {
            async_io::Timer::after(Duration::from_millis(500)).await;
            true
        },
    ));
    assert!(quiet, "a quarantined plugin was launched again");
}

#[test]
fn a_plugin_killed_by_a_signal_reports_the_signal() {
    let (host, _data, events) = crashing("#!/bin/sh\nkill -9 $$\n");
    until_state(&events, "com.example.script", ContainerState::Crashed);
    let stop = host
        .plugin("com.example.script")
        .unwrap()
        .last_stop
        .unwrap();
    assert_eq!(stop.ending.signal, Some(9));
    assert_eq!(stop.ending.exit_code, None);
    assert!(!stop.quarantined);
}

#[test]
fn a_stop_by_the_host_keeps_the_last_message_and_the_stage_reached() {
    let (host, _data) = media_host(|_| {});
    // A press makes the media plugin store its `muted` setting: its last message.
    smol::block_on(host.trigger(PLUGIN_ID, "toggle_mute", "key")).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while host.settings().get(PLUGIN_ID, "muted").unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the setting never came"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    smol::block_on(host.shutdown());
    let stop = host.plugin(PLUGIN_ID).unwrap().last_stop.unwrap();
    assert_eq!(stop.ending.how, "stopped by the host");
    assert_eq!(stop.stage, Stage::Connected);
    assert_eq!(
        stop.last_message.as_deref(),
        Some("logi.plugin.protocol.Settings")
    );
}

#[test]
fn status_prints_why_the_last_run_ended() {
    let (host, _data, events) = crashing("#!/bin/sh\necho 'no config file' >&2\nexit 7\n");
    until(
        &events,
        |event| matches!(event, HostEvent::Log { message, .. } if message.starts_with("quarantined")),
    );
    let output = Command::new(LOGI_PLUGIN)
        .args(["status", "com.example.script", "--endpoint"])
        .arg(host.endpoint())
        .args(["--color", "never"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        "exit code: 7",
        "got as far as: launched, no hello",
        "quarantined",
        "stderr: no config file",
    ] {
        assert!(text.contains(expected), "no {expected:?} in:\n{text}");
    }
    let missing = Command::new(LOGI_PLUGIN)
        .args(["status", "com.example.none", "--endpoint"])
        .arg(host.endpoint())
        .output()
        .unwrap();
    assert!(!missing.status.success());
}
