//! The JavaScript SDK (`sdk-js/`) in the workspace's suite: its packages installed from the
//! committed lockfile (`npm ci`), then `npm test`: the generated messages checked current, the
//! TypeScript build, its unit tests, and the conformance kit (this package's `logi-plugin`)
//! passing a plugin written on it, over the local socket and over WebSocket in JSON. Without
//! npm the test is skipped, saying so, except under CI (`CI` set), where it fails.

#![cfg(unix)]

use std::path::Path;
use std::process::Command;

const LOGI_PLUGIN: &str = env!("CARGO_BIN_EXE_logi-plugin");

#[test]
fn the_javascript_sdk_passes_its_tests_and_the_conformance_kit() {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk-js");
    if Command::new("npm").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have Node and npm: sdk-js/'s tests are required there"
        );
        eprintln!("skipped: no npm here; sdk-js/ needs Node 20 or later and npm");
        return;
    }
    // `npm ci` empties node_modules before it installs: done only when the lockfile changed.
    let installed = sdk.join("node_modules/.package-lock.json");
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    if modified(&installed) <= modified(&sdk.join("package-lock.json")) {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&sdk)
            .status()
            .unwrap();
        assert!(status.success(), "npm ci in {} failed", sdk.display());
    }
    let output = Command::new("npm")
        .arg("test")
        .current_dir(&sdk)
        .env("LOGI_PLUGIN_BIN", LOGI_PLUGIN)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "npm test failed:\n{text}");
    // The end-to-end tests are skipped only when the tool is missing, which it is not here.
    assert!(
        text.contains("\n# skipped 0\n"),
        "a test was skipped:\n{text}"
    );
}
