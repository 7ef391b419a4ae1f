//! The data directory holds what runs as the user (the plugins' programs), the settings
//! database and the admin credential: it is owner-only whatever the umask, and one manager at a
//! time holds it.

#![cfg(unix)]

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

use common::daemon::{Daemon, LOGI_PLUGIN};
use common::host_config;
use logi_plugin_manager::{Host, HostError};
use serde_json::Value;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// `logi-plugin serve` on `data` with `extra` arguments, started by a shell with `umask 000`,
/// once it says it serves; and its first line.
fn serve_under_umask_000(data: &Path, extra: &str) -> (Daemon, Value) {
    let command = format!(
        "umask 000; exec '{LOGI_PLUGIN}' --json serve --data-dir '{}' --endpoint '{}' {extra}",
        data.display(),
        data.join("manager.sock").display()
    );
    let (daemon, first) = Daemon::start(Command::new("sh").args(["-c", &command]));
    assert_eq!(first["ok"], true, "{first}");
    (daemon, first)
}

#[test]
fn the_data_directory_and_what_it_holds_are_owner_only_even_under_umask_000() {
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    let (_daemon, first) = serve_under_umask_000(&data, "--admin 127.0.0.1:0");
    assert!(first["console"].as_str().unwrap().contains("?token="));
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("plugins")), 0o700);
    for file in ["settings.sqlite3", "manager.lock", "admin.token"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    // SQLite makes its journal files with the database's own mode.
    assert_eq!(mode(&data.join("settings.sqlite3-wal")), 0o600);
}

#[test]
fn a_data_directory_left_open_to_others_is_closed_again_at_start() {
    let data = tempfile::tempdir().unwrap();
    std::fs::set_permissions(data.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let database = data.path().join("settings.sqlite3");
    std::fs::write(&database, b"").unwrap();
    std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o666)).unwrap();
    let host = Host::start(host_config(data.path())).unwrap();
    assert_eq!(mode(data.path()), 0o700);
    assert_eq!(mode(&database), 0o600);
    smol::block_on(host.shutdown());
}

#[test]
fn a_lock_held_a_moment_longer_than_its_host_does_not_refuse_the_next() {
    let data = tempfile::tempdir().unwrap();
    let first = Host::start(host_config(data.path())).unwrap();
    smol::block_on(first.shutdown());
    // What a child being spawned by another thread does: it holds a copy of the lock's
    // descriptor (here, a lock of its own on the file) for a moment after the host let go.
    let straggler = std::fs::File::open(data.path().join("manager.lock")).unwrap();
    straggler.try_lock().unwrap();
    let released = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(200));
        drop(straggler);
    });
    let again = Host::start(host_config(data.path())).unwrap();
    released.join().unwrap();
    smol::block_on(again.shutdown());
}

#[test]
fn a_second_manager_on_the_same_data_directory_is_refused_naming_the_first() {
    let data = tempfile::tempdir().unwrap();
    let first = Host::start(host_config(data.path())).unwrap();
    let mut second = host_config(data.path());
    second.endpoint = data.path().join("another.sock");
    match Host::start(second.clone()) {
        Err(error @ HostError::DataDirInUse { holder, .. }) => {
            assert_eq!(holder, Some(std::process::id()));
            let message = error.to_string();
            assert!(
                message.contains(&format!("pid {}", std::process::id())),
                "{message}"
            );
        }
        Err(other) => panic!("refused otherwise: {other}"),
        Ok(_) => panic!("a second manager started on the same data directory"),
    }
    // Once the first has stopped, the folder is free.
    smol::block_on(first.shutdown());
    let again = Host::start(second).unwrap();
    smol::block_on(again.shutdown());
}

#[test]
fn a_second_serve_on_the_same_data_directory_exits_naming_the_first() {
    let data = tempfile::tempdir().unwrap();
    let (first, _) = serve_under_umask_000(data.path(), "");
    let output = Command::new(LOGI_PLUGIN)
        .args(["serve", "--data-dir"])
        .arg(data.path())
        .arg("--endpoint")
        .arg(data.path().join("another.sock"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains(&format!("in use by another manager (pid {})", first.id())),
        "{said}"
    );
    // The first one's plugins were not launched twice: nothing else runs on its socket.
    assert!(!data.path().join("another.sock").exists());
}
