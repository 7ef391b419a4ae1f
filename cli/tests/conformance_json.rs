//! The conformance kit in JSON text mode: our manager behind a proxy that breaks one rule of
//! the JSON mapping (or answers a JSON plugin in binary) is failed on exactly that check; our
//! example plugin, set to speak JSON, passes every check; JSON mode is refused where it cannot
//! exist. Our manager passing in both modes is in `conformance.rs`.

#![cfg(unix)]

mod common;
mod faulty_json_proxy;

use std::collections::BTreeSet;
use std::process::Command;

use common::kit::{all_passed_in, has_check};
use faulty_json_proxy::Fault;
use logi_plugin_conformance::{Format, ManagerOptions, Outcome, Report, check_manager};
use logi_plugin_sdk::{ClientConfig, PluginClient};
use logi_plugin_transports::Endpoint;
use serde_json::Value;

const LOGI_PLUGIN: &str = env!("CARGO_BIN_EXE_logi-plugin");

/// Set for the process of [`json_plugin_process`]: it then runs the example plugin in JSON.
const JSON_PLUGIN_ENV: &str = "LOGI_CONFORMANCE_JSON_PLUGIN";

/// The example plugin set to speak JSON text (`use_text_format`), as a process: this test
/// binary, running only this test, with [`JSON_PLUGIN_ENV`] set. Ignored in ordinary runs.
#[test]
#[ignore = "the example plugin in JSON, launched by the conformance kit in the tests below"]
fn json_plugin_process() {
    if std::env::var_os(JSON_PLUGIN_ENV).is_none() {
        return;
    }
    let mut config =
        ClientConfig::from_env(logi_example_media::PLUGIN_ID, logi_example_media::VERSION)
            .expect("the kit sets `token`");
    config.use_text_format = true;
    let (client, runner) = PluginClient::new(config);
    logi_plugin_sdk::block_on(futures_lite::future::zip(
        runner,
        logi_example_media::run(client),
    ));
}

/// Runs the kit in JSON mode against our manager behind a proxy with `fault`.
fn check_behind(fault: Fault) -> Report {
    let (host, _data) = common::host_with(|config| {
        config.websocket = Some("127.0.0.1:0".parse().unwrap());
    });
    host.add_external(common::media_manifest(), "the external code")
        .unwrap();
    let manager = format!("ws://{}", host.websocket_addr().unwrap());
    let proxy = faulty_json_proxy::start(manager, fault);
    let mut options = ManagerOptions::new(
        Endpoint::parse(&proxy),
        logi_example_media::PLUGIN_ID,
        "the external code",
    );
    options.format = Format::Json;
    check_manager(&options).unwrap()
}

/// The names of the checks of `report` with `outcome`.
fn named(report: &Report, outcome: Outcome) -> BTreeSet<&'static str> {
    let checks = report.checks.iter().filter(|c| c.outcome == outcome);
    checks.map(|c| c.name).collect()
}

/// The whole report, for an assertion's message.
fn table(report: &Report) -> String {
    let line = |c: &logi_plugin_conformance::Check| {
        format!("{} {} {}", c.outcome.label(), c.name, c.detail)
    };
    report
        .checks
        .iter()
        .map(line)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs the kit behind a proxy with `fault`; asserts that `check` is the one check failed and
/// `skipped` the ones skipped, and gives `check`'s detail.
fn fails_alone(fault: Fault, check: &str, skipped: &[&str]) -> String {
    let report = check_behind(fault);
    let table = table(&report);
    assert_eq!(
        named(&report, Outcome::Failed),
        BTreeSet::from([check]),
        "{table}"
    );
    let skipped = BTreeSet::from_iter(skipped.iter().copied());
    assert_eq!(named(&report, Outcome::Skipped), skipped, "{table}");
    report.get(check).unwrap().detail.clone()
}

#[test]
fn a_manager_writing_proto_field_names_in_json_fails_json_names_and_nothing_else() {
    let detail = fails_alone(Fault::ProtoNames, "json-names", &[]);
    assert!(
        detail.contains("the .proto name; the mapping writes"),
        "{detail}"
    );
}

#[test]
fn a_manager_writing_enum_numbers_in_json_fails_json_enums_and_nothing_else() {
    let detail = fails_alone(Fault::EnumNumbers, "json-enums", &[]);
    let expected = "envelope.response.result: 1; the mapping writes \"SUCCESS\"";
    assert!(detail.contains(expected), "{detail}");
}

#[test]
fn a_manager_answering_a_json_plugin_in_binary_fails_frame_mode_and_nothing_else() {
    // With no text frame at all, the shape of JSON has nothing to be judged on.
    let unjudged = ["json-any", "json-defaults", "json-enums", "json-names"];
    let detail = fails_alone(Fault::BinaryAnswers, "frame-mode", &unjudged);
    assert!(
        detail.contains("expected JSON text frames only"),
        "{detail}"
    );
    assert!(detail.contains("the first: binary frame 1"), "{detail}");
}

#[test]
fn our_example_plugin_set_to_speak_json_passes_every_check_in_json_mode() {
    let manifest = logi_example_media::package_dir().join("manifest.json");
    let test_binary = std::env::current_exe().unwrap();
    let output = Command::new(LOGI_PLUGIN)
        .args(["--json", "conformance", "--mode", "json", "--plugin"])
        .arg(&test_binary)
        .arg("--manifest")
        .arg(&manifest)
        .args(["--", "json_plugin_process", "--exact", "--ignored"])
        .env(JSON_PLUGIN_ENV, "1")
        .output()
        .unwrap();
    let checks = all_passed_in(&output, "json");
    assert_eq!(checks.len(), 16, "{checks:#?}");
    for name in logi_plugin_conformance::JSON_CHECKS {
        assert!(has_check(&checks, name), "{name}: {checks:#?}");
    }
}

#[test]
fn json_mode_against_a_local_socket_is_refused_naming_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("manager.sock");
    let output = Command::new(LOGI_PLUGIN)
        .args(["--json", "conformance", "--mode", "json", "--manager"])
        .arg(&socket)
        .args(["--plugin-id", "com.example.any", "--code", "code"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let report = String::from_utf8_lossy(&output.stdout);
    let verdict: Value = serde_json::from_str(report.lines().last().unwrap()).unwrap();
    let error = verdict["error"].as_str().unwrap();
    assert!(
        error.contains("--mode json needs a ws:// manager"),
        "{error}"
    );
    assert!(error.contains(socket.to_str().unwrap()), "{error}");
}
