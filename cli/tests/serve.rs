//! The tool as a user runs it: the demo end to end, the daemon stopping cleanly on a signal,
//! and `status` telling why a plugin's last run ended.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{crashing, install_signed, script_package, until};
use logi_plugin_manager::HostEvent;

const LOGI_PLUGIN: &str = env!("CARGO_BIN_EXE_logi-plugin");

#[test]
fn the_demo_hosts_the_example_plugin_end_to_end_and_exits_0() {
    let output = Command::new(LOGI_PLUGIN).arg("demo").output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for line in [
        "in German: \"Medientasten\", action \"Stummschalten\"",
        "com.logi.example.media 1.0.0 connected",
        "press 1 of toggle_mute: the cell now reads \"Muted\"",
        "press 2 of toggle_mute: the cell now reads \"Sound on\"",
        "dial turned +5: \"Volume 55%\"",
        "configuration form for volume: \"Volume dial\"",
        "dial turned +1 at 5% a notch: \"Volume 58%\"",
        r#"stored setting plugin = {"muted":false,"volume":58.0}"#,
        r#"stored setting instance/dial-1 = {"step":5}"#,
        "PLUGIN_INSTALLATION_EVENT_UNINSTALLATION_COMPLETED",
        "done",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
}

/// Waits (at most 10 s) until the process `pid` has started a child.
#[cfg(target_os = "linux")]
fn until_it_has_a_child(pid: u32) {
    let has_child = || {
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
        tasks.flatten().any(|task| {
            let children = std::fs::read_to_string(task.path().join("children"));
            children.is_ok_and(|children| !children.trim().is_empty())
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !has_child() {
        assert!(
            std::time::Instant::now() < deadline,
            "{pid} started no child"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(unix)]
#[test]
fn serve_runs_until_sigterm_then_stops_its_plugins_and_exits_0() {
    let data = tempfile::tempdir().unwrap();
    let socket = data.path().join("manager.sock");
    let key = install_signed(data.path(), script_package("#!/bin/sh\nexec sleep 30\n"));
    let trust = format!("{} Tests\n", key.public_key());
    std::fs::write(data.path().join("trust.txt"), trust).unwrap();

    let mut daemon = Command::new(LOGI_PLUGIN)
        .args(["--json", "serve", "--data-dir"])
        .arg(data.path())
        .arg("--endpoint")
        .arg(&socket)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(daemon.stdout.take().unwrap()).lines();
    let first: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["serving"], socket.to_str().unwrap());
    assert_eq!(first["plugins"], 1);
    let plugin: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(
        (
            &plugin["plugin_id"],
            &plugin["installation"],
            &plugin["problem"]
        ),
        (
            &serde_json::json!("com.example.script"),
            &serde_json::json!("INSTALLATION_TYPE_INSTALLED"),
            &serde_json::Value::Null
        )
    );
    assert!(socket.exists());
    // Its program is checked against its signature before it is launched: the stop is asked
    // for once it runs, so that there is a program to shut down.
    #[cfg(target_os = "linux")]
    until_it_has_a_child(daemon.id());
    let kill = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    assert!(daemon.wait().unwrap().success());
    let rest: Vec<serde_json::Value> = lines
        .map(|line| serde_json::from_str(&line.unwrap()).unwrap())
        .collect();
    let states: Vec<_> = rest
        .iter()
        .filter_map(|line| line["state"].as_str())
        .collect();
    // (Its `LAUNCHING` may come before or after the first line.)
    assert!(
        states.ends_with(&["CONTAINER_STATE_SHUTTING_DOWN", "CONTAINER_STATE_STOPPED"]),
        "{rest:?}"
    );
    assert_eq!(
        rest.last().unwrap(),
        &serde_json::json!({ "ok": true, "stopped": true })
    );
    assert!(!socket.exists());
}

#[cfg(unix)]
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
