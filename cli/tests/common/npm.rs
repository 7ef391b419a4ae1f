//! npm for the tests of the JavaScript packages (sdk-js/, examples/counter-js/): whether it is
//! here, each package's dependencies installed from its committed lockfile, and its scripts run.

use std::path::Path;
use std::process::Command;

/// Whether npm is here. Without it `what` cannot be tested: the caller skips, and this says so,
/// except under CI (`CI` set), where the JavaScript tests are required and this fails.
pub fn npm_here(what: &str) -> bool {
    if Command::new("npm").arg("--version").output().is_ok() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must have Node and npm: the tests of {what} are required there"
    );
    eprintln!("skipped: no npm here; {what} needs Node 20 or later and npm");
    false
}

/// Installs `dir`'s packages from its lockfile (`npm ci`) when the lockfile changed since they
/// were last installed: `npm ci` empties node_modules before it installs.
pub fn ci_when_lockfile_changed(dir: &Path) {
    let installed = dir.join("node_modules/.package-lock.json");
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    if modified(&installed) <= modified(&dir.join("package-lock.json")) {
        npm(dir, &["ci", "--no-audit", "--no-fund"], &[]);
    }
}

/// Runs `npm <args>` in `dir` with `envs` set; what it printed, stdout then stderr. Fails,
/// showing that, when npm does.
pub fn npm(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> String {
    let output = Command::new("npm")
        .args(args)
        .current_dir(dir)
        .envs(envs.iter().copied())
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
