//! The handler API on the mock host: what each hook answers, what it stores, what it logs,
//! and what the plugin refuses without a hook.

use logi_plugin_core::Message;
use logi_plugin_core::proto::plugin::{VisibilityChanged, VisibilityChangedList};
use logi_plugin_sdk::mock::MockHost;
use logi_plugin_sdk::plugin::{
    Action, AnalogControl, Buffer, Cx, Plugin, Refusal, ResponseCode, Status, Turn,
};

/// A key whose instances each keep their own label, set by its configuration form.
struct Labelled;

#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Label {
    text: String,
}

impl Action<()> for Labelled {
    const ID: &'static str = "labelled";

    fn key_down(&mut self, cx: &mut Cx<'_, ()>) -> Status {
        log::info!("pressed {}", cx.instance_id);
        Status::text(cx.instance::<Label>().text.clone())
    }

    fn appeared(&mut self, cx: &mut Cx<'_, ()>) -> Status {
        Status::text(format!("shown in {}", cx.language))
    }

    fn configured(&mut self, cx: &mut Cx<'_, ()>, form: &serde_json::Value) -> Result<(), Refusal> {
        let text = form["label"].as_str().ok_or("`label` must be a string")?;
        cx.instance::<Label>().text = text.into();
        Ok(())
    }
}

/// A dial that shows its value, with no buffer.
struct Dial;

impl AnalogControl<()> for Dial {
    const ID: &'static str = "dial";
    const BUFFER: Buffer = Buffer::None;

    fn turned(&mut self, _: &mut Cx<'_, ()>, turn: Turn) -> Status {
        Status::text("turned")
            .with_value(turn.delta)
            .with_range(-10.0, 10.0)
    }
}

fn labelled() -> MockHost {
    MockHost::start(Plugin::<()>::new("com.example.labels", "1.0.0").action(Labelled))
}

#[test]
fn each_instance_keeps_its_own_settings() {
    let host = labelled();
    let one = serde_json::json!({ "label": "one" });
    assert_eq!(
        host.configure("labelled", "key-1", one).code,
        ResponseCode::Success
    );
    let two = serde_json::json!({ "label": "two" });
    assert_eq!(
        host.configure("labelled", "key-2", two).code,
        ResponseCode::Success
    );
    assert_eq!(host.press("labelled", "key-1").text.as_deref(), Some("one"));
    assert_eq!(host.press("labelled", "key-2").text.as_deref(), Some("two"));
    assert_eq!(
        host.setting("instance/key-1").as_deref(),
        Some(r#"{"text":"one"}"#)
    );
}

#[test]
fn a_form_the_hook_refuses_is_answered_invalid_arg_with_its_reason_and_nothing_is_stored() {
    let host = labelled();
    let answer = host.configure("labelled", "key-1", serde_json::json!({ "label": 3 }));
    assert_eq!(answer.code, ResponseCode::InvalidArg);
    assert_eq!(answer.why, "`label` must be a string");
    assert_eq!(host.setting("instance/key-1"), None);
}

#[test]
fn a_form_that_is_not_json_is_refused_invalid_arg() {
    let host = labelled();
    let answer = host.request(
        logi_plugin_core::proto::plugin::PluginActionConfigurationResponse {
            action_instance_id: "key-1".into(),
            action_id: "labelled".into(),
            form_result: "{not json".into(),
        },
    );
    assert_eq!(answer.code, ResponseCode::InvalidArg);
    assert!(
        answer.why.starts_with("the form is not JSON"),
        "{}",
        answer.why
    );
}

#[test]
fn log_macros_reach_the_managers_log() {
    let host = labelled();
    host.press("labelled", "key-7");
    assert!(
        host.logs().iter().any(|line| line == "INFO: pressed key-7"),
        "{:?}",
        host.logs()
    );
}

#[test]
fn an_action_the_plugin_does_not_have_is_refused_not_found_naming_it() {
    let host = labelled();
    let answer = host.press("missing", "key-1");
    assert_eq!(answer.code, ResponseCode::NotFound);
    assert!(answer.why.contains("\"missing\""), "{}", answer.why);
}

#[test]
fn a_request_no_hook_can_answer_is_refused_not_implemented_by_the_session() {
    // No analog control: the session itself refuses their updates.
    let host = labelled();
    let answer = host.turn("dial", "dial-1", 1.0);
    assert_eq!(answer.code, ResponseCode::NotImplemented);
}

#[test]
fn a_control_answers_with_its_value_and_range() {
    let plugin = Plugin::<()>::new("com.example.dial", "1.0.0").control(Dial);
    let host = MockHost::start(plugin);
    let answer = host.turn("dial", "dial-1", 3.0);
    assert_eq!(answer.value, Some(3.0));
    let Some(Message::AnalogControlStatus(status)) = answer.message else {
        panic!("no control status: {answer:?}");
    };
    assert_eq!(
        (status.min_value, status.max_value),
        (Some(-10.0), Some(10.0))
    );
}

#[test]
fn a_resync_answers_the_status_of_every_instance_it_shows() {
    let host = labelled();
    let shown = |instance: &str, visible| VisibilityChanged {
        control_id: "labelled".into(),
        action_instance_id: instance.into(),
        visible,
        configuration: None,
    };
    let list = VisibilityChangedList {
        visibility: vec![
            shown("key-1", true),
            shown("key-2", false),
            shown("key-3", true),
        ],
    };
    let answer = host.request(list);
    let Some(Message::AnalogControlStatusList(statuses)) = answer.message else {
        panic!("no status list: {answer:?}");
    };
    let instances: Vec<_> = statuses
        .action_statuses
        .iter()
        .map(|status| status.action_instance_id.as_str())
        .collect();
    assert_eq!(instances, ["key-1", "key-3"]);
    assert_eq!(
        statuses.action_statuses[0].text.as_deref(),
        Some("shown in en-US")
    );
}

/// Keeps who is logged in, in the plugin's settings.
struct Account;

#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
struct Users {
    names: Vec<String>,
}

impl logi_plugin_sdk::plugin::Login<Users> for Account {
    fn token(&mut self, cx: &mut Cx<'_, Users>, state: &str, _token: &str) -> Result<(), Refusal> {
        cx.settings.names.push(state.into());
        Ok(())
    }

    fn users(&mut self, cx: &mut Cx<'_, Users>) -> Vec<(String, Option<String>)> {
        cx.settings
            .names
            .iter()
            .map(|name| (name.clone(), None))
            .collect()
    }
}

#[test]
fn the_login_hooks_answer_the_account_requests_and_refuse_what_they_leave_out() {
    use logi_plugin_core::proto::plugin::{GetUserInfoList, InitLogin, OauthResponse};
    let plugin = Plugin::<Users>::new("com.example.account", "1.0.0").login(Account);
    let host = MockHost::start(plugin);
    let token = host.request(OauthResponse {
        state: "ada".into(),
        token: "secret".into(),
        url: String::new(),
    });
    assert_eq!(token.code, ResponseCode::Success);
    let Some(Message::UserInfoList(list)) = host.request(GetUserInfoList {}).message else {
        panic!("no user list");
    };
    assert_eq!(list.user_info[0].username, "ada");
    let login = host.request(InitLogin {
        redirect_url: "http://localhost/done".into(),
    });
    assert_eq!(login.code, ResponseCode::NotImplemented);
}

#[test]
fn a_plugin_without_login_hooks_has_the_session_refuse_a_login() {
    let host = labelled();
    let login = host.request(logi_plugin_core::proto::plugin::InitLogin {
        redirect_url: String::new(),
    });
    assert_eq!(login.code, ResponseCode::NotImplemented);
}
