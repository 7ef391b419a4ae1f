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
//! Time is virtual: the plugin and the mock manager run on a clock that moves only when the
//! test calls [`MockHost::advance`], and each call runs them until nothing is left to do, so
//! nothing happens between calls. A control's timer buffer delivers its merged turns when the
//! test advances past its period, with no real wait; the heartbeat (the manager's `Ping`, the
//! plugin's deadline to hear from it) follows the same clock, so an hour advanced passes in an
//! instant and the plugin stays connected. A turn that a buffer holds is sent with
//! [`MockHost::send_turn`], whose [`Sent::answer`] comes once time has passed:
//!
//! ```
//! # use logi_plugin_sdk::plugin::{AnalogControl, Buffer, Cx, Status, Turn};
//! # struct Knob;
//! # impl AnalogControl<()> for Knob {
//! #     const ID: &'static str = "knob";
//! #     const BUFFER: Buffer = Buffer::Timer;
//! #     fn turned(&mut self, _: &mut Cx<'_, ()>, turn: Turn) -> Status {
//! #         Status::text("turned").with_value(turn.delta)
//! #     }
//! # }
//! use logi_plugin_core::buffer::DEFAULT_TIMER_INTERVAL;
//! use logi_plugin_sdk::mock::MockHost;
//! use logi_plugin_sdk::plugin::Plugin;
//!
//! let host = MockHost::start(Plugin::<()>::new("com.example.knob", "1.0.0").control(Knob));
//! assert_eq!(host.turn("knob", "knob-1", 1.0).value, Some(1.0)); // opens the timer's window
//! let held = host.send_turn("knob", "knob-1", 2.0);
//! assert_eq!(held.answer(), None);
//! host.advance(DEFAULT_TIMER_INTERVAL);
//! assert_eq!(held.answer().unwrap().value, Some(2.0));
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use async_executor::Executor;
use logi_plugin_core::proto::plugin::update_analog_control::UpdateType;
use logi_plugin_core::proto::plugin::{
    LogEvent, PluginActionConfigurationResponse, ReleaseAction, SavedData, Settings, TriggerAction,
    UpdateAnalogControl, VisibilityChanged,
};
use logi_plugin_core::session::{
    Admission, Event, ManagerConfig, Peer, PluginRegistry, Reply, Session, Stats,
};
use logi_plugin_core::{Message, ResponseCode};
use logi_plugin_transports::lock::lock;
use logi_plugin_transports::{
    Answer, Clock, ManagerConnection, ManagerListener, RequestError, VirtualClock,
};

use crate::client::ClientConfig;
use crate::plugin::{PLUGIN_SETTING, Plugin, PluginSettings};

/// The secret the mock host gives the plugin.
const CODE: &str = "mock";
/// How long, in virtual time, the mock manager waits for the plugin's answer to a request.
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

/// A request sent with [`MockHost::send`] or [`MockHost::send_turn`], whose answer may come
/// later: once time is advanced past the buffer window that holds it.
#[derive(Debug)]
pub struct Sent {
    /// The message's type, for a failure to name.
    what: &'static str,
    /// Filled in by the mock manager's driver when the request ends.
    outcome: Arc<Mutex<Option<Result<Answer, RequestError>>>>,
}

impl Sent {
    /// The plugin's answer, once it has given it; `None` while it holds the request.
    ///
    /// # Panics
    ///
    /// When the request ended unanswered: the mock manager gave up waiting (10 s of virtual
    /// time), or the session closed.
    pub fn answer(&self) -> Option<Answered> {
        match lock(&self.outcome).clone()? {
            Ok(answer) => Some(answered(answer)),
            Err(error) => panic!("{} got no answer: {error}", self.what),
        }
    }
}

/// An in-process manager running one plugin on a virtual clock. Dropping it stops the plugin.
pub struct MockHost {
    executor: Executor<'static>,
    clock: VirtualClock,
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
        let executor = Executor::new();
        let clock = VirtualClock::new();
        let kept = Arc::new(Mutex::new(Kept::default()));
        lock(&kept).settings = settings
            .into_iter()
            .map(|(name, value)| (name, (value, 1)))
            .collect();
        let plugin_id = plugin.plugin_id().to_string();
        let registry = Arc::new(Registry(plugin_id.clone()));
        let admission = Admission::new(registry);
        let mut listener = ManagerListener::new(ManagerConfig::new("mock host"), admission)
            .with_clock(Clock::Virtual(clock.clone()));
        let mut config = ClientConfig::new(&plugin_id, plugin.version(), CODE);
        config.connector = Some(listener.memory_connector().into());
        config.clock = Clock::Virtual(clock.clone());
        let mut tasks = vec![executor.spawn(plugin.serve(config))];
        let (connection, driver) = run_until(&executor, listener.accept())
            .expect("the plugin connects")
            .expect("the memory transport accepts the plugin");
        tasks.push(executor.spawn(async move {
            let _ = driver.await;
        }));
        let hello = run_until(&executor, connection.next_event());
        assert!(
            matches!(hello, Some(Some(Event::Connected(Peer::Plugin(_))))),
            "the plugin said no hello: {hello:?}"
        );
        let saved = SavedData {
            settings: lock(&kept)
                .settings
                .iter()
                .map(|(name, (value, version))| stored(name, value, *version))
                .collect(),
        };
        run_until(&executor, connection.notify(saved))
            .expect("the driver takes the settings")
            .expect("the session is open");
        tasks.push(executor.spawn(serve(connection.clone(), kept.clone())));
        let host = MockHost {
            executor,
            clock,
            connection,
            kept,
            _tasks: tasks,
        };
        host.settle();
        host
    }

    /// Sends the plugin a request and waits for its answer.
    ///
    /// # Panics
    ///
    /// When the plugin holds the request (a turn its control's buffer merges into a later
    /// one: use [`send_turn`](Self::send_turn) and [`advance`](Self::advance)), or never
    /// answers it.
    pub fn request(&self, message: impl Into<Message>) -> Answered {
        let sent = self.send(message);
        sent.answer().unwrap_or_else(|| {
            panic!(
                "the plugin has not answered {} and has nothing left to do: its answer waits \
                 for time to pass (a turn held by a buffer: send it with `send_turn`, then \
                 `advance`), or never comes",
                sent.what
            )
        })
    }

    /// Sends the plugin a request and runs it until it has nothing left to do; the answer may
    /// come then, or once time is advanced ([`Sent::answer`]).
    pub fn send(&self, message: impl Into<Message>) -> Sent {
        let message = message.into();
        let sent = Sent {
            what: message.message_type().full_name(),
            outcome: Arc::default(),
        };
        let outcome = sent.outcome.clone();
        let on_answer = move |answer| *lock(&outcome) = Some(answer);
        let sending = self
            .connection
            .request_with_callback(message, ANSWER_TIMEOUT, on_answer);
        if let Err(error) = self.run(sending).expect("the driver takes the request") {
            panic!("{} not sent: {error}", sent.what);
        }
        self.settle();
        sent
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

    /// Turns the control by `delta` steps, and waits for the answer.
    ///
    /// # Panics
    ///
    /// When the control's buffer holds the turn, as a timer buffer does within its window:
    /// use [`send_turn`](Self::send_turn) for those.
    pub fn turn(&self, control_id: &str, instance_id: &str, delta: f32) -> Answered {
        self.request(turn(control_id, instance_id, delta))
    }

    /// Turns the control by `delta` steps; the answer comes at once, or when the control's
    /// buffer delivers the turn (merged with those after it) once time is advanced.
    pub fn send_turn(&self, control_id: &str, instance_id: &str, delta: f32) -> Sent {
        self.send(turn(control_id, instance_id, delta))
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

    /// The lines the plugin logged, in order: every one its hooks logged so far.
    pub fn logs(&self) -> Vec<String> {
        // Each call runs the plugin until it has nothing left to do: what it logged has
        // arrived, with no wait.
        self.settle();
        lock(&self.kept).logs.clone()
    }

    /// The statuses the plugin sent on its own, in order.
    pub fn statuses(&self) -> Vec<Message> {
        self.settle();
        lock(&self.kept).statuses.clone()
    }

    /// The mock manager's counters of its session with the plugin: frames each way (the
    /// heartbeat's among them), requests timed out, malformed or refused messages.
    pub fn stats(&self) -> Stats {
        self.run(self.connection.with(|session, _| session.stats().clone()))
            .expect("the driver answers")
            .expect("the driver is running")
    }

    /// The virtual time now.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Moves virtual time forward by `duration`, one deadline at a time: at each, the plugin
    /// and the mock manager do what it sets off (a ping answered, a buffer's merged turn
    /// handled) before time goes on. Takes no real time.
    pub fn advance(&self, duration: Duration) {
        self.clock.advance(duration, || self.settle());
    }

    /// Runs `future` with the plugin and the mock manager; `None` if they had nothing left to
    /// do before it finished.
    fn run<T>(&self, future: impl Future<Output = T>) -> Option<T> {
        run_until(&self.executor, future)
    }

    /// Runs the plugin and the mock manager until neither has anything left to do: they wait
    /// for the test's next call, or for time to be advanced.
    fn settle(&self) {
        while self.executor.try_tick() {}
    }
}

/// Polls `future` between the tasks of `executor` until it finishes, or until no task is left
/// to run (then it cannot finish before the test acts again): `None`. Everything the mock host
/// runs is on `executor`, woken by in-memory pipes, channels and the virtual clock, so an
/// executor with no task to run is one that waits for the test.
fn run_until<T>(executor: &Executor<'_>, future: impl Future<Output = T>) -> Option<T> {
    let mut future = pin!(future);
    // Polled after every task run: a noop waker, since nothing else would wake it.
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return Some(output);
        }
        if !executor.try_tick() {
            return None;
        }
    }
}

/// A turn of `delta` steps, as the manager sends it.
fn turn(control_id: &str, instance_id: &str, delta: f32) -> UpdateAnalogControl {
    UpdateAnalogControl {
        analog_control_id: control_id.into(),
        instance_id: instance_id.into(),
        configuration: None,
        update_type: Some(UpdateType::Delta(delta)),
    }
}

/// What the plugin answered, as a test reads it.
fn answered(answer: Answer) -> Answered {
    let (text, value) = match &answer.message {
        Some(Message::ActionCellStatus(status)) => (status.text.clone(), None),
        Some(Message::AnalogControlStatus(status)) => (status.text.clone(), status.current_value),
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
