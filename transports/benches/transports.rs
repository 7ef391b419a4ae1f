//! The transports against their raw baselines, each measured in the same run.
//!
//! - `uds_round_trip`: `TriggerAction` -> `ActionCellStatus` through the manager and plugin
//!   sessions over a Unix domain socket, each side's driver on its own thread; beside the same
//!   two frames ping-ponged over a raw Unix socket pair with the same length prefix (blocking
//!   reads and writes, one thread a side). Target: at most 1.5x.
//! - `uds_stream`: 100,000 `UpdateAnalogControl` notifications one way, sent in batches and
//!   taken as events by the plugin; beside the same frames streamed over a raw socket pair, read
//!   and split at their length prefixes (bytes only), and read, split and decoded with the codec.
//!   Target: at least 60% of raw throughput.
//! - `ws_round_trip`: the round trip over WebSocket (binary); beside raw tungstenite echoing
//!   the same bytes, blocking, one thread a side. Target: at most 1.3x.
//!
//! Threads are not pinned: both sides of every comparison run where the scheduler puts them.
//! After criterion's report, each pair is timed again in alternating rounds and the median
//! ratio printed, the figure that holds still on a shared machine.

#[path = "../../benches/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use criterion::Criterion;
use futures_lite::future;
use logi_plugin_core::codec::binary;
use logi_plugin_core::codec::frame::{DEFAULT_MAX_FRAME_LEN, FrameDecoder, encode_frame};
use logi_plugin_core::session::{
    Event, Format, ManagerConfig, ManagerSession, PluginConfig, PluginSession, Reply,
};
use logi_plugin_core::{Envelope, Message, ResponseInfo};
use logi_plugin_transports::ws::{WsListener, WsOptions, connect_ws};
use logi_plugin_transports::{Connection, Driver, StreamTransport, Transport, connect};
use support::{Ratio, dial, status, trigger};

const STREAMED: usize = 100_000;

/// One round of a workload, for the interleaved comparison.
type Round = Box<dyn FnMut()>;
/// Notifications sent per command; `STREAMED` is a whole number of batches.
const BATCH: usize = 250;

fn framed(envelope: &Envelope) -> Bytes {
    let mut out = BytesMut::new();
    encode_frame(envelope, DEFAULT_MAX_FRAME_LEN, &mut out).unwrap();
    out.freeze()
}

/// A manager without a rate limit whose heartbeat never fires during a run: a pair sits idle,
/// its manager's driver unpolled, while the other benchmarks run.
fn manager_config(wire: logi_plugin_core::session::Wire) -> ManagerConfig {
    let registry: HashMap<String, String> =
        [("com.example.bench".to_string(), "code".to_string())].into();
    let mut config = ManagerConfig::new(Arc::new(registry), "1.0.0");
    config.rate_limit = None;
    config.heartbeat_interval = Duration::from_secs(3600);
    config.wire = wire;
    config
}

/// A plugin that does not count a quiet manager as gone during a run.
fn plugin_config(wire: logi_plugin_core::session::Wire) -> PluginConfig {
    let mut config = PluginConfig::new("com.example.bench", "code", "1.0.0");
    config.heartbeat_interval = Duration::from_secs(3600);
    config.wire = wire;
    config
}

/// The manager's side of a connected pair; the plugin's runs on its own thread until the
/// manager closes, answering every request with a status and counting notifications.
struct Pair {
    manager: Connection<ManagerSession>,
    driver: Driver<ManagerSession, Box<dyn Transport>>,
}

impl Pair {
    fn new(manager_end: Box<dyn Transport>, plugin_end: Box<dyn Transport>) -> Pair {
        let config = manager_config(manager_end.wire());
        let (manager, mut driver) =
            connect(ManagerSession::new(Instant::now(), config), manager_end);
        thread::spawn(move || {
            let config = plugin_config(plugin_end.wire());
            let (plugin, driver) = connect(PluginSession::new(Instant::now(), config), plugin_end);
            let app = async {
                while let Some(event) = plugin.next_event().await {
                    if let Event::Request { id, .. } = event {
                        let _ = plugin.respond(id, Reply::Message(status().into())).await;
                    }
                }
            };
            async_io::block_on(future::zip(driver, app));
        });
        async_io::block_on(future::or(
            async {
                (&mut driver).await;
                panic!("the manager closed during the handshake");
            },
            async { while !matches!(manager.next_event().await, Some(Event::Connected(_))) {} },
        ));
        Pair { manager, driver }
    }

    /// Runs `work` on this thread with the manager's driver beside it.
    fn run<T>(&mut self, work: impl std::future::Future<Output = T>) -> T {
        let driver = &mut self.driver;
        async_io::block_on(future::or(work, async {
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
}

/// A raw peer answering each framed request with the framed status, over blocking IO.
fn raw_echo_peer(
    mut socket: UnixStream,
    answer: Bytes,
    request_len: usize,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut request = vec![0; request_len];
        while socket.read_exact(&mut request).is_ok() {
            if socket.write_all(&answer).is_err() {
                return;
            }
        }
    })
}

fn uds_round_trip(c: &mut Criterion) -> (Round, Round) {
    let mut group = c.benchmark_group("uds_round_trip");
    let (a, b) = UnixStream::pair().unwrap();
    let transport = |s: UnixStream| -> Box<dyn Transport> {
        Box::new(StreamTransport::new(async_io::Async::new(s).unwrap()))
    };
    let mut pair = Pair::new(transport(a), transport(b));
    group.bench_function("sessions", |bench| {
        bench.iter_custom(|iters| {
            let start = Instant::now();
            pair.round_trips(iters);
            start.elapsed()
        })
    });
    let request = framed(&Envelope::request(7, trigger()));
    let answer = framed(&Envelope::response(
        7,
        ResponseInfo::ok(),
        Some(Message::from(status())),
    ));
    let (mut raw, peer_end) = UnixStream::pair().unwrap();
    let peer = raw_echo_peer(peer_end, answer.clone(), request.len());
    let mut reply = vec![0; answer.len()];
    let mut raw_round_trips = move |n: u64| {
        for _ in 0..n {
            raw.write_all(&request).unwrap();
            raw.read_exact(&mut reply).unwrap();
        }
    };
    group.bench_function("raw", |bench| {
        bench.iter_custom(|iters| {
            let start = Instant::now();
            raw_round_trips(iters);
            start.elapsed()
        })
    });
    group.finish();
    drop(peer);
    (
        Box::new(move || pair.round_trips(2_000)),
        Box::new(move || raw_round_trips(2_000)),
    )
}

/// `STREAMED` dial updates from the manager to the plugin, sent a batch per command; the plugin
/// counts them as they arrive as events.
fn sessions_stream(pair: &mut Pair, counted: &async_channel::Receiver<usize>) {
    let manager = pair.manager.clone();
    pair.run(async move {
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
        assert_eq!(counted.recv().await.unwrap(), STREAMED);
    });
}

/// The plugin end of a streaming pair: counts notifications, reports every `STREAMED`.
fn counting_plugin(plugin_end: Box<dyn Transport>, counted: async_channel::Sender<usize>) {
    thread::spawn(move || {
        let config = plugin_config(plugin_end.wire());
        let (plugin, driver) = connect(PluginSession::new(Instant::now(), config), plugin_end);
        let app = async {
            let mut seen = 0;
            while let Some(event) = plugin.next_event().await {
                if let Event::Notification { .. } = event {
                    seen += 1;
                    if seen == STREAMED {
                        seen = 0;
                        let _ = counted.send(STREAMED).await;
                    }
                }
            }
        };
        async_io::block_on(future::zip(driver, app));
    });
}

/// `STREAMED` frames written in one go and read back at their length prefixes; with
/// `decode`, each is decoded too.
fn raw_stream(frames: &Bytes, writer: &mut UnixStream, reader: &mut UnixStream, decode: bool) {
    thread::scope(|scope| {
        scope.spawn(|| writer.write_all(frames).unwrap());
        let mut decoder = FrameDecoder::default();
        let mut buf = vec![0; 64 * 1024];
        let mut seen = 0;
        while seen < STREAMED {
            let n = reader.read(&mut buf).unwrap();
            decoder.push(&buf[..n]);
            while let Some(frame) = decoder.next_frame().unwrap() {
                if decode {
                    std::hint::black_box(binary::decode(frame).unwrap());
                }
                seen += 1;
            }
        }
    });
}

fn uds_stream(c: &mut Criterion) -> [Round; 3] {
    let mut group = c.benchmark_group("uds_stream");
    group.sample_size(10);
    let (a, b) = UnixStream::pair().unwrap();
    let transport = |s: UnixStream| -> Box<dyn Transport> {
        Box::new(StreamTransport::new(async_io::Async::new(s).unwrap()))
    };
    let (counted_tx, counted) = async_channel::unbounded();
    let mut pair = {
        // The counting plugin replaces the answering one: build the pair by hand.
        let manager_end = transport(a);
        let config = manager_config(manager_end.wire());
        let (manager, mut driver) =
            connect(ManagerSession::new(Instant::now(), config), manager_end);
        counting_plugin(transport(b), counted_tx);
        async_io::block_on(future::or(
            async {
                (&mut driver).await;
                panic!("closed");
            },
            async { while !matches!(manager.next_event().await, Some(Event::Connected(_))) {} },
        ));
        Pair { manager, driver }
    };
    group.bench_function("sessions", |bench| {
        bench.iter(|| sessions_stream(&mut pair, &counted))
    });
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
    let (mut writer, mut reader) = UnixStream::pair().unwrap();
    let (mut writer2, mut reader2) = UnixStream::pair().unwrap();
    group.bench_function("raw_bytes", |bench| {
        bench.iter(|| raw_stream(&frames, &mut writer, &mut reader, false))
    });
    group.bench_function("raw_decoded", |bench| {
        bench.iter(|| raw_stream(&frames, &mut writer2, &mut reader2, true))
    });
    group.finish();
    let frames2 = frames.clone();
    [
        Box::new(move || sessions_stream(&mut pair, &counted)),
        Box::new(move || raw_stream(&frames, &mut writer, &mut reader, false)),
        Box::new(move || raw_stream(&frames2, &mut writer2, &mut reader2, true)),
    ]
}

/// Raw tungstenite: a server thread echoing each binary message back, blocking.
fn raw_ws_echo() -> (tungstenite::WebSocket<TcpStream>, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_nodelay(true).unwrap();
        let mut ws = tungstenite::accept(stream).unwrap();
        while let Ok(message) = ws.read() {
            if message.is_binary() && ws.send(message).is_err() {
                return;
            }
        }
    });
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let (client, _) = tungstenite::client(format!("ws://{addr}/"), stream).unwrap();
    (client, server)
}

fn ws_round_trip(c: &mut Criterion) -> (Round, Round) {
    let mut group = c.benchmark_group("ws_round_trip");
    let listener = WsListener::bind("127.0.0.1:0".parse().unwrap(), WsOptions::default()).unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let (manager_end, plugin_end) = async_io::block_on(future::zip(
        async { listener.accept().await.unwrap().upgrade().await.unwrap() },
        async { connect_ws(&url, Format::Binary).await.unwrap() },
    ));
    let mut pair = Pair::new(Box::new(manager_end), Box::new(plugin_end));
    group.bench_function("sessions", |bench| {
        bench.iter_custom(|iters| {
            let start = Instant::now();
            pair.round_trips(iters);
            start.elapsed()
        })
    });
    let (mut client, _server) = raw_ws_echo();
    let request = framed(&Envelope::request(7, trigger()));
    let mut raw_round_trips = move |n: u64| {
        for _ in 0..n {
            client
                .send(tungstenite::Message::Binary(request.clone()))
                .unwrap();
            std::hint::black_box(client.read().unwrap());
        }
    };
    group.bench_function("raw_tungstenite", |bench| {
        bench.iter_custom(|iters| {
            let start = Instant::now();
            raw_round_trips(iters);
            start.elapsed()
        })
    });
    group.finish();
    (
        Box::new(move || pair.round_trips(2_000)),
        Box::new(move || raw_round_trips(2_000)),
    )
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let (mut uds_sessions, mut uds_raw) = uds_round_trip(&mut c);
    let [mut stream_sessions, mut stream_raw, mut stream_decoded] = uds_stream(&mut c);
    let (mut ws_sessions, mut ws_raw) = ws_round_trip(&mut c);
    c.final_summary();
    support::report(&[
        Ratio {
            what: "UDS round trip: sessions / raw socket pair".into(),
            numerator: "uds_round_trip/sessions".into(),
            denominator: "uds_round_trip/raw".into(),
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
            what: "WebSocket round trip: sessions / raw tungstenite".into(),
            numerator: "ws_round_trip/sessions".into(),
            denominator: "ws_round_trip/raw_tungstenite".into(),
            target: 1.3,
        },
    ]);
    if std::env::args().any(|arg| arg == "--list" || arg == "--test") {
        return;
    }
    support::interleaved(
        "UDS round trip (2,000 a round): sessions / raw",
        1.5,
        11,
        &mut uds_sessions,
        &mut uds_raw,
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
        "WebSocket round trip (2,000 a round): sessions / raw",
        1.3,
        11,
        &mut ws_sessions,
        &mut ws_raw,
    );
}
