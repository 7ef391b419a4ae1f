//! The JavaScript SDK (`sdk-js/`) in the workspace's suite: its packages installed from the
//! committed lockfile (`npm ci`), then `npm test`: the generated messages checked current, the
//! TypeScript build, its unit tests, and the conformance kit (this package's `logi-plugin`)
//! passing a plugin written on it, over the local socket and over WebSocket in JSON. Without
//! npm the test is skipped, saying so, except under CI (`CI` set), where it fails.

#![cfg(unix)]

mod common;

use std::path::Path;

use common::npm;

#[test]
fn the_javascript_sdk_passes_its_tests_and_the_conformance_kit() {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk-js");
    if !npm::present("sdk-js/") {
        return;
    }
    npm::ci(&sdk);
    let text = npm::run(&sdk, &["test"]);
    // The end-to-end tests are skipped only when the tool is missing, which it is not here.
    assert!(
        text.contains("\n# skipped 0\n"),
        "a test was skipped:\n{text}"
    );
}
