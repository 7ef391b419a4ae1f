//! An example Logi plugin, written with the SDK as a plugin author would: "Media keys".
//!
//! - an action, `toggle_mute`, answered with the cell's new text;
//! - an analog control, `volume`, buffered by the manager's throughput buffer, answered with its
//!   value;
//! - settings: `muted`, `volume` and `step` are stored with the manager, and restored from the
//!   `SavedData` it sends after each hello;
//! - what it is shown (seed 5.13): it keeps the visible instances in a [`View`] and answers a
//!   `VisibilityChanged` (or a list of them, as the manager sends after a reconnect) with the
//!   status of each instance that became visible;
//! - a configuration schema for the dial (`package/schema/volume.json`): the form's `step` is
//!   how many percent one notch turns;
//! - two localizations (`package/localization/`), used for the manifest by the host and for the
//!   status texts by the plugin, in the language the manager's hello names.
//!
//! [`MediaPlugin`] is the plugin's logic, with no IO; [`run`] binds it to a [`PluginClient`].
//! The package folder holds everything but the executable, which the packer adds at the
//! manifest's `programPath` ([`PROGRAM_PATH`]); [`package::packed`] packs it so, as the demo,
//! the tests and the benches install it.

pub mod package;

use std::path::PathBuf;
use std::time::Duration;

use logi_plugin_core::proto::plugin::update_analog_control::UpdateType;
use logi_plugin_core::proto::plugin::{
    ActionCellStatus, AnalogControlStatus, AnalogControlStatusList, LogEvent, ManagerHello,
    PluginActionConfigurationSchemeResponse, SavedData, Settings, VisibilityChanged,
    log_event::LogLevel,
};
use logi_plugin_core::session::Reply;
use logi_plugin_core::view::View;
use logi_plugin_core::{Message, ResponseCode};
use logi_plugin_manifest::localization::Localizations;
use logi_plugin_sdk::{ClientConfig, ClientError, ClientEvent, PluginClient};

/// The plugin's id, as in its manifest.
pub const PLUGIN_ID: &str = "com.logi.example.media";

/// Its version, as in its manifest.
pub const VERSION: &str = "1.0.0";

/// Where the manifest puts the executable on this platform.
pub const PROGRAM_PATH: &str = if cfg!(windows) {
    "bin/media-plugin.exe"
} else {
    "bin/media-plugin"
};

/// The action's id.
pub const TOGGLE_MUTE: &str = "toggle_mute";

/// The analog control's id.
pub const VOLUME: &str = "volume";

const SCHEMA: &str = include_str!("../package/schema/volume.json");
const ENGLISH: &str = include_str!("../package/localization/en-US.yaml");
const GERMAN: &str = include_str!("../package/localization/de-DE.yaml");

/// The package folder: manifest, icons, localizations, schema; not the executable.
pub fn package_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("package")
}

/// The status of an instance just shown: a cell's or a dial's.
enum ShownStatus {
    Action(ActionCellStatus),
    Control(AnalogControlStatus),
}

/// The plugin's state.
#[derive(Debug)]
pub struct MediaPlugin {
    muted: bool,
    volume: f32,
    step: f32,
    language: String,
    localizations: Localizations,
    view: View,
}

impl Default for MediaPlugin {
    fn default() -> Self {
        let files = [("en-US", ENGLISH), ("de-DE", GERMAN)];
        MediaPlugin {
            muted: false,
            volume: 50.0,
            step: 1.0,
            language: "en-US".into(),
            localizations: Localizations::parse(files).expect("the bundled YAML is valid"),
            view: View::new(),
        }
    }
}

impl MediaPlugin {
    /// The manager said hello: from now on, texts are in its language.
    pub fn connected(&mut self, hello: &ManagerHello) {
        if !hello.language_code.is_empty() {
            self.language.clone_from(&hello.language_code);
        }
    }

    /// Takes back the settings the manager kept for us.
    pub fn restore(&mut self, saved: &SavedData) {
        for setting in &saved.settings {
            let value = setting.setting_value.as_str();
            match setting.setting_name.as_str() {
                "muted" => self.muted = value == "true",
                "volume" => self.volume = value.parse().unwrap_or(self.volume),
                "step" => self.step = value.parse().unwrap_or(self.step),
                _ => {}
            }
        }
    }

    /// Whether the sound is off.
    pub fn muted(&self) -> bool {
        self.muted
    }

    /// The volume, 0 to 100.
    pub fn volume(&self) -> f32 {
        self.volume
    }

    /// The instances the manager shows, with their configuration.
    pub fn view(&self) -> &View {
        &self.view
    }

    /// Answers a request of the manager; the settings that changed go to `store`.
    pub fn answer(&mut self, message: &Message, store: &mut Vec<Settings>) -> Reply {
        match message {
            Message::TriggerAction(trigger) if trigger.action_id == TOGGLE_MUTE => {
                self.muted = !self.muted;
                store.push(setting("muted", self.muted));
                Reply::Message(self.mute_status(&trigger.action_instance_id).into())
            }
            // The toggle happens on the press; letting go of the key changes nothing.
            Message::ReleaseAction(release) if release.action_id == TOGGLE_MUTE => Reply::Ok,
            Message::UpdateAnalogControl(update) if update.analog_control_id == VOLUME => {
                self.volume = match update.update_type {
                    Some(UpdateType::Delta(notches)) => self.volume + notches * self.step,
                    Some(UpdateType::Value(value)) => value,
                    None => self.volume,
                }
                .clamp(0.0, 100.0);
                store.push(setting("volume", self.volume));
                Reply::Message(self.volume_status(&update.instance_id).into())
            }
            Message::GetAnalogControlValue(get) if get.analog_control_id == VOLUME => {
                Reply::Message(self.volume_status(&get.instance_id).into())
            }
            Message::VisibilityChanged(change) => {
                self.view.apply(change);
                match self.shown_status(change) {
                    Some(ShownStatus::Action(status)) => Reply::Message(status.into()),
                    Some(ShownStatus::Control(status)) => Reply::Message(status.into()),
                    None => Reply::Ok,
                }
            }
            Message::VisibilityChangedList(list) => {
                let mut answer = AnalogControlStatusList::default();
                for change in &list.visibility {
                    self.view.apply(change);
                    match self.shown_status(change) {
                        Some(ShownStatus::Action(status)) => answer.action_statuses.push(status),
                        Some(ShownStatus::Control(status)) => answer.statuses.push(status),
                        None => {}
                    }
                }
                Reply::Message(answer.into())
            }
            Message::PluginActionConfigurationSchemeRequest(request) => {
                Reply::Message(Message::from(PluginActionConfigurationSchemeResponse {
                    action_id: request.action_id.clone(),
                    analog_control_id: request.analog_control_id.clone(),
                    action_instance_id: request.action_instance_id.clone(),
                    json_schema: (request.analog_control_id == VOLUME).then(|| SCHEMA.into()),
                    ..PluginActionConfigurationSchemeResponse::default()
                }))
            }
            Message::PluginActionConfigurationResponse(form) => {
                match read_step(&form.form_result) {
                    Ok(step) => {
                        self.step = step;
                        store.push(setting("step", step));
                        Reply::Ok
                    }
                    Err(why) => Reply::Error(ResponseCode::InvalidArg, why),
                }
            }
            other => Reply::Error(
                ResponseCode::NotImplemented,
                format!(
                    "{PLUGIN_ID} does not handle {}",
                    other.message_type().full_name()
                ),
            ),
        }
    }

    /// The status of an instance that `change` made visible.
    fn shown_status(&self, change: &VisibilityChanged) -> Option<ShownStatus> {
        let instance_id = &change.action_instance_id;
        match change.control_id.as_str() {
            _ if !change.visible => None,
            TOGGLE_MUTE => Some(ShownStatus::Action(self.mute_status(instance_id))),
            VOLUME => Some(ShownStatus::Control(self.volume_status(instance_id))),
            _ => None,
        }
    }

    fn mute_status(&self, instance_id: &str) -> ActionCellStatus {
        let text = self.translate(if self.muted { "Muted" } else { "Sound on" });
        ActionCellStatus {
            action_instance_id: instance_id.into(),
            action_id: TOGGLE_MUTE.into(),
            text: Some(text),
            ..ActionCellStatus::default()
        }
    }

    fn volume_status(&self, instance_id: &str) -> AnalogControlStatus {
        AnalogControlStatus {
            analog_control_id: VOLUME.into(),
            analog_control_instance_id: instance_id.into(),
            min_value: Some(0.0),
            max_value: Some(100.0),
            current_value: Some(self.volume),
            text: Some(format!("{} {:.0}%", self.translate("Volume"), self.volume)),
            ..AnalogControlStatus::default()
        }
    }

    fn translate(&self, text: &str) -> String {
        self.localizations
            .for_locale(&self.language)
            .map_or(text, |t| t.translate(text))
            .to_string()
    }
}

fn setting(name: &str, value: impl ToString) -> Settings {
    Settings {
        setting_name: name.into(),
        setting_value: value.to_string(),
        ..Settings::default()
    }
}

/// The `step` of the dial's configuration form: 1 to 10.
fn read_step(form: &str) -> Result<f32, String> {
    let value: serde_json::Value =
        serde_json::from_str(form).map_err(|error| format!("the form is not JSON: {error}"))?;
    match value.get("step").and_then(serde_json::Value::as_i64) {
        Some(step @ 1..=10) => Ok(step as f32),
        _ => Err(format!(
            "`step` must be a whole number from 1 to 10, got {}",
            value
                .get("step")
                .map_or("nothing".into(), ToString::to_string)
        )),
    }
}

/// Runs the plugin on `client` until the client stops.
pub async fn run(client: PluginClient) {
    let mut plugin = MediaPlugin::default();
    let _ = client
        .enable_control_buffering([(VOLUME, "throughput")])
        .await;
    while let Some(event) = client.next_event().await {
        match event {
            ClientEvent::Connected(hello) => {
                plugin.connected(&hello);
                let log = LogEvent {
                    log_level: LogLevel::Info.into(),
                    message: format!(
                        "{PLUGIN_ID} {VERSION} connected, language {}",
                        plugin.language
                    ),
                };
                let _ = client.send_message(log).await;
            }
            ClientEvent::Notification(Message::SavedData(saved)) => plugin.restore(&saved),
            ClientEvent::Request { id, message } => {
                let mut store = Vec::new();
                let reply = plugin.answer(&message, &mut store);
                let _ = client.send_response(id, reply).await;
                for setting in store {
                    // Stored as a request, so that a refusal reaches the log.
                    let answer = client
                        .send_message_with_callback(setting, Duration::from_secs(5))
                        .await;
                    if !answer.is_ok_and(|a| a.response.result() == ResponseCode::Success) {
                        let log = LogEvent {
                            log_level: LogLevel::Warning.into(),
                            message: "a setting was not stored".into(),
                        };
                        let _ = client.send_message(log).await;
                    }
                }
            }
            ClientEvent::Stopped(_) => break,
            _ => {}
        }
    }
}

/// The executable's `main`: reads `token` and the endpoint from the environment as the host set
/// them, and runs until the manager refuses us or goes away for good.
pub fn main_from_env() -> Result<(), ClientError> {
    let config = ClientConfig::from_env(PLUGIN_ID, VERSION)?;
    let (client, runner) = PluginClient::new(config);
    // The runner and the plugin's own loop on this one thread: an event reaches `run` without
    // crossing threads, and `block_on` takes a quick answer without parking.
    logi_plugin_sdk::block_on(smol::future::zip(runner, run(client)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use logi_plugin_core::proto::plugin::{ReleaseAction, TriggerAction};

    fn key(action_id: &str) -> (TriggerAction, ReleaseAction) {
        let instance = "cell".to_string();
        let trigger = TriggerAction {
            action_instance_id: instance.clone(),
            action_id: action_id.into(),
            configuration: None,
        };
        let release = ReleaseAction {
            action_instance_id: instance,
            action_id: action_id.into(),
            configuration: None,
        };
        (trigger, release)
    }

    fn show(control_id: &str, instance_id: &str, visible: bool) -> VisibilityChanged {
        VisibilityChanged {
            control_id: control_id.into(),
            action_instance_id: instance_id.into(),
            visible,
            configuration: None,
        }
    }

    #[test]
    fn an_instance_shown_is_answered_with_its_status_and_kept_in_the_view() {
        let mut plugin = MediaPlugin::default();
        let reply = plugin.answer(&show(VOLUME, "dial", true).into(), &mut Vec::new());
        let Reply::Message(Message::AnalogControlStatus(status)) = reply else {
            panic!("expected the dial's status, got {reply:?}");
        };
        assert_eq!(status.current_value, Some(50.0));
        assert!(plugin.view().is_visible(VOLUME, "dial"));
        let hide = plugin.answer(&show(VOLUME, "dial", false).into(), &mut Vec::new());
        assert_eq!(hide, Reply::Ok);
        assert!(plugin.view().is_empty());
    }

    #[test]
    fn a_list_is_answered_with_the_status_of_each_instance_shown() {
        let mut plugin = MediaPlugin::default();
        let list = logi_plugin_core::proto::plugin::VisibilityChangedList {
            visibility: vec![
                show(TOGGLE_MUTE, "gone", false),
                show(TOGGLE_MUTE, "cell", true),
                show(VOLUME, "dial", true),
            ],
        };
        let reply = plugin.answer(&list.into(), &mut Vec::new());
        let Reply::Message(Message::AnalogControlStatusList(answer)) = reply else {
            panic!("expected a status list, got {reply:?}");
        };
        assert_eq!(answer.statuses.len(), 1);
        assert_eq!(answer.action_statuses.len(), 1);
        assert_eq!(answer.action_statuses[0].text.as_deref(), Some("Sound on"));
        assert_eq!(plugin.view().len(), 2);
    }

    #[test]
    fn a_press_toggles_mute_and_letting_go_changes_nothing() {
        let mut plugin = MediaPlugin::default();
        let mut store = Vec::new();
        let (press, release) = key(TOGGLE_MUTE);
        plugin.answer(&press.into(), &mut store);
        assert!(plugin.muted());
        assert_eq!(plugin.answer(&release.into(), &mut store), Reply::Ok);
        assert!(plugin.muted());
        assert_eq!(store.len(), 1);
    }
}
