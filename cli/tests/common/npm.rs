//! npm for the tests of the JavaScript side: whether it is here (required under CI), and a
//! folder's packages installed from its committed lockfile.

use std::path::Path;
use std::process::Command;

use super::daemon::LOGI_PLUGIN;

/// Whether npm is here to test `what` with (required under CI).
pub fn present(what: &str) -> bool {
    let here = super::tools::tool("npm", None).is_some();
    if !here {
        eprintln!("skipped: {what} needs Node 20 or later and npm");
    }
    here
}

/// `npm ci` in `dir`, only when its lockfile changed since the last install: `npm ci` empties
/// node_modules before it installs.
pub fn ci(dir: &Path) {
    let installed = dir.join("node_modules/.package-lock.json");
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    if modified(&installed) <= modified(&dir.join("package-lock.json")) {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(dir)
            .status()
            .unwrap();
        assert!(status.success(), "npm ci in {} failed", dir.display());
    }
}

/// `npm ARGS` in `dir`, with this package's `logi-plugin` as `LOGI_PLUGIN_BIN`: everything it
/// printed, after checking it succeeded.
pub fn run(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("npm")
        .args(args)
        .current_dir(dir)
        .env("LOGI_PLUGIN_BIN", LOGI_PLUGIN)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "npm {} in {} failed:\n{text}",
        args.join(" "),
        dir.display()
    );
    text
}
