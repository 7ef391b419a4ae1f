//! The transports against their raw baselines, each measured in the same run.
//!
//! - `uds_round_trip`: `TriggerAction` -> `ActionCellStatus` through the manager and plugin
//!   sessions over a Unix domain socket; beside the same two frames ping-ponged over a raw Unix
//!   socket with the same length prefix (blocking reads and writes). Target: at most 1.5x.
//!   Beside them, `core_blocking`: the same sessions pumped by hand over blocking sockets, with
//!   no driver, the floor that any driver's cost adds to; and `raw_async_io`: the raw
//!   ping-pong with each side waiting in `async-io`'s reactor instead of a blocking read, the
//!   floor of any driver built on `async-io`.
//! - `uds_stream`: 100,000 `UpdateAnalogControl` notifications one way, sent in batches and
//!   taken as events by the plugin; beside the same frames streamed over a raw socket, read
//!   and split at their length prefixes (bytes only), and read, split and decoded with the codec;
//!   and `raw_encoded_decoded`, the same with the sender encoding each frame as it goes, as any
//!   sender must (the others write frames encoded in advance). Target: at least 60% of raw
//!   throughput.
//! - `ws_round_trip`: the round trip over WebSocket (binary); beside raw tungstenite echoing
//!   the same bytes, blocking, and `raw_async_tungstenite`, the same through `async-tungstenite`
//!   on `async-io`, the floor of a WebSocket driver there. Target: at most 1.3x.
//! - `lanes`: the UDS round trip (press to answer) while the plugin streams 64 KiB image updates
//!   for 8 action instances at full speed and the manager takes every one; beside the same round
//!   trip on an idle connection. Target (issue 7, priority lanes): at most 2x.
//!
//! The manager side runs on the main thread; the far side (the plugin, or the raw peer) runs in
//! a child process, this binary started again (see `peer`), as a plugin runs beside its manager.
//! Threads are not pinned: both sides of every comparison run where the scheduler puts them,
//! which moves latencies by tens of percent from run to run. For the cost of the work alone, run
//! the binary under `taskset -c 0` (children inherit it): every process on one vCPU, where our
//! `block_on` does not spin and the raw pairs pay no cross-CPU wake-up.
//! After criterion's report, each pair is timed again in alternating rounds and the median
//! ratio printed, the figure that holds still on a shared machine.

#[path = "transports/peer.rs"]
mod peer;
#[path = "../../benches/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use criterion::Criterion;
use futures_lite::{AsyncReadExt as _, AsyncWriteExt as _, StreamExt as _, future};
use logi_plugin_core::codec::frame::{DEFAULT_MAX_FRAME_LEN, encode_frame};
use logi_plugin_core::proto::plugin::ActionCellStatus;
use logi_plugin_core::proto::plugin::action_cell_status::ImageType;
use logi_plugin_core::session::{
    Admission, Event, Input, ManagerConfig, ManagerSession, Output, PluginConfig, Session, Verdict,
    Wire,
};
use logi_plugin_core::{Envelope, Message, ResponseInfo};
use logi_plugin_transports::ws::{self, WsListener, WsOptions};
use logi_plugin_transports::{Admitting, Connection, Driver, StreamTransport, Transport, connect};
use peer::Role;
use support::{Ratio, dial, elapsed, status, trigger};
use tungstenite::protocol::WebSocketConfig;

const STREAMED: usize = 100_000;
/// The action instances whose images the flooding plugin keeps updating.
const FLOOD_INSTANCES: usize = 8;

/// One round of a workload, for the interleaved comparison.
type Round = Box<dyn FnMut()>;
/// Notifications sent per command; `STREAMED` is a whole number of batches.
const BATCH: usize = 250;

fn framed(envelope: &Envelope) -> Bytes {
    let mut out = BytesMut::new();
    encode_frame(envelope, DEFAULT_MAX_FRAME_LEN, &mut out).unwrap();
    out.freeze()
}

/// The raw round trip's two frames: the framed request and the framed status answering it.
fn round_trip_frames() -> (Bytes, Bytes) {
    let request = framed(&Envelope::request(7, trigger()));
    let answer = framed(&Envelope::response(
        7,
        ResponseInfo::ok(),
        Some(Message::from(status())),
    ));
    (request, answer)
}

/// A 64 KiB image update (base64) for one of the flooded action instances.
fn image(instance: usize) -> ActionCellStatus {
    ActionCellStatus {
        action_instance_id: format!("cover-{instance}"),
        action_id: "com.example.media.cover".into(),
        image: Some("QUJD".repeat(16 * 1024)),
        image_type: Some(ImageType::Base64.into()),
        ..ActionCellStatus::default()
    }
}

/// A Unix socket connected to a child process playing `role`, and the child.
fn uds_peer(role: Role) -> (UnixStream, peer::Peer) {
    let path: PathBuf =
        std::env::temp_dir().join(format!("logi-bench-{}-{role:?}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).unwrap();
    let child = peer::spawn(role, path.to_str().unwrap());
    let (socket, _) = listener.accept().unwrap();
    let _ = std::fs::remove_file(&path);
    (socket, child)
}

/// A loopback TCP connection (no Nagle delay) to a child playing `role`, which connects to it.
fn tcp_peer(role: Role) -> (TcpStream, peer::Peer) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let child = peer::spawn(role, &listener.local_addr().unwrap().to_string());
    let (stream, _) = listener.accept().unwrap();
    stream.set_nodelay(true).unwrap();
    (stream, child)
}

/// A manager without a rate limit whose heartbeat never fires during a run: a pair sits idle,
/// its manager's driver unpolled, while the other benchmarks run.
fn manager_config(wire: Wire) -> ManagerConfig {
    let mut config = ManagerConfig::new("1.0.0");
    config.rate_limit = None;
    config.heartbeat_interval = Duration::from_secs(3600);
    config.wire = wire;
    config
}

/// The manager's owner, admitting the benchmark's plugin.
fn admission() -> Admission {
    let registry: HashMap<String, String> =
        [("com.example.bench".to_string(), "code".to_string())].into();
    Admission::new(Arc::new(registry))
}

/// A plugin that does not count a quiet manager as gone during a run.
fn plugin_config(wire: Wire) -> PluginConfig {
    let mut config = PluginConfig::new("com.example.bench", "code", "1.0.0");
    config.heartbeat_interval = Duration::from_secs(3600);
    config.wire = wire;
    config
}

/// The manager's side of a connection to a plugin in a child process, which lives until the
/// manager closes.
struct Pair {
    manager: Connection<ManagerSession>,
    driver: Driver<ManagerSession, Box<dyn Transport>>,
    _plugin: peer::Peer,
}

impl Pair {
    /// Connects a manager session over `manager_end` and waits for the handshake.
    fn new(manager_end: Box<dyn Transport>, plugin: peer::Peer) -> Pair {
        let config = manager_config(manager_end.wire());
        let (manager, driver) = connect(ManagerSession::new(Instant::now(), config), manager_end);
        let mut driver = driver.with_judge(Admitting::new(admission()));
        async_io::block_on(future::or(
            async {
                (&mut driver).await;
                panic!("the manager closed during the handshake");
            },
            async { while !matches!(manager.next_event().await, Some(Event::Connected(_))) {} },
        ));
        Pair {
            manager,
            driver,
            _plugin: plugin,
        }
    }

    /// A manager over a Unix socket to a child plugin playing `role`.
    fn uds(role: Role) -> Pair {
        let (socket, plugin) = uds_peer(role);
        let socket = async_io::Async::new(socket).unwrap();
        Pair::new(Box::new(StreamTransport::new(socket)), plugin)
    }

    /// Runs `work` on this thread with the manager's driver beside it.
    fn run<T>(&mut self, work: impl std::future::Future<Output = T>) -> T {
        let driver = &mut self.driver;
        logi_plugin_transports::block_on(future::or(work, async {
            driver.await;
            panic!("the manager closed");
        }))
    }

    fn round_trips(&mut self, n: u64) {
        let manager = self.manager.clone();
        self.run(async move {
            for _ in 0..n {
                let answer = manager
                    .request(trigger(), Duration::from_secs(5))
                    .await
                    .unwrap();
                assert!(answer.message.is_some());
            }
        });
    }

    /// `n` round trips while every event the plugin sends (its image flood) is taken and
    /// dropped, as a host hands images on to a device.
    fn round_trips_taking_events(&mut self, n: u64) {
        let manager = self.manager.clone();
        let events = self.manager.events();
        let taking = async move {
            while events.recv().await.is_some() {}
            future::pending::<()>().await
        };
        self.run(future::or(
            async move {
                for _ in 0..n {
                    let answer = manager.request(trigger(), Duration::from_secs(5)).await;
                    assert!(answer.unwrap().message.is_some());
                }
            },
            taking,
        ));
    }

    /// `STREAMED` dial updates to the plugin, a batch per command; the plugin counts them as
    /// they arrive as events and sends a status back after the last.
    fn stream(&mut self) {
        let manager = self.manager.clone();
        self.run(async move {
            for _ in 0..STREAMED / BATCH {
                manager
                    .with(|session, now| {
                        for _ in 0..BATCH {
                            session.send_notification(now, dial()).unwrap();
                        }
                    })
                    .await
                    .unwrap();
            }
            while !matches!(manager.next_event().await, Some(Event::Notification { .. })) {}
        });
    }
}

/// Drives `session` over a blocking socket until `on_event` says an event ends the wait, or the
/// peer hangs up: the sans-IO core with no driver, as an embedder may run it.
fn pump<S: Session>(
    session: &mut S,
    socket: &mut UnixStream,
    buf: &mut [u8],
    mut on_event: impl FnMut(&mut S, Event<S::PeerHello>) -> bool,
) {
    let mut done = false;
    loop {
        loop {
            match session.poll_output(0) {
                Output::Event(event) => done |= on_event(session, event),
                Output::Transmit(transmit) => socket.write_all(transmit.frame.as_bytes()).unwrap(),
                Output::Timeout(_) | Output::Idle => break,
            }
        }
        if done {
            return;
        }
        let n = socket.read(buf).unwrap_or(0);
        if n == 0 {
            return;
        }
        let input = Input::Bytes(&buf[..n]);
        session.handle_input(Instant::now(), input).unwrap();
    }
}

/// A manager session pumped by hand over a blocking socket to a child plugin pumped the same
/// way: the floor that any driver's cost adds to.
struct CorePair {
    session: ManagerSession,
    peer: RawPeer,
    buf: Vec<u8>,
}

impl CorePair {
    fn new() -> CorePair {
        let wire = Wire::Stream {
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
        };
        let mut pair = CorePair {
            session: ManagerSession::new(Instant::now(), manager_config(wire)),
            peer: RawPeer::new(Role::CoreUds),
            buf: vec![0; 4096],
        };
        // The owner here admits whoever says hello.
        pair.wait(|event| matches!(event, Event::Hello(_)));
        pair.session.admit(Instant::now(), Verdict::Accept).unwrap();
        pair.wait(|event| matches!(event, Event::Connected(_)));
        pair
    }

    fn wait(
        &mut self,
        mut until: impl FnMut(&Event<<ManagerSession as Session>::PeerHello>) -> bool,
    ) {
        let CorePair { session, peer, buf } = self;
        pump(session, &mut peer.socket, buf, |_, event| until(&event));
    }

    fn round_trips(&mut self, n: u64) {
        for _ in 0..n {
            let request = Message::from(trigger());
            let sent = self
                .session
                .send_request(Instant::now(), request, Duration::from_secs(5));
            sent.unwrap();
            self.wait(|event| {
                matches!(
                    event,
                    Event::Response {
                        message: Some(_),
                        ..
                    }
                )
            });
        }
    }
}

/// A blocking raw socket to a child peer, which ends when this is dropped.
struct RawPeer {
    socket: UnixStream,
    _peer: peer::Peer,
}

impl RawPeer {
    fn new(role: Role) -> RawPeer {
        let (socket, peer) = uds_peer(role);
        RawPeer {
            socket,
            _peer: peer,
        }
    }
}

fn uds_round_trip(c: &mut Criterion) -> [Round; 4] {
    let mut group = c.benchmark_group("uds_round_trip");
    let mut pair = Pair::uds(Role::AnswerUds);
    group.bench_function("sessions", |bench| {
        bench.iter_custom(|iters| elapsed(|| pair.round_trips(iters)))
    });
    let mut core = CorePair::new();
    group.bench_function("core_blocking", |bench| {
        bench.iter_custom(|iters| elapsed(|| core.round_trips(iters)))
    });
    let (request, answer) = round_trip_frames();
    let mut raw = RawPeer::new(Role::EchoUds);
    let mut reply = vec![0; answer.len()];
    let mut raw_round_trips = {
        let request = request.clone();
        let mut reply = reply.clone();
        move |n: u64| {
            // The whole peer, not only its socket: dropping the rest would end the child.
            let raw = &mut raw;
            for _ in 0..n {
                raw.socket.write_all(&request).unwrap();
                raw.socket.read_exact(&mut reply).unwrap();
            }
        }
    };
    group.bench_function("raw", |bench| {
        bench.iter_custom(|iters| elapsed(|| raw_round_trips(iters)))
    });
    let (socket, async_io_peer) = uds_peer(Role::EchoUdsAsyncIo);
    let mut floor = (async_io::Async::new(socket).unwrap(), async_io_peer);
    let mut async_io_round_trips = move |n: u64| {
        let (socket, _peer) = &mut floor;
        async_io::block_on(async {
            for _ in 0..n {
                socket.write_all(&request).await.unwrap();
                socket.read_exact(&mut reply).await.unwrap();
            }
        })
    };
    group.bench_function("raw_async_io", |bench| {
        bench.iter_custom(|iters| elapsed(|| async_io_round_trips(iters)))
    });
    group.finish();
    [
        Box::new(move || pair.round_trips(2_000)),
        Box::new(move || core.round_trips(2_000)),
        Box::new(move || raw_round_trips(2_000)),
        Box::new(move || async_io_round_trips(2_000)),
    ]
}

/// `STREAMED` frames written in one go to a raw peer, which reads them back at their length
/// prefixes and answers with one byte.
fn raw_stream(frames: &Bytes, peer: &mut RawPeer) {
    peer.socket.write_all(frames).unwrap();
    peer.socket.read_exact(&mut [0]).unwrap();
}

/// `STREAMED` dial updates encoded as they are sent, `BATCH` frames to a write, to a raw peer
/// that decodes them: what a sender written by hand pays, with no session and no driver. The
/// other raw baselines write frames encoded in advance, so that on one CPU they leave out the
/// encoding that any sender does.
fn raw_encoded_stream(peer: &mut RawPeer) {
    let mut batch = BytesMut::new();
    for n in 0..STREAMED {
        let envelope = Envelope {
            id: n as u32,
            message: Some(dial().into()),
            response: None,
        };
        encode_frame(&envelope, DEFAULT_MAX_FRAME_LEN, &mut batch).unwrap();
        if (n + 1) % BATCH == 0 {
            peer.socket.write_all(&batch).unwrap();
            batch.clear();
        }
    }
    peer.socket.read_exact(&mut [0]).unwrap();
}

fn uds_stream(c: &mut Criterion) -> [Round; 4] {
    let mut group = c.benchmark_group("uds_stream");
    group.sample_size(10);
    let mut pair = Pair::uds(Role::CountUds);
    group.bench_function("sessions", |bench| bench.iter(|| pair.stream()));
    let one = framed(&Envelope {
        id: 0,
        message: Some(dial().into()),
        response: None,
    });
    let frames: Bytes = one
        .iter()
        .copied()
        .cycle()
        .take(one.len() * STREAMED)
        .collect();
    let mut bytes_peer = RawPeer::new(Role::StreamUds);
    let mut decoding_peer = RawPeer::new(Role::StreamUdsDecoded);
    group.bench_function("raw_bytes", |bench| {
        bench.iter(|| raw_stream(&frames, &mut bytes_peer))
    });
    group.bench_function("raw_decoded", |bench| {
        bench.iter(|| raw_stream(&frames, &mut decoding_peer))
    });
    let mut encoding_peer = RawPeer::new(Role::StreamUdsDecoded);
    group.bench_function("raw_encoded_decoded", |bench| {
        bench.iter(|| raw_encoded_stream(&mut encoding_peer))
    });
    group.finish();
    let frames2 = frames.clone();
    [
        Box::new(move || pair.stream()),
        Box::new(move || raw_stream(&frames, &mut bytes_peer)),
        Box::new(move || raw_stream(&frames2, &mut decoding_peer)),
        Box::new(move || raw_encoded_stream(&mut encoding_peer)),
    ]
}

fn ws_round_trip(c: &mut Criterion) -> [Round; 3] {
    let mut group = c.benchmark_group("ws_round_trip");
    let listener = WsListener::bind("127.0.0.1:0".parse().unwrap(), WsOptions::default()).unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let plugin = peer::spawn(Role::AnswerWs, &url);
    let manager_end =
        async_io::block_on(async { listener.accept().await.unwrap().upgrade().await.unwrap() });
    let mut pair = Pair::new(Box::new(manager_end), plugin);
    group.bench_function("sessions", |bench| {
        bench.iter_custom(|iters| elapsed(|| pair.round_trips(iters)))
    });
    // Raw tungstenite: this end serves, as the manager does; the child echoes as a client.
    let (stream, echo) = tcp_peer(Role::EchoWs);
    let mut server = tungstenite::accept(stream).unwrap();
    let (request, _) = round_trip_frames();
    let mut raw_round_trips = {
        let request = request.clone();
        move |n: u64| {
            let _ = &echo;
            for _ in 0..n {
                server
                    .send(tungstenite::Message::Binary(request.clone()))
                    .unwrap();
                std::hint::black_box(server.read().unwrap());
            }
        }
    };
    group.bench_function("raw_tungstenite", |bench| {
        bench.iter_custom(|iters| elapsed(|| raw_round_trips(iters)))
    });
    // The same over `async-tungstenite` on `async-io`, both ends, reading as our transport reads.
    let (stream, echo) = tcp_peer(Role::EchoWsAsyncIo);
    let stream = async_io::Async::new(stream).unwrap();
    let config = WebSocketConfig::default().read_buffer_size(ws::READ_BUFFER_SIZE);
    let accepting = async_tungstenite::accept_async_with_config(stream, Some(config));
    let mut server = async_io::block_on(accepting).unwrap();
    let mut async_io_round_trips = move |n: u64| {
        let _ = &echo;
        async_io::block_on(async {
            for _ in 0..n {
                let message = tungstenite::Message::Binary(request.clone());
                server.send(message).await.unwrap();
                std::hint::black_box(server.next().await.unwrap().unwrap());
            }
        })
    };
    group.bench_function("raw_async_tungstenite", |bench| {
        bench.iter_custom(|iters| elapsed(|| async_io_round_trips(iters)))
    });
    group.finish();
    [
        Box::new(move || pair.round_trips(2_000)),
        Box::new(move || raw_round_trips(2_000)),
        Box::new(move || async_io_round_trips(2_000)),
    ]
}

fn lanes(c: &mut Criterion) -> (Round, Round) {
    let mut group = c.benchmark_group("lanes");
    let mut idle = Pair::uds(Role::AnswerUds);
    let mut flood = Pair::uds(Role::FloodUds);
    group.bench_function("press_idle", |bench| {
        bench.iter_custom(|iters| elapsed(|| idle.round_trips_taking_events(iters)))
    });
    group.bench_function("press_flood", |bench| {
        bench.iter_custom(|iters| elapsed(|| flood.round_trips_taking_events(iters)))
    });
    group.finish();
    (
        Box::new(move || flood.round_trips_taking_events(2_000)),
        Box::new(move || idle.round_trips_taking_events(2_000)),
    )
}

fn main() {
    if peer::run_if_child() {
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    let [
        mut uds_sessions,
        mut uds_core,
        mut uds_raw,
        mut uds_async_io,
    ] = uds_round_trip(&mut c);
    let [
        mut stream_sessions,
        mut stream_raw,
        mut stream_decoded,
        mut stream_encoded,
    ] = uds_stream(&mut c);
    let [mut ws_sessions, mut ws_raw, mut ws_async_io] = ws_round_trip(&mut c);
    let (mut press_flood, mut press_idle) = lanes(&mut c);
    c.final_summary();
    support::report(&[
        Ratio {
            what: "UDS round trip: sessions / raw socket pair".into(),
            numerator: "uds_round_trip/sessions".into(),
            denominator: "uds_round_trip/raw".into(),
            target: 1.5,
        },
        Ratio {
            what: "UDS round trip: core pumped by hand / raw socket pair".into(),
            numerator: "uds_round_trip/core_blocking".into(),
            denominator: "uds_round_trip/raw".into(),
            target: 1.5,
        },
        Ratio {
            what: "UDS round trip: raw over async-io / raw socket pair".into(),
            numerator: "uds_round_trip/raw_async_io".into(),
            denominator: "uds_round_trip/raw".into(),
            target: 1.5,
        },
        Ratio {
            what: "UDS round trip: sessions / raw over async-io".into(),
            numerator: "uds_round_trip/sessions".into(),
            denominator: "uds_round_trip/raw_async_io".into(),
            target: 1.5,
        },
        Ratio {
            what: "UDS stream time: sessions / raw bytes (target <= 1/0.6)".into(),
            numerator: "uds_stream/sessions".into(),
            denominator: "uds_stream/raw_bytes".into(),
            target: 1.0 / 0.6,
        },
        Ratio {
            what: "UDS stream time: sessions / raw read+decode".into(),
            numerator: "uds_stream/sessions".into(),
            denominator: "uds_stream/raw_decoded".into(),
            target: 1.0 / 0.6,
        },
        Ratio {
            what: "UDS stream time: sessions / raw encode+read+decode".into(),
            numerator: "uds_stream/sessions".into(),
            denominator: "uds_stream/raw_encoded_decoded".into(),
            target: 1.0 / 0.6,
        },
        Ratio {
            what: "WebSocket round trip: sessions / raw tungstenite".into(),
            numerator: "ws_round_trip/sessions".into(),
            denominator: "ws_round_trip/raw_tungstenite".into(),
            target: 1.3,
        },
        Ratio {
            what: "WebSocket round trip: raw async-tungstenite / raw tungstenite".into(),
            numerator: "ws_round_trip/raw_async_tungstenite".into(),
            denominator: "ws_round_trip/raw_tungstenite".into(),
            target: 1.3,
        },
        Ratio {
            what: "WebSocket round trip: sessions / raw async-tungstenite".into(),
            numerator: "ws_round_trip/sessions".into(),
            denominator: "ws_round_trip/raw_async_tungstenite".into(),
            target: 1.3,
        },
        Ratio {
            what: "Press round trip: under an image flood / idle".into(),
            numerator: "lanes/press_flood".into(),
            denominator: "lanes/press_idle".into(),
            target: 2.0,
        },
    ]);
    if !support::measuring() {
        return;
    }
    // First, and then the flooding child is gone: it would take CPU from the other comparisons.
    support::interleaved(
        "Press round trip (2,000 a round): image flood / idle",
        2.0,
        11,
        &mut press_flood,
        &mut press_idle,
    );
    drop((press_flood, press_idle));
    support::interleaved(
        "UDS round trip (2,000 a round): sessions / raw",
        1.5,
        11,
        &mut uds_sessions,
        &mut uds_raw,
    );
    support::interleaved(
        "UDS round trip (2,000 a round): core by hand / raw",
        1.5,
        11,
        &mut uds_core,
        &mut uds_raw,
    );
    support::interleaved(
        "UDS round trip (2,000 a round): raw over async-io / raw",
        1.5,
        11,
        &mut uds_async_io,
        &mut uds_raw,
    );
    support::interleaved(
        "UDS round trip (2,000 a round): sessions / raw over async-io",
        1.5,
        11,
        &mut uds_sessions,
        &mut uds_async_io,
    );
    support::interleaved(
        "UDS stream of 100,000: sessions / raw bytes",
        1.0 / 0.6,
        7,
        &mut stream_sessions,
        &mut stream_raw,
    );
    support::interleaved(
        "UDS stream of 100,000: sessions / raw read+decode",
        1.0 / 0.6,
        7,
        &mut stream_sessions,
        &mut stream_decoded,
    );
    support::interleaved(
        "UDS stream of 100,000: sessions / raw encode+read+decode",
        1.0 / 0.6,
        7,
        &mut stream_sessions,
        &mut stream_encoded,
    );
    support::interleaved(
        "WebSocket round trip (2,000 a round): sessions / raw",
        1.3,
        11,
        &mut ws_sessions,
        &mut ws_raw,
    );
    support::interleaved(
        "WebSocket round trip (2,000 a round): raw async-io / raw",
        1.3,
        11,
        &mut ws_async_io,
        &mut ws_raw,
    );
    support::interleaved(
        "WebSocket round trip (2,000 a round): sessions / raw async-io",
        1.3,
        11,
        &mut ws_sessions,
        &mut ws_async_io,
    );
}
