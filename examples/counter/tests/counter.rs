//! The counter plugin on the mock host (no daemon: an in-process manager), and its program
//! judged by the conformance kit as a host would launch it.

#[allow(dead_code)] // its `main` runs in the conformance test, as the program
#[path = "../src/main.rs"]
mod counter;

use counter::{Count, Counter, Step};
use logi_plugin_conformance::{PluginOptions, check_plugin};
use logi_plugin_sdk::mock::MockHost;
use logi_plugin_sdk::plugin::{Plugin, ResponseCode};

fn counter(settings: &[(&str, &str)]) -> MockHost {
    let plugin = Plugin::<Counter>::new("com.logi.example.counter", "1.0.0")
        .action(Count)
        .control(Step);
    let settings = settings.iter().map(|(n, v)| (n.to_string(), v.to_string()));
    MockHost::start_with(plugin, settings)
}

#[test]
fn each_press_adds_one_and_shows_the_count() {
    let host = counter(&[]);
    assert_eq!(host.press("count", "key-1").text.as_deref(), Some("1"));
    assert_eq!(host.press("count", "key-1").text.as_deref(), Some("2"));
    assert_eq!(host.settings::<Counter>().count, 2);
}

#[test]
fn the_dial_sets_the_step_that_presses_add() {
    let host = counter(&[]);
    assert_eq!(
        host.turn("step", "dial-1", 4.0).text.as_deref(),
        Some("step 5")
    );
    assert_eq!(host.press("count", "key-1").text.as_deref(), Some("5"));
    assert_eq!(
        host.turn("step", "dial-1", -500.0).text.as_deref(),
        Some("step 1")
    );
}

#[test]
fn the_count_is_taken_back_from_the_settings_the_manager_kept() {
    let host = counter(&[("plugin", r#"{"count":41,"step":1}"#)]);
    assert_eq!(host.press("count", "key-1").text.as_deref(), Some("42"));
}

#[test]
fn a_count_changed_elsewhere_meanwhile_is_counted_on_not_clobbered() {
    let host = counter(&[]);
    host.press("count", "key-1");
    // Another copy of the plugin stored a newer count behind this one's back.
    host.set_setting("plugin", r#"{"count":10,"step":1}"#);
    assert_eq!(host.press("count", "key-1").text.as_deref(), Some("11"));
    assert_eq!(host.settings::<Counter>().count, 11);
}

#[test]
fn what_the_counter_does_not_handle_is_refused_not_implemented() {
    let host = counter(&[]);
    let form = host.configure("count", "key-1", serde_json::json!({ "step": 3 }));
    assert_eq!(form.code, ResponseCode::NotImplemented);
    assert_eq!(host.show("count", "key-1").code, ResponseCode::Success);
}

#[cfg(unix)]
#[test]
fn the_counter_program_passes_the_conformance_kit() {
    let report = check_plugin(&PluginOptions::new(env!("CARGO_BIN_EXE_counter"))).unwrap();
    let failed: Vec<_> = report.failed().map(|check| check.name).collect();
    assert!(report.passed(), "failed: {failed:?}\n{report:?}");
}
