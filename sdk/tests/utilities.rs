//! The SDK utilities (seed 7.2): opening a page, and secrets.

use logi_plugin_sdk::utilities::{MemorySecretStore, OpenUrlError, SecretStore, open_url};
#[cfg(feature = "secrets")]
use logi_plugin_sdk::utilities::{SecretError, delete_secret, load_secret, save_secret};

#[test]
fn only_web_pages_are_opened() {
    for url in [
        "file:///etc/passwd",
        "javascript:alert(1)",
        "ms-settings:",
        "",
    ] {
        assert!(
            matches!(open_url(url), Err(OpenUrlError::NotWeb(refused)) if refused == url),
            "{url}"
        );
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_web_page_goes_to_the_system_opener() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("logi-open-url-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let opened = dir.join("opened");
    let opener = dir.join("xdg-open");
    std::fs::write(
        &opener,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > {}\n", opened.display()),
    )
    .unwrap();
    std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // SAFETY: the only other test in this binary that starts a process refuses before it does.
    unsafe { std::env::set_var("PATH", path) };
    open_url("https://example.com/login?next=%2F").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !opened.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(
        std::fs::read_to_string(&opened).unwrap(),
        "https://example.com/login?next=%2F"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_secret_is_saved_loaded_and_deleted() {
    let store = MemorySecretStore::default();
    assert_eq!(store.load("Media Keys", "token"), Ok(None));
    store.save("Media Keys", "token", "s3cret").unwrap();
    store.save("Media Keys", "token", "n3wer").unwrap();
    store.save("Other Plugin", "token", "theirs").unwrap();
    assert_eq!(store.load("Media Keys", "token"), Ok(Some("n3wer".into())));
    store.delete("Media Keys", "token").unwrap();
    assert_eq!(store.load("Media Keys", "token"), Ok(None));
    assert_eq!(store.delete("Media Keys", "token"), Ok(()));
    assert_eq!(
        store.load("Other Plugin", "token"),
        Ok(Some("theirs".into()))
    );
}

/// On a desktop the OS store keeps the secret; on a machine without one (a headless CI box)
/// every call says so, naming why, instead of failing later or losing the value silently.
#[cfg(feature = "secrets")]
#[test]
fn the_os_store_keeps_a_secret_or_says_it_is_unavailable() {
    let plugin = format!("logi-test-{}", std::process::id());
    match save_secret(&plugin, "token", "s3cret") {
        Ok(()) => {
            assert_eq!(load_secret(&plugin, "token"), Ok(Some("s3cret".into())));
            delete_secret(&plugin, "token").unwrap();
            assert_eq!(load_secret(&plugin, "token"), Ok(None));
        }
        Err(SecretError::Unavailable(why)) => {
            assert!(!why.is_empty());
            assert!(matches!(
                load_secret(&plugin, "token"),
                Err(SecretError::Unavailable(_))
            ));
        }
        Err(other) => panic!("{other}"),
    }
}
