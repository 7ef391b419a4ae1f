//! The JavaScript example plugin (`examples/counter-js/`) as a user gets it: sdk-js and the
//! example built (`npm test` in the example: tsc, the esbuild bundle, its own tests), its
//! package folder packed by `logi-plugin pack`, installed into a real `logi-plugin serve`, and
//! its key pressed and its dial turned through `logi-plugin invoke`, over the local socket and
//! over WebSocket in binary and in JSON text; the count kept across a restart; and the
//! conformance kit passing it over both the transports the kit offers. Without npm the tests
//! are skipped, saying so, except under CI (`CI` set), where they fail.

#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::counter::{self, Served, assert_counts, pack, press};
use common::daemon::{daemon_with, install_connected, until_connected};
use common::kit::has_check;
use common::npm;
use serde_json::Value;

const PLUGIN_ID: &str = "com.logi.example.counter-js";

/// The example's folder.
fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/counter-js")
}

/// The example's package folder, its bundle built (once for all the tests here); `None` when
/// there is no npm to build it with.
fn built() -> Option<PathBuf> {
    static BUILT: OnceLock<bool> = OnceLock::new();
    let built = *BUILT.get_or_init(|| {
        if !npm::present("examples/counter-js/") {
            return false;
        }
        // The example depends on sdk-js by path: its build reads sdk-js's build.
        let sdk = example().join("../../sdk-js");
        npm::ci(&sdk);
        npm::run(&sdk, &["run", "build"]);
        npm::ci(&example());
        let text = npm::run(&example(), &["test"]);
        assert!(text.contains("\n# fail 0\n"), "{text}");
        true
    });
    built.then(|| example().join("package"))
}

#[test]
fn pressed_and_turned_over_the_local_socket_the_count_kept_across_a_restart() {
    let Some(package) = built() else { return };
    let mut served = Served::installed(&package, PLUGIN_ID);
    assert_counts(&served.socket, PLUGIN_ID);

    // The manager stopped and started again: the plugin is launched anew and finds its count.
    served.restart();
    until_connected(&served.socket, PLUGIN_ID);
    assert_eq!(press(&served.socket, PLUGIN_ID), "7");
}

/// Installs the example into a daemon serving a WebSocket too, launched to connect there (in
/// JSON text with `--json`, which the conformance test in JSON shows it then speaks), and
/// counts. The host gives the plugins it launches its local socket: the example is packed with
/// a launcher that gives it the WebSocket's `ws://` URL instead.
fn counts_over_websocket(json: bool) {
    let Some(package) = built() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (data, socket) = (dir.path().join("data"), dir.path().join("manager.sock"));
    let (_serving, first) = daemon_with(&data, &socket, &["--websocket", "127.0.0.1:0"]);
    let url = format!("ws://{}", first["websocket"].as_str().unwrap());
    let launcher = dir.path().join("counter-js");
    let mode = if json { " --json" } else { "" };
    let script = format!(
        "#!/bin/sh\nLOGI_PLUGIN_ENDPOINT={url} exec node \"$(dirname \"$0\")/counter-js.mjs\"{mode}\n"
    );
    std::fs::write(&launcher, script).unwrap();
    let archive = dir.path().join("counter-js.zip");
    pack(&package, Some(&launcher), &archive);
    install_connected(&socket, &archive, PLUGIN_ID);
    assert_counts(&socket, PLUGIN_ID);
}

#[test]
fn pressed_and_turned_over_websocket_in_binary() {
    counts_over_websocket(false);
}

#[test]
fn pressed_and_turned_over_websocket_in_json_text() {
    counts_over_websocket(true);
}

/// The conformance kit's checks of the example's launcher in `mode`, all passed.
fn assert_conformant(package: &Path, mode: &str) -> Vec<Value> {
    let program = package.join("bin/counter-js");
    counter::assert_conformant(&program, &package.join("manifest.json"), mode)
}

#[test]
fn the_example_passes_the_conformance_kit_over_the_local_socket() {
    let Some(package) = built() else { return };
    let checks = assert_conformant(&package, "binary");
    // The manifest's action and control let the rate limit and analog checks run too.
    for name in ["retry-after-holds", "analog-flood", "analog-net-movement"] {
        assert!(has_check(&checks, name), "{name}: {checks:#?}");
    }
}

#[test]
fn the_example_passes_the_conformance_kit_over_websocket_in_json_text() {
    let Some(package) = built() else { return };
    let checks = assert_conformant(&package, "json");
    for name in logi_plugin_conformance::JSON_CHECKS {
        assert!(has_check(&checks, name), "{name}: {checks:#?}");
    }
}
