//! The handler API: a plugin as a set of [`Action`]s and [`AnalogControl`]s with typed
//! settings, run by [`Plugin::run`], which owns the executor, the connection, its reconnects
//! and every answer. A counter, whole:
//!
//! ```no_run
//! use logi_plugin_sdk::plugin::{Action, AnalogControl, Cx, Plugin, Status, Turn};
//!
//! #[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
//! struct Counter {
//!     count: i64,
//!     step: i64,
//! }
//!
//! struct Count;
//! impl Action<Counter> for Count {
//!     const ID: &'static str = "count";
//!     fn key_down(&mut self, cx: &mut Cx<'_, Counter>) -> Status {
//!         cx.settings.count += cx.settings.step.max(1);
//!         Status::text(cx.settings.count.to_string())
//!     }
//! }
//!
//! struct Step;
//! impl AnalogControl<Counter> for Step {
//!     const ID: &'static str = "step";
//!     fn turned(&mut self, cx: &mut Cx<'_, Counter>, turn: Turn) -> Status {
//!         cx.settings.step = (cx.settings.step + turn.delta as i64).clamp(1, 100);
//!         Status::text(format!("step {}", cx.settings.step))
//!     }
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     Plugin::new("com.example.counter", "1.0.0").action(Count).control(Step).run()
//! }
//! ```
//!
//! - Every request is answered: a hook returns what to show ([`Status`]), or refuses with a
//!   code; hooks left out answer `NOT_IMPLEMENTED`, and the session is told which requests the
//!   plugin handles, so it refuses the rest itself.
//! - Settings ([`Cx::settings`], [`Cx::instance`]) are stored with the manager before the
//!   answer that shows them leaves: what the user saw is what is kept. A write made from a stale
//!   copy (another instance of the plugin wrote meanwhile) is refused `CONFLICT` by the manager;
//!   the SDK reads the setting again and runs the hook once more on it, and answers `CONFLICT`
//!   if that write is refused too. Hooks should therefore be functions of their settings.
//!   Inside a `RetryAfter` window, when the manager holds back what the plugin sends, a request
//!   whose hook changed settings is refused `NOT_READY` at once (the first in each window
//!   logged): its answer must not wait for the window, and nothing may be shown that is not
//!   stored.
//! - The `log` crate's macros (`log::info!`, ...) reach the manager's log as `LogEvent`s (the
//!   manager notes each connection there, with the language it told the plugin).
//! - The raw [`PluginClient`] stays, for a plugin that wants its own event loop.

mod dispatch;
mod handler;
mod logger;
mod settings;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures_lite::future;
use logi_plugin_core::Message;
use logi_plugin_core::proto::plugin::{Settings, SettingsRequest};
use logi_plugin_core::session::Reply;

use crate::client::{ClientConfig, ClientEvent, PluginClient};
use dispatch::Dispatch;
pub use dispatch::PluginSettings;
pub use handler::{Action, AnalogControl, Buffer, Cx, Image, Login, Refusal, Status, Turn};
pub use logi_plugin_core::ResponseCode;
pub use settings::PLUGIN_SETTING;

/// How long the manager gets to store a setting.
const STORE_TIMEOUT: Duration = Duration::from_secs(5);

/// A plugin: its id and version, its handlers, and its settings of type `S` (`()` for none).
pub struct Plugin<S = ()> {
    plugin_id: String,
    version: String,
    dispatch: Dispatch<S>,
    /// Where its hooks' log lines go, once it runs.
    lines: Option<logger::Lines>,
    /// Until when the manager asked it to slow down (`RetryAfter`).
    throttled_until: Option<Instant>,
    /// Whether a refusal inside the current window was logged: one line per window, since
    /// the lines are held through it and a flood's would all be flushed at its end.
    refusal_logged: bool,
}

impl<S: PluginSettings> Plugin<S> {
    /// A plugin with no handlers yet; `plugin_id` and `version` as in its manifest.
    pub fn new(plugin_id: impl Into<String>, version: impl Into<String>) -> Plugin<S> {
        Plugin {
            plugin_id: plugin_id.into(),
            version: version.into(),
            dispatch: Dispatch::new(),
            lines: None,
            throttled_until: None,
            refusal_logged: false,
        }
    }

    /// The plugin's id.
    pub fn plugin_id(&self) -> &str {
        &self.plugin_id
    }

    /// The plugin's version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Adds the handler of one of the manifest's actions.
    pub fn action(mut self, action: impl Action<S>) -> Plugin<S> {
        self.dispatch.add_action(action);
        self
    }

    /// Adds the handler of one of the manifest's analog controls.
    pub fn control(mut self, control: impl AnalogControl<S>) -> Plugin<S> {
        self.dispatch.add_control(control);
        self
    }

    /// Adds the plugin's account hooks (log in, the token, log out, the users).
    pub fn login(mut self, login: impl Login<S>) -> Plugin<S> {
        self.dispatch.set_login(login);
        self
    }

    /// Runs the plugin as the host launched it (the `token` and `LOGI_PLUGIN_ENDPOINT` it
    /// set), on this thread, until the manager stops it; the `log` macros reach the manager.
    /// Failure when the plugin was not launched by a manager.
    pub fn run(self) -> ExitCode {
        let config = match ClientConfig::from_env(&self.plugin_id, &self.version) {
            Ok(config) => config,
            Err(error) => {
                eprintln!("{}: {error}", self.plugin_id);
                return ExitCode::FAILURE;
            }
        };
        logi_plugin_transports::block_on(self.serve(config));
        ExitCode::SUCCESS
    }

    /// Serves the manager `config` names until it stops the plugin (or [`PluginClient::
    /// disconnect`] is called on the client `serve` made): the future to run on an executor of
    /// your own, or in a test against an in-process manager (`config.connector`).
    pub async fn serve(self, mut config: ClientConfig) {
        config.session.handles = Some(self.dispatch.handles());
        config.control_buffering.extend(self.dispatch.buffering());
        let (client, runner) = PluginClient::new(config);
        future::zip(runner, self.serve_on(client)).await;
    }

    /// Serves on a client made elsewhere, whose runner runs beside this: a host's CORE plugin
    /// (`host.add_core(manifest, |client| plugin().serve_client(client))`). Its controls'
    /// buffering is asked for here; what the plugin does not handle its hooks refuse.
    pub async fn serve_client(self, client: PluginClient) {
        let buffering = self.dispatch.buffering();
        if let Err(error) = client.enable_control_buffering(buffering).await {
            eprintln!("{}: control buffering refused: {error}", self.plugin_id);
        }
        self.serve_on(client).await;
    }

    /// Answers on `client` until it stops, its log lines going to its manager.
    async fn serve_on(mut self, client: PluginClient) {
        let (lines, logs) = logger::install();
        self.lines = Some(lines);
        let forward = async {
            while let Ok(log) = logs.recv().await {
                let _ = client.send_message(log).await;
            }
            // Another plugin started in this process took the log lines over.
            future::pending::<()>().await;
        };
        future::or(self.answer_all(&client), forward).await;
    }

    /// Answers the manager's requests until the client stops.
    async fn answer_all(&mut self, client: &PluginClient) {
        while let Some(event) = client.next_event().await {
            match event {
                ClientEvent::Connected(hello) => self.dispatch.connected(&hello),
                ClientEvent::Throttled { until } => {
                    self.throttled_until = Some(until);
                    self.refusal_logged = false;
                }
                ClientEvent::Notification(Message::SavedData(saved)) => {
                    self.dispatch.saved(&saved);
                }
                ClientEvent::Request { id, message } => {
                    let reply = self.answer(client, &message).await;
                    let _ = client.send_response(id, reply).await;
                }
                ClientEvent::Stopped(_) => break,
                _ => {}
            }
        }
    }

    /// Handles one request, storing what it changed before its answer is given.
    async fn answer(&mut self, client: &PluginClient, message: &Message) -> Reply {
        let mut outcome = self.handle(message);
        let now = client.now();
        if let Some(left) = self
            .throttled_until
            .and_then(|until| until.checked_duration_since(now))
            && !outcome.writes.is_empty()
        {
            // Its writes would be held until the window ends, and with them the answer to the
            // manager's request, which must never wait for the window: refuse the change at
            // once instead, so that nothing is shown that is not stored.
            let why = format!(
                "the manager asked the plugin to slow down for {} ms more: nothing was changed",
                left.as_millis()
            );
            if !std::mem::replace(&mut self.refusal_logged, true) {
                let line = format!("{why} (further refusals in this window are not logged)");
                scoped(self.lines.as_ref(), || log::warn!("{line}"));
            }
            return Reply::Error(ResponseCode::NotReady, why);
        }
        match self.store(client, &outcome.writes).await {
            Stored::All => {}
            Stored::Conflict(name) => {
                // A newer copy is held: read it, and run the hook once more on it.
                self.reread(client, &name).await;
                outcome = self.handle(message);
                match self.store(client, &outcome.writes).await {
                    Stored::All => {}
                    Stored::Conflict(name) => {
                        let why = format!(
                            "setting {name:?} changed again while this was handled: not stored"
                        );
                        return Reply::Error(ResponseCode::Conflict, why);
                    }
                    Stored::Failed(reply) => return reply,
                }
            }
            Stored::Failed(reply) => return reply,
        }
        self.dispatch.commit(outcome.settings);
        outcome.reply
    }

    /// Runs the hook of one request, its log lines going to this plugin.
    fn handle(&mut self, message: &Message) -> dispatch::Outcome<S> {
        scoped(self.lines.as_ref(), || self.dispatch.handle(message))
    }

    /// Stores an outcome's writes, in order, stopping at the first the manager refuses.
    async fn store(&mut self, client: &PluginClient, writes: &[Settings]) -> Stored {
        for write in writes {
            let answer = client
                .send_message_with_callback(write.clone(), STORE_TIMEOUT)
                .await;
            let answer = match answer {
                Ok(answer) => answer,
                Err(error) => {
                    let why = format!("setting {:?} not stored: {error}", write.setting_name);
                    return Stored::Failed(Reply::Error(ResponseCode::Unreachable, why));
                }
            };
            match (answer.response.result(), answer.message) {
                (ResponseCode::Success, Some(Message::Settings(stored))) => {
                    self.dispatch.stored(&stored);
                }
                (ResponseCode::Success, _) => self.dispatch.stored(&Settings {
                    version: Some(write.if_version.unwrap_or_default() + 1),
                    ..write.clone()
                }),
                (ResponseCode::Conflict, _) => {
                    return Stored::Conflict(write.setting_name.clone());
                }
                (code, _) => {
                    let why = format!(
                        "setting {:?} not stored: {}",
                        write.setting_name, answer.response.what
                    );
                    return Stored::Failed(Reply::Error(code, why));
                }
            }
        }
        Stored::All
    }

    /// Reads one setting again from the manager.
    async fn reread(&mut self, client: &PluginClient, name: &str) {
        let request = SettingsRequest {
            setting_name: name.into(),
        };
        if let Ok(answer) = client
            .send_message_with_callback(request, STORE_TIMEOUT)
            .await
            && let Some(Message::Settings(stored)) = answer.message
        {
            self.dispatch.stored(&stored);
        }
    }
}

/// Runs `f` with the lines it logs going to `lines`, the plugin's, once it runs.
fn scoped<R>(lines: Option<&logger::Lines>, f: impl FnOnce() -> R) -> R {
    match lines {
        Some(lines) => logger::scoped(lines, f),
        None => f(),
    }
}

/// How storing an outcome's writes went.
enum Stored {
    All,
    /// The manager holds a newer copy of this setting.
    Conflict(String),
    /// Not stored: the answer to give instead.
    Failed(Reply),
}
