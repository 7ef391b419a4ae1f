//! The plugin manager host: installs packages, launches and supervises plugins as child
//! processes, serves their sessions on the local socket, keeps their settings, and tells its
//! subscribers what happens.
//!
//! A host application builds one with a [`HostConfig`] and [`Host::start`], then drives it:
//! [`Host::install`], [`Host::trigger`], [`Host::turn`], [`Host::plugins`], [`Host::subscribe`].
//! Tasks run on smol's global executor; every method can be called from any thread.

mod install;
mod process;
mod serve;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use logi_plugin_core::Message;
use logi_plugin_core::manifest::Manifest;
use logi_plugin_core::proto::manager::{ContainerState, InstallationEventNotice, InstallationType};
use logi_plugin_core::proto::plugin::log_event::LogLevel;
use logi_plugin_core::proto::plugin::update_analog_control::UpdateType;
use logi_plugin_core::proto::plugin::{TriggerAction, UpdateAnalogControl};
use logi_plugin_core::session::{ManagerConfig, PluginRegistry};
use logi_plugin_transports::client::Backoff;
use logi_plugin_transports::local::{LocalError, LocalListener, default_endpoint};
use logi_plugin_transports::{Answer, ManagerConnection, ManagerListener, RequestError};

use crate::package::signature::{SignatureError, TrustStore};
use crate::package::{Limits, PackageError};
use crate::settings::{SettingsError, SettingsStore};

/// How a host is set up.
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// Where installed plugins (`plugins/<id>/`) and the settings database live.
    pub data_dir: PathBuf,
    /// The local socket plugins connect to.
    pub endpoint: PathBuf,
    /// The publisher keys packages must be signed with.
    pub trust: TrustStore,
    /// Accept unsigned and untrusted packages (with a warning in the log).
    pub development: bool,
    /// The language plugins are told in their hello.
    pub language: String,
    /// How long to wait before restarting a crashed plugin.
    pub restart: Backoff,
    /// Bounds on what a package may unpack to.
    pub limits: Limits,
    /// How long a stopping plugin gets to exit before it is killed.
    pub stop_grace: Duration,
}

impl HostConfig {
    /// The defaults, keeping everything under `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> HostConfig {
        HostConfig {
            data_dir: data_dir.into(),
            endpoint: default_endpoint(),
            trust: TrustStore::default(),
            development: false,
            language: "en-US".into(),
            restart: Backoff {
                initial: Duration::from_millis(250),
                max: Duration::from_secs(30),
            },
            limits: Limits::default(),
            stop_grace: Duration::from_secs(2),
        }
    }
}

/// What a host reports to its subscribers.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum HostEvent {
    /// An installation event of the Kortex seed.
    Installation(InstallationEventNotice),
    /// A plugin's container state changed.
    State {
        /// The plugin.
        plugin_id: String,
        /// Its new state.
        state: ContainerState,
    },
    /// A plugin connected and said hello.
    Connected {
        /// The plugin.
        plugin_id: String,
        /// The version it announced.
        version: String,
    },
    /// A plugin logged something (seed 5.4).
    Log {
        /// The plugin.
        plugin_id: String,
        /// How serious.
        level: LogLevel,
        /// What it said.
        message: String,
    },
    /// A plugin sent a status on its own (`ActionCellStatus`, `AnalogControlStatus`).
    Status {
        /// The plugin.
        plugin_id: String,
        /// The status.
        message: Message,
    },
}

/// Why a host operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// The package cannot be read.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// The package's signature is not accepted.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The settings database failed.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The local socket cannot be opened.
    #[error(transparent)]
    Listen(#[from] LocalError),
    /// A file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// An installation or uninstallation command failed.
    #[error("{plugin_id}: command {executable:?} {outcome}")]
    Command {
        /// The plugin.
        plugin_id: String,
        /// The command's executable.
        executable: String,
        /// How it ended.
        outcome: String,
    },
    /// No plugin has this id.
    #[error("no plugin {0:?} is installed")]
    UnknownPlugin(String),
    /// The plugin is built into the host.
    #[error("{0:?} is a CORE plugin, built into the host: it cannot be uninstalled")]
    CorePlugin(String),
    /// The plugin is installed but not connected.
    #[error("plugin {0:?} is not connected")]
    NotConnected(String),
    /// The plugin did not answer.
    #[error("plugin {plugin_id:?}: {error}")]
    Request {
        /// The plugin.
        plugin_id: String,
        /// Why there is no answer.
        error: RequestError,
    },
}

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
}

struct Plugin {
    info: PluginInfo,
    dir: PathBuf,
    connection: Option<ManagerConnection>,
    /// Stops the supervisor of its process; closed when the supervisor ends.
    supervisor: Option<process::Supervisor>,
}

/// The per-launch codes of the plugins allowed to connect now.
#[derive(Default)]
struct Codes(Mutex<HashMap<String, String>>);

impl Codes {
    /// Admits `plugin_id` with `code`, or (with `None`) no longer.
    fn set(&self, plugin_id: &str, code: Option<String>) {
        let mut codes = lock(&self.0);
        match code {
            Some(code) => codes.insert(plugin_id.to_string(), code),
            None => codes.remove(plugin_id),
        };
    }
}

impl PluginRegistry for Codes {
    fn plugin_code(&self, plugin_id: &str) -> Option<String> {
        lock(&self.0).get(plugin_id).cloned()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Host {
    /// Opens the data directory and the local socket, and launches the installed plugins.
    pub fn start(config: HostConfig) -> Result<Host, HostError> {
        let plugins_dir = config.data_dir.join("plugins");
        std::fs::create_dir_all(&plugins_dir).map_err(|source| HostError::Io {
            what: format!("creating {}", plugins_dir.display()),
            source,
        })?;
        let settings = SettingsStore::open(&config.data_dir.join("settings.sqlite3"))?;
        let socket = LocalListener::bind(&config.endpoint)?;
        let shared = Arc::new(Shared {
            config,
            codes: Arc::default(),
            settings,
            plugins: Mutex::new(BTreeMap::new()),
            subscribers: Mutex::new(Vec::new()),
        });
        let mut session = ManagerConfig::new(shared.codes.clone(), env!("CARGO_PKG_VERSION"));
        session.language_code.clone_from(&shared.config.language);
        let listener = ManagerListener::new(session).with_local(socket);
        smol::spawn(serve::accept(shared.clone(), listener)).detach();
        let host = Host { shared };
        host.load_installed()?;
        Ok(host)
    }

    /// Events from now on.
    pub fn subscribe(&self) -> async_channel::Receiver<HostEvent> {
        let (tx, rx) = async_channel::unbounded();
        lock(&self.shared.subscribers).push(tx);
        rx
    }

    /// Every plugin, by id.
    pub fn plugins(&self) -> Vec<PluginInfo> {
        let plugins = lock(&self.shared.plugins);
        plugins.values().map(|plugin| plugin.info.clone()).collect()
    }

    /// The local socket plugins connect to.
    pub fn endpoint(&self) -> &Path {
        &self.shared.config.endpoint
    }

    /// The settings database.
    pub fn settings(&self) -> &SettingsStore {
        &self.shared.settings
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

    /// Sends a plugin a request and waits for its answer (at most 10 s).
    pub async fn request(
        &self,
        plugin_id: &str,
        message: impl Into<Message>,
    ) -> Result<Answer, HostError> {
        let connection = self.shared.connection(plugin_id)?;
        connection
            .request(message, Duration::from_secs(10))
            .await
            .map_err(|error| HostError::Request {
                plugin_id: plugin_id.into(),
                error,
            })
    }

    /// Stops every plugin, waiting for each to exit (or be killed after the grace period).
    pub async fn shutdown(&self) {
        let supervisors: Vec<_> = lock(&self.shared.plugins)
            .values_mut()
            .filter_map(|plugin| plugin.supervisor.take())
            .collect();
        for supervisor in supervisors {
            supervisor.stop().await;
        }
    }
}

impl Shared {
    fn emit(&self, event: HostEvent) {
        lock(&self.subscribers).retain(|subscriber| subscriber.try_send(event.clone()).is_ok());
    }

    fn log(&self, plugin_id: &str, level: LogLevel, message: String) {
        eprintln!("[{plugin_id}] {}: {message}", level.as_str_name());
        self.emit(HostEvent::Log {
            plugin_id: plugin_id.into(),
            level,
            message,
        });
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

    fn connection(&self, plugin_id: &str) -> Result<ManagerConnection, HostError> {
        let plugins = lock(&self.plugins);
        let plugin = plugins
            .get(plugin_id)
            .ok_or_else(|| HostError::UnknownPlugin(plugin_id.into()))?;
        plugin
            .connection
            .clone()
            .ok_or_else(|| HostError::NotConnected(plugin_id.into()))
    }
}
