//! The scenario harness: a manager listening on one transport, plugins connecting to it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_lite::future;
use logi_plugin_core::session::{
    Admission, Event, Format, Frame, ManagerConfig, PluginConfig, PluginRegistry, PluginSession,
};
use logi_plugin_transports::listener::{ListenerStats, MemoryConnector};
use logi_plugin_transports::local::{LocalListener, connect_local};
use logi_plugin_transports::reconnect::Connector;
use logi_plugin_transports::ws::{
    WsListenError, WsListener, WsOptions, connect_ws, connect_ws_request,
};
use logi_plugin_transports::{
    BoxTransport, Connection, Driver, Endpoint, ManagerConnection, ManagerListener, Transport,
    connect,
};
use tungstenite::client::IntoClientRequest;

pub const PLUGIN: &str = "com.example.scenario";
pub const ALLOWED_ORIGIN: &str = "http://localhost:8080";
/// The WebSocket message limit in these scenarios, small enough to exceed cheaply.
pub const WS_MAX_MESSAGE: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Memory,
    Local,
    WsBinary,
    WsJson,
}

/// Waits for `future`, failing the test after 10 seconds.
pub async fn within<T>(future: impl Future<Output = T>) -> T {
    future::or(future, async {
        async_io::Timer::after(Duration::from_secs(10)).await;
        panic!("timed out");
    })
    .await
}

fn unique_socket_path() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "logi-scenario-{}-{}.sock",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

pub struct Harness {
    kind: Kind,
    config: ManagerConfig,
    /// Kept across restarts of the listener, as the live plugin ids are.
    admission: Admission,
    socket: PathBuf,
    ws_addr: Option<SocketAddr>,
    memory: Arc<Mutex<Option<MemoryConnector>>>,
    connections: async_channel::Receiver<ManagerConnection>,
    accepting: Option<smol::Task<()>>,
    stats: Arc<Mutex<ListenerStats>>,
    /// Kept open for the length of the scenario.
    held: Vec<BoxTransport>,
    /// The WebSocket listener's allow-list.
    origins: Vec<String>,
}

/// The listener's admission unless a scenario says otherwise: the one plugin, code `code`.
fn admission() -> Admission {
    let registry: HashMap<String, String> = [(PLUGIN.to_string(), "code".to_string())].into();
    Admission::new(Arc::new(registry))
}

impl Harness {
    pub async fn start(kind: Kind, tweak: impl FnOnce(&mut ManagerConfig)) -> Harness {
        Harness::listening(kind, tweak, &[], admission())
    }

    /// A harness whose listener admits the plugins of `registry`.
    pub async fn start_admitting(kind: Kind, registry: Arc<dyn PluginRegistry>) -> Harness {
        Harness::listening(kind, |_| {}, &[], Admission::new(registry))
    }

    /// A harness whose WebSocket listener also allows `origins`.
    pub async fn start_with_origins(kind: Kind, origins: &[&str]) -> Harness {
        Harness::listening(kind, |_| {}, origins, admission())
    }

    /// A harness listening with `tweak`ed settings, its WebSocket listener allowing
    /// `ALLOWED_ORIGIN` and `origins`.
    fn listening(
        kind: Kind,
        tweak: impl FnOnce(&mut ManagerConfig),
        origins: &[&str],
        admission: Admission,
    ) -> Harness {
        let mut config = ManagerConfig::new("1.0.0");
        tweak(&mut config);
        let (_, connections) = async_channel::unbounded();
        let mut harness = Harness {
            kind,
            config,
            admission,
            socket: unique_socket_path(),
            ws_addr: None,
            memory: Arc::new(Mutex::new(None)),
            connections,
            accepting: None,
            stats: Arc::new(Mutex::new(ListenerStats::default())),
            held: Vec::new(),
            origins: std::iter::once(ALLOWED_ORIGIN)
                .chain(origins.iter().copied())
                .map(String::from)
                .collect(),
        };
        harness.listen();
        harness
    }

    /// Starts a listener (again) on this harness's endpoint.
    fn listen(&mut self) {
        let mut listener = ManagerListener::new(self.config.clone(), self.admission.clone());
        match self.kind {
            Kind::Memory => {}
            Kind::Local => {
                listener = listener.with_local(LocalListener::bind(&self.socket).unwrap())
            }
            Kind::WsBinary | Kind::WsJson => {
                let addr = self
                    .ws_addr
                    .unwrap_or_else(|| "127.0.0.1:0".parse().unwrap());
                let options = WsOptions {
                    allowed_origins: self.origins.clone(),
                    max_message_size: WS_MAX_MESSAGE,
                    ..WsOptions::default()
                };
                let ws = WsListener::bind(addr, options).unwrap();
                self.ws_addr = Some(ws.local_addr().unwrap());
                listener = listener.with_ws(ws);
            }
        }
        *self.memory.lock().unwrap() = Some(listener.memory_connector());
        let (sender, connections) = async_channel::unbounded();
        self.connections = connections;
        let stats = self.stats.clone();
        self.accepting = Some(smol::spawn(async move {
            let mut drivers = Vec::new();
            loop {
                let (connection, driver) = listener.accept().await.unwrap();
                *stats.lock().unwrap() = listener.stats();
                drivers.push(smol::spawn(driver));
                let _ = sender.send(connection).await;
            }
        }));
    }

    /// The manager process dies (every connection with it) and starts again.
    pub async fn restart(&mut self) {
        if let Some(task) = self.accepting.take() {
            task.cancel().await;
        }
        self.listen();
    }

    pub async fn next_connection(&self) -> ManagerConnection {
        within(self.connections.recv()).await.unwrap()
    }

    pub fn refused_origins(&self) -> u64 {
        self.stats.lock().unwrap().refused_origins
    }

    pub fn refused_hosts(&self) -> u64 {
        self.stats.lock().unwrap().refused_hosts
    }

    pub fn evicted_upgrades(&self) -> u64 {
        self.stats.lock().unwrap().evicted_upgrades
    }

    /// The WebSocket listener's port.
    pub fn ws_port(&self) -> u16 {
        self.ws_addr.unwrap().port()
    }

    /// The transport this manager listens on.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Where a plugin reaches this manager; for the in-memory kind, use [`Self::connector`].
    pub fn endpoint(&self) -> Endpoint {
        match self.kind {
            // The connector is used instead.
            Kind::Memory | Kind::Local => Endpoint::Local(self.socket.clone()),
            Kind::WsBinary | Kind::WsJson => {
                Endpoint::WebSocket(format!("ws://{}", self.ws_addr.unwrap()))
            }
        }
    }

    fn format(&self) -> Format {
        if self.kind == Kind::WsJson {
            Format::Json
        } else {
            Format::Binary
        }
    }

    /// Opens connections to the listener of the moment (after a restart, the new one), for
    /// the in-memory kind; `None` for the others, which a plugin reaches at [`Self::endpoint`].
    pub fn connector(&self) -> Option<Connector> {
        if self.kind != Kind::Memory {
            return None;
        }
        let memory = self.memory.clone();
        Some(Connector::new(move || {
            let current = memory.lock().unwrap().clone().expect("a listener");
            let transport = current.connect();
            async move { Ok(Box::new(transport?) as BoxTransport) }
        }))
    }

    /// A raw connection to the manager, as a plugin would open it.
    pub async fn plugin_transport(&self) -> BoxTransport {
        match self.kind {
            Kind::Memory => {
                let memory = self.memory.lock().unwrap().clone().unwrap();
                Box::new(memory.connect().unwrap())
            }
            Kind::Local => Box::new(connect_local(&self.socket).await.unwrap()),
            Kind::WsBinary | Kind::WsJson => {
                let url = format!("ws://{}", self.ws_addr.unwrap());
                Box::new(connect_ws(&url, self.format()).await.unwrap())
            }
        }
    }

    /// A plugin that says hello and then is never driven again: it reads nothing, answers
    /// nothing, but keeps its connection open.
    pub async fn frozen_plugin(
        &self,
    ) -> (
        Connection<PluginSession>,
        Driver<PluginSession, BoxTransport>,
    ) {
        let transport = self.plugin_transport().await;
        let mut config = PluginConfig::new(PLUGIN, "code", "1.0.0");
        config.wire = transport.wire();
        let (connection, mut driver) =
            connect(PluginSession::new(Instant::now(), config), transport);
        let connected =
            async { while !matches!(connection.next_event().await, Some(Event::Connected(_))) {} };
        within(future::or(connected, async {
            (&mut driver).await;
        }))
        .await;
        (connection, driver)
    }

    /// Sends the manager one frame past its limit, keeping the connection open.
    pub async fn send_oversized_frame(&mut self) {
        let mut transport = self.plugin_transport().await;
        let frame = match self.kind {
            // A length prefix announcing 100 MiB, then a little of it.
            Kind::Memory | Kind::Local => {
                let mut bytes = Vec::new();
                prost::encoding::encode_varint(100 << 20, &mut bytes);
                bytes.extend_from_slice(&[0; 16]);
                Frame::Binary(Bytes::from(bytes))
            }
            Kind::WsBinary => Frame::Binary(Bytes::from(vec![0; WS_MAX_MESSAGE + 1])),
            Kind::WsJson => Frame::Text("x".repeat(WS_MAX_MESSAGE + 1)),
        };
        transport.queue(frame);
        within(future::poll_fn(|cx| transport.poll_flush(cx)))
            .await
            .unwrap();
        self.held.push(transport);
    }

    pub async fn connect_ws_with_origin(
        &self,
        origin: &str,
    ) -> Result<BoxTransport, WsListenError> {
        self.connect_ws_with(&[("origin", origin)]).await
    }

    /// An upgrade request with these headers set (replacing the client's own).
    pub async fn connect_ws_with(
        &self,
        headers: &[(&'static str, &str)],
    ) -> Result<BoxTransport, WsListenError> {
        let mut request = format!("ws://{}", self.ws_addr.unwrap())
            .into_client_request()
            .unwrap();
        for (name, value) in headers {
            request.headers_mut().insert(*name, value.parse().unwrap());
        }
        connect_ws_request(request, Format::Binary, WS_MAX_MESSAGE)
            .await
            .map(|t| Box::new(t) as BoxTransport)
    }
}
