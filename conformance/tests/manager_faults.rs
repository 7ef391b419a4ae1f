//! `check_manager` against a manager with one deliberate fault at a time (the fake of
//! `fake_manager`): each fault is named by the kit, by exactly the check that judges it.

#![cfg(unix)]

mod fake_manager;

use std::collections::BTreeSet;
use std::time::Duration;

use fake_manager::{CODE, FakeManager, Fault, PING_INTERVAL, PLUGIN_ID, PONG_DEADLINE};
use logi_plugin_conformance::{Level, ManagerOptions, Outcome, Report, check_manager};
use logi_plugin_transports::Endpoint;

/// The kit's options for `fake`, its waits short to match the fake's heartbeat.
fn options(fake: &FakeManager) -> ManagerOptions {
    let endpoint = Endpoint::parse(fake.endpoint().to_str().unwrap());
    let mut options = ManagerOptions::new(endpoint, PLUGIN_ID, CODE);
    options.reply_timeout = Duration::from_secs(2);
    options.ping_wait = PING_INTERVAL * 5;
    options.silent_wait = PONG_DEADLINE * 5;
    options
}

/// Runs the kit against a fake with `faults`.
fn judge(faults: &[Fault]) -> Report {
    judge_at(faults, Level::Profile)
}

/// Runs the kit against a fake with `faults`, judging at `level`.
fn judge_at(faults: &[Fault], level: Level) -> Report {
    let fake = FakeManager::start(faults);
    let mut options = options(&fake);
    options.level = level;
    check_manager(&options).unwrap()
}

/// The names of the checks that failed, whatever their level.
fn failed(report: &Report) -> BTreeSet<&'static str> {
    report.failures().map(|check| check.name).collect()
}

/// Asserts that exactly `name` failed.
fn only_failed(report: &Report, name: &'static str) {
    assert_eq!(failed(report), BTreeSet::from([name]), "{report:#?}");
}

#[test]
fn a_manager_without_faults_passes_every_check() {
    let report = judge(&[]);
    assert!(report.passed(), "{report:#?}");
    let skipped: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.outcome == Outcome::Skipped)
        .collect();
    assert!(skipped.is_empty(), "{report:#?}");
}

#[test]
fn a_manager_that_never_pings_fails_the_ping_check() {
    only_failed(&judge(&[Fault::NeverPings]), "manager-pings");
}

#[test]
fn a_manager_that_keeps_a_silent_plugin_fails_the_silent_plugin_check() {
    only_failed(&judge(&[Fault::NeverClosesSilent]), "silent-plugin");
}

#[test]
fn a_manager_that_closes_on_an_unknown_type_fails_only_that_check() {
    only_failed(&judge(&[Fault::ClosesOnUnknownType]), "unknown-type");
}

#[test]
fn a_manager_that_closes_on_a_malformed_body_fails_only_that_check() {
    only_failed(&judge(&[Fault::ClosesOnMalformedBody]), "malformed-body");
}

#[test]
fn a_manager_that_closes_after_the_hello_fails_the_session_check() {
    only_failed(&judge(&[Fault::ClosesAfterHello]), "session-kept");
}

#[test]
fn a_manager_without_a_frame_limit_on_its_local_socket_fails_the_oversized_frame_check() {
    let report = judge(&[Fault::NoFrameLimit]);
    only_failed(&report, "oversized-frame");
}

#[test]
fn a_manager_that_closes_after_the_hello_has_the_checks_needing_a_session_skipped() {
    let report = judge(&[Fault::ClosesAfterHello]);
    let session = report.get("session-kept").unwrap();
    assert!(session.detail.contains("after the hello"), "{report:#?}");
    assert_eq!(report.get("settings").unwrap().outcome, Outcome::Skipped);
}

#[test]
fn a_manager_that_answers_a_plugins_ping_passes_at_the_seed_level() {
    let report = judge_at(&[Fault::AnswersPluginPing], Level::Seed);
    only_failed(&report, "plugin-ping");
    assert!(report.passed(), "{report:#?}");
    assert_eq!(report.failed().count(), 0);
}

#[test]
fn a_manager_that_answers_a_plugins_ping_fails_at_the_profile_level() {
    let report = judge_at(&[Fault::AnswersPluginPing], Level::Profile);
    only_failed(&report, "plugin-ping");
    assert!(!report.passed(), "{report:#?}");
    let check = report.get("plugin-ping").unwrap();
    assert_eq!(check.level, Level::Profile);
    assert!(check.rule.starts_with("docs/protocol.md"), "{}", check.rule);
}

#[test]
fn the_oversized_frame_failure_says_the_manager_answered_it() {
    let report = judge(&[Fault::NoFrameLimit]);
    let check = report.get("oversized-frame").unwrap();
    assert!(check.detail.contains("--frame-limit"), "{}", check.detail);
}

#[test]
fn the_settings_probe_writes_plain_text() {
    let report = judge(&[]);
    let detail = &report.get("settings").unwrap().detail;
    assert!(!detail.contains("SystemTime"), "{detail}");
    assert!(detail.contains("s since the Unix epoch"), "{detail}");
}
