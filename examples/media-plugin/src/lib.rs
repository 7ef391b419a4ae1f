//! An example Logi plugin, written with the SDK as a plugin author would: "Media keys".
//!
//! - an action, `toggle_mute`, answered with the cell's new text;
//! - an analog control, `volume`, buffered by the manager's throughput buffer, answered with its
//!   value;
//! - settings: `muted`, `volume` and `step` are stored with the manager, and restored from the
//!   `SavedData` it sends after each hello;
//! - a configuration schema for the dial (`package/schema/volume.json`): the form's `step` is
//!   how many percent one notch turns;
//! - two localizations (`package/localization/`), used for the manifest by the host and for the
//!   status texts by the plugin, in the language the manager's hello names.
//!
//! [`MediaPlugin`] is the plugin's logic, with no IO; [`run`] binds it to a [`PluginClient`].
//! The package folder holds everything but the executable, which the packer adds at the
//! manifest's `programPath` ([`PROGRAM_PATH`]).

use std::path::PathBuf;
use std::time::Duration;

use logi_plugin_core::manifest::localization::Localizations;
use logi_plugin_core::proto::plugin::update_analog_control::UpdateType;
use logi_plugin_core::proto::plugin::{
    ActionCellStatus, AnalogControlStatus, LogEvent, ManagerHello,
    PluginActionConfigurationSchemeResponse, SavedData, Settings, log_event::LogLevel,
};
use logi_plugin_core::session::Reply;
use logi_plugin_core::{Message, ResponseCode};
use logi_plugin_transports::{ClientConfig, ClientError, ClientEvent, PluginClient};

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

/// The plugin's state.
#[derive(Debug)]
pub struct MediaPlugin {
    muted: bool,
    volume: f32,
    step: f32,
    language: String,
    localizations: Localizations,
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

    /// Answers a request of the manager; the settings that changed go to `store`.
    pub fn answer(&mut self, message: &Message, store: &mut Vec<Settings>) -> Reply {
        match message {
            Message::TriggerAction(trigger) if trigger.action_id == TOGGLE_MUTE => {
                self.muted = !self.muted;
                store.push(setting("muted", self.muted));
                let text = self.translate(if self.muted { "Muted" } else { "Sound on" });
                Reply::Message(Message::from(ActionCellStatus {
                    action_instance_id: trigger.action_instance_id.clone(),
                    action_id: trigger.action_id.clone(),
                    text: Some(text),
                    ..ActionCellStatus::default()
                }))
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
                self.volume_status(&update.instance_id)
            }
            Message::GetAnalogControlValue(get) if get.analog_control_id == VOLUME => {
                self.volume_status(&get.instance_id)
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

    fn volume_status(&self, instance_id: &str) -> Reply {
        Reply::Message(Message::from(AnalogControlStatus {
            analog_control_id: VOLUME.into(),
            analog_control_instance_id: instance_id.into(),
            min_value: Some(0.0),
            max_value: Some(100.0),
            current_value: Some(self.volume),
            text: Some(format!("{} {:.0}%", self.translate("Volume"), self.volume)),
            ..AnalogControlStatus::default()
        }))
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
    logi_plugin_transports::block_on(smol::future::zip(runner, run(client)));
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
