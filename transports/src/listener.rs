//! The manager's listener: accepts plugin connections on every enabled transport (a local
//! socket, a WebSocket port, in-process memory pipes), one [`ManagerSession`] each, and hands the
//! owner each session's [`Connection`] with the [`Driver`] to spawn. With
//! [`ManagerConfig::accept_clients`], the client library is admitted too, on the local socket and
//! memory pipes only. The listener is the owner that admits plugins: each session hands it the
//! hello, judged inside the driver by the listener's [`Admission`] (the registry, the code, the
//! process that connected where a local socket tells it ([`ManagerConfig::peer_process`], from
//! [`crate::local::peer_process`]), one live session per plugin id), the plugin id held until
//! the session closes.
//!
//! WebSocket upgrades run inside [`ManagerListener::accept`] side by side, so a slow or hostile
//! client holds up nobody; an upgrade refused (a browser origin, a bad request) is counted in
//! [`ListenerStats`] and never reaches the owner. At [`MAX_UPGRADING`] upgrades in progress, a
//! new connection evicts the oldest, so that a crowd of idle connections cannot keep a real
//! plugin waiting in the kernel's backlog.
//!
//! A listening socket whose accept fails (out of file descriptors, say) is reported to the
//! owner and tried again after a pause doubling from [`ACCEPT_RETRY`] up to a second, while the
//! other transports go on: the listener never gives up a socket.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_lite::Stream as _;
use logi_plugin_core::session::record::Recorded;
use logi_plugin_core::session::{
    Admission, Claim, ManagerConfig, ManagerSession, Peer, PeerProcess, Session, Wire,
};

use crate::clock::Clock;
use crate::driver::{Connection, Driver, Judge, connect};
use crate::endpoint::ConnectError;
use crate::local::{LocalError, LocalListener};
use crate::memory::{self, MemoryStream};
use crate::reconnect::Backoff;
use crate::stream::StreamTransport;
use crate::transport::{BoxTransport, Transport};
use crate::ws::{WsListenError, WsListener};

/// The most WebSocket upgrades in progress at once; a connection beyond evicts the oldest.
pub const MAX_UPGRADING: usize = 64;

/// The pause before a failed accept is tried again; it doubles while accepts keep failing.
pub const ACCEPT_RETRY: Backoff = Backoff {
    initial: Duration::from_millis(10),
    max: Duration::from_secs(1),
};

/// A manager's connection to one plugin.
pub type ManagerConnection = Connection<ManagerSession>;

/// The driver of one plugin connection: spawn it.
pub type ManagerDriver = Driver<ManagerSession, BoxTransport>;

/// What the listener refused before a session began.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListenerStats {
    /// Connections handed to the owner.
    pub accepted: u64,
    /// WebSocket upgrades refused for their `Origin`.
    pub refused_origins: u64,
    /// WebSocket upgrades refused for their `Host` (not a loopback name with this port).
    pub refused_hosts: u64,
    /// WebSocket upgrades that failed otherwise (not a WebSocket request, too slow, ...).
    pub failed_upgrades: u64,
    /// WebSocket upgrades dropped unfinished to make room for a newer connection.
    pub evicted_upgrades: u64,
}

type Pending<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// An accepted connection, with the process at its other end where the transport tells it.
type Accepted = (BoxTransport, Option<PeerProcess>);

/// One listening socket's accept in progress, tried again after a pause when it fails.
struct Accepting<T> {
    pending: Option<Pending<io::Result<T>>>,
    /// Accepts failed in a row.
    failures: u32,
}

impl<T> Default for Accepting<T> {
    fn default() -> Self {
        Accepting {
            pending: None,
            failures: 0,
        }
    }
}

impl<T: 'static> Accepting<T> {
    /// Polls the accept in progress, starting one with `start` if there is none (after the
    /// pause [`ACCEPT_RETRY`] gives on `clock`, if the last one failed).
    fn poll(
        &mut self,
        cx: &mut Context<'_>,
        clock: &Clock,
        start: impl FnOnce() -> Pending<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        let failures = self.failures;
        let pending = self.pending.get_or_insert_with(|| {
            let accept = start();
            if failures == 0 {
                return accept;
            }
            // The same failure would come back at once (a descriptor is not freed by asking).
            let pause = clock.sleep(ACCEPT_RETRY.delay(failures - 1));
            Box::pin(async move {
                pause.await;
                accept.await
            })
        });
        let result = std::task::ready!(pending.as_mut().poll(cx));
        self.pending = None;
        self.failures = match result {
            Ok(_) => 0,
            Err(_) => self.failures.saturating_add(1),
        };
        Poll::Ready(result)
    }
}

/// Opens in-memory connections to a [`ManagerListener`] in the same process.
#[derive(Clone, Debug)]
pub struct MemoryConnector {
    sender: async_channel::Sender<MemoryStream>,
}

impl MemoryConnector {
    /// The plugin's end of a new connection; an error if the listener is gone.
    pub fn connect(&self) -> Result<StreamTransport<MemoryStream>, ConnectError> {
        let (plugin_end, manager_end) = memory::pair();
        self.sender.try_send(manager_end).map_err(|_| {
            ConnectError::Local(LocalError::Connect {
                endpoint: "memory".into(),
                source: io::ErrorKind::NotConnected.into(),
            })
        })?;
        Ok(StreamTransport::new(plugin_end))
    }
}

impl From<MemoryConnector> for crate::reconnect::Connector {
    fn from(memory: MemoryConnector) -> Self {
        crate::reconnect::Connector::new(move || {
            let connected = memory.connect();
            async move { Ok(Box::new(connected?) as BoxTransport) }
        })
    }
}

/// A session's admission, inside its driver ([`Driver::with_judge`]): the verdict on its hello
/// from an [`Admission`], and the plugin id it holds until the session closes (the driver drops
/// this then). The listener gives one to every session it accepts; a manager session connected
/// by hand takes one the same way.
#[derive(Debug)]
pub struct Admitting {
    admission: Admission,
    claim: Option<Claim>,
}

impl Admitting {
    /// Judges by `admission`.
    pub fn new(admission: Admission) -> Admitting {
        Admitting {
            admission,
            claim: None,
        }
    }
}

impl Judge<ManagerSession> for Admitting {
    fn judge(&mut self, session: &mut Recorded<ManagerSession>, now: Instant, hello: Peer) {
        let process = session.session().config().peer_process.as_ref();
        let (verdict, claim) = self.admission.judge(&hello, process);
        self.claim = claim;
        // It cannot fail: the session has just handed the hello out, open.
        let _ = session.admit(now, verdict);
    }
}

/// Accepts plugins on every transport it was given.
pub struct ManagerListener {
    config: ManagerConfig,
    admission: Admission,
    local: Option<Arc<LocalListener>>,
    local_accept: Accepting<Accepted>,
    ws: Option<Arc<WsListener>>,
    ws_accept: Accepting<crate::ws::WsIncoming>,
    /// Oldest first.
    upgrading: VecDeque<Pending<Result<BoxTransport, WsListenError>>>,
    memory_tx: async_channel::Sender<MemoryStream>,
    memory_rx: Pin<Box<async_channel::Receiver<MemoryStream>>>,
    stats: ListenerStats,
    /// What its sessions and their drivers run on.
    clock: Clock,
}

impl std::fmt::Debug for ManagerListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagerListener")
            .field(
                "local",
                &self.local.as_ref().map(|l| l.path().to_path_buf()),
            )
            .field("ws", &self.ws.as_ref().map(|w| w.local_addr().ok()))
            .field("upgrading", &self.upgrading.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl ManagerListener {
    /// A listener whose sessions follow `config` (its `wire` is set per transport) and admit
    /// plugins as `admission` judges them. Add transports with [`with_local`](Self::with_local)
    /// and [`with_ws`](Self::with_ws); in-process plugins connect through
    /// [`memory_connector`](Self::memory_connector).
    pub fn new(config: ManagerConfig, admission: Admission) -> ManagerListener {
        let (memory_tx, memory_rx) = async_channel::unbounded();
        ManagerListener {
            config,
            admission,
            local: None,
            local_accept: Accepting::default(),
            ws: None,
            ws_accept: Accepting::default(),
            upgrading: VecDeque::new(),
            memory_tx,
            memory_rx: Box::pin(memory_rx),
            stats: ListenerStats::default(),
            clock: Clock::System,
        }
    }

    /// Runs the sessions it accepts from now on, and their drivers, on `clock` instead of the
    /// machine's (a test's [`VirtualClock`](crate::VirtualClock)).
    pub fn with_clock(mut self, clock: Clock) -> ManagerListener {
        self.clock = clock;
        self
    }

    /// Also accepts on a local socket.
    pub fn with_local(mut self, listener: LocalListener) -> ManagerListener {
        self.local = Some(Arc::new(listener));
        self
    }

    /// Also accepts WebSocket connections.
    pub fn with_ws(mut self, listener: WsListener) -> ManagerListener {
        self.ws = Some(Arc::new(listener));
        self
    }

    /// The local socket, if any.
    pub fn local(&self) -> Option<&LocalListener> {
        self.local.as_deref()
    }

    /// The WebSocket listener, if any.
    pub fn ws(&self) -> Option<&WsListener> {
        self.ws.as_deref()
    }

    /// What was accepted and refused so far.
    pub fn stats(&self) -> ListenerStats {
        self.stats
    }

    /// Who may connect, and the plugin ids with a live session.
    pub fn admission(&self) -> &Admission {
        &self.admission
    }

    /// The configuration each new session starts from.
    pub fn config_mut(&mut self) -> &mut ManagerConfig {
        &mut self.config
    }

    /// How plugins in this process connect: each [`MemoryConnector::connect`] opens an
    /// in-memory connection that this listener's [`accept`](Self::accept) takes up.
    pub fn memory_connector(&self) -> MemoryConnector {
        MemoryConnector {
            sender: self.memory_tx.clone(),
        }
    }

    /// The next plugin connection: its handle, and the driver to spawn. Errors are those of the
    /// listening sockets themselves (not of one client's failed upgrade): call `accept` again,
    /// the failing socket is retried after a pause ([`ACCEPT_RETRY`]) while the others go on.
    pub async fn accept(&mut self) -> io::Result<(ManagerConnection, ManagerDriver)> {
        let (transport, peer_process) = std::future::poll_fn(|cx| self.poll_transport(cx)).await?;
        self.stats.accepted += 1;
        let mut config = self.config.clone();
        config.wire = transport.wire();
        config.peer_process = peer_process;
        // The client library proves nothing in its hello: only the owner-only local socket and
        // in-process pipes (byte streams) may admit it, never a WebSocket a browser can reach.
        config.accept_clients &= matches!(config.wire, Wire::Stream { .. });
        let (connection, driver) =
            connect(ManagerSession::new(self.clock.now(), config), transport);
        let driver = driver
            .with_clock(self.clock.clone())
            .with_judge(Admitting::new(self.admission.clone()));
        Ok((connection, driver))
    }

    fn poll_transport(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Accepted>> {
        if let Poll::Ready(Some(stream)) = self.memory_rx.as_mut().poll_next(cx) {
            return Poll::Ready(Ok((Box::new(StreamTransport::new(stream)), None)));
        }
        if let Some(local) = &self.local {
            let accepted = self.local_accept.poll(cx, &self.clock, || {
                let local = local.clone();
                Box::pin(async move {
                    let transport = local.accept().await?;
                    let peer = crate::local::peer_process(transport.get_ref());
                    Ok((Box::new(transport) as BoxTransport, peer))
                })
            });
            if let Poll::Ready(result) = accepted {
                return Poll::Ready(result);
            }
        }
        if let Some(ws) = &self.ws {
            let accepted = self.ws_accept.poll(cx, &self.clock, || {
                let ws = ws.clone();
                Box::pin(async move { ws.accept().await })
            });
            if let Poll::Ready(incoming) = accepted {
                let incoming = incoming?;
                if self.upgrading.len() >= MAX_UPGRADING {
                    // Idle connections must not keep a live one waiting behind them.
                    drop(self.upgrading.pop_front());
                    self.stats.evicted_upgrades += 1;
                }
                // Within the upgrade's own time limit (`ws::UPGRADE_TIMEOUT`).
                let upgrade =
                    async move { Ok(Box::new(incoming.upgrade().await?) as BoxTransport) };
                self.upgrading.push_back(Box::pin(upgrade));
                // Poll the new upgrade (and accept the next connection) at once.
                cx.waker().wake_by_ref();
            }
        }
        let mut index = 0;
        while index < self.upgrading.len() {
            match self.upgrading[index].as_mut().poll(cx) {
                Poll::Pending => index += 1,
                Poll::Ready(result) => {
                    drop(self.upgrading.remove(index));
                    match result {
                        // A WebSocket peer's process is not known: loopback TCP does not say.
                        Ok(transport) => return Poll::Ready(Ok((transport, None))),
                        Err(WsListenError::OriginRefused(_)) => self.stats.refused_origins += 1,
                        Err(WsListenError::HostRefused(_)) => self.stats.refused_hosts += 1,
                        Err(_) => self.stats.failed_upgrades += 1,
                    }
                }
            }
        }
        Poll::Pending
    }
}
