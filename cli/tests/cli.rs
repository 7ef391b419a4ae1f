//! `logi-plugin install`, `list`, `invoke` and `remove` against a running `logi-plugin serve`,
//! as real processes: the tool drives the daemon through the client library.

#![cfg(unix)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::daemon::{LOGI_PLUGIN, daemon, install_connected, lines, tool};

use logi_example_media::{PLUGIN_ID, TOGGLE_MUTE, VOLUME};
use serde_json::Value;

#[test]
fn install_list_invoke_and_remove_drive_the_running_manager() {
    let data = tempfile::tempdir().unwrap();
    let socket = data.path().join("manager.sock");
    let package = logi_example_media::package::packed(Path::new(LOGI_PLUGIN)).unwrap();
    let archive = data.path().join("media.zip");
    std::fs::write(&archive, package.to_zip().unwrap()).unwrap();
    let _daemon = daemon(&data.path().join("data"), &socket);

    let listed = install_connected(&socket, &archive, PLUGIN_ID);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["plugin_id"], PLUGIN_ID);
    assert_eq!(listed[0]["installation"], "INSTALLATION_TYPE_INSTALLED");
    assert_eq!(listed[0]["state"], "CONTAINER_STATE_RUNNING");

    let pressed = lines(&tool(&socket, &["invoke", PLUGIN_ID, TOGGLE_MUTE]));
    assert_eq!(pressed[0]["text"], "Muted");
    let turned = lines(&tool(
        &socket,
        &["invoke", PLUGIN_ID, VOLUME, "--value", "30"],
    ));
    assert_eq!(turned[0]["value"], 30.0);

    let removed = lines(&tool(&socket, &["remove", PLUGIN_ID]));
    assert_eq!(removed[0]["removed"], PLUGIN_ID);
    assert_eq!(lines(&tool(&socket, &["list"])), Vec::<Value>::new());
}

/// The media plugin's `muted` setting as the daemon on `data` stored it, read from its
/// database; `None` when it has none.
/// The media plugin's settings (its `Sound`, as JSON) as the daemon's store holds them.
fn stored_sound(data: &Path) -> Option<String> {
    let db = rusqlite::Connection::open(data.join("settings.sqlite3")).unwrap();
    let query = "SELECT value FROM settings WHERE plugin_id = ?1 AND name = 'plugin'";
    match db.query_row(query, [PLUGIN_ID], |row| row.get(0)) {
        Ok(value) => Some(value),
        Err(rusqlite::Error::QueryReturnedNoRows) => None,
        Err(error) => panic!("{error}"),
    }
}

#[test]
fn remove_keeps_the_plugins_settings_and_remove_purge_deletes_them() {
    let dir = tempfile::tempdir().unwrap();
    let (data, socket) = (dir.path().join("data"), dir.path().join("manager.sock"));
    let package = logi_example_media::package::packed(Path::new(LOGI_PLUGIN)).unwrap();
    let archive = dir.path().join("media.zip");
    std::fs::write(&archive, package.to_zip().unwrap()).unwrap();
    let _daemon = daemon(&data, &socket);
    install_connected(&socket, &archive, PLUGIN_ID);
    // A press makes the plugin store its settings, before it answers.
    lines(&tool(&socket, &["invoke", PLUGIN_ID, TOGGLE_MUTE]));
    let muted = r#"{"muted":true,"volume":50.0}"#;
    assert_eq!(stored_sound(&data).as_deref(), Some(muted));

    let removed = lines(&tool(&socket, &["remove", PLUGIN_ID]));
    assert_eq!(stored_sound(&data).as_deref(), Some(muted));
    assert_eq!(removed[0]["purged"], false);

    install_connected(&socket, &archive, PLUGIN_ID);
    let purged = lines(&tool(&socket, &["remove", PLUGIN_ID, "--purge"]));
    assert_eq!(purged[0]["purged"], true);
    assert_eq!(stored_sound(&data), None);
}

#[test]
fn remove_says_in_its_help_what_becomes_of_the_settings() {
    let output = Command::new(LOGI_PLUGIN)
        .args(["remove", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("keeps its settings"), "{help}");
    assert!(help.contains("--purge"), "{help}");
}

#[test]
fn a_command_with_no_manager_running_says_so_and_fails() {
    let data = tempfile::tempdir().unwrap();
    let socket = data.path().join("nobody.sock");
    let output = Command::new(LOGI_PLUGIN)
        .args(["list", "--endpoint"])
        .arg(&socket)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no plugin manager answers") && stderr.contains("nobody.sock"),
        "{stderr}"
    );
}

#[test]
fn invoking_a_plugin_that_is_not_there_fails_with_the_code_and_reason() {
    let data = tempfile::tempdir().unwrap();
    let socket = data.path().join("manager.sock");
    let _daemon = daemon(&data.path().join("data"), &socket);
    let output = tool(&socket, &["invoke", "com.example.nobody", "press"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("NOT_FOUND") && stderr.contains("com.example.nobody"),
        "{stderr}"
    );
}

#[test]
fn installing_dev_zero_fails_with_the_reason_instead_of_reading_forever() {
    let data = tempfile::tempdir().unwrap();
    // No manager is needed: the tool reads the package before it connects. The address space
    // is capped (2 GiB, where the shell can) so that a tool reading without a bound fails here
    // rather than taking the machine's memory; the deadline catches one that spins.
    let mut child = Command::new("sh")
        .args([
            "-c",
            "ulimit -v 2097152 2>/dev/null; exec \"$0\" \"$@\"",
            LOGI_PLUGIN,
        ])
        .args(["install", "/dev/zero", "--endpoint"])
        .arg(data.path().join("manager.sock"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("logi-plugin install /dev/zero still runs after 10 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("/dev/zero") && stderr.contains("is a character device"),
        "{stderr}"
    );
}
