//! The plugin SDK client (seed 7.1): what a plugin author uses to talk to the manager.
//!
//! [`PluginClient::new`] gives the client handle and its [`ClientRunner`], a future to spawn on
//! any executor, or to run beside the plugin's own loop on one thread with
//! [`block_on`](crate::block_on) (the lowest latency: see [`logi_plugin_transports::run`]). The runner connects
//! (a local socket by default, or WebSocket), says hello with the plugin's id, version and
//! secret, and keeps the connection up ([`logi_plugin_transports::reconnect`]): when it drops it reconnects with
//! capped exponential backoff and a new hello. Only a refused hello (a wrong secret, an unknown
//! plugin), a local socket another user serves, or [`PluginClient::disconnect`] stop it. When
//! the host stops the plugin (a stop, an uninstall, a reload, its shutdown) it closes the
//! session and refuses the next hello: the event stream ends with
//! [`ClientEvent::Stopped`]`(`[`CloseReason::StoppedByHost`](logi_plugin_core::session::CloseReason::StoppedByHost)`)`, and a plugin
//! whose loop ends there exits well within the host's grace period, before any signal.
//!
//! Everything the manager sends arrives as a [`ClientEvent`] from
//! [`next_event`](PluginClient::next_event); requests are answered with
//! [`send_ok_response`](PluginClient::send_ok_response),
//! [`send_error_response`](PluginClient::send_error_response) or
//! [`send_response`](PluginClient::send_response).

use std::sync::Arc;
use std::time::{Duration, Instant};

use logi_plugin_core::buffer::{AnalogBuffer, BufferError, THROUGHPUT, TIMER};
use logi_plugin_core::session::{Format, PluginConfig, PluginSession, Reply, Wire};
use logi_plugin_core::view::View;
use logi_plugin_core::{Message, ResponseCode};

use logi_plugin_transports::clock::Clock;
use logi_plugin_transports::endpoint::{Endpoint, TOKEN_ENV};
use logi_plugin_transports::lock::lock;
use logi_plugin_transports::reconnect::{Dialer, Reconnecting, Target};
use logi_plugin_transports::{Answer, RequestError};

pub use logi_plugin_transports::reconnect::{
    Backoff, ClientError, ClientEvent, ClientRunner, Connector,
};

/// How a [`PluginClient`] connects.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The plugin's id, as in its manifest.
    pub plugin_id: String,
    /// The plugin's version.
    pub plugin_version: String,
    /// The per-launch secret the host put in the `token` environment variable.
    pub secret: String,
    /// Where the manager listens.
    pub endpoint: Endpoint,
    /// Opens connections instead of `endpoint` when set: an in-process manager's
    /// [`MemoryConnector`](logi_plugin_transports::listener::MemoryConnector), or a transport of your own.
    pub connector: Option<Connector>,
    /// Over WebSocket, JSON text instead of binary protobuf (seed 7.1.2). Local sockets always
    /// carry binary.
    pub use_text_format: bool,
    /// Controls to buffer, `(control_id, buffer_key)` (seed 7.1.12); kept across reconnects.
    /// [`enable_control_buffering`](Self::enable_control_buffering) checks the keys.
    pub control_buffering: Vec<(String, String)>,
    /// The plugin's own buffers by name, each made afresh for every connection; added with
    /// [`register_custom_buffer`](Self::register_custom_buffer), which refuses a name taken.
    custom_buffers: Vec<(String, BufferFactory)>,
    /// How long to wait before reconnecting.
    pub reconnect: Backoff,
    /// Record each connection's session into `<record>-<n>.logirec`, for `logi-plugin replay`
    /// (e.g. `/tmp/my-plugin` gives `/tmp/my-plugin-1.logirec`, then `-2` after a reconnect).
    pub record: Option<std::path::PathBuf>,
    /// Fine tuning of the session (timeouts, limits); its id, code and version are replaced by
    /// the fields above.
    pub session: PluginConfig,
    /// The clock the sessions, their deadlines and the waits between reconnects run on: the
    /// machine's, or a test's virtual one (the mock host's).
    pub clock: Clock,
}

impl ClientConfig {
    /// A configuration with the default endpoint and settings.
    pub fn new(
        plugin_id: impl Into<String>,
        plugin_version: impl Into<String>,
        secret: impl Into<String>,
    ) -> ClientConfig {
        let (plugin_id, plugin_version, secret) =
            (plugin_id.into(), plugin_version.into(), secret.into());
        ClientConfig {
            session: PluginConfig::new(&plugin_id, &secret, &plugin_version),
            plugin_id,
            plugin_version,
            secret,
            endpoint: Endpoint::from_env(),
            connector: None,
            use_text_format: false,
            control_buffering: Vec::new(),
            custom_buffers: Vec::new(),
            reconnect: Backoff::default(),
            record: None,
            clock: Clock::System,
        }
    }

    /// A configuration as the host launches a plugin: the secret from `token`, the endpoint
    /// from `LOGI_PLUGIN_ENDPOINT` (or the default local socket).
    pub fn from_env(
        plugin_id: impl Into<String>,
        plugin_version: impl Into<String>,
    ) -> Result<ClientConfig, ClientError> {
        let secret = std::env::var(TOKEN_ENV)
            .ok()
            .filter(|token| !token.is_empty())
            .ok_or(ClientError::NoToken)?;
        Ok(ClientConfig::new(plugin_id, plugin_version, secret))
    }

    /// Adds a buffer of the plugin's own under `name` (seed 7.3.3), for controls to be
    /// registered to: `factory` makes a fresh one for each connection, since the request ids a
    /// buffer holds die with their session. A built-in key (`throughput`, `timer`) or a name
    /// already registered is refused: [`BufferError::BufferKeyTaken`].
    pub fn register_custom_buffer(
        &mut self,
        name: impl Into<String>,
        factory: impl Fn() -> Box<dyn AnalogBuffer> + Send + Sync + 'static,
    ) -> Result<(), BufferError> {
        self.add_custom_buffer(name.into(), BufferFactory(Arc::new(factory)))
    }

    /// Buffers these controls' updates (seed 7.1.12), `(control_id, buffer_key)`, on every
    /// connection. A key that names neither a built-in buffer nor a custom one registered
    /// before is refused ([`BufferError::UnknownBufferKey`]), and then nothing is added.
    pub fn enable_control_buffering<I, C, K>(&mut self, controls: I) -> Result<(), BufferError>
    where
        I: IntoIterator<Item = (C, K)>,
        C: Into<String>,
        K: Into<String>,
    {
        let controls = owned_pairs(controls);
        if let Some((control_id, buffer_key)) =
            controls.iter().find(|(_, key)| !self.has_buffer(key))
        {
            return Err(BufferError::UnknownBufferKey {
                control_id: control_id.clone(),
                buffer_key: buffer_key.clone(),
            });
        }
        self.control_buffering.extend(controls);
        Ok(())
    }

    /// Whether `key` names a built-in buffer or a registered custom one.
    fn has_buffer(&self, key: &str) -> bool {
        key == THROUGHPUT || key == TIMER || self.custom_buffers.iter().any(|(name, _)| name == key)
    }

    fn add_custom_buffer(
        &mut self,
        name: String,
        factory: BufferFactory,
    ) -> Result<(), BufferError> {
        if self.has_buffer(&name) {
            return Err(BufferError::BufferKeyTaken { buffer_key: name });
        }
        self.custom_buffers.push((name, factory));
        Ok(())
    }

    fn session_config(&self, wire: Wire) -> PluginConfig {
        let mut config = self.session.clone();
        config.plugin_id.clone_from(&self.plugin_id);
        config.plugin_code.clone_from(&self.secret);
        config.plugin_version.clone_from(&self.plugin_version);
        config.wire = wire;
        config
    }
}

/// `(control_id, buffer_key)` pairs as owned strings.
fn owned_pairs<I, C, K>(controls: I) -> Vec<(String, String)>
where
    I: IntoIterator<Item = (C, K)>,
    C: Into<String>,
    K: Into<String>,
{
    controls
        .into_iter()
        .map(|(c, k)| (c.into(), k.into()))
        .collect()
}

/// Makes a plugin's own buffer, afresh for each connection.
#[derive(Clone)]
struct BufferFactory(Arc<dyn Fn() -> Box<dyn AnalogBuffer> + Send + Sync>);

impl std::fmt::Debug for BufferFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BufferFactory")
    }
}

/// The plugin's [`Dialer`]: its configuration, kept across reconnects.
struct PluginDialer(ClientConfig);

impl Dialer for PluginDialer {
    type Session = PluginSession;

    fn target(&self) -> Target {
        Target {
            endpoint: self.0.endpoint.clone(),
            connector: self.0.connector.clone(),
            format: if self.0.use_text_format {
                Format::Json
            } else {
                Format::Binary
            },
            backoff: self.0.reconnect,
            record: self.0.record.clone(),
        }
    }

    fn open(&self, now: Instant, wire: Wire) -> Result<PluginSession, String> {
        let mut session = PluginSession::new(now, self.0.session_config(wire));
        // Buffers first: the controls may be registered to them.
        for (name, factory) in &self.0.custom_buffers {
            session
                .register_custom_buffer(name.clone(), (factory.0)())
                .map_err(|error| error.to_string())?;
        }
        session
            .enable_control_buffering(self.0.control_buffering.clone())
            .map_err(|error| error.to_string())?;
        Ok(session)
    }

    fn clock(&self) -> Clock {
        self.0.clock.clone()
    }
}

/// The plugin's handle to the manager. Clones share one connection.
#[derive(Clone)]
pub struct PluginClient {
    inner: Reconnecting<PluginDialer>,
    /// What the manager shows the plugin, across reconnects.
    view: Arc<std::sync::Mutex<View>>,
    /// The clock its sessions run on.
    clock: Clock,
}

impl std::fmt::Debug for PluginClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginClient")
            .field("connected", &self.is_connected())
            .finish_non_exhaustive()
    }
}

impl PluginClient {
    /// A client and the runner that keeps it connected.
    pub fn new(config: ClientConfig) -> (PluginClient, ClientRunner) {
        let clock = config.clock.clone();
        let (inner, runner) = Reconnecting::new(PluginDialer(config));
        let view = Arc::default();
        (PluginClient { inner, view, clock }, runner)
    }

    /// The time now on the clock its sessions run on ([`ClientConfig::clock`]): the one the
    /// `until` of [`ClientEvent::Throttled`] is on.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// The next event; `None` after [`ClientEvent::Stopped`].
    pub async fn next_event(&self) -> Option<ClientEvent> {
        let event = self.inner.next_event().await;
        if let Some(ClientEvent::Request { message, .. }) = &event {
            lock(&self.view).apply_message(message);
        }
        event
    }

    /// The action and control instances the manager shows the plugin now, with their
    /// configuration: every visibility change taken from [`next_event`](Self::next_event), in
    /// order. It is kept across reconnects; after one, the manager's resync brings it to what
    /// the manager shows.
    pub fn view(&self) -> View {
        lock(&self.view).clone()
    }

    /// Whether the client is connected and past the handshake (seed 7.1.5).
    pub fn is_connected(&self) -> bool {
        self.inner.is_connected()
    }

    /// The language the manager last said it uses.
    pub fn language(&self) -> Option<String> {
        self.inner.language()
    }

    /// Sends a message that expects no answer, such as a status update or a log event (seed
    /// 7.1.8; it goes as a notification, id 0). A message the session refuses comes back in
    /// [`ClientError::Refused`] with why: held back by the manager's `RetryAfter` with the hold
    /// queue full, send it again after its `retry_in`.
    pub async fn send_message(&self, message: impl Into<Message>) -> Result<(), ClientError> {
        Ok(self.inner.connected()?.notify(message).await?)
    }

    /// Sends a request and waits for its answer, at most `timeout` (seed 7.1.9).
    pub async fn send_message_with_callback(
        &self,
        message: impl Into<Message>,
        timeout: Duration,
    ) -> Result<Answer, ClientError> {
        Ok(self.inner.connected()?.request(message, timeout).await?)
    }

    /// Sends a request; `on_response` runs when it is answered, times out or the connection
    /// ends. The request's id.
    pub async fn send_message_with_handler(
        &self,
        message: impl Into<Message>,
        timeout: Duration,
        on_response: impl FnOnce(Result<Answer, ClientError>) + Send + 'static,
    ) -> Result<u32, ClientError> {
        let connection = self.inner.connected()?;
        let on_response = move |outcome: Result<Answer, RequestError>| {
            on_response(outcome.map_err(ClientError::from))
        };
        Ok(connection
            .request_with_callback(message, timeout, on_response)
            .await?)
    }

    /// Answers request `id` with success (seed 7.1.11).
    pub async fn send_ok_response(&self, id: u32) -> Result<(), ClientError> {
        self.send_response(id, Reply::Ok).await
    }

    /// Answers request `id` with an error (seed 7.1.10).
    pub async fn send_error_response(
        &self,
        id: u32,
        code: ResponseCode,
        description: impl Into<String>,
    ) -> Result<(), ClientError> {
        self.send_response(id, Reply::Error(code, description.into()))
            .await
    }

    /// Answers request `id`.
    pub async fn send_response(&self, id: u32, reply: Reply) -> Result<(), ClientError> {
        Ok(self.inner.connected()?.respond(id, reply).await?)
    }

    /// Buffers these controls' updates (seed 7.1.12): `(control_id, buffer_key)`, where the key
    /// is `throughput`, `timer` or a custom buffer's. Applies now and after every reconnect.
    pub async fn enable_control_buffering<I, C, K>(&self, controls: I) -> Result<(), ClientError>
    where
        I: IntoIterator<Item = (C, K)>,
        C: Into<String>,
        K: Into<String>,
    {
        let controls = owned_pairs(controls);
        if let Some(connection) = self.inner.connection() {
            let apply = controls.clone();
            connection
                .with(move |session, _| session.enable_control_buffering(apply))
                .await?
                .map_err(ClientError::Buffering)?;
        }
        self.inner.dialer().0.control_buffering.extend(controls);
        Ok(())
    }

    /// Adds a buffer of the plugin's own under `name` (seed 7.3.3), for
    /// [`enable_control_buffering`](Self::enable_control_buffering) to register controls to:
    /// `factory` makes one now for the live connection and a fresh one for each later
    /// connection (the request ids a buffer holds die with their session). A built-in key
    /// (`throughput`, `timer`) or a name already registered is refused at once with
    /// [`BufferError::BufferKeyTaken`], and nothing changes.
    pub async fn register_custom_buffer(
        &self,
        name: impl Into<String>,
        factory: impl Fn() -> Box<dyn AnalogBuffer> + Send + Sync + 'static,
    ) -> Result<(), ClientError> {
        let (name, factory) = (name.into(), BufferFactory(Arc::new(factory)));
        // Kept for the next connections first: a connection opened from now on has it.
        self.inner
            .dialer()
            .0
            .add_custom_buffer(name.clone(), factory.clone())?;
        let Some(connection) = self.inner.connection() else {
            return Ok(());
        };
        let added = connection
            .with(move |session, _| {
                // Already there when this connection opened after the name was kept: a
                // second buffer from the factory would be one too many.
                if session.has_buffer(&name) {
                    return Ok(());
                }
                session.register_custom_buffer(name, (factory.0)())
            })
            .await;
        match added {
            Ok(added) => Ok(added?),
            // The connection ended: the next one gets the buffer when it opens.
            Err(_) => Ok(()),
        }
    }

    /// Disconnects for good (seed 7.1.6): the session closes and the client does not reconnect.
    pub fn disconnect(&self) {
        self.inner.disconnect();
    }

    /// Waits until the client has stopped (seed 7.1.7).
    pub async fn wait_for_disconnect(&self) {
        self.inner.wait_for_disconnect().await;
    }
}
