//! The C++ client library (`include/logi/plugin_framework/logi_plugin_communication.hpp`),
//! compiled with g++ -std=c++17 (`tests/cpp/library.cpp`) and run against a manager in this
//! test's process: its configuration calls (seed 9.5) send the messages the seed names, their
//! handlers get the manager's answers in the order of the calls, and `close()` called from
//! inside a handler (on the request thread itself) returns and ends the client. Without g++,
//! protoc or pkg-config the test says so and passes, except under CI.

#![cfg(target_os = "linux")]

mod support;
mod tools;

use std::io::Read;
use std::process::Child;
use std::time::{Duration, Instant};

use logi_plugin_core::Message;
use logi_plugin_core::proto::manager::plugin_update_result::Status;
use logi_plugin_core::proto::manager::{
    ActionConfiguration, DevelopmentMode, PluginUpdateResult, PluginUpdateResultList,
};
use logi_plugin_core::proto::plugin::{ActionCellStatus, PluginActionConfigurationSchemeResponse};
use logi_plugin_core::session::{Event, Reply};
use logi_plugin_core::{ResponseCode, ResponseInfo};
use logi_plugin_transports::ManagerConnection;
use support::{Manager, within};
use tools::build_cpp;

const PLUGIN: &str = "com.example.counter";

/// The manager's answer to each configuration call, and what the call sent, checked.
fn answer(message: Message) -> Reply {
    match message {
        Message::GetDevelopmentMode(_) => Reply::Message(DevelopmentMode { enabled: false }.into()),
        Message::DevelopmentMode(mode) => {
            assert!(mode.enabled);
            Reply::Ok
        }
        Message::ActionConfigurationRequest(request) => {
            assert_eq!(
                (request.plugin_id.as_str(), request.action_id.as_str()),
                (PLUGIN, "count")
            );
            let form = ActionConfiguration {
                plugin_id: PLUGIN.into(),
                scheme: Some(PluginActionConfigurationSchemeResponse {
                    action_id: "count".into(),
                    ..Default::default()
                }),
            };
            Reply::Message(form.into())
        }
        Message::SetActionConfiguration(form) => {
            assert_eq!(form.form_result, r#"{"step":5}"#);
            Reply::Ok
        }
        Message::AnalogControlId(instance) => {
            assert_eq!(instance.instance_id, "key-1");
            Reply::Message(counted("7").into())
        }
        Message::InvokeLogin(login) => {
            assert_eq!(login.plugin_id, PLUGIN);
            Reply::Ok
        }
        Message::InvokeLogout(logout) => {
            assert_eq!(logout.username, "ada");
            Reply::Error(ResponseCode::NotFound, "no user ada".into())
        }
        Message::LanguageChanged(changed) => {
            assert_eq!(changed.language_code, "de-DE");
            Reply::Ok
        }
        Message::VisibilityUpdate(update) => {
            assert_eq!(update.items.len(), 1);
            assert!(update.items[0].visible);
            let results = PluginUpdateResultList {
                results: vec![counted("7")],
            };
            Reply::Message(results.into())
        }
        other => panic!("not a configuration call: {other:?}"),
    }
}

/// The counter's state, as a plugin reports it.
fn counted(text: &str) -> PluginUpdateResult {
    PluginUpdateResult {
        plugin_id: PLUGIN.into(),
        result: Some(ResponseInfo::ok()),
        status: Some(Status::ActionStatus(ActionCellStatus {
            text: Some(text.into()),
            ..Default::default()
        })),
    }
}

/// Answers each request on `connection` until it closes.
fn serve(connection: &ManagerConnection) {
    while let Some(event) = within(connection.next_event()) {
        match event {
            Event::Request { id, message } => {
                within(connection.respond(id, answer(message))).unwrap();
            }
            Event::Closed(_) => break,
            _ => {}
        }
    }
}

/// The program's exit and output, killing it after 10 s (a handler that never returns).
fn finish(mut child: Child) -> (bool, String, String) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status.is_some_and(|s| s.success()), stdout, stderr)
}

#[test]
fn configuration_calls_are_answered_in_order_and_close_returns_from_inside_a_handler() {
    let dir = tempfile::tempdir().unwrap();
    let Some(program) = build_cpp(dir.path(), "library") else {
        return;
    };
    let manager = Manager::start();
    let (child, connection) = manager.launch(&program);
    let served = std::thread::spawn(move || serve(&connection));
    let (exited, stdout, stderr) = finish(child);
    assert!(exited, "{stdout}{stderr}");
    assert_eq!(
        stdout,
        "development_mode off SUCCESS\n\
         set_development_mode SUCCESS\n\
         plugin_action_configuration SUCCESS com.example.counter count\n\
         set_plugin_action_configuration SUCCESS  []\n\
         action_status SUCCESS com.example.counter 7\n\
         invoke_login SUCCESS\n\
         invoke_logout NOT_FOUND NOT_FOUND: no user ada\n\
         set_language_changed SUCCESS\n\
         set_visibility SUCCESS 1\n\
         stopped: closed by this side\n\
         closed\n\
         done\n",
        "{stderr}"
    );
    assert_eq!(stderr, "");
    served.join().unwrap();
}
