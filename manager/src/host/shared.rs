//! What the host's tasks share: its configuration, its codes and settings, the core under its
//! lock (`Shared::core`, the one way the host's state changes and is told), and the handles of
//! its listeners and sessions.

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use logi_plugin_core::Message;
use logi_plugin_core::proto::manager::{ContainerState, LogSource};
use logi_plugin_core::proto::plugin::log_event::LogLevel;
use logi_plugin_transports::listener::MemoryConnector;
use logi_plugin_transports::lock::lock;
use logi_plugin_transports::{Answer, ManagerConnection};

use super::codes::Codes;
use super::config::HostConfig;
use super::core::{HostCore, Plugin};
use super::data;
use super::error::HostError;
use super::recent;
use crate::settings::SettingsStore;

/// What the host's tasks share.
pub(super) struct Shared {
    pub(super) config: HostConfig,
    pub(super) codes: Arc<Codes>,
    pub(super) settings: SettingsStore,
    /// The plugins, the statuses they reported and the subscribers: changed and told only
    /// through [`Shared::core`].
    pub(super) core: Mutex<HostCore>,
    /// How CORE plugins connect.
    pub(super) memory: MemoryConnector,
    /// Where the WebSocket listener is, if there is one.
    pub(super) websocket: Option<SocketAddr>,
    /// The tasks accepting connections (plugins and the client library); cancelled (closing
    /// the listeners) at shutdown.
    pub(super) accepting: Mutex<Vec<smol::Task<()>>>,
    /// Closed at shutdown: what serves pages and views (marketplace, admin event streams)
    /// waits on it to end.
    pub(super) closing: async_channel::Sender<()>,
    pub(super) closed: async_channel::Receiver<()>,
    /// Development mode, which the client library can turn on and off (seed 9.5.7).
    pub(super) development: AtomicBool,
    /// The language plugins are told in their hello (seed 9.5.8 changes it).
    pub(super) language: Mutex<String>,
    /// Tells the accepting task the language new sessions announce.
    pub(super) language_tx: async_channel::Sender<String>,
    /// The client library sessions, closed at shutdown.
    pub(super) clients: Mutex<Vec<ManagerConnection>>,
    /// Held by each install, uninstall and reload for its whole length.
    pub(super) lifecycle: smol::lock::Mutex<()>,
    /// The data directory's lock, given up at shutdown.
    pub(super) data_dir: Mutex<data::DataDir>,
}

impl Shared {
    /// Makes a change to the host's state, and tells the subscribers what it changed before
    /// letting go: the one way anything is told.
    pub(super) fn core<R>(&self, change: impl FnOnce(&mut HostCore) -> R) -> R {
        let mut core = lock(&self.core);
        let result = change(&mut core);
        for event in core.take_events() {
            core.subscribers
                .retain(|subscriber| subscriber.try_send(event.clone()).is_ok());
        }
        result
    }

    /// Every plugin session open now.
    pub(super) fn connections(&self) -> Vec<ManagerConnection> {
        self.core(|core| {
            core.plugins()
                .filter_map(|plugin| plugin.connection.clone())
                .collect()
        })
    }

    /// The host's note about `plugin_id`: see [`Shared::log_from`].
    pub(super) fn log(&self, plugin_id: &str, level: LogLevel, message: String) {
        self.log_from(plugin_id, LogSource::Host, level, message);
    }

    /// A line of `plugin_id`'s log from `source`: to the log sink (outside the core's lock, so
    /// that a sink may ask the host anything), kept in its recent log and for its stop report,
    /// and told.
    pub(super) fn log_from(
        &self,
        plugin_id: &str,
        source: LogSource,
        level: LogLevel,
        message: String,
    ) {
        let text = recent::tagged(source, &message);
        self.config.log.write(Some(plugin_id), level, &text);
        let now = SystemTime::now();
        self.core(|core| core.log(plugin_id, source, level, message, now));
    }

    pub(super) fn set_state(&self, plugin_id: &str, state: ContainerState) {
        self.core(|core| core.set_state(plugin_id, state));
    }

    /// A plugin's run said hello (or, with `ended`, ended without one, saying how): a plugin
    /// just installed has its install told whole.
    pub(super) fn install_done(&self, plugin_id: &str, ended: Option<&str>) {
        let line = self.core(|core| core.install_done(plugin_id, ended, Instant::now()));
        self.log_install(plugin_id, line);
    }

    /// A plugin just installed that has no program to launch is up as soon as its install is
    /// complete: its install is told whole.
    pub(super) fn install_done_without_program(&self, plugin_id: &str) {
        let now = Instant::now();
        let line = self.core(|core| core.install_done_without_program(plugin_id, now));
        self.log_install(plugin_id, line);
    }

    /// An install's line, to the log sink only: its subscribers have the `Installed` event.
    pub(super) fn log_install(&self, plugin_id: &str, line: Option<String>) {
        if let Some(line) = line {
            self.config
                .log
                .write(Some(plugin_id), LogLevel::Info, &line);
        }
    }

    /// Withdraws a plugin's code, so that it cannot connect again, and closes its session.
    pub(super) fn withdraw(&self, plugin_id: &str) {
        self.codes.set(plugin_id, None);
        self.close_session(plugin_id);
    }

    /// Closes a plugin's session, if it has one; it may connect again.
    pub(super) fn close_session(&self, plugin_id: &str) {
        if let Ok(connection) = self.connection(plugin_id) {
            connection.close();
        }
    }

    pub(super) fn connection(&self, plugin_id: &str) -> Result<ManagerConnection, HostError> {
        self.with_plugin(plugin_id, |plugin| plugin.connection.clone())?
            .ok_or_else(|| HostError::NotConnected(plugin_id.into()))
    }

    /// What `edit` makes of the plugin `plugin_id`, under the plugins lock.
    pub(super) fn with_plugin<R>(
        &self,
        plugin_id: &str,
        edit: impl FnOnce(&mut Plugin) -> R,
    ) -> Result<R, HostError> {
        self.core(|core| {
            let plugin = core
                .plugin_mut(plugin_id)
                .ok_or_else(|| HostError::UnknownPlugin(plugin_id.into()))?;
            Ok(edit(plugin))
        })
    }

    /// Sends a plugin a request on `connection` and waits for its answer (at most 10 s),
    /// keeping the statuses it carries.
    pub(super) async fn ask(
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
            self.core(|core| {
                core.remember_status(plugin_id, message);
                core.remember_login(plugin_id, message);
            });
        }
        Ok(answer)
    }
}
