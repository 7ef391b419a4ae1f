//! The C++ `plugin_client` (`include/logi/plugin_framework/plugin_client.hpp`), compiled with
//! g++ -std=c++17 (`tests/cpp/plugin_client.cpp`) and run against a manager in this test's
//! process: its typed callbacks answer presses, an exception thrown in a callback is caught and
//! answered `EXCEPTION` (never reaching the C ABI, where it would abort), a callback it does not
//! override answers `NOT_IMPLEMENTED`, a request of its own gets its answer through a
//! `std::function` (what that throws is logged through the log function too), and it
//! disconnects from inside a callback and exits. Without g++, protoc or pkg-config the test
//! says so and passes, except under CI.

#![cfg(target_os = "linux")]

mod support;
mod tools;

use std::time::Duration;

use logi_plugin_core::Message;
use logi_plugin_core::proto::plugin::{ReleaseAction, Settings, TriggerAction};
use logi_plugin_core::session::{Event, Reply};
use logi_plugin_transports::{Answer, ManagerConnection};
use support::{Manager, within};
use tools::build_cpp;

const EXCEPTION: i32 = -13;
const NOT_IMPLEMENTED: i32 = -5;

/// Presses `action` and waits for the answer.
fn press(connection: &ManagerConnection, action: &str) -> Answer {
    let press = TriggerAction {
        action_instance_id: "key-1".into(),
        action_id: action.into(),
        configuration: None,
    };
    within(connection.request(press, Duration::from_secs(5))).unwrap()
}

/// The status text an answer carries.
fn text(answer: &Answer) -> Option<&str> {
    match &answer.message {
        Some(Message::ActionCellStatus(status)) => status.text.as_deref(),
        _ => None,
    }
}

#[test]
fn the_cpp_plugin_client_answers_catches_what_its_callbacks_throw_and_exits_on_disconnect() {
    let dir = tempfile::tempdir().unwrap();
    let Some(program) = build_cpp(dir.path(), "plugin_client") else {
        return;
    };
    let manager = Manager::start();
    let (child, connection) = manager.launch(&program);

    let pressed = press(&connection, "count");
    assert!(pressed.response.is_ok(), "{:?}", pressed.response);
    assert_eq!(text(&pressed), Some("pressed count"));

    let thrown = press(&connection, "throw");
    assert_eq!(thrown.response.result, EXCEPTION);
    assert_eq!(
        thrown.response.what,
        "logi.plugin.protocol.TriggerAction: out of order"
    );

    let release = ReleaseAction {
        action_id: "count".into(),
        ..Default::default()
    };
    let released = within(connection.request(release, Duration::from_secs(5))).unwrap();
    assert_eq!(released.response.result, NOT_IMPLEMENTED);
    assert_eq!(
        released.response.what,
        "logi.plugin.protocol.ReleaseAction is not handled by this plugin"
    );

    // The plugin's own request, answered here; its std::function then answers the press.
    let ask = connection.request(
        TriggerAction {
            action_id: "ask".into(),
            ..Default::default()
        },
        Duration::from_secs(5),
    );
    let serve_the_setting = async {
        match connection.next_event().await {
            Some(Event::Request {
                id,
                message: Message::SettingsRequest(request),
            }) => {
                assert_eq!(request.setting_name, "step");
                let stored = Settings {
                    setting_name: "step".into(),
                    setting_value: "5".into(),
                    ..Default::default()
                };
                connection
                    .respond(id, Reply::Message(stored.into()))
                    .await
                    .unwrap();
            }
            other => panic!("expected the plugin's SettingsRequest, got {other:?}"),
        }
    };
    let (asked, ()) = within(futures_lite::future::zip(ask, serve_the_setting));
    assert_eq!(text(&asked.unwrap()), Some("step 5"));

    assert_eq!(text(&press(&connection, "quit")), Some("pressed quit"));
    let output = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stdout}{stderr}");
    for thrown in [
        "log: logi.plugin.protocol.TriggerAction threw: out of order\n",
        "log: a response handler threw: after the answer\n",
    ] {
        assert!(stdout.contains(thrown), "{thrown}: {stdout}");
    }
    // wait_for_disconnect returned ("stopped"); the disconnect handler's lines may come after
    // it, but before the destructor's close() returns.
    let lines: Vec<&str> = stdout.lines().collect();
    for line in ["stopped", "log: stopped: closed by this side"] {
        assert!(lines.contains(&line), "{line}: {stdout}");
    }
}
