//! The plugin manager host: installs packages, launches and supervises plugins as child
//! processes (or runs CORE plugins in-process, or admits EXTERNAL ones), serves their sessions
//! on the local socket (and a loopback WebSocket), keeps their settings, and tells its
//! subscribers what happens.
//!
//! A host application builds one with a [`HostConfig`] and [`Host::start`], then drives it:
//! [`Host::install`], [`Host::add_core`], [`Host::add_external`], [`Host::trigger`],
//! [`Host::turn`], [`Host::plugins`], [`Host::subscribe`], [`Host::shutdown`].
//! Tasks run on smol's global executor; every method can be called from any thread.

mod codes;
mod config;
pub(crate) mod data;
#[cfg(target_os = "linux")]
mod descendants;
mod diagnostics;
mod error;
mod event;
mod install;
mod installing;
mod library;
mod phases;
mod process;
mod registered;
mod serve;
mod source;
mod stderr;
mod supervision;
mod views;

use codes::Codes;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use logi_plugin_core::Message;
use logi_plugin_core::proto::manager::{ContainerState, InstallationType, PluginDetails};
use logi_plugin_core::proto::plugin::log_event::LogLevel;
use logi_plugin_core::proto::plugin::update_analog_control::UpdateType;
use logi_plugin_core::proto::plugin::{
    InitLogin, TriggerAction, UpdateAnalogControl, VisibilityChanged,
};
use logi_plugin_core::session::ManagerConfig;
use logi_plugin_core::view::View;
use logi_plugin_manifest::Manifest;
use logi_plugin_manifest::localization::Localizations;
use logi_plugin_transports::listener::MemoryConnector;
use logi_plugin_transports::local::LocalListener;
use logi_plugin_transports::ws::{WsListener, WsOptions};
use logi_plugin_transports::{Answer, ManagerConnection, ManagerListener};

pub use config::HostConfig;
pub use diagnostics::{Ending, Stage, StopReport};
pub use error::HostError;
pub use event::HostEvent;
pub(crate) use event::message_json;
pub use phases::InstallPhases;
pub use source::SourcePackage;

use crate::settings::SettingsStore;
use logi_plugin_package::{MANIFEST_PATH, Package};
use logi_plugin_transports::lock::lock;

/// A plugin as the host knows it.
#[derive(Clone, Debug, PartialEq)]
pub struct PluginInfo {
    /// Its manifest, as installed.
    pub manifest: Manifest,
    /// How it came to the host.
    pub installation: InstallationType,
    /// Its process's state.
    pub state: ContainerState,
    /// Whether its session is up.
    pub connected: bool,
    /// Why the host does not run it, when it does not (its files no longer match their
    /// signature, say).
    pub problem: Option<String>,
    /// Whether its latest configuration scheme said the user must log in.
    pub login_required: bool,
    /// Its `manifest.json` as its package holds it; `None` for CORE and EXTERNAL plugins, which
    /// are registered with a manifest already read.
    pub manifest_file: Option<String>,
    /// Its package's translations (none for CORE and EXTERNAL plugins).
    pub localizations: Localizations,
    /// Why its last run ended, once one has.
    pub last_stop: Option<StopReport>,
}

impl PluginInfo {
    /// The plugin as the client library describes it (seed 9.3.3), localized for `language`.
    pub fn details(&self, language: &str) -> PluginDetails {
        let manifest = self.localizations.localize(&self.manifest, language);
        let manifest_json = self.manifest_file.as_deref().and_then(|text| {
            let mut json: serde_json::Value = serde_json::from_str(text).ok()?;
            self.localizations.localize_json(&mut json, language);
            Some(json.to_string())
        });
        PluginDetails {
            plugin_id: manifest.plugin_id,
            name: manifest.name,
            version: manifest.version.to_string(),
            author: manifest.author,
            description: manifest.description,
            installation_type: self.installation.into(),
            container_state: self.state.into(),
            connected: self.connected,
            manifest_json,
            problem: self.problem.clone(),
            last_stop: self
                .last_stop
                .as_ref()
                .map(|stop| Box::new(stop.to_proto())),
        }
    }
}

/// A plugin manager host. Clones share one host.
#[derive(Clone)]
pub struct Host {
    shared: Arc<Shared>,
}

/// What the host's tasks share.
struct Shared {
    config: HostConfig,
    codes: Arc<Codes>,
    settings: SettingsStore,
    plugins: Mutex<BTreeMap<String, Plugin>>,
    subscribers: Mutex<Vec<async_channel::Sender<HostEvent>>>,
    /// How CORE plugins connect.
    memory: MemoryConnector,
    /// Where the WebSocket listener is, if there is one.
    websocket: Option<SocketAddr>,
    /// The tasks accepting connections (plugins and the client library); cancelled (closing
    /// the listeners) at shutdown.
    accepting: Mutex<Vec<smol::Task<()>>>,
    /// Closed at shutdown: what serves pages and views (marketplace, admin event streams)
    /// waits on it to end.
    closing: async_channel::Sender<()>,
    closed: async_channel::Receiver<()>,
    /// Development mode, which the client library can turn on and off (seed 9.5.7).
    development: AtomicBool,
    /// The language plugins are told in their hello (seed 9.5.8 changes it).
    language: Mutex<String>,
    /// Tells the accepting task the language new sessions announce.
    language_tx: async_channel::Sender<String>,
    /// The latest status each action or control instance reported, by plugin and instance
    /// (seed 9.5.3 `action_status`).
    statuses: Mutex<HashMap<(String, String), Message>>,
    /// The client library sessions, closed at shutdown.
    clients: Mutex<Vec<ManagerConnection>>,
    /// Held by each install, uninstall and reload for its whole length.
    lifecycle: smol::lock::Mutex<()>,
    /// The data directory's lock, given up at shutdown.
    data_dir: Mutex<data::DataDir>,
}

struct Plugin {
    info: PluginInfo,
    /// Its folder, for an installed plugin.
    dir: Option<PathBuf>,
    connection: Option<ManagerConnection>,
    /// Stops the supervisor of what runs it; closed when the supervisor ends.
    supervisor: Option<process::Supervisor>,
    /// What is noted of its current run, for its next stop report.
    diagnostics: diagnostics::Diagnostics,
    /// What it is shown, across its sessions.
    views: views::Views,
    /// The install that brought it, until its first run says hello.
    installing: Option<installing::Installing>,
}

impl Plugin {
    fn new(
        manifest: Manifest,
        installation: InstallationType,
        state: ContainerState,
        dir: Option<PathBuf>,
    ) -> Plugin {
        Plugin {
            info: PluginInfo {
                manifest,
                installation,
                state,
                connected: false,
                problem: None,
                login_required: false,
                manifest_file: None,
                localizations: Localizations::default(),
                last_stop: None,
            },
            dir,
            connection: None,
            supervisor: None,
            diagnostics: diagnostics::Diagnostics::default(),
            views: views::Views::default(),
            installing: None,
        }
    }

    /// A plugin installed from `package` into `dir`.
    fn installed(package: &Package, state: ContainerState, dir: PathBuf) -> Plugin {
        let manifest = package.manifest().clone();
        let mut plugin = Plugin::new(manifest, InstallationType::Installed, state, Some(dir));
        plugin.info.manifest_file = package
            .files()
            .get(MANIFEST_PATH)
            .map(|file| String::from_utf8_lossy(&file.bytes).into_owned());
        plugin.info.localizations = package.localizations().clone();
        plugin
    }
}

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
        let mut session = ManagerConfig::new(codes.clone(), env!("CARGO_PKG_VERSION"));
        session.language_code.clone_from(&config.language);
        session.accept_clients = true;
        let mut listener =
            ManagerListener::new(session).with_local(LocalListener::bind(&config.endpoint)?);
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
            statuses: Mutex::new(HashMap::new()),
            clients: Mutex::new(Vec::new()),
            lifecycle: smol::lock::Mutex::new(()),
            data_dir: Mutex::new(data_dir),
            config,
            codes,
            settings,
            plugins: Mutex::new(BTreeMap::new()),
            subscribers: Mutex::new(Vec::new()),
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
        // Changes are made under the plugins lock and emitted after it: holding it while
        // subscribing puts each change either in the snapshot or in the channel.
        let plugins = lock(&self.shared.plugins);
        lock(&self.shared.subscribers).push(tx);
        let snapshot = plugins.values().map(|plugin| plugin.info.clone()).collect();
        (snapshot, rx)
    }

    /// Every plugin, by id.
    pub fn plugins(&self) -> Vec<PluginInfo> {
        let plugins = lock(&self.shared.plugins);
        plugins.values().map(|plugin| plugin.info.clone()).collect()
    }

    /// The plugin `plugin_id`, as the host knows it now.
    pub fn plugin(&self, plugin_id: &str) -> Option<PluginInfo> {
        let plugins = lock(&self.shared.plugins);
        plugins.get(plugin_id).map(|plugin| plugin.info.clone())
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
        let plugins = lock(&self.shared.plugins);
        for connection in plugins
            .values()
            .filter_map(|plugin| plugin.connection.as_ref())
        {
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
        let key = (plugin_id.to_string(), instance_id.to_string());
        lock(&self.shared.statuses).get(&key).cloned()
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

    /// Stops accepting plugins (closing the listeners), stops every plugin, waiting for each
    /// to end (or be killed after the grace period) with what it started, and closes the
    /// sessions left (EXTERNAL plugins', the client library's).
    pub async fn shutdown(&self) {
        self.shared.closing.close();
        let accepting = std::mem::take(&mut *lock(&self.shared.accepting));
        for task in accepting {
            task.cancel().await;
        }
        let supervisors: Vec<_> = lock(&self.shared.plugins)
            .values_mut()
            .filter_map(|plugin| plugin.supervisor.take())
            .collect();
        for supervisor in supervisors {
            supervisor.stop().await;
        }
        // Each plugin's end took its descendants; this takes any that raced it.
        #[cfg(target_os = "linux")]
        descendants::end_stragglers().await;
        let plugins = lock(&self.shared.plugins);
        for connection in plugins
            .values()
            .filter_map(|plugin| plugin.connection.as_ref())
            .chain(lock(&self.shared.clients).iter())
        {
            connection.close();
        }
        // Every plugin is gone: another host may have the folder.
        lock(&self.shared.data_dir).release();
    }
}

impl Shared {
    fn emit(&self, event: HostEvent) {
        lock(&self.subscribers).retain(|subscriber| subscriber.try_send(event.clone()).is_ok());
    }

    fn log(&self, plugin_id: &str, level: LogLevel, message: String) {
        self.write_log(plugin_id, level, &message);
        self.emit(HostEvent::Log {
            plugin_id: plugin_id.into(),
            level,
            message,
        });
    }

    /// Writes a line of `plugin_id`'s to the log sink and keeps it among the plugin's last lines
    /// (for its stop report), without a [`HostEvent::Log`]: for a line whose subscribers are told
    /// by an event of its own.
    fn write_log(&self, plugin_id: &str, level: LogLevel, message: &str) {
        self.config.log.write(Some(plugin_id), level, message);
        if let Some(plugin) = lock(&self.plugins).get_mut(plugin_id) {
            plugin.diagnostics.logged(level, message);
        }
    }

    /// Keeps a status as the latest of its instance (each status of a list).
    fn remember_status(&self, plugin_id: &str, message: &Message) {
        let instance = match message {
            Message::ActionCellStatus(status) => &status.action_instance_id,
            Message::AnalogControlStatus(status) => &status.analog_control_instance_id,
            Message::AnalogControlStatusList(list) => {
                let statuses = list.statuses.iter().cloned().map(Message::from);
                let actions = list.action_statuses.iter().cloned().map(Message::from);
                for status in statuses.chain(actions) {
                    self.remember_status(plugin_id, &status);
                }
                return;
            }
            _ => return,
        };
        let key = (plugin_id.to_string(), instance.clone());
        lock(&self.statuses).insert(key, message.clone());
    }

    /// Notes whether a plugin's configuration scheme asks for a login; a plugin that starts
    /// asking is announced ([`HostEvent::LoginRequired`]).
    fn remember_login(&self, plugin_id: &str, message: &Message) {
        let Message::PluginActionConfigurationSchemeResponse(scheme) = message else {
            return;
        };
        // The seed keeps a misspelt twin of the field "for compatibility": either counts.
        let Some(required) = scheme.login_required.or(scheme.loging_required) else {
            return;
        };
        let newly = match lock(&self.plugins).get_mut(plugin_id) {
            Some(plugin) => !std::mem::replace(&mut plugin.info.login_required, required),
            None => false,
        };
        if required && newly {
            self.emit(HostEvent::LoginRequired {
                plugin_id: plugin_id.into(),
            });
        }
    }

    fn set_state(&self, plugin_id: &str, state: ContainerState) {
        if let Some(plugin) = lock(&self.plugins).get_mut(plugin_id) {
            plugin.info.state = state;
        }
        self.emit(HostEvent::State {
            plugin_id: plugin_id.into(),
            state,
        });
    }

    /// Withdraws a plugin's code, so that it cannot connect again, and closes its session.
    fn withdraw(&self, plugin_id: &str) {
        self.codes.set(plugin_id, None);
        self.close_session(plugin_id);
    }

    /// Closes a plugin's session, if it has one; it may connect again.
    fn close_session(&self, plugin_id: &str) {
        if let Ok(connection) = self.connection(plugin_id) {
            connection.close();
        }
    }

    /// Supervises what runs `plugin_id`, keeping the supervisor with the plugin.
    fn supervise(self: &Arc<Shared>, plugin_id: &str, container: impl process::Container) {
        let supervisor = process::supervise(self, plugin_id, container);
        if let Some(plugin) = lock(&self.plugins).get_mut(plugin_id) {
            plugin.supervisor = Some(supervisor);
        }
    }

    fn connection(&self, plugin_id: &str) -> Result<ManagerConnection, HostError> {
        self.with_plugin(plugin_id, |plugin| plugin.connection.clone())?
            .ok_or_else(|| HostError::NotConnected(plugin_id.into()))
    }

    /// What `edit` makes of the plugin `plugin_id`, under the plugins lock.
    fn with_plugin<R>(
        &self,
        plugin_id: &str,
        edit: impl FnOnce(&mut Plugin) -> R,
    ) -> Result<R, HostError> {
        let mut plugins = lock(&self.plugins);
        let plugin = plugins
            .get_mut(plugin_id)
            .ok_or_else(|| HostError::UnknownPlugin(plugin_id.into()))?;
        Ok(edit(plugin))
    }

    /// Sends a plugin a request on `connection` and waits for its answer (at most 10 s),
    /// keeping the statuses it carries.
    async fn ask(
        &self,
        plugin_id: &str,
        connection: &ManagerConnection,
        message: impl Into<Message>,
    ) -> Result<Answer, HostError> {
        let answer = connection
            .request(message, Duration::from_secs(10))
            .await
            .map_err(|error| HostError::Request {
                plugin_id: plugin_id.into(),
                error,
            })?;
        if let Some(message) = &answer.message {
            self.remember_status(plugin_id, message);
            self.remember_login(plugin_id, message);
        }
        Ok(answer)
    }
}
