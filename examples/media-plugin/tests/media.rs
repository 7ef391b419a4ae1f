//! The media plugin on the mock host (an in-process manager, no daemon): what its key and its
//! dial show, the dial's configuration form, the typed settings it keeps, and a volume changed
//! behind its back; and a press while the manager asked the plugin to slow down.

use std::sync::Arc;
use std::time::{Duration, Instant};

use logi_example_media::{Dial, PLUGIN_ID, Sound, TOGGLE_MUTE, VERSION, VOLUME, plugin};
use logi_plugin_core::Message;
use logi_plugin_core::proto::plugin::{
    GetAnalogControlValue, PluginActionConfigurationSchemeRequest, RetryAfter, TriggerAction,
    UpdateAnalogControl, VisibilityChanged, update_analog_control::UpdateType,
};
use logi_plugin_core::session::{Admission, Event, ManagerConfig, PluginRegistry};
use logi_plugin_sdk::ClientConfig;
use logi_plugin_sdk::mock::MockHost;
use logi_plugin_sdk::plugin::ResponseCode;
use logi_plugin_transports::{ManagerConnection, ManagerListener};
use serde_json::json;

/// The plugin started with `settings` (name, JSON) as a manager that ran it before holds them.
fn media(settings: &[(&str, &str)]) -> MockHost {
    let settings = settings.iter().map(|(n, v)| (n.to_string(), v.to_string()));
    MockHost::start_with(plugin(), settings)
}

/// A dial instance's settings as the manager holds them.
fn dial(host: &MockHost, instance_id: &str) -> Option<Dial> {
    let json = host.setting(&format!("instance/{instance_id}"))?;
    Some(serde_json::from_str(&json).unwrap())
}

#[test]
fn a_press_mutes_the_next_brings_the_sound_back() {
    let host = media(&[]);
    assert_eq!(
        host.press(TOGGLE_MUTE, "key-1").text.as_deref(),
        Some("Muted")
    );
    assert!(host.settings::<Sound>().muted);
    assert_eq!(
        host.press(TOGGLE_MUTE, "key-1").text.as_deref(),
        Some("Sound on")
    );
    assert!(!host.settings::<Sound>().muted);
}

#[test]
fn the_dial_turns_the_volume_from_50_a_percent_a_notch_within_0_to_100() {
    let host = media(&[]);
    let turned = host.turn(VOLUME, "dial-1", 5.0);
    assert_eq!(turned.text.as_deref(), Some("Volume 55%"));
    assert_eq!(turned.value, Some(55.0));
    assert_eq!(host.turn(VOLUME, "dial-1", -500.0).value, Some(0.0));
    assert_eq!(host.turn(VOLUME, "dial-1", 500.0).value, Some(100.0));
    assert_eq!(host.settings::<Sound>().volume, 100.0);
}

#[test]
fn the_dial_set_to_a_value_shows_that_value() {
    let host = media(&[]);
    let set = host.request(UpdateAnalogControl {
        analog_control_id: VOLUME.into(),
        instance_id: "dial-1".into(),
        configuration: None,
        update_type: Some(UpdateType::Value(72.0)),
    });
    assert_eq!(set.text.as_deref(), Some("Volume 72%"));
    assert_eq!(host.settings::<Sound>().volume, 72.0);
}

#[test]
fn the_dials_status_gives_its_range_and_value_when_asked() {
    let host = media(&[("plugin", r#"{"muted":false,"volume":30.0}"#)]);
    let asked = host.request(GetAnalogControlValue {
        analog_control_id: VOLUME.into(),
        instance_id: "dial-1".into(),
        configuration: None,
    });
    let Some(Message::AnalogControlStatus(status)) = asked.message else {
        panic!("expected the dial's status, got {asked:?}");
    };
    assert_eq!(status.current_value, Some(30.0));
    assert_eq!(
        (status.min_value, status.max_value),
        (Some(0.0), Some(100.0))
    );
    assert_eq!(status.text.as_deref(), Some("Volume 30%"));
}

#[test]
fn what_is_shown_is_answered_with_its_status_and_a_hide_with_nothing() {
    let host = media(&[("plugin", r#"{"muted":true,"volume":20.0}"#)]);
    assert_eq!(
        host.show(TOGGLE_MUTE, "key-1").text.as_deref(),
        Some("Muted")
    );
    assert_eq!(
        host.show(VOLUME, "dial-1").text.as_deref(),
        Some("Volume 20%")
    );
    let hidden = host.hide(VOLUME, "dial-1");
    assert_eq!((hidden.code, hidden.message), (ResponseCode::Success, None));
}

#[test]
fn the_dial_has_a_configuration_form_and_the_key_has_none() {
    let host = media(&[]);
    let scheme = |action_id: &str, analog_control_id: &str| {
        host.request(PluginActionConfigurationSchemeRequest {
            action_id: action_id.into(),
            analog_control_id: analog_control_id.into(),
            action_instance_id: "instance-1".into(),
            ..PluginActionConfigurationSchemeRequest::default()
        })
    };
    let Some(Message::PluginActionConfigurationSchemeResponse(form)) = scheme("", VOLUME).message
    else {
        panic!("the dial has no form");
    };
    let schema: serde_json::Value = serde_json::from_str(&form.json_schema.unwrap()).unwrap();
    assert_eq!(schema["title"], "Volume dial");
    assert_eq!(schema["properties"]["step"]["maximum"], 10);
    assert_eq!(scheme(TOGGLE_MUTE, "").code, ResponseCode::NotImplemented);
}

#[test]
fn a_submitted_step_is_kept_for_that_dial_and_sets_how_far_a_notch_turns() {
    let host = media(&[]);
    let submitted = host.configure(VOLUME, "dial-1", json!({ "step": 5 }));
    assert_eq!(submitted.code, ResponseCode::Success, "{}", submitted.why);
    assert_eq!(dial(&host, "dial-1"), Some(Dial { step: 5 }));
    assert_eq!(
        host.turn(VOLUME, "dial-1", 1.0).text.as_deref(),
        Some("Volume 55%")
    );
    // Another dial keeps its own step: one percent a notch.
    assert_eq!(
        host.turn(VOLUME, "dial-2", 1.0).text.as_deref(),
        Some("Volume 56%")
    );
    assert_eq!(dial(&host, "dial-2"), None);
}

#[test]
fn a_step_out_of_range_is_refused_naming_the_field_and_the_value() {
    let host = media(&[]);
    for (form, shown) in [
        (json!({ "step": 50 }), "got 50"),
        (json!({ "step": 2.5 }), "got 2.5"),
        (json!({}), "got nothing"),
    ] {
        let refused = host.configure(VOLUME, "dial-1", form);
        assert_eq!(refused.code, ResponseCode::InvalidArg);
        assert!(refused.why.contains("`step`"), "{}", refused.why);
        assert!(refused.why.contains(shown), "{}", refused.why);
    }
    assert_eq!(dial(&host, "dial-1"), None);
}

#[test]
fn the_settings_the_manager_kept_are_taken_back() {
    let host = media(&[
        ("plugin", r#"{"muted":true,"volume":40.0}"#),
        ("instance/dial-1", r#"{"step":10}"#),
    ]);
    assert_eq!(
        host.turn(VOLUME, "dial-1", 2.0).text.as_deref(),
        Some("Volume 60%")
    );
    assert_eq!(
        host.press(TOGGLE_MUTE, "key-1").text.as_deref(),
        Some("Sound on")
    );
    assert_eq!(
        host.settings::<Sound>(),
        Sound {
            muted: false,
            volume: 60.0
        }
    );
}

#[test]
fn a_volume_changed_elsewhere_meanwhile_is_turned_from_not_clobbered() {
    let host = media(&[]);
    host.press(TOGGLE_MUTE, "key-1");
    // Another copy of the plugin stored a newer sound behind this one's back.
    host.set_setting("plugin", r#"{"muted":true,"volume":70.0}"#);
    assert_eq!(
        host.turn(VOLUME, "dial-1", 1.0).text.as_deref(),
        Some("Volume 71%")
    );
    assert_eq!(
        host.settings::<Sound>(),
        Sound {
            muted: true,
            volume: 71.0
        }
    );
}

#[test]
fn a_configured_step_is_logged() {
    let host = media(&[]);
    host.configure(VOLUME, "dial-1", json!({ "step": 3 }));
    let logs = host.logs();
    assert!(
        logs.iter()
            .any(|line| line == "INFO: dial dial-1 now turns 3% a notch"),
        "{logs:?}"
    );
    assert!(
        logs.iter().all(|line| !line.starts_with("WARN")),
        "{logs:?}"
    );
}

/// A manager that admits the media plugin under the code `code`.
struct Admits;

impl PluginRegistry for Admits {
    fn plugin_code(&self, plugin_id: &str) -> Option<String> {
        (plugin_id == PLUGIN_ID).then(|| "code".to_string())
    }
}

/// The plugin run against a manager of the test's own (the mock host sends no `RetryAfter`),
/// on the memory transport, which asks it to slow down for `window` once it is connected; then
/// `body` drives that manager.
fn throttled_for(window: Duration, body: impl AsyncFnOnce(&ManagerConnection)) {
    let admission = Admission::new(Arc::new(Admits));
    let mut listener = ManagerListener::new(ManagerConfig::new("test"), admission);
    let mut config = ClientConfig::new(PLUGIN_ID, VERSION, "code");
    config.connector = Some(listener.memory_connector().into());
    let _plugin = smol::spawn(plugin().serve(config));
    smol::block_on(async {
        let (manager, driver) = listener.accept().await.unwrap();
        let _driver = smol::spawn(driver);
        while !matches!(manager.next_event().await, Some(Event::Connected(_))) {}
        let interval = window.as_millis() as u32;
        manager.notify(RetryAfter { interval }).await.unwrap();
        body(&manager).await;
    });
}

#[test]
fn a_press_inside_a_retry_after_window_is_refused_at_once_and_changes_nothing() {
    let window = Duration::from_secs(5);
    throttled_for(window, async |manager| {
        let start = Instant::now();
        let press = TriggerAction {
            action_instance_id: "key-1".into(),
            action_id: TOGGLE_MUTE.into(),
            configuration: None,
        };
        let answer = manager.request(press, window).await.unwrap();
        assert!(start.elapsed() < window / 2, "{:?}", start.elapsed());
        assert_eq!(answer.response.result(), ResponseCode::NotReady);
        assert!(answer.response.what.contains("slow down"), "{answer:?}");
        // Unchanged: a key shown now still has the sound on.
        let shown = VisibilityChanged {
            control_id: TOGGLE_MUTE.into(),
            action_instance_id: "key-1".into(),
            visible: true,
            configuration: None,
        };
        let shown = manager.request(shown, window).await.unwrap();
        let Some(Message::ActionCellStatus(status)) = shown.message else {
            panic!("{shown:?}");
        };
        assert_eq!(status.text.as_deref(), Some("Sound on"));
    });
}

#[test]
fn presses_refused_inside_one_retry_after_window_are_logged_once() {
    let window = Duration::from_millis(300);
    throttled_for(window, async |manager| {
        for _ in 0..3 {
            let press = TriggerAction {
                action_instance_id: "key-1".into(),
                action_id: TOGGLE_MUTE.into(),
                configuration: None,
            };
            let answer = manager.request(press, window).await.unwrap();
            assert_eq!(answer.response.result(), ResponseCode::NotReady);
        }
        // The lines are the plugin's own messages, held until the window ends, then sent.
        let deadline = Instant::now() + window + Duration::from_secs(1);
        let mut refusals = 0;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let next = async { manager.next_event().await };
            let timeout = async {
                smol::Timer::after(left).await;
                None
            };
            match smol::future::or(next, timeout).await {
                Some(Event::Notification {
                    message: Message::LogEvent(line),
                }) if line.message.contains("nothing was changed") => refusals += 1,
                Some(_) => {}
                None => break,
            }
        }
        assert_eq!(refusals, 1);
    });
}
