//! A mock host for a plugin's tests (feature `mock`): the plugin runs in the test's process
//! against an in-process manager on the memory transport, over the real protocol (hello,
//! settings with versions, logs, statuses), and the test presses, turns, shows, hides and
//! configures it, then reads back what it answered, stored and logged. No daemon, no device.
//!
//! ```
//! # #[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
//! # struct Counter { count: i64 }
//! # struct Count;
//! # impl logi_plugin_sdk::plugin::Action<Counter> for Count {
//! #     const ID: &'static str = "count";
//! #     fn key_down(&mut self, cx: &mut logi_plugin_sdk::plugin::Cx<'_, Counter>) -> logi_plugin_sdk::plugin::Status {
//! #         cx.settings.count += 1;
//! #         logi_plugin_sdk::plugin::Status::text(cx.settings.count.to_string())
//! #     }
//! # }
//! use logi_plugin_sdk::mock::MockHost;
//! use logi_plugin_sdk::plugin::Plugin;
//!
//! let host = MockHost::start(Plugin::<Counter>::new("com.example.counter", "1.0.0").action(Count));
//! assert_eq!(host.press("count", "key-1").text.as_deref(), Some("1"));
//! assert_eq!(host.settings::<Counter>().count, 1);
//! ```
//!
//! Time is the machine's: the session's heartbeat and a control's timer buffer run on real
//! timers, so a test of a timer buffer waits for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_executor::Executor;
use logi_plugin_core::proto::plugin::update_analog_control::UpdateType;
use logi_plugin_core::proto::plugin::{
    LogEvent, PluginActionConfigurationResponse, ReleaseAction, SavedData, Settings, TriggerAction,
    UpdateAnalogControl, VisibilityChanged,
};
use logi_plugin_core::session::{Event, ManagerConfig, Peer, PluginRegistry, Reply};
use logi_plugin_core::{Message, ResponseCode};
use logi_plugin_transports::lock::lock;
use logi_plugin_transports::{ManagerConnection, ManagerListener, block_on};

use crate::client::ClientConfig;
use crate::plugin::{PLUGIN_SETTING, Plugin, PluginSettings};

/// The secret the mock host gives the plugin.
const CODE: &str = "mock";
/// How long a call waits for the plugin's answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// What the plugin answered a request.
#[derive(Clone, Debug, PartialEq)]
pub struct Answered {
    /// The answer's code: `SUCCESS`, or why the plugin refused.
    pub code: ResponseCode,
    /// The refusal's description (empty on success).
    pub why: String,
    /// The text of the status it answered with, if any.
    pub text: Option<String>,
    /// A control's value in that status, if any.
    pub value: Option<f32>,
    /// The message it answered with, if any.
    pub message: Option<Message>,
}

/// What the mock manager keeps: settings with their versions, and what the plugin sent.
#[derive(Default)]
struct Kept {
    settings: HashMap<String, (String, u32)>,
    logs: Vec<String>,
    statuses: Vec<Message>,
}

/// An in-process manager running one plugin. Dropping it stops the plugin.
pub struct MockHost {
    executor: Arc<Executor<'static>>,
    connection: ManagerConnection,
    kept: Arc<Mutex<Kept>>,
    _tasks: Vec<async_executor::Task<()>>,
}

/// Admits the one plugin with the mock's code.
struct Registry(String);

impl PluginRegistry for Registry {
    fn plugin_code(&self, plugin_id: &str) -> Option<String> {
        (plugin_id == self.0).then(|| CODE.to_string())
    }
}

impl MockHost {
    /// Starts `plugin` against the mock manager, with no settings stored; returns once it has
    /// said hello.
    pub fn start<S: PluginSettings>(plugin: Plugin<S>) -> MockHost {
        MockHost::start_with(plugin, [])
    }

    /// Starts `plugin` with `settings` (name and value) already stored, as a manager that ran
    /// it before would have them.
    pub fn start_with<S: PluginSettings>(
        plugin: Plugin<S>,
        settings: impl IntoIterator<Item = (String, String)>,
    ) -> MockHost {
        let executor = Arc::new(Executor::new());
        let kept = Arc::new(Mutex::new(Kept::default()));
        lock(&kept).settings = settings
            .into_iter()
            .map(|(name, value)| (name, (value, 1)))
            .collect();
        let plugin_id = plugin.plugin_id().to_string();
        let registry = Arc::new(Registry(plugin_id.clone()));
        let mut listener = ManagerListener::new(ManagerConfig::new(registry, "mock host"));
        let mut config = ClientConfig::new(&plugin_id, plugin.version(), CODE);
        config.connector = Some(listener.memory_connector().into());
        let mut tasks = vec![executor.spawn(plugin.serve(config))];
        let (connection, driver) = block_on(executor.run(listener.accept()))
            .expect("the memory transport accepts the plugin");
        tasks.push(executor.spawn(async move {
            let _ = driver.await;
        }));
        let hello = block_on(executor.run(connection.next_event()));
        assert!(
            matches!(hello, Some(Event::Connected(Peer::Plugin(_)))),
            "the plugin said no hello: {hello:?}"
        );
        let saved = SavedData {
            settings: lock(&kept)
                .settings
                .iter()
                .map(|(name, (value, version))| stored(name, value, *version))
                .collect(),
        };
        block_on(executor.run(connection.notify(saved))).expect("the session is open");
        tasks.push(executor.spawn(serve(connection.clone(), kept.clone())));
        MockHost {
            executor,
            connection,
            kept,
            _tasks: tasks,
        }
    }

    /// Sends the plugin a request and waits for its answer.
    pub fn request(&self, message: impl Into<Message>) -> Answered {
        let message = message.into();
        let answer = block_on(
            self.executor
                .run(self.connection.request(message, ANSWER_TIMEOUT)),
        )
        .expect("the plugin answers within 10 s");
        let (text, value) = match &answer.message {
            Some(Message::ActionCellStatus(status)) => (status.text.clone(), None),
            Some(Message::AnalogControlStatus(status)) => {
                (status.text.clone(), status.current_value)
            }
            _ => (None, None),
        };
        Answered {
            code: answer.response.result(),
            why: answer.response.what,
            text,
            value,
            message: answer.message,
        }
    }

    /// Presses the action's key (down, then up): the answer to the key going down.
    pub fn press(&self, action_id: &str, instance_id: &str) -> Answered {
        let down = self.request(TriggerAction {
            action_instance_id: instance_id.into(),
            action_id: action_id.into(),
            configuration: None,
        });
        let up = self.request(ReleaseAction {
            action_instance_id: instance_id.into(),
            action_id: action_id.into(),
            configuration: None,
        });
        if down.code == ResponseCode::Success {
            assert_eq!(
                up.code,
                ResponseCode::Success,
                "the key's release: {}",
                up.why
            );
        }
        down
    }

    /// Turns the control by `delta` steps.
    pub fn turn(&self, control_id: &str, instance_id: &str, delta: f32) -> Answered {
        self.request(UpdateAnalogControl {
            analog_control_id: control_id.into(),
            instance_id: instance_id.into(),
            configuration: None,
            update_type: Some(UpdateType::Delta(delta)),
        })
    }

    /// Shows an instance of the action or control `id`.
    pub fn show(&self, id: &str, instance_id: &str) -> Answered {
        self.visibility(id, instance_id, true)
    }

    /// Hides an instance of the action or control `id`.
    pub fn hide(&self, id: &str, instance_id: &str) -> Answered {
        self.visibility(id, instance_id, false)
    }

    fn visibility(&self, id: &str, instance_id: &str, visible: bool) -> Answered {
        self.request(VisibilityChanged {
            control_id: id.into(),
            action_instance_id: instance_id.into(),
            visible,
            configuration: None,
        })
    }

    /// Submits the configuration form of an instance of the action or control `id`.
    pub fn configure(&self, id: &str, instance_id: &str, form: serde_json::Value) -> Answered {
        self.request(PluginActionConfigurationResponse {
            action_instance_id: instance_id.into(),
            action_id: id.into(),
            form_result: form.to_string(),
        })
    }

    /// A setting as the manager holds it.
    pub fn setting(&self, name: &str) -> Option<String> {
        lock(&self.kept)
            .settings
            .get(name)
            .map(|(value, _)| value.clone())
    }

    /// The plugin's settings as the manager holds them.
    pub fn settings<S: PluginSettings>(&self) -> S {
        self.setting(PLUGIN_SETTING)
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default()
    }

    /// Changes a setting behind the plugin's back, as another copy of it would.
    pub fn set_setting(&self, name: &str, value: impl Into<String>) {
        let mut kept = lock(&self.kept);
        let version = kept.settings.get(name).map_or(0, |(_, version)| *version);
        kept.settings
            .insert(name.into(), (value.into(), version + 1));
    }

    /// The lines the plugin logged, in order.
    pub fn logs(&self) -> Vec<String> {
        // What it logged is sent beside its answers: let it arrive.
        block_on(
            self.executor
                .run(async_io::Timer::after(Duration::from_millis(20))),
        );
        lock(&self.kept).logs.clone()
    }

    /// The statuses the plugin sent on its own, in order.
    pub fn statuses(&self) -> Vec<Message> {
        lock(&self.kept).statuses.clone()
    }
}

impl Drop for MockHost {
    fn drop(&mut self) {
        self.connection.close();
    }
}

/// A stored setting as the manager sends it.
fn stored(name: &str, value: &str, version: u32) -> Settings {
    Settings {
        setting_name: name.into(),
        setting_value: value.into(),
        version: Some(version),
        if_version: None,
    }
}

/// The mock manager: answers the plugin's requests and keeps what it sends.
async fn serve(connection: ManagerConnection, kept: Arc<Mutex<Kept>>) {
    while let Some(event) = connection.next_event().await {
        match event {
            Event::Request { id, message } => {
                let reply = answer(&kept, message);
                let _ = connection.respond(id, reply).await;
            }
            Event::Notification { message } => keep(&kept, message),
            Event::Closed(_) => break,
            _ => {}
        }
    }
}

fn answer(kept: &Mutex<Kept>, message: Message) -> Reply {
    let mut kept = lock(kept);
    match message {
        Message::Settings(write) => {
            let current = kept.settings.get(&write.setting_name).map(|(_, v)| *v);
            let current_version = current.unwrap_or(0);
            if let Some(expected) = write.if_version
                && expected != current_version
            {
                let why = format!(
                    "setting {:?} is at version {current_version}, not {expected}",
                    write.setting_name
                );
                return Reply::Error(ResponseCode::Conflict, why);
            }
            let version = current_version + 1;
            let value = (write.setting_value.clone(), version);
            kept.settings.insert(write.setting_name.clone(), value);
            Reply::Message(stored(&write.setting_name, &write.setting_value, version).into())
        }
        Message::SettingsRequest(request) => match kept.settings.get(&request.setting_name) {
            Some((value, version)) => {
                Reply::Message(stored(&request.setting_name, value, *version).into())
            }
            None => Reply::Error(ResponseCode::NotFound, "never stored".into()),
        },
        Message::LogEvent(log) => {
            kept.logs.push(log_line(&log));
            Reply::Ok
        }
        other => Reply::Error(
            ResponseCode::NotImplemented,
            format!(
                "the mock host does not handle {}",
                other.message_type().full_name()
            ),
        ),
    }
}

fn keep(kept: &Mutex<Kept>, message: Message) {
    let mut kept = lock(kept);
    match message {
        Message::LogEvent(log) => kept.logs.push(log_line(&log)),
        status @ (Message::ActionCellStatus(_) | Message::AnalogControlStatus(_)) => {
            kept.statuses.push(status);
        }
        _ => {}
    }
}

fn log_line(log: &LogEvent) -> String {
    format!("{}: {}", log.log_level().as_str_name(), log.message)
}
