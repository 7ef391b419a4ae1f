//! A package file is read only when it is a regular file, and never past the archive size
//! limit: a device, a FIFO or a huge file named as a package is refused with the reason before
//! any of it is read, by `Package` and by the host's client library install.

#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use common::host_with;
use futures_lite::future;
use logi_plugin_client::{CallError, LibraryOptions, PluginManagerClient};
use logi_plugin_core::ResponseCode;
use logi_plugin_manager::Host;
use logi_plugin_package::{Limits, Package};
use logi_plugin_transports::Endpoint;

/// Runs `read` on a thread and returns its result, failing the test if it takes more than
/// 10 s: a reader that waits for a FIFO's writer would otherwise hang the test.
fn within_deadline<T: Send + 'static>(read: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(read());
    });
    result
        .recv_timeout(Duration::from_secs(10))
        .expect("still reading after 10 s")
}

/// The error `Package::from_zip_file` gives for `path`, as text.
fn package_refusal(path: impl Into<PathBuf>) -> String {
    let path = path.into();
    within_deadline(move || Package::from_zip_file(&path, Limits::default()))
        .expect_err("the file was accepted as a package")
        .to_string()
}

/// A FIFO in `dir`, that nobody writes to.
fn fifo(dir: &Path) -> PathBuf {
    let path = dir.join("package.zip");
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo failed");
    path
}

/// A client library connected to `host`, and what it answers to installing `path`.
fn install_through_the_client_library(host: &Host, path: &Path) -> (ResponseCode, String) {
    let mut options = LibraryOptions::new("Options+", "1.0");
    options.endpoint = Endpoint::Local(host.endpoint().to_path_buf());
    let (client, runner) = PluginManagerClient::connect(options);
    smol::spawn(runner).detach();
    let answer = smol::block_on(future::or(
        async {
            client
                .wait_connected()
                .await
                .expect("the manager admits the client library");
            client.install_plugin("", path).await?.result().await
        },
        async {
            async_io::Timer::after(Duration::from_secs(10)).await;
            panic!("no answer within 10 s");
        },
    ));
    match answer {
        Err(CallError::Refused { code, what }) => (code, what),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn dev_zero_is_refused_as_a_character_device() {
    let error = package_refusal("/dev/zero");
    assert!(
        error.contains("/dev/zero") && error.contains("is a character device"),
        "{error}"
    );
}

#[test]
fn a_fifo_is_refused_without_waiting_for_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = fifo(dir.path());
    let error = package_refusal(&path);
    assert!(
        error.contains(&path.display().to_string()) && error.contains("is a named pipe (FIFO)"),
        "{error}"
    );
}

#[test]
fn a_directory_named_as_an_archive_is_refused_as_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let error = package_refusal(dir.path());
    assert!(error.contains("is a directory"), "{error}");
}

#[test]
fn a_2_gib_sparse_file_is_refused_naming_its_size_and_the_limit_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.zip");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(2 << 30).unwrap();
    let error = package_refusal(&path);
    let limit = Limits::default().max_archive_bytes;
    assert!(
        error.contains("2147483648") && error.contains(&format!("limit of {limit} bytes")),
        "{error}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_file_holding_more_than_its_size_says_is_read_no_further_than_the_limit() {
    // Files under /proc say they are empty and hold more: as a file growing while it is read.
    let path = Path::new("/proc/self/status");
    assert_eq!(std::fs::metadata(path).unwrap().len(), 0);
    let limits = Limits {
        max_archive_bytes: 16,
        ..Limits::default()
    };
    let error = Package::from_zip_file(path, limits)
        .unwrap_err()
        .to_string();
    assert!(error.contains("more than the limit of 16 bytes"), "{error}");
}

#[test]
fn installing_dev_zero_through_the_client_library_is_refused_invalid_arg_with_the_reason() {
    let (host, _data) = host_with(|_| {});
    let (code, what) = install_through_the_client_library(&host, Path::new("/dev/zero"));
    assert_eq!(code, ResponseCode::InvalidArg, "{what}");
    assert!(
        what.contains("/dev/zero") && what.contains("is a character device"),
        "{what}"
    );
}

#[test]
fn installing_a_fifo_through_the_client_library_is_refused_invalid_arg_with_the_reason() {
    let (host, data) = host_with(|_| {});
    let path = fifo(data.path());
    let (code, what) = install_through_the_client_library(&host, &path);
    assert_eq!(code, ResponseCode::InvalidArg, "{what}");
    assert!(what.contains("is a named pipe (FIFO)"), "{what}");
}
