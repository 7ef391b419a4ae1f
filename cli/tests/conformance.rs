//! The conformance kit (`logi-plugin conformance`) run as a real process against our own
//! example plugin, our own manager (an EXTERNAL plugin admitted by a host started here), a
//! deliberately broken plugin, whose failures it must name exactly, and the kit's own fake
//! manager (`conformance/tests/fake_manager`) for the levels and the options the messages name.

#![cfg(unix)]

mod broken_plugin;
mod common;
#[path = "../../conformance/tests/fake_manager/mod.rs"]
mod fake_manager;

use std::collections::BTreeSet;
use std::process::{Command, Output};
use std::time::Duration;

use fake_manager::{FakeManager, Fault};

use logi_plugin_manager::HostConfig;
use serde_json::Value;

const LOGI_PLUGIN: &str = env!("CARGO_BIN_EXE_logi-plugin");

/// Set for the process of [`broken_plugin_process`]: it then runs the broken plugin.
const BROKEN_PLUGIN_ENV: &str = "LOGI_CONFORMANCE_BROKEN_PLUGIN";

/// The broken plugin's process: this test binary, running only this test, with
/// [`BROKEN_PLUGIN_ENV`] set. Ignored in ordinary runs.
#[test]
#[ignore = "the broken plugin's process, launched by the conformance kit in the tests below"]
fn broken_plugin_process() {
    if std::env::var_os(BROKEN_PLUGIN_ENV).is_some() {
        broken_plugin::run();
    }
}

/// Runs `logi-plugin --json conformance <args>` with `env` set.
fn kit(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(LOGI_PLUGIN)
        .args(["--json", "conformance"])
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// The JSON lines of a run.
fn lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The names of the checks with `outcome` (`pass`, `fail`, `skip`).
fn checks(lines: &[Value], outcome: &str) -> BTreeSet<String> {
    lines
        .iter()
        .filter(|line| line["outcome"] == outcome)
        .map(|line| line["check"].as_str().unwrap().to_string())
        .collect()
}

/// Asserts that every check of a run passed, none skipped, and there were `count`.
fn assert_all_passed(output: &Output, count: usize) {
    let lines = lines(output);
    let report = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{report}\n{stderr}");
    assert_eq!(checks(&lines, "pass").len(), count, "{report}");
    assert!(checks(&lines, "skip").is_empty(), "{report}");
    assert_eq!(lines.last().unwrap()["ok"], true, "{report}");
}

#[test]
fn our_example_plugin_passes_every_check() {
    // The tool run under the name `media-plugin` is the example plugin, as the demo packs it.
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("media-plugin");
    std::fs::copy(LOGI_PLUGIN, &plugin).unwrap();
    let manifest = logi_example_media::package_dir().join("manifest.json");
    let output = kit(
        &[
            "--plugin",
            plugin.to_str().unwrap(),
            "--manifest",
            manifest.to_str().unwrap(),
        ],
        &[],
    );
    assert_all_passed(&output, 11);
}

#[test]
fn a_broken_plugin_fails_exactly_the_checks_it_breaks() {
    let test_binary = std::env::current_exe().unwrap();
    let output = kit(
        &[
            "--plugin",
            test_binary.to_str().unwrap(),
            "--plugin-id",
            "com.example.broken",
            "--action",
            "press",
            "--control",
            "dial",
            "--",
            "broken_plugin_process",
            "--exact",
            "--ignored",
            "--nocapture",
        ],
        &[(BROKEN_PLUGIN_ENV, "1")],
    );
    let lines = lines(&output);
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{report}");
    let failed: Vec<&str> = vec!["heartbeat", "retry-after-holds", "unknown-type"];
    assert_eq!(
        checks(&lines, "fail"),
        failed.iter().map(|s| s.to_string()).collect(),
        "{report}"
    );
    assert!(checks(&lines, "skip").is_empty(), "{report}");
    let verdict = lines.last().unwrap();
    assert_eq!(verdict["ok"], false);
    assert_eq!(
        verdict["error"],
        "3 of 11 checks failed at --level profile: heartbeat, unknown-type, retry-after-holds"
    );
    // Each failure says what was expected and what was seen.
    let detail = |name: &str| {
        let line = lines.iter().find(|line| line["check"] == name).unwrap();
        line["detail"].as_str().unwrap().to_string()
    };
    assert!(
        detail("heartbeat").contains("got nothing within"),
        "{report}"
    );
    assert!(
        detail("unknown-type").contains("expected NOT_IMPLEMENTED"),
        "{report}"
    );
    assert!(
        detail("unknown-type").contains("got INVALID_ARG"),
        "{report}"
    );
    assert!(
        detail("retry-after-holds").contains("ActionCellStatus notification"),
        "{report}"
    );
}

/// How many checks a `--manager` run makes.
const MANAGER_CHECKS: usize = 15;

/// A host with the example plugin's manifest registered EXTERNAL under `code`, and where to
/// reach it; its heartbeat quick, so that the kit's heartbeat checks take little time.
fn external_host(
    configure: impl FnOnce(&mut HostConfig),
) -> (logi_plugin_manager::Host, tempfile::TempDir) {
    let (host, data) = common::host_with(|config| {
        config.heartbeat_interval = Duration::from_millis(100);
        config.heartbeat_timeout = Duration::from_millis(300);
        configure(config);
    });
    host.add_external(common::media_manifest(), "the external code")
        .unwrap();
    (host, data)
}

/// `--manager` arguments for `endpoint` and `code`, with waits matching [`external_host`]'s
/// heartbeat.
fn manager_args<'a>(endpoint: &'a str, code: &'a str) -> Vec<&'a str> {
    vec![
        "--manager",
        endpoint,
        "--plugin-id",
        logi_example_media::PLUGIN_ID,
        "--code",
        code,
        "--ping-wait-ms",
        "2000",
        "--silent-wait-ms",
        "3000",
    ]
}

/// Runs the kit against our manager at `endpoint` at `level`, asserting that every check
/// passed and that each line says its level.
fn assert_our_manager_passes(endpoint: &str, level: &str, checks: usize) -> Vec<Value> {
    let mut args = manager_args(endpoint, "the external code");
    args.extend(["--level", level]);
    let output = kit(&args, &[]);
    assert_all_passed(&output, checks);
    let report = String::from_utf8_lossy(&output.stdout);
    let lines = lines(&output);
    let (verdict, rows) = lines.split_last().unwrap();
    for line in rows {
        assert!(
            line["level"] == "seed" || line["level"] == "profile",
            "{report}"
        );
        assert!(!line["rule"].as_str().unwrap().is_empty(), "{report}");
    }
    assert_eq!(verdict["level"], level, "{report}");
    lines
}

#[test]
fn our_manager_passes_every_check_over_its_local_socket() {
    let (host, _data) = external_host(|_| {});
    let socket = host.endpoint().to_str().unwrap().to_string();
    assert_our_manager_passes(&socket, "profile", MANAGER_CHECKS);
    assert_our_manager_passes(&socket, "seed", MANAGER_CHECKS);
}

#[test]
fn our_manager_passes_every_check_over_websocket_in_both_modes() {
    let (host, _data) = external_host(|config| {
        config.websocket = Some("127.0.0.1:0".parse().unwrap());
    });
    let url = format!("ws://{}", host.websocket_addr().unwrap());
    for level in ["profile", "seed"] {
        // Both modes by default: binary adds frame-mode, JSON the four rules of the mapping too.
        let lines = assert_our_manager_passes(&url, level, MANAGER_CHECKS + 5);
        let in_mode = |mode: &str| lines.iter().filter(|line| line["mode"] == mode).count();
        assert_eq!(
            (in_mode("binary"), in_mode("json")),
            (MANAGER_CHECKS + 1, MANAGER_CHECKS + 5)
        );
    }
}

/// `--manager` arguments for the kit's fake manager, with waits matching its heartbeat.
fn fake_args(fake: &FakeManager) -> Vec<String> {
    let endpoint = fake.endpoint().to_str().unwrap();
    [
        "--manager",
        endpoint,
        "--plugin-id",
        fake_manager::PLUGIN_ID,
        "--code",
        fake_manager::CODE,
        "--ping-wait-ms",
        "500",
        "--silent-wait-ms",
        "1000",
    ]
    .map(String::from)
    .to_vec()
}

/// The kit run against the fake with `faults`, with `extra` arguments.
fn kit_on_fake(faults: &[Fault], extra: &[&str]) -> Output {
    let fake = FakeManager::start(faults);
    let mut args = fake_args(&fake);
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    kit(&args, &[])
}

#[test]
fn a_profile_check_failing_at_the_seed_level_is_reported_but_does_not_fail_the_run() {
    let output = kit_on_fake(&[Fault::AnswersPluginPing], &["--level", "seed"]);
    let lines = lines(&output);
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{report}");
    assert_eq!(
        checks(&lines, "fail"),
        BTreeSet::from(["plugin-ping".to_string()])
    );
    let line = lines.iter().find(|l| l["check"] == "plugin-ping").unwrap();
    assert_eq!(line["level"], "profile", "{report}");
    let verdict = lines.last().unwrap();
    assert_eq!(verdict["ok"], true, "{report}");
    assert_eq!(
        verdict["not_counted"],
        serde_json::json!(["plugin-ping"]),
        "{report}"
    );
}

#[test]
fn a_profile_check_failing_at_the_profile_level_fails_the_run() {
    let output = kit_on_fake(&[Fault::AnswersPluginPing], &["--level", "profile"]);
    let lines = lines(&output);
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{report}");
    assert_eq!(
        lines.last().unwrap()["error"],
        "1 of 15 checks failed at --level profile: plugin-ping",
        "{report}"
    );
}

#[test]
fn the_rate_limit_hint_names_an_option_that_exists() {
    // The fake serves 40 requests before its limit: 16 never reach it.
    let output = kit_on_fake(&[], &["--flood", "16"]);
    let lines = lines(&output);
    let report = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        checks(&lines, "fail"),
        BTreeSet::from(["rate-limit".to_string()]),
        "{report}"
    );
    let line = lines.iter().find(|l| l["check"] == "rate-limit").unwrap();
    assert!(
        line["detail"].as_str().unwrap().contains("Raise --flood"),
        "{report}"
    );
    // The option it names is the one that makes the run pass.
    let output = kit_on_fake(&[], &["--flood", "64"]);
    assert_all_passed(&output, MANAGER_CHECKS);
}

#[test]
fn a_refused_hello_over_websocket_still_lists_the_mode_and_json_checks_as_skipped() {
    let (host, _data) = external_host(|config| {
        config.websocket = Some("127.0.0.1:0".parse().unwrap());
    });
    let url = format!("ws://{}", host.websocket_addr().unwrap());
    let mut args = manager_args(&url, "not the code");
    args.extend(["--mode", "json"]);
    let output = kit(&args, &[]);
    let lines = lines(&output);
    let report = String::from_utf8_lossy(&output.stdout);
    let skipped = checks(&lines, "skip");
    for name in logi_plugin_conformance::JSON_CHECKS {
        assert!(skipped.contains(name), "{name} is not listed: {report}");
    }
}

#[test]
fn a_code_the_manager_does_not_admit_fails_the_hello_and_skips_what_needs_a_session() {
    let (host, _data) = external_host(|_| {});
    let socket = host.endpoint().to_str().unwrap().to_string();
    let output = kit(&manager_args(&socket, "not the code"), &[]);
    let lines = lines(&output);
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{report}");
    let failed = checks(&lines, "fail");
    assert!(failed.contains("hello"), "{report}");
    assert!(checks(&lines, "skip").contains("settings"), "{report}");
}

#[test]
fn no_manager_at_the_endpoint_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("nobody.sock");
    let output = kit(&manager_args(socket.to_str().unwrap(), "code"), &[]);
    assert!(!output.status.success());
    let lines = lines(&output);
    let error = lines.last().unwrap()["error"].as_str().unwrap().to_string();
    assert!(error.contains("cannot reach the manager at"), "{error}");
    assert!(error.contains(socket.to_str().unwrap()), "{error}");
}
