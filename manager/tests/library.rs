//! The client library (seed chapter 9) against a running host over its local socket: every call,
//! the events, and reconnecting after the manager restarts.

mod common;

use std::time::Duration;

use common::{host_with, media_manifest, script_package, until, until_state};
use futures_lite::future;
use logi_example_media::{PLUGIN_ID, TOGGLE_MUTE, VERSION, VOLUME};
use logi_plugin_client::{Call, CallError, LibraryEvent, LibraryOptions, PluginManagerClient};
use logi_plugin_core::ResponseCode;
use logi_plugin_core::proto::manager::{
    ActionConfigurationRequest, AnalogControlId, ContainerState, ControlVisibility,
    InstallationType, Invoke, LogSource, PluginInstallationEvent, PluginUpdateResult,
    SetActionConfiguration, invoke, plugin_update_result::Status,
};
use logi_plugin_core::proto::plugin::ActionCellStatus;
use logi_plugin_core::proto::plugin::log_event::LogLevel;
use logi_plugin_manager::{Host, HostEvent};
use logi_plugin_sdk::{Backoff, ClientConfig, Endpoint, PluginClient};

/// A host running the media plugin as a CORE plugin, and a client library connected to it.
fn host_and_client() -> (Host, tempfile::TempDir, PluginManagerClient) {
    let (host, data) = host_with(|_| {});
    let events = host.subscribe();
    host.add_core(media_manifest(), logi_example_media::run)
        .unwrap();
    until_state(&events, PLUGIN_ID, ContainerState::Running);
    let client = client_of(&host);
    (host, data, client)
}

fn client_of(host: &Host) -> PluginManagerClient {
    let mut options = LibraryOptions::new("Options+", "1.0");
    options.endpoint = Endpoint::Local(host.endpoint().to_path_buf());
    options.reconnect = Backoff {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(200),
    };
    let (client, runner) = PluginManagerClient::connect(options);
    smol::spawn(runner).detach();
    within(client.wait_connected()).expect("the client did not connect");
    client
}

/// Runs `future` to its end, at most 10 s.
fn within<T>(future: impl Future<Output = T>) -> T {
    smol::block_on(future::or(future, async {
        async_io::Timer::after(Duration::from_secs(10)).await;
        panic!("not done within 10 s");
    }))
}

/// Sends a call and waits for its result.
fn result<T>(call: impl Future<Output = Result<Call<T>, CallError>>) -> Result<T, CallError> {
    within(async { call.await?.result().await })
}

/// The first event `wanted` picks out (at most 10 s).
fn event<T>(client: &PluginManagerClient, wanted: impl Fn(LibraryEvent) -> Option<T>) -> T {
    within(async {
        loop {
            let event = client.next_event().await.expect("the client stopped");
            if let Some(found) = wanted(event) {
                return found;
            }
        }
    })
}

fn press(instance: &str) -> Invoke {
    Invoke {
        plugin_id: PLUGIN_ID.into(),
        action_id: TOGGLE_MUTE.into(),
        instance_id: instance.into(),
        button_state: invoke::ButtonState::Down.into(),
        ..Invoke::default()
    }
}

fn turn(rotation: invoke::Rotation) -> Invoke {
    Invoke {
        plugin_id: PLUGIN_ID.into(),
        action_id: VOLUME.into(),
        instance_id: "dial-1".into(),
        rotation: Some(rotation),
        ..Invoke::default()
    }
}

fn cell_text(result: &PluginUpdateResult) -> &str {
    match &result.status {
        Some(Status::ActionStatus(status)) => status.text(),
        other => panic!("expected an action status, got {other:?}"),
    }
}

fn volume(result: &PluginUpdateResult) -> f32 {
    match &result.status {
        Some(Status::AnalogControlStatus(status)) => status.current_value(),
        other => panic!("expected a control status, got {other:?}"),
    }
}

fn refused_code<T: std::fmt::Debug>(result: Result<T, CallError>) -> ResponseCode {
    match result {
        Err(CallError::Refused { code, .. }) => code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn the_client_library_lists_the_plugins_with_their_type_and_state() {
    let (_host, _data, client) = host_and_client();
    let plugins = result(client.plugin_list()).unwrap();
    assert_eq!(plugins.len(), 1);
    let media = &plugins[0];
    assert_eq!(
        (media.plugin_id.as_str(), media.version.as_str()),
        (PLUGIN_ID, VERSION)
    );
    assert_eq!(media.installation_type(), InstallationType::Core);
    assert_eq!(media.container_state(), ContainerState::Running);
    assert!(media.connected);
}

#[test]
fn invoke_presses_the_action_and_answers_with_the_state_the_plugin_reports() {
    let (_host, _data, client) = host_and_client();
    let pressed = result(client.invoke(press("key-1"))).unwrap();
    assert!(pressed.result.as_ref().unwrap().is_ok());
    assert_eq!(cell_text(&pressed), "Muted");
    let again = result(client.invoke(press("key-1"))).unwrap();
    assert_eq!(cell_text(&again), "Sound on");
}

#[test]
fn invoke_turns_the_dial_by_a_delta_or_to_an_absolute_value() {
    let (_host, _data, client) = host_and_client();
    let set = result(client.invoke(turn(invoke::Rotation::Absolute(40.0)))).unwrap();
    assert_eq!(volume(&set), 40.0);
    let turned = result(client.invoke(turn(invoke::Rotation::Delta(2.0)))).unwrap();
    assert!(volume(&turned) > 40.0, "{turned:?}");
}

#[test]
fn an_invoke_with_neither_button_nor_rotation_is_refused_invalid_arg() {
    let (_host, _data, client) = host_and_client();
    let mut nothing = press("key-1");
    nothing.button_state = invoke::ButtonState::None.into();
    assert_eq!(
        refused_code(result(client.invoke(nothing))),
        ResponseCode::InvalidArg
    );
}

#[test]
fn a_call_for_an_unknown_plugin_is_refused_not_found() {
    let (_host, _data, client) = host_and_client();
    let mut press = press("key-1");
    press.plugin_id = "com.example.nobody".into();
    assert_eq!(
        refused_code(result(client.invoke(press))),
        ResponseCode::NotFound
    );
    let removed = result(client.remove_plugin("com.example.nobody"));
    assert_eq!(refused_code(removed), ResponseCode::NotFound);
}

#[test]
fn action_status_gives_the_latest_state_and_asks_the_plugin_for_a_control_never_seen() {
    let (_host, _data, client) = host_and_client();
    result(client.invoke(press("key-7"))).unwrap();
    let id = |control: &str, instance: &str| AnalogControlId {
        plugin_id: PLUGIN_ID.into(),
        control_id: control.into(),
        instance_id: instance.into(),
    };
    let key = result(client.action_status(id(TOGGLE_MUTE, "key-7"))).unwrap();
    assert_eq!(cell_text(&key), "Muted");
    // Never turned: the plugin is asked (GetAnalogControlValue) and reports its volume.
    let dial = result(client.action_status(id(VOLUME, "dial-9"))).unwrap();
    assert!(
        matches!(dial.status, Some(Status::AnalogControlStatus(_))),
        "{dial:?}"
    );
}

#[test]
fn a_plugins_recent_log_is_read_and_then_followed_line_by_line() {
    let (_host, _data, client) = host_and_client();
    let before = result(client.plugin_log(PLUGIN_ID, true)).unwrap();
    // The host notes that it closed the plugin's session, which a language change does.
    result(client.set_language_changed("de-DE")).unwrap();
    let followed = event(&client, |event| match event {
        LibraryEvent::PluginLog(line) if line.message.starts_with("session closed") => Some(line),
        _ => None,
    });
    assert_eq!(followed.plugin_id, PLUGIN_ID);
    assert_eq!(followed.source(), LogSource::Host);
    assert_eq!(followed.level(), LogLevel::Info);
    assert!(followed.time.ends_with('Z'), "{}", followed.time);
    assert!(before.iter().all(|line| line.seq != followed.seq));
    let after = result(client.plugin_log(PLUGIN_ID, false)).unwrap();
    assert!(after.contains(&followed), "{after:?}");
}

#[test]
fn the_log_of_an_unknown_plugin_is_refused_not_found_naming_it() {
    let (_host, _data, client) = host_and_client();
    let refused = result(client.plugin_log("com.example.nobody", false));
    let Err(CallError::Refused { code, what }) = refused else {
        panic!("not refused: {refused:?}");
    };
    assert_eq!(code, ResponseCode::NotFound);
    assert!(what.contains("com.example.nobody"), "{what}");
}

#[test]
fn the_configuration_form_is_fetched_and_submitted_through_the_plugin() {
    let (_host, _data, client) = host_and_client();
    let request = ActionConfigurationRequest {
        plugin_id: PLUGIN_ID.into(),
        analog_control_id: VOLUME.into(),
        action_instance_id: "dial-1".into(),
        ..ActionConfigurationRequest::default()
    };
    let form = result(client.plugin_action_configuration(request)).unwrap();
    let schema = form.scheme.unwrap().json_schema.unwrap();
    assert!(schema.contains("step"), "{schema}");
    let submit = |form_result: &str| SetActionConfiguration {
        plugin_id: PLUGIN_ID.into(),
        action_id: VOLUME.into(),
        action_instance_id: "dial-1".into(),
        form_result: form_result.into(),
    };
    assert_eq!(
        result(client.set_plugin_action_configuration(submit(r#"{"step":5}"#))),
        Ok(None)
    );
    let bad = result(client.set_plugin_action_configuration(submit(r#"{"step":50}"#)));
    assert_eq!(refused_code(bad), ResponseCode::InvalidArg);
}

#[test]
fn login_and_logout_reach_the_plugin_and_bring_back_its_answer() {
    let (_host, _data, client) = host_and_client();
    // The media plugin has no account: it answers both NOT_IMPLEMENTED, and so does the call.
    let login = result(client.invoke_login(PLUGIN_ID));
    assert_eq!(refused_code(login), ResponseCode::NotImplemented);
    let logout = result(client.invoke_logout(PLUGIN_ID, "someone"));
    assert_eq!(refused_code(logout), ResponseCode::NotImplemented);
}

#[test]
fn set_visibility_gives_one_result_per_change_in_order() {
    let (host, _data, client) = host_and_client();
    let item = |plugin_id: &str| ControlVisibility {
        plugin_id: plugin_id.into(),
        control_id: TOGGLE_MUTE.into(),
        instance_id: "key-1".into(),
        visible: true,
        configuration: None,
    };
    let results =
        result(client.set_visibility(vec![item(PLUGIN_ID), item("com.example.nobody")])).unwrap();
    let plugins: Vec<&str> = results.iter().map(|r| r.plugin_id.as_str()).collect();
    assert_eq!(plugins, [PLUGIN_ID, "com.example.nobody"]);
    let codes: Vec<ResponseCode> = results
        .iter()
        .map(|r| r.result.as_ref().unwrap().result())
        .collect();
    // The media plugin shows the instance; the other plugin does not exist.
    assert_eq!(codes, [ResponseCode::Success, ResponseCode::NotFound]);
    let view = host.view(PLUGIN_ID).unwrap();
    assert!(view.is_visible(TOGGLE_MUTE, "key-1"));
}

#[test]
fn development_mode_is_read_and_switched() {
    let (host, _data, client) = host_and_client();
    assert_eq!(result(client.development_mode()), Ok(false));
    result(client.set_development_mode(true)).unwrap();
    assert_eq!(result(client.development_mode()), Ok(true));
    assert!(host.development_mode());
}

#[test]
fn a_language_change_reconnects_the_plugins_with_the_new_language() {
    let (host, _data, client) = host_and_client();
    let events = host.subscribe();
    result(client.set_language_changed("de-DE")).unwrap();
    until(
        &events,
        |e| matches!(e, HostEvent::Connected { plugin_id, .. } if plugin_id == PLUGIN_ID),
    );
    assert_eq!(host.language(), "de-DE");
    let pressed = result(client.invoke(press("key-1"))).unwrap();
    assert_eq!(cell_text(&pressed), "Stumm");
    let bad = result(client.set_language_changed("de DE; rm"));
    assert_eq!(refused_code(bad), ResponseCode::InvalidArg);
}

#[cfg(unix)]
#[test]
fn install_and_remove_through_the_client_library_with_their_events() {
    let (host, data, client) = host_and_client();
    let archive = data.path().join("script.zip");
    let package = script_package("#!/bin/sh\nexec sleep 30\n");
    std::fs::write(&archive, package.to_zip().unwrap()).unwrap();
    // Unsigned: refused until development mode is on.
    let refused = result(client.install_plugin("com.example.script", &archive));
    assert_eq!(refused_code(refused), ResponseCode::Unauthorized);
    let failed = event(&client, |e| match e {
        LibraryEvent::Installation(notice) => Some(notice.event()),
        _ => None,
    });
    assert_eq!(failed, PluginInstallationEvent::InstallationFailed);
    result(client.set_development_mode(true)).unwrap();
    result(client.install_plugin("com.example.script", &archive)).unwrap();
    let completed = event(&client, |e| match e {
        LibraryEvent::Installation(notice) => Some(notice),
        _ => None,
    });
    assert_eq!(
        completed.event(),
        PluginInstallationEvent::InstallationCompleted
    );
    assert_eq!(completed.plugin_id, "com.example.script");
    let available = event(&client, |e| match e {
        LibraryEvent::PluginAvailable(details) => Some(details),
        _ => None,
    });
    assert_eq!(available.plugin_id, "com.example.script");
    assert_eq!(host.plugins().len(), 2);

    result(client.remove_plugin("com.example.script")).unwrap();
    let removed = event(&client, |e| match e {
        LibraryEvent::PluginRemoved(plugin_id) => Some(plugin_id),
        _ => None,
    });
    assert_eq!(removed, "com.example.script");
    assert_eq!(host.plugins().len(), 1);
}

#[test]
fn the_plugin_list_is_localized_with_the_manifest_file() {
    let (host, _data, client) = host_and_client();
    let german = "Script: Skript\nA script: Ein Skript\n";
    let package = common::script_package_files(
        "#!/bin/sh\nexec sleep 30\n",
        serde_json::json!({ "futureField": 1 }),
        &[("localization/de-DE.yaml", german)],
    );
    host.set_development_mode(true);
    smol::block_on(host.install(&package.to_zip().unwrap())).unwrap();
    host.set_language("de-DE").unwrap();
    let plugins = result(client.plugin_list()).unwrap();
    let script = plugins
        .iter()
        .find(|plugin| plugin.plugin_id == "com.example.script")
        .unwrap();
    assert_eq!(script.name, "Skript");
    assert_eq!(script.description, "Ein Skript");
    let manifest: serde_json::Value =
        serde_json::from_str(script.manifest_json.as_deref().unwrap()).unwrap();
    assert_eq!(manifest["name"], "Skript");
    // The file as the package holds it: a field this manager does not know is kept.
    assert_eq!(manifest["futureField"], 1);
    // A CORE plugin has no manifest file.
    let media = plugins.iter().find(|p| p.plugin_id == PLUGIN_ID).unwrap();
    assert_eq!(media.manifest_json, None);
}

#[test]
fn a_package_holding_another_plugin_than_named_is_refused_invalid_arg() {
    let (_host, data, client) = host_and_client();
    let archive = data.path().join("script.zip");
    std::fs::write(&archive, script_package("#!/bin/sh\n").to_zip().unwrap()).unwrap();
    let refused = result(client.install_plugin("com.example.other", &archive));
    assert_eq!(refused_code(refused), ResponseCode::InvalidArg);
    let missing = result(client.install_plugin("", &data.path().join("nothing.zip")));
    assert_eq!(refused_code(missing), ResponseCode::NoSuchPath);
}

#[test]
fn a_status_a_plugin_sends_on_its_own_reaches_the_client_as_action_state_changed() {
    let (host, _data) = host_with(|_| {});
    host.add_external(media_manifest(), "the external code")
        .unwrap();
    let client = client_of(&host);
    let mut config = ClientConfig::new(PLUGIN_ID, VERSION, "the external code");
    config.endpoint = Endpoint::Local(host.endpoint().to_path_buf());
    let (plugin, runner) = PluginClient::new(config);
    smol::spawn(runner).detach();
    let available = event(&client, |e| match e {
        LibraryEvent::PluginAvailable(details) => Some(details),
        _ => None,
    });
    assert!(available.connected);
    let status = ActionCellStatus {
        action_instance_id: "key-3".into(),
        action_id: TOGGLE_MUTE.into(),
        text: Some("Busy".into()),
        ..ActionCellStatus::default()
    };
    within(plugin.send_message(status)).unwrap();
    let changed = event(&client, |e| match e {
        LibraryEvent::ActionStateChanged(result) => Some(result),
        _ => None,
    });
    assert_eq!(changed.plugin_id, PLUGIN_ID);
    assert_eq!(cell_text(&changed), "Busy");
}

#[test]
fn the_client_library_reconnects_after_the_manager_restarts() {
    let (host, data) = host_with(|_| {});
    let endpoint = host.endpoint().to_path_buf();
    let client = client_of(&host);
    within(host.shutdown());
    drop(host);
    event(&client, |e| {
        matches!(e, LibraryEvent::Disconnected(_)).then_some(())
    });
    assert!(matches!(
        result(client.plugin_list()),
        Err(CallError::NotConnected)
    ));
    let (_again, _data) = host_with(|config| {
        config.data_dir = data.path().to_path_buf();
        config.endpoint = endpoint;
    });
    event(&client, |e| {
        matches!(e, LibraryEvent::CommunicationEstablished(_)).then_some(())
    });
    assert_eq!(result(client.plugin_list()), Ok(Vec::new()));
}

#[test]
fn the_websocket_listener_refuses_the_client_library_unauthorized() {
    let (host, _data) = host_with(|config| config.websocket = Some(([127, 0, 0, 1], 0).into()));
    let mut options = LibraryOptions::new("A web page", "1.0");
    options.endpoint = Endpoint::WebSocket(format!("ws://{}", host.websocket_addr().unwrap()));
    let (client, runner) = PluginManagerClient::connect(options);
    smol::spawn(runner).detach();
    let stopped = event(&client, |e| match e {
        LibraryEvent::Stopped(reason) => Some(reason),
        _ => None,
    });
    match stopped {
        logi_plugin_core::session::CloseReason::HelloRefusedByPeer { code, .. } => {
            assert_eq!(code, ResponseCode::Unauthorized);
        }
        other => panic!("{other:?}"),
    }
    assert!(!client.connected());
}
