//! The far side of every benchmark, run in a child process as a plugin runs beside its manager.
//!
//! Each process then has its own `async-io` reactor, as a manager and a plugin do when deployed;
//! in one process the two drivers would share one reactor, and every wakeup would pass through
//! whichever thread happened to hold it. The raw baselines' peers run in a child process too, so
//! both sides of every comparison are placed alike.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt, AsyncWriteExt, future};
use futures_util::StreamExt;
use logi_plugin_core::codec::binary;
use logi_plugin_core::codec::frame::{DEFAULT_MAX_FRAME_LEN, FrameDecoder};
use logi_plugin_core::session::{Event, Format, PluginSession, Refused, Reply, Session, Wire};
use logi_plugin_transports::local::connect_local;
use logi_plugin_transports::ws::{READ_BUFFER_SIZE, connect_ws};
use logi_plugin_transports::{Connection, Transport, connect};
use tungstenite::protocol::WebSocketConfig;

use crate::support::status;
use crate::{STREAMED, plugin_config};

/// Names the role a child process plays; its one argument follows in `PEER_ARG_ENV`.
const PEER_ENV: &str = "LOGI_BENCH_PEER";
const PEER_ARG_ENV: &str = "LOGI_BENCH_PEER_ARG";

/// What a child process does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Role {
    /// A plugin over the Unix socket at the argument, answering every request with a status.
    AnswerUds,
    /// The same over WebSocket (binary) at the argument's URL.
    AnswerWs,
    /// A plugin over the Unix socket counting notifications, sending a status back every
    /// `STREAMED`.
    CountUds,
    /// Raw: reads each request frame and writes the status frame back.
    EchoUds,
    /// The same through `async-io` (nonblocking, waiting in its reactor), the floor that any
    /// driver on `async-io` adds to.
    EchoUdsAsyncIo,
    /// Raw: reads `STREAMED` frames at their length prefixes, then writes one byte back.
    StreamUds,
    /// The same, decoding each frame with the codec.
    StreamUdsDecoded,
    /// Raw tungstenite client at the argument's address, echoing every binary message.
    EchoWs,
    /// The same through `async-tungstenite` on `async-io`, the floor of a WebSocket driver there.
    EchoWsAsyncIo,
    /// A plugin session pumped by hand over a blocking Unix socket, answering every request.
    CoreUds,
    /// `AnswerUds` while streaming 64 KiB image updates for `FLOOD_INSTANCES` action instances
    /// as fast as its session takes them.
    FloodUds,
}

const ROLES: [(Role, &str); 11] = [
    (Role::AnswerUds, "answer-uds"),
    (Role::AnswerWs, "answer-ws"),
    (Role::CountUds, "count-uds"),
    (Role::EchoUds, "echo-uds"),
    (Role::EchoUdsAsyncIo, "echo-uds-async-io"),
    (Role::StreamUds, "stream-uds"),
    (Role::StreamUdsDecoded, "stream-uds-decoded"),
    (Role::EchoWs, "echo-ws"),
    (Role::EchoWsAsyncIo, "echo-ws-async-io"),
    (Role::CoreUds, "core-uds"),
    (Role::FloodUds, "flood-uds"),
];

/// A child process playing a role; killed and reaped when dropped.
pub struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts this benchmark binary again as a child playing `role` against `arg`.
pub fn spawn(role: Role, arg: &str) -> Peer {
    let name = ROLES.iter().find(|(r, _)| *r == role).unwrap().1;
    Command::new(std::env::current_exe().unwrap())
        .env(PEER_ENV, name)
        .env(PEER_ARG_ENV, arg)
        .stdin(Stdio::null())
        .spawn()
        .map(Peer)
        .unwrap()
}

/// In a child process: plays its role and returns true; in the parent: returns false.
pub fn run_if_child() -> bool {
    let Ok(name) = std::env::var(PEER_ENV) else {
        return false;
    };
    let arg = std::env::var(PEER_ARG_ENV).unwrap();
    let role = ROLES.iter().find(|(_, n)| *n == name).unwrap().0;
    match role {
        Role::AnswerUds => answering_plugin(uds_transport(&arg)),
        Role::AnswerWs => {
            let transport = async_io::block_on(connect_ws(&arg, Format::Binary)).unwrap();
            answering_plugin(Box::new(transport))
        }
        Role::CountUds => counting_plugin(uds_transport(&arg)),
        Role::EchoUds => raw_echo(UnixStream::connect(&arg).unwrap()),
        Role::EchoUdsAsyncIo => raw_async_io_echo(UnixStream::connect(&arg).unwrap()),
        Role::StreamUds => raw_stream(UnixStream::connect(&arg).unwrap(), false),
        Role::StreamUdsDecoded => raw_stream(UnixStream::connect(&arg).unwrap(), true),
        Role::EchoWs => raw_ws_echo(&arg),
        Role::EchoWsAsyncIo => raw_async_io_ws_echo(&arg),
        Role::CoreUds => core_plugin(UnixStream::connect(&arg).unwrap()),
        Role::FloodUds => flooding_plugin(uds_transport(&arg)),
    }
    true
}

/// The plugin's end of a local socket, connected as the SDK connects it.
fn uds_transport(path: &str) -> Box<dyn Transport> {
    Box::new(async_io::block_on(connect_local(path)).unwrap())
}

fn answering_plugin(transport: Box<dyn Transport>) {
    let config = plugin_config(transport.wire());
    let (plugin, driver) = connect(PluginSession::new(Instant::now(), config), transport);
    logi_plugin_transports::block_on(future::zip(driver, answer_every_request(&plugin)));
}

/// Answers every request with the status, until the session ends.
async fn answer_every_request(plugin: &Connection<PluginSession>) {
    while let Some(event) = plugin.next_event().await {
        if let Event::Request { id, .. } = event {
            let _ = plugin.respond(id, Reply::Message(status().into())).await;
        }
    }
}

/// Answers every request, and streams image updates at full speed: each instance's next image
/// as soon as the last has left the session. Once every instance has one waiting (its manager
/// reads slower than this draws, or not at all), it draws the next only after one has left,
/// checking every 100 µs, so that a manager busy with another benchmark does not have this
/// child drawing images beside it.
fn flooding_plugin(transport: Box<dyn Transport>) {
    let config = plugin_config(transport.wire());
    let (plugin, driver) = connect(PluginSession::new(Instant::now(), config), transport);
    let app = answer_every_request(&plugin);
    let flood = async {
        while !plugin.is_connected() {
            async_io::Timer::after(Duration::from_millis(1)).await;
        }
        let mut superseded = 0;
        for n in 0usize.. {
            let update = crate::image(n % crate::FLOOD_INSTANCES);
            let sent = plugin.with(move |session, now| {
                session.send_notification(now, update)?;
                let stats = session.stats();
                Ok::<_, Refused>((stats.superseded, stats.frames_out))
            });
            let Ok(Ok((now_superseded, frames_out))) = sent.await else {
                return;
            };
            if now_superseded == superseded {
                continue;
            }
            superseded = now_superseded;
            loop {
                async_io::Timer::after(Duration::from_micros(100)).await;
                match plugin.with(|session, _| session.stats().frames_out).await {
                    Ok(now_out) if now_out > frames_out => break,
                    Ok(_) => {}
                    Err(_) => return,
                }
            }
        }
    };
    logi_plugin_transports::block_on(future::zip(driver, future::zip(app, flood)));
}

fn counting_plugin(transport: Box<dyn Transport>) {
    let config = plugin_config(transport.wire());
    let (plugin, driver) = connect(PluginSession::new(Instant::now(), config), transport);
    let app = async {
        let mut seen = 0;
        while let Some(event) = plugin.next_event().await {
            if let Event::Notification { .. } = event {
                seen += 1;
                if seen == STREAMED {
                    seen = 0;
                    let _ = plugin.notify(status()).await;
                }
            }
        }
    };
    logi_plugin_transports::block_on(future::zip(driver, app));
}

/// Answers each framed request with the framed status, blocking, until the parent hangs up.
fn raw_echo(mut socket: UnixStream) {
    let (request, answer) = crate::round_trip_frames();
    let mut buf = vec![0; request.len()];
    while socket.read_exact(&mut buf).is_ok() {
        if socket.write_all(&answer).is_err() {
            return;
        }
    }
}

/// `raw_echo` through `async-io`: each side waits in the reactor, as a driver does.
fn raw_async_io_echo(socket: UnixStream) {
    let (request, answer) = crate::round_trip_frames();
    let mut socket = async_io::Async::new(socket).unwrap();
    let mut buf = vec![0; request.len()];
    async_io::block_on(async {
        while socket.read_exact(&mut buf).await.is_ok() {
            if socket.write_all(&answer).await.is_err() {
                return;
            }
        }
    });
}

/// Reads `STREAMED` frames at their length prefixes, then says so with one byte; again until
/// the parent hangs up.
fn raw_stream(mut socket: UnixStream, decode: bool) {
    let mut decoder = FrameDecoder::default();
    let mut buf = vec![0; 64 * 1024];
    let mut seen = 0;
    loop {
        let n = socket.read(&mut buf).unwrap_or(0);
        if n == 0 {
            return;
        }
        decoder.push(&buf[..n]);
        while let Some(frame) = decoder.next_frame().unwrap() {
            if decode {
                std::hint::black_box(binary::decode(frame).unwrap());
            }
            seen += 1;
            if seen == STREAMED {
                seen = 0;
                socket.write_all(&[1]).unwrap();
            }
        }
    }
}

/// Raw tungstenite: echoes every binary message back, as the plugin answers, from the client
/// end, so frames are masked in the same direction as in the sessions' run.
fn raw_ws_echo(addr: &str) {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let (mut ws, _) = tungstenite::client(format!("ws://{addr}/"), stream).unwrap();
    while let Ok(message) = ws.read() {
        if message.is_binary() && ws.send(message).is_err() {
            return;
        }
    }
}

/// `raw_ws_echo` through `async-tungstenite`, each side waiting in `async-io`'s reactor, reading
/// as much at a time as our WebSocket transport does (tungstenite zeroes its whole read size
/// before each read, and a nonblocking reader makes reads that find nothing).
fn raw_async_io_ws_echo(addr: &str) {
    async_io::block_on(async {
        let stream = async_io::Async::<TcpStream>::connect(addr.parse::<SocketAddr>().unwrap())
            .await
            .unwrap();
        stream.get_ref().set_nodelay(true).unwrap();
        let url = format!("ws://{addr}/");
        let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER_SIZE);
        let (mut ws, _) = async_tungstenite::client_async_with_config(url, stream, Some(config))
            .await
            .unwrap();
        while let Some(Ok(message)) = ws.next().await {
            if message.is_binary() && ws.send(message).await.is_err() {
                return;
            }
        }
    });
}

fn core_plugin(mut socket: UnixStream) {
    let wire = Wire::Stream {
        max_frame_len: DEFAULT_MAX_FRAME_LEN,
    };
    let mut session = PluginSession::new(Instant::now(), plugin_config(wire));
    let mut buf = vec![0; 4096];
    crate::pump(&mut session, &mut socket, &mut buf, |session, event| {
        if let Event::Request { id, .. } = event {
            let answer = Reply::Message(status().into());
            session.respond(Instant::now(), id, answer).unwrap();
        }
        false
    });
}
