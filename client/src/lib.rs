//! The Plugin Manager client library (seed chapter 9): what the configuration software uses to
//! install, list and drive plugins through a running manager.
//!
//! [`PluginManagerClient::connect`] gives the client and its runner (spawn it); the runner
//! connects to the manager's local socket, says `ClientHello`, and reconnects by itself when
//! the manager restarts. Each call returns at once, as the seed's calls return their result
//! code: `Err` if it could not be sent (not connected, say), or a [`Call`] whose
//! [`result`](Call::result) is the manager's answer when it comes. The manager's events arrive
//! from [`next_event`](PluginManagerClient::next_event) as [`LibraryEvent`]s.
//!
//! ```no_run
//! # use logi_plugin_client::{LibraryOptions, PluginManagerClient};
//! # smol::block_on(async {
//! let (client, runner) = PluginManagerClient::connect(LibraryOptions::new("Options+", "1.0"));
//! smol::spawn(runner).detach();
//! client.wait_connected().await.expect("connected");
//! let plugins = client.plugin_list().await?.result().await?;
//! # Ok::<(), logi_plugin_client::CallError>(())
//! # });
//! ```

use std::path::Path;
use std::time::{Duration, Instant};

use logi_plugin_core::proto::manager::{
    ActionConfiguration, ActionConfigurationRequest, AnalogControlId, ControlVisibility,
    DevelopmentMode, GetDevelopmentMode, GetPluginList, GetPluginLog, InstallPlugin,
    InstallationEventNotice, Invoke, InvokeLogin, InvokeLogout, LanguageChanged, LinkPlugin,
    PluginDetails, PluginList, PluginLog, PluginLogLine, PluginRemoved, PluginUpdateResult,
    PluginUpdateResultList, RemovePlugin, SetActionConfiguration, VisibilityUpdate,
};
use logi_plugin_core::proto::plugin::ManagerHello;
use logi_plugin_core::session::{CloseReason, Format, LibraryConfig, LibrarySession, Wire};
use logi_plugin_core::{Message, ResponseCode};
use logi_plugin_transports::reconnect::{Backoff, ClientEvent, ClientRunner, Connector};
use logi_plugin_transports::reconnect::{Dialer, Reconnecting, Target};
use logi_plugin_transports::{Answer, Endpoint, RequestError};

/// How the client library connects.
#[derive(Clone, Debug)]
pub struct LibraryOptions {
    /// The session: the configuration software's name and version, timeouts.
    pub session: LibraryConfig,
    /// Where the manager listens: its local socket (the default endpoint unless
    /// `LOGI_PLUGIN_ENDPOINT` says otherwise).
    pub endpoint: Endpoint,
    /// Opens connections instead of `endpoint` when set (an in-process manager).
    pub connector: Option<Connector>,
    /// How long to wait before reconnecting.
    pub reconnect: Backoff,
    /// How long a call may wait for its answer. Installing a large package takes a while.
    pub call_timeout: Duration,
}

impl LibraryOptions {
    /// The defaults, for this configuration software.
    pub fn new(client_name: impl Into<String>, client_version: impl Into<String>) -> Self {
        LibraryOptions {
            session: LibraryConfig::new(client_name, client_version),
            endpoint: Endpoint::from_env(),
            connector: None,
            reconnect: Backoff::default(),
            call_timeout: Duration::from_secs(120),
        }
    }
}

impl Dialer for LibraryOptions {
    type Session = LibrarySession;

    fn target(&self) -> Target {
        Target {
            endpoint: self.endpoint.clone(),
            connector: self.connector.clone(),
            // The client library speaks only over the local socket, which carries binary.
            format: Format::Binary,
            backoff: self.reconnect,
            record: None,
        }
    }

    fn open(&self, now: Instant, wire: Wire) -> Result<LibrarySession, String> {
        let mut config = self.session.clone();
        config.wire = wire;
        Ok(LibrarySession::new(now, config))
    }
}

/// What the manager tells the client library (seed 9.4.2 and the Kortex installation events).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum LibraryEvent {
    /// Connected and the handshake done (`on_communication_established`), again after each
    /// reconnect.
    CommunicationEstablished(ManagerHello),
    /// The connection ended; the client reconnects unless it was told to stop.
    Disconnected(CloseReason),
    /// A plugin reported a new state for an action or control (`on_action_state_changed`).
    ActionStateChanged(PluginUpdateResult),
    /// A plugin was installed or started (`on_plugin_available`).
    PluginAvailable(PluginDetails),
    /// A plugin was uninstalled (`on_plugin_removed`).
    PluginRemoved(String),
    /// An installation event: completed or failed install, uninstall, uninstall-all.
    Installation(InstallationEventNotice),
    /// A new line of the log of a plugin this session follows
    /// ([`plugin_log`](PluginManagerClient::plugin_log) with `follow`; beyond the seed).
    PluginLog(PluginLogLine),
    /// The client stopped for good: `disconnect` was called, or the manager refused it.
    Stopped(CloseReason),
}

/// Why a call has no result.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// Not connected to the manager right now.
    #[error("not connected to the plugin manager")]
    NotConnected,
    /// The manager refused the call, with the seed's code and why.
    #[error("{}: {what}", code.as_str_name())]
    Refused {
        /// The error code (seed chapter 6).
        code: ResponseCode,
        /// What went wrong.
        what: String,
    },
    /// No answer came: the timeout passed or the connection ended first.
    #[error("no answer from the plugin manager: {0}")]
    NoAnswer(RequestError),
    /// The manager answered with something other than the call's result.
    #[error("the plugin manager answered {0}, not the expected result")]
    Unexpected(String),
}

impl CallError {
    /// The seed's result code for this failure, as the C++ library returns it.
    pub fn code(&self) -> ResponseCode {
        match self {
            CallError::NotConnected => ResponseCode::NotReady,
            CallError::Refused { code, .. } => *code,
            CallError::NoAnswer(RequestError::TimedOut) => ResponseCode::Cancelled,
            CallError::NoAnswer(_) => ResponseCode::Unreachable,
            CallError::Unexpected(_) => ResponseCode::Faulted,
        }
    }
}

/// A call sent to the manager, its result to come.
#[derive(Debug)]
pub struct Call<T> {
    id: u32,
    answer: async_channel::Receiver<Result<Answer, RequestError>>,
    read: fn(Option<Message>) -> Option<T>,
}

impl<T> Call<T> {
    /// The request id the call went with.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The manager's answer: the call's result, or why there is none.
    pub async fn result(self) -> Result<T, CallError> {
        let answer = self
            .answer
            .recv()
            .await
            .unwrap_or(Err(RequestError::Gone))
            .map_err(CallError::NoAnswer)?;
        if !answer.response.is_ok() {
            return Err(CallError::Refused {
                code: answer.response.result(),
                what: answer.response.what,
            });
        }
        let got = answer
            .message
            .as_ref()
            .map_or("nothing", Message::full_name);
        (self.read)(answer.message).ok_or_else(|| CallError::Unexpected(got.into()))
    }
}

/// The configuration software's handle to the plugin manager. Clones share one connection.
#[derive(Clone)]
pub struct PluginManagerClient {
    inner: Reconnecting<LibraryOptions>,
    timeout: Duration,
}

impl std::fmt::Debug for PluginManagerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginManagerClient")
            .field("connected", &self.connected())
            .finish_non_exhaustive()
    }
}

impl PluginManagerClient {
    /// Connects (9.1.3 `connect`): the client, and the runner that keeps it connected (spawn
    /// it on any executor).
    pub fn connect(options: LibraryOptions) -> (PluginManagerClient, ClientRunner) {
        let timeout = options.call_timeout;
        let (inner, runner) = Reconnecting::new(options);
        (PluginManagerClient { inner, timeout }, runner)
    }

    /// Disconnects for good (9.2.1 `disconnect`).
    pub fn disconnect(&self) {
        self.inner.disconnect();
    }

    /// Waits until the client has stopped, its connection closed.
    pub async fn wait_for_disconnect(&self) {
        self.inner.wait_for_disconnect().await;
    }

    /// Whether the handshake with the manager is done (9.2.1 `connected`).
    pub fn connected(&self) -> bool {
        self.inner.is_connected()
    }

    /// The next event; `None` once the client has stopped.
    pub async fn next_event(&self) -> Option<LibraryEvent> {
        loop {
            let event = match self.inner.next_event().await? {
                ClientEvent::Connected(hello) => LibraryEvent::CommunicationEstablished(hello),
                ClientEvent::Disconnected(reason) => LibraryEvent::Disconnected(reason),
                ClientEvent::Stopped(reason) => LibraryEvent::Stopped(reason),
                ClientEvent::Notification(message) => match message {
                    Message::PluginUpdateResult(result) => {
                        LibraryEvent::ActionStateChanged(*result)
                    }
                    Message::PluginDetails(details) => LibraryEvent::PluginAvailable(*details),
                    Message::PluginRemoved(PluginRemoved { plugin_id }) => {
                        LibraryEvent::PluginRemoved(plugin_id)
                    }
                    Message::InstallationEventNotice(notice) => LibraryEvent::Installation(notice),
                    Message::PluginLogLine(line) => LibraryEvent::PluginLog(*line),
                    _ => continue,
                },
                _ => continue,
            };
            return Some(event);
        }
    }

    /// Waits until the client is connected, or has stopped: then why (`disconnect` was called,
    /// the manager refused the hello, or another user serves the endpoint, which is refused
    /// before any hello is sent).
    pub async fn wait_connected(&self) -> Result<(), CloseReason> {
        while !self.connected() {
            match self.next_event().await {
                Some(LibraryEvent::CommunicationEstablished(_)) => return Ok(()),
                Some(LibraryEvent::Stopped(reason)) => return Err(reason),
                // Stopped before, its reason taken by another caller.
                None => return Err(CloseReason::Local),
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Installs the package at `package_path`, which must hold `plugin_id` (9.3.1); an empty
    /// id takes whatever the package holds.
    pub async fn install_plugin(
        &self,
        plugin_id: &str,
        package_path: &Path,
    ) -> Result<Call<()>, CallError> {
        let install = InstallPlugin {
            plugin_id: plugin_id.into(),
            package_path: Some(package_path.to_string_lossy().into_owned()),
        };
        self.call(install, nothing).await
    }

    /// Links a plugin author's package folder to the manager, in development mode (beyond the
    /// seed: `logi-plugin dev`): it runs from there, its program at `program` when given (a
    /// build's output), and linking it again reloads it. [`remove_plugin`](Self::remove_plugin)
    /// unlinks it, leaving the folder. Paths are resolved here, as the manager runs elsewhere.
    pub async fn link_plugin(
        &self,
        folder: &Path,
        program: Option<&Path>,
    ) -> Result<Call<()>, CallError> {
        let absolute = |path: &Path| {
            std::path::absolute(path)
                .unwrap_or_else(|_| path.to_path_buf())
                .display()
                .to_string()
        };
        let link = LinkPlugin {
            folder: absolute(folder),
            program_path: program.map(absolute),
        };
        self.call(link, nothing).await
    }

    /// Uninstalls a plugin (9.3.2); the manager keeps its settings for a later install of the
    /// same id ([`purge_plugin`](Self::purge_plugin) deletes them).
    pub async fn remove_plugin(&self, plugin_id: &str) -> Result<Call<()>, CallError> {
        let remove = RemovePlugin {
            plugin_id: plugin_id.into(),
            purge: false,
        };
        self.call(remove, nothing).await
    }

    /// Uninstalls a plugin as [`remove_plugin`](Self::remove_plugin) does, and has the manager
    /// delete its settings (`RemovePlugin.purge`, beyond the seed).
    pub async fn purge_plugin(&self, plugin_id: &str) -> Result<Call<()>, CallError> {
        let remove = RemovePlugin {
            plugin_id: plugin_id.into(),
            purge: true,
        };
        self.call(remove, nothing).await
    }

    /// Every plugin the manager has (9.3.3).
    pub async fn plugin_list(&self) -> Result<Call<Vec<PluginDetails>>, CallError> {
        self.call(GetPluginList {}, |message| match message {
            Some(Message::PluginList(PluginList { plugins })) => Some(plugins),
            _ => None,
        })
        .await
    }

    /// Presses, releases or turns an action or control (9.4.1); the result is the state the
    /// plugin reports.
    pub async fn invoke(&self, invoke: Invoke) -> Result<Call<PluginUpdateResult>, CallError> {
        self.call(invoke, update_result).await
    }

    /// The latest state of an action or control instance (9.5.3).
    pub async fn action_status(
        &self,
        id: AnalogControlId,
    ) -> Result<Call<PluginUpdateResult>, CallError> {
        self.call(id, update_result).await
    }

    /// The configuration form of an action (9.5.1).
    pub async fn plugin_action_configuration(
        &self,
        request: ActionConfigurationRequest,
    ) -> Result<Call<ActionConfiguration>, CallError> {
        self.call(request, configuration).await
    }

    /// Submits a filled configuration form (9.5.2); the plugin may answer with a new form.
    pub async fn set_plugin_action_configuration(
        &self,
        form: SetActionConfiguration,
    ) -> Result<Call<Option<ActionConfiguration>>, CallError> {
        self.call(form, |message| match message {
            None => Some(None),
            other => configuration(other).map(Some),
        })
        .await
    }

    /// Starts a plugin's login (9.5.4).
    pub async fn invoke_login(&self, plugin_id: &str) -> Result<Call<()>, CallError> {
        let login = InvokeLogin {
            plugin_id: plugin_id.into(),
        };
        self.call(login, nothing).await
    }

    /// Logs a user out of a plugin (9.5.5).
    pub async fn invoke_logout(
        &self,
        plugin_id: &str,
        username: &str,
    ) -> Result<Call<()>, CallError> {
        let logout = InvokeLogout {
            plugin_id: plugin_id.into(),
            username: username.into(),
        };
        self.call(logout, nothing).await
    }

    /// Whether development mode is on (9.5.6).
    pub async fn development_mode(&self) -> Result<Call<bool>, CallError> {
        self.call(GetDevelopmentMode {}, |message| match message {
            Some(Message::DevelopmentMode(mode)) => Some(mode.enabled),
            _ => None,
        })
        .await
    }

    /// Turns development mode on or off (9.5.7).
    pub async fn set_development_mode(&self, enabled: bool) -> Result<Call<()>, CallError> {
        self.call(DevelopmentMode { enabled }, nothing).await
    }

    /// Tells the manager the language changed (9.5.8): plugins reconnect with it.
    pub async fn set_language_changed(&self, language_code: &str) -> Result<Call<()>, CallError> {
        let changed = LanguageChanged {
            language_code: language_code.into(),
        };
        self.call(changed, nothing).await
    }

    /// A plugin's recent log lines, oldest first (beyond the seed: its `LogEvent`s, its
    /// stderr, the manager's notes about it); `NOT_FOUND` for a plugin the manager does not
    /// have. With `follow`, each new line of the plugin then comes as
    /// [`LibraryEvent::PluginLog`] until the connection closes (a reconnected client asks
    /// again); a line logged while the answer is made may come both ways, with the same `seq`.
    pub async fn plugin_log(
        &self,
        plugin_id: &str,
        follow: bool,
    ) -> Result<Call<Vec<PluginLogLine>>, CallError> {
        let ask = GetPluginLog {
            plugin_id: plugin_id.into(),
            follow,
        };
        self.call(ask, |message| match message {
            Some(Message::PluginLog(PluginLog { lines, .. })) => Some(lines),
            _ => None,
        })
        .await
    }

    /// Shows or hides actions and controls (9.5.9); one result per change, in order.
    pub async fn set_visibility(
        &self,
        items: Vec<ControlVisibility>,
    ) -> Result<Call<Vec<PluginUpdateResult>>, CallError> {
        self.call(VisibilityUpdate { items }, |message| match message {
            Some(Message::PluginUpdateResultList(PluginUpdateResultList { results })) => {
                Some(results)
            }
            _ => None,
        })
        .await
    }

    /// Sends a call; its result comes through the [`Call`].
    async fn call<T>(
        &self,
        message: impl Into<Message>,
        read: fn(Option<Message>) -> Option<T>,
    ) -> Result<Call<T>, CallError> {
        let connection = self
            .inner
            .connected()
            .map_err(|_| CallError::NotConnected)?;
        let (tx, answer) = async_channel::bounded(1);
        let sent = connection
            .request_with_callback(message, self.timeout, move |answer| {
                let _ = tx.try_send(answer);
            })
            .await;
        let id = sent.map_err(|error| match error {
            RequestError::Refused(refused) => CallError::Refused {
                code: ResponseCode::InvalidArg,
                what: refused.error.to_string(),
            },
            _ => CallError::NotConnected,
        })?;
        Ok(Call { id, answer, read })
    }
}

// What each call's answer must carry; `None`: something else came.

fn nothing(message: Option<Message>) -> Option<()> {
    message.is_none().then_some(())
}

fn update_result(message: Option<Message>) -> Option<PluginUpdateResult> {
    match message {
        Some(Message::PluginUpdateResult(result)) => Some(*result),
        _ => None,
    }
}

fn configuration(message: Option<Message>) -> Option<ActionConfiguration> {
    match message {
        Some(Message::ActionConfiguration(configuration)) => Some(*configuration),
        _ => None,
    }
}
