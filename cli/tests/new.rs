//! `logi-plugin new`: a plugin folder that works at once, and the names and folders it refuses.

use std::path::Path;
use std::process::Command;

const LOGI_PLUGIN: &str = env!("CARGO_BIN_EXE_logi-plugin");

fn new(args: &[&str]) -> std::process::Output {
    Command::new(LOGI_PLUGIN)
        .arg("new")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_new_plugin_passes_its_own_tests_and_the_conformance_kit_as_generated() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("hello");
    let made = new(&["com.example.hello", "--dir", dir.to_str().unwrap()]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    for file in [
        "package/manifest.json",
        "package/icons/icon.png",
        "Cargo.toml",
        "src/main.rs",
    ] {
        assert!(dir.join(file).is_file(), "no {file}");
    }
    // The workspace's versions of every crate, already built and cached: no download.
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    std::fs::copy(workspace.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("new-plugin");
    let tested = Command::new(env!("CARGO"))
        .args(["test", "--offline", "--quiet"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&tested.stdout),
        String::from_utf8_lossy(&tested.stderr)
    );
    assert!(tested.status.success(), "{output}");
    #[cfg(unix)]
    assert!(output.contains("2 passed"), "{output}");
}

#[test]
fn a_name_that_is_no_plugin_id_is_refused_naming_the_rule() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("bad");
    let refused = new(&["not a plugin id!", "--dir", dir.to_str().unwrap()]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("plugin_id"), "{stderr}");
    assert!(stderr.contains("letters, digits"), "{stderr}");
    assert!(!dir.exists());
}

#[test]
fn a_folder_that_exists_is_refused_and_left_alone() {
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("mine.txt"), "keep").unwrap();
    let refused = new(&["com.example.hello", "--dir", work.path().to_str().unwrap()]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("exists"), "{stderr}");
    let names: Vec<_> = std::fs::read_dir(work.path()).unwrap().collect();
    assert_eq!(names.len(), 1);
}
