//! What the tool's tests share: the host library's test support (a host on a temporary data
//! directory, waiting for its events), the daemon run as a process, the conformance kit's report,
//! the counter examples driven through the tool, and npm for the JavaScript side.

#![allow(dead_code, unused_imports)] // Each test file uses its own part.

#[path = "../../../manager/tests/common/mod.rs"]
mod host;

pub use host::*;

#[cfg(unix)]
pub mod counter;

#[cfg(unix)]
pub mod daemon;

pub mod kit;

#[cfg(unix)]
pub mod npm;

/// Whether every command of `tools` runs here, to test `what` with. Without one the test is
/// skipped, saying so (`needs` says what to install), except under CI (`CI` set), where those
/// tests are required and this fails.
pub fn tools_present(tools: &[&str], what: &str, needs: &str) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|tool| {
            std::process::Command::new(tool)
                .arg("--version")
                .output()
                .is_err()
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must have {missing:?}: {what} is tested there"
    );
    eprintln!("skipped: no {missing:?} here; {what} needs {needs}");
    false
}
