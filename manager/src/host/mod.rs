//! The plugin manager host: installs packages, launches and supervises plugins as child
//! processes (or runs CORE plugins in-process, or admits EXTERNAL ones), serves their sessions
//! on the local socket (and a loopback WebSocket), keeps their settings, and tells its
//! subscribers what happens.
//!
//! A host application builds one with a [`HostConfig`] and [`Host::start`], then drives it:
//! [`Host::install`], [`Host::add_core`], [`Host::add_external`], [`Host::trigger`],
//! [`Host::turn`], [`Host::plugins`], [`Host::logs`], [`Host::subscribe`], [`Host::shutdown`].
//! Tasks run on smol's global executor; every method can be called from any thread.

mod codes;
mod config;
mod core;
pub(crate) mod data;
#[cfg(target_os = "linux")]
mod descendants;
mod develop;
mod diagnostics;
mod error;
mod event;
mod folder;
mod handle;
mod info;
mod install;
mod installing;
mod library;
mod phases;
mod process;
mod recent;
mod registered;
mod serve;
mod shared;
mod source;
mod stderr;
mod supervision;
mod supervisor;
mod views;

use codes::Codes;
use core::HostCore;
use shared::Shared;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use logi_plugin_core::Message;
use logi_plugin_core::proto::plugin::log_event::LogLevel;
use logi_plugin_core::proto::plugin::update_analog_control::UpdateType;
use logi_plugin_core::proto::plugin::{
    InitLogin, TriggerAction, UpdateAnalogControl, VisibilityChanged,
};
use logi_plugin_core::session::{Admission, ManagerConfig};
use logi_plugin_core::view::View;
use logi_plugin_transports::local::LocalListener;
use logi_plugin_transports::ws::{WsListener, WsOptions};
use logi_plugin_transports::{Answer, ManagerListener};

pub use config::HostConfig;
pub use diagnostics::{Ending, Stage, StopReport};
pub use error::HostError;
pub use event::HostEvent;
pub(crate) use event::message_json;
pub use handle::Host;
pub use info::PluginInfo;
pub use phases::InstallPhases;
pub use recent::{LogLine, RECENT_LOG_LINES, log_line_json, source_name};
pub use source::SourcePackage;

use crate::settings::SettingsStore;
use logi_plugin_transports::lock::lock;

/// A loopback WebSocket listener on `addr`, and the address it got (port 0 picks one).
pub(crate) fn bind_ws(
    addr: SocketAddr,
    options: &WsOptions,
    what: &str,
) -> Result<(WsListener, SocketAddr), HostError> {
    let listener = WsListener::bind(addr, options.clone())?;
    let bound = listener.local_addr().map_err(|source| HostError::Io {
        what: format!("reading the address of the {what} listener on {addr}"),
        source,
    })?;
    Ok((listener, bound))
}

/// Makes the paths of `config` absolute, against the working directory.
fn absolute_paths(config: &mut HostConfig) -> Result<(), HostError> {
    let resolve = |path: &mut PathBuf| {
        *path = std::path::absolute(&*path).map_err(|source| HostError::Io {
            what: format!("resolving the path {}", path.display()),
            source,
        })?;
        Ok::<_, HostError>(())
    };
    resolve(&mut config.data_dir)?;
    resolve(&mut config.endpoint)?;
    config.record_dir.as_mut().map(resolve).transpose()?;
    config.package_source.as_mut().map(resolve).transpose()?;
    Ok(())
}

impl Host {
    /// Opens the data directory and the listeners, and launches the installed plugins. Relative
    /// paths in `config` are resolved against the working directory now, once: plugins run in
    /// their own folders. On Linux the process becomes a child subreaper, so that what a
    /// plugin's program starts and leaves behind comes back to the host to be ended with it.
    pub fn start(mut config: HostConfig) -> Result<Host, HostError> {
        absolute_paths(&mut config)?;
        let data_dir = data::DataDir::open(&config.data_dir)?;
        #[cfg(target_os = "linux")]
        if let Err(error) = descendants::become_subreaper() {
            let message = format!(
                "cannot become a child subreaper ({error}): what plugins start and leave behind \
                 may outlive them"
            );
            config.log.write(None, LogLevel::Warning, &message);
        }
        let database = config.data_dir.join("settings.sqlite3");
        data::owner_only_database(&database)?;
        let settings = SettingsStore::open(&database)?;
        let codes = Arc::<Codes>::default();
        let mut session = ManagerConfig::new(env!("CARGO_PKG_VERSION"));
        session.language_code.clone_from(&config.language);
        session.heartbeat_interval = config.heartbeat_interval;
        session.heartbeat_timeout = config.heartbeat_timeout;
        session.rate_limit = config.rate_limit;
        session.accept_clients = true;
        let mut listener = ManagerListener::new(session, Admission::new(codes.clone()))
            .with_local(LocalListener::bind(&config.endpoint)?);
        let mut websocket = None;
        if let Some(addr) = config.websocket {
            let (ws, bound) = bind_ws(addr, &config.websocket_options, "WebSocket")?;
            websocket = Some(bound);
            listener = listener.with_ws(ws);
        }
        let (closing, closed) = async_channel::bounded(1);
        let (language_tx, language_rx) = async_channel::unbounded();
        let shared = Arc::new(Shared {
            development: AtomicBool::new(config.development),
            language: Mutex::new(config.language.clone()),
            language_tx,
            clients: Mutex::new(Vec::new()),
            lifecycle: smol::lock::Mutex::new(()),
            data_dir: Mutex::new(data_dir),
            config,
            codes,
            settings,
            core: Mutex::new(HostCore::default()),
            memory: listener.memory_connector(),
            websocket,
            accepting: Mutex::new(Vec::new()),
            closing,
            closed,
        });
        let accepting = smol::spawn(serve::accept(shared.clone(), listener, language_rx));
        lock(&shared.accepting).push(accepting);
        let host = Host { shared };
        host.load_installed()?;
        Ok(host)
    }

    /// Events from now on.
    pub fn subscribe(&self) -> async_channel::Receiver<HostEvent> {
        self.watch().1
    }

    /// Every plugin as it is now, and every event after that: nothing falls between the two
    /// (an event may repeat what the snapshot already shows).
    pub fn watch(&self) -> (Vec<PluginInfo>, async_channel::Receiver<HostEvent>) {
        let (tx, rx) = async_channel::unbounded();
        // Changes are made and told under the core's lock: each is in the snapshot or in the
        // channel, never both, never neither.
        let snapshot = self.shared.core(|core| core.subscribe(tx));
        (snapshot, rx)
    }

    /// Every plugin, by id.
    pub fn plugins(&self) -> Vec<PluginInfo> {
        self.shared.core(|core| core.infos())
    }

    /// The plugin `plugin_id`, as the host knows it now.
    pub fn plugin(&self, plugin_id: &str) -> Option<PluginInfo> {
        self.shared
            .core(|core| core.plugin(plugin_id).map(|plugin| plugin.info.clone()))
    }

    /// A listed plugin's recent log, oldest first: its last [`RECENT_LOG_LINES`] lines (its
    /// `LogEvent`s, what its program wrote to stderr, the host's notes about it), kept across
    /// its runs, restarts and reloads until it is removed. Later lines are told as
    /// [`HostEvent::Log`]: subscribe first, then ask, and skip an event whose `seq` is a line
    /// already here, to miss none.
    pub fn logs(&self, plugin_id: &str) -> Result<Vec<LogLine>, HostError> {
        self.shared
            .core(|core| core.recent_log(plugin_id))
            .ok_or_else(|| HostError::UnknownPlugin(plugin_id.into()))
    }

    /// The local socket plugins connect to.
    pub fn endpoint(&self) -> &Path {
        &self.shared.config.endpoint
    }

    /// The WebSocket listener's address, if [`HostConfig::websocket`] asked for one.
    pub fn websocket_addr(&self) -> Option<SocketAddr> {
        self.shared.websocket
    }

    /// How the host was set up.
    pub(crate) fn config(&self) -> &HostConfig {
        &self.shared.config
    }

    /// Writes a line of the host's own to its log.
    pub(crate) fn log_host(&self, level: LogLevel, message: &str) {
        self.shared.config.log.write(None, level, message);
    }

    /// The data directory, where the front-ends keep what they need across restarts (the
    /// owner's credential).
    pub(crate) fn data_dir(&self) -> &Path {
        &self.shared.config.data_dir
    }

    /// Resolves once the host has begun to shut down.
    pub(crate) async fn closed(&self) {
        let _ = self.shared.closed.recv().await;
    }

    /// The settings database.
    pub fn settings(&self) -> &SettingsStore {
        &self.shared.settings
    }

    /// Whether development mode is on: unsigned packages are accepted with a warning.
    pub fn development_mode(&self) -> bool {
        self.shared.development.load(Ordering::Acquire)
    }

    /// Turns development mode on or off, for the packages installed or checked from now on.
    pub fn set_development_mode(&self, enabled: bool) {
        self.shared.development.store(enabled, Ordering::Release);
        let what = if enabled { "on" } else { "off" };
        let message = format!("development mode is {what}");
        self.shared.config.log.write(None, LogLevel::Info, &message);
    }

    /// The language plugins are told in their hello.
    pub fn language(&self) -> String {
        lock(&self.shared.language).clone()
    }

    /// Changes the language (seed 3.2, 9.5.8): every plugin session is closed, and each plugin
    /// reconnects and is told the new language in its hello.
    pub fn set_language(&self, language_code: &str) -> Result<(), HostError> {
        let tag = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if language_code.is_empty() || !language_code.chars().all(tag) {
            return Err(HostError::Language(language_code.into()));
        }
        *lock(&self.shared.language) = language_code.to_string();
        // Sessions accepted from now on announce it; the accepting task applies it first.
        let _ = self.shared.language_tx.try_send(language_code.to_string());
        for connection in self.shared.connections() {
            connection.close();
        }
        Ok(())
    }

    /// Presses a plugin's action: `TriggerAction`, answered with the cell's status.
    pub async fn trigger(
        &self,
        plugin_id: &str,
        action_id: &str,
        instance_id: &str,
    ) -> Result<Answer, HostError> {
        let trigger = TriggerAction {
            action_instance_id: instance_id.into(),
            action_id: action_id.into(),
            configuration: None,
        };
        self.request(plugin_id, trigger).await
    }

    /// Turns a plugin's analog control by `delta` steps: `UpdateAnalogControl`, answered with
    /// the control's status.
    pub async fn turn(
        &self,
        plugin_id: &str,
        control_id: &str,
        instance_id: &str,
        delta: f32,
    ) -> Result<Answer, HostError> {
        let update = UpdateAnalogControl {
            analog_control_id: control_id.into(),
            instance_id: instance_id.into(),
            configuration: None,
            update_type: Some(UpdateType::Delta(delta)),
        };
        self.request(plugin_id, update).await
    }

    /// The latest status a plugin reported for an action or control instance, on its own or
    /// answering a request.
    pub fn status(&self, plugin_id: &str, instance_id: &str) -> Option<Message> {
        self.shared
            .core(|core| core.status(plugin_id, instance_id).cloned())
    }

    /// Starts a plugin's login (`InitLogin`, seed 5.16). The host has no OAuth redirect endpoint
    /// of its own, so the URL is empty and the plugin uses its own.
    pub async fn login(&self, plugin_id: &str) -> Result<Answer, HostError> {
        let init = InitLogin {
            redirect_url: String::new(),
        };
        self.request(plugin_id, init).await
    }

    /// Sends a plugin a request and waits for its answer (at most 10 s).
    pub async fn request(
        &self,
        plugin_id: &str,
        message: impl Into<Message>,
    ) -> Result<Answer, HostError> {
        let connection = self.shared.connection(plugin_id)?;
        self.shared.ask(plugin_id, &connection, message).await
    }

    /// Shows or hides one of a plugin's action or control instances (seed 5.13), with the
    /// plugin's answer. The host keeps what each plugin is shown, across its sessions and its
    /// own restarts: a plugin that is not connected now gets the change when it connects (the
    /// call is then [`HostError::NotConnected`]), and a plugin that connects again is brought
    /// back to what it is shown.
    pub async fn set_visibility(
        &self,
        plugin_id: &str,
        change: VisibilityChanged,
    ) -> Result<Answer, HostError> {
        views::change(&self.shared, plugin_id, change).await
    }

    /// The action and control instances the host shows `plugin_id`, with their configuration.
    pub fn view(&self, plugin_id: &str) -> Result<View, HostError> {
        views::shown(&self.shared, plugin_id)
    }

    /// Stops every plugin, all at once, waiting for each to end (or be killed after the grace
    /// period) with what it started; then stops accepting plugins (closing the listeners) and
    /// closes the sessions left (EXTERNAL plugins', the client library's).
    pub async fn shutdown(&self) {
        self.shared.closing.close();
        // The listeners stay open meanwhile: a stopped plugin that says hello again is refused,
        // which tells a plugin on the SDK that the host stopped it, and it ends by itself
        // instead of knocking at a closed socket until it is killed.
        self.stop_all().await;
        let accepting = std::mem::take(&mut *lock(&self.shared.accepting));
        for task in accepting {
            task.cancel().await;
        }
        // An install that raced the first round may have launched one more.
        self.stop_all().await;
        // Each plugin's end took its descendants; this takes any that raced it.
        #[cfg(target_os = "linux")]
        descendants::end_stragglers().await;
        for connection in self.shared.connections() {
            connection.close();
        }
        for connection in lock(&self.shared.clients).iter() {
            connection.close();
        }
        // Every plugin is gone: another host may have the folder.
        lock(&self.shared.data_dir).release();
    }

    /// Stops every supervised plugin at once, and waits until each is gone.
    async fn stop_all(&self) {
        let supervisors: Vec<_> = self.shared.core(|core| {
            core.plugins_mut()
                .filter_map(|plugin| plugin.supervisor.take())
                .collect()
        });
        for supervisor in &supervisors {
            supervisor.ask_to_stop();
        }
        for supervisor in supervisors {
            supervisor.stop().await;
        }
    }
}
