//! The local endpoint's file: only a socket is ever replaced, and a live manager on it is named.
#![cfg(unix)]

use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use logi_plugin_transports::local::{LocalError, LocalListener, connect_local};

#[test]
fn a_regular_file_at_the_endpoint_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent");
    std::fs::write(&path, "someone's notes\n").unwrap();

    let (kind, message) = refused_as_not_a_socket(&path);

    assert_eq!(kind, "a regular file");
    assert!(
        message.contains(&path.display().to_string()) && message.contains(kind),
        "{message}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "someone's notes\n");
}

#[test]
fn a_directory_at_the_endpoint_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent");
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("inside"), "kept").unwrap();

    let (kind, _) = refused_as_not_a_socket(&path);

    assert_eq!(kind, "a directory");
    assert_eq!(
        std::fs::read_to_string(path.join("inside")).unwrap(),
        "kept"
    );
}

/// Binds at `path`, which must be refused for holding something other than a socket: what it
/// holds, and the error's words.
fn refused_as_not_a_socket(path: &Path) -> (&'static str, String) {
    let error = LocalListener::bind(path).expect_err("bound over something that is no socket");
    match error {
        LocalError::NotASocket { kind, .. } => (kind, error.to_string()),
        other => panic!("expected NotASocket, got {other:?}"),
    }
}

#[test]
fn a_socket_left_by_a_manager_that_died_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent");
    // A bound socket nobody listens on is what a killed manager leaves.
    drop(std::os::unix::net::UnixDatagram::bind(&path).unwrap());
    assert!(path.exists());

    let listener = LocalListener::bind(&path).unwrap();

    smol::block_on(connect_local(&path)).unwrap();
    drop(listener);
    assert!(!path.exists(), "the listener's socket outlived it");
}

#[test]
fn binding_a_live_managers_endpoint_names_its_process_and_user() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent");
    let _first = LocalListener::bind(&path).unwrap();

    let error = LocalListener::bind(&path).expect_err("displaced a live manager");

    let message = error.to_string();
    let pid = std::process::id();
    // The test made the folder: its owner is this process's user.
    let uid = std::fs::metadata(dir.path()).unwrap().uid();
    assert!(
        matches!(error, LocalError::EndpointInUse { .. }),
        "{error:?}"
    );
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains(&format!("uid {uid}")), "{message}");
    if cfg!(target_os = "linux") {
        assert!(message.contains(&format!("process {pid}")), "{message}");
    }
}

#[test]
fn a_listener_leaves_alone_a_file_put_in_place_of_its_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent");
    let listener = LocalListener::bind(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, "not the listener's").unwrap();

    drop(listener);

    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "not the listener's"
    );
}
