//! A deliberately broken manager for the kit's tests: a small hand-written server on a local
//! socket that speaks the wire with our codec (varint-prefixed binary envelopes) and behaves as
//! the protocol asks of a manager, except for the [`Fault`]s it is started with. One server for
//! every fault, so that each test differs from a good manager by exactly its fault.

#![allow(dead_code)] // Each test file uses its own part.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use logi_plugin_core::codec::DecodeError;
use logi_plugin_core::codec::binary;
use logi_plugin_core::codec::frame::{DEFAULT_MAX_FRAME_LEN, FrameDecoder, encode_frame};
use logi_plugin_core::proto::plugin::{ManagerHello, Ping, Pong, RetryAfter, Settings};
use logi_plugin_core::session::PROTOCOL_VERSION;
use logi_plugin_core::{Envelope, Message, ResponseCode, ResponseInfo};

/// The plugin id the fake admits.
pub const PLUGIN_ID: &str = "com.example.faked";
/// That plugin's code.
pub const CODE: &str = "the fake's code";
/// How often the fake pings.
pub const PING_INTERVAL: Duration = Duration::from_millis(100);
/// How long a `Pong` may take before the fake closes the session.
pub const PONG_DEADLINE: Duration = Duration::from_millis(200);
/// How many requests the fake serves before its rate limit answers `NOT_READY`.
pub const BURST: u32 = 40;
/// The `RetryAfter` window the fake sends when the limit is reached.
pub const RETRY_WINDOW: Duration = Duration::from_millis(150);

/// One way the fake departs from what the protocol asks of a manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// It never sends `Ping`.
    NeverPings,
    /// It keeps a plugin that does not answer its `Ping` past the `Pong` deadline.
    NeverClosesSilent,
    /// It closes the connection on a request of an unknown type URL instead of answering.
    ClosesOnUnknownType,
    /// It closes the connection on a request whose body does not decode instead of answering.
    ClosesOnMalformedBody,
    /// It closes the connection right after answering the hello.
    ClosesAfterHello,
    /// It reads frames of any length on its local socket.
    NoFrameLimit,
    /// It answers a plugin's `Ping` with a `Pong` (the seed allows it; this project refuses it
    /// `INVALID_VERB`).
    AnswersPluginPing,
}

/// The fake, listening until dropped.
pub struct FakeManager {
    endpoint: PathBuf,
    stop: Arc<AtomicBool>,
    _dir: tempfile::TempDir,
}

impl FakeManager {
    /// Listens on a fresh socket with `faults`.
    pub fn start(faults: &[Fault]) -> FakeManager {
        let dir = tempfile::tempdir().unwrap();
        let endpoint = dir.path().join("fake-manager.sock");
        let listener = UnixListener::bind(&endpoint).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (faults, stopping) = (faults.to_vec(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let conn = Connection::new(stream, faults.clone(), stopping.clone());
                std::thread::spawn(move || conn.serve());
            }
        });
        FakeManager {
            endpoint,
            stop,
            _dir: dir,
        }
    }

    /// Where it listens.
    pub fn endpoint(&self) -> &Path {
        &self.endpoint
    }
}

impl Drop for FakeManager {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accepting thread, which then sees the flag.
        let _ = UnixStream::connect(&self.endpoint);
    }
}

/// One plugin connection, served on its own thread.
struct Connection {
    stream: UnixStream,
    faults: Vec<Fault>,
    stop: Arc<AtomicBool>,
    frames: FrameDecoder,
    said_hello: bool,
    next_id: u32,
    next_ping: Option<Instant>,
    /// The id of the `Ping` waiting for its `Pong`, and until when.
    pending_ping: Option<(u32, Instant)>,
    settings: HashMap<String, Settings>,
    served: u32,
    retry_until: Option<Instant>,
}

/// Whether the connection goes on after a step.
enum Next {
    Go,
    Close,
}

impl Connection {
    fn new(stream: UnixStream, faults: Vec<Fault>, stop: Arc<AtomicBool>) -> Connection {
        let limit = if faults.contains(&Fault::NoFrameLimit) {
            usize::MAX
        } else {
            DEFAULT_MAX_FRAME_LEN
        };
        Connection {
            stream,
            faults,
            stop,
            frames: FrameDecoder::new(limit),
            said_hello: false,
            next_id: 1,
            next_ping: None,
            pending_ping: None,
            settings: HashMap::new(),
            served: 0,
            retry_until: None,
        }
    }

    fn has(&self, fault: Fault) -> bool {
        self.faults.contains(&fault)
    }

    fn serve(mut self) {
        let mut buf = vec![0; 64 * 1024];
        while !self.stop.load(Ordering::SeqCst) {
            if let Next::Close = self.timers(Instant::now()) {
                return;
            }
            let wake = [self.next_ping, self.pending_ping.map(|(_, at)| at)]
                .into_iter()
                .flatten()
                .min()
                .map_or(Duration::from_millis(50), |at| {
                    at.saturating_duration_since(Instant::now())
                });
            let wait = wake.clamp(Duration::from_millis(1), Duration::from_millis(50));
            self.stream.set_read_timeout(Some(wait)).unwrap();
            match self.stream.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => self.frames.push(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    continue;
                }
                Err(_) => return,
            }
            loop {
                match self.frames.next_frame() {
                    Ok(Some(frame)) => {
                        if let Next::Close = self.frame(frame) {
                            return;
                        }
                    }
                    Ok(None) => break,
                    // Past the frame limit, or a prefix that cannot be read: the stream is lost.
                    Err(_) => return,
                }
            }
        }
    }

    /// Pings when due; closes a session whose `Pong` is late.
    fn timers(&mut self, now: Instant) -> Next {
        if let Some((_, deadline)) = self.pending_ping
            && now >= deadline
        {
            if !self.has(Fault::NeverClosesSilent) {
                return Next::Close;
            }
            self.pending_ping = None;
        }
        if let Some(at) = self.next_ping
            && now >= at
        {
            self.next_ping = Some(now + PING_INTERVAL);
            if self.pending_ping.is_none() {
                let id = self.id();
                self.pending_ping = Some((id, now + PONG_DEADLINE));
                return self.send(&Envelope::request(id, Ping {}));
            }
        }
        Next::Go
    }

    fn id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn send(&mut self, envelope: &Envelope) -> Next {
        let mut bytes = BytesMut::new();
        encode_frame(envelope, usize::MAX, &mut bytes).unwrap();
        match self.stream.write_all(&bytes) {
            Ok(()) => Next::Go,
            Err(_) => Next::Close,
        }
    }

    fn answer(&mut self, id: u32, response: ResponseInfo, message: Option<Message>) -> Next {
        self.send(&Envelope::response(id, response, message))
    }

    fn frame(&mut self, frame: Bytes) -> Next {
        let envelope = match binary::decode(frame) {
            Ok(envelope) => envelope,
            Err(DecodeError::Message {
                id,
                response: None,
                source,
            }) if self.said_hello => {
                let code = source.response_code();
                let closes = match code {
                    ResponseCode::NotImplemented => Fault::ClosesOnUnknownType,
                    _ => Fault::ClosesOnMalformedBody,
                };
                if self.has(closes) {
                    return Next::Close;
                }
                return self.answer(id, ResponseInfo::error(code, source.to_string()), None);
            }
            Err(error) => {
                let _ = self.answer(
                    0,
                    ResponseInfo::error(ResponseCode::InvalidArg, error.to_string()),
                    None,
                );
                return Next::Close;
            }
        };
        if envelope.response.is_some() {
            if self.pending_ping.is_some_and(|(id, _)| id == envelope.id) {
                self.pending_ping = None;
            }
            return Next::Go;
        }
        if !self.said_hello {
            return self.hello(envelope);
        }
        if envelope.id == 0 {
            return Next::Go;
        }
        if let Some(refused) = self.rate_limited(Instant::now()) {
            return self.answer(envelope.id, refused, None);
        }
        let (response, message) = match envelope.message {
            Some(Message::Ping(_)) if self.has(Fault::AnswersPluginPing) => {
                (ResponseInfo::ok(), Some(Pong {}.into()))
            }
            Some(Message::Ping(_)) => (
                ResponseInfo::error(ResponseCode::InvalidVerb, "Ping is the manager's"),
                None,
            ),
            // Last writer wins, as in the seed: no versions.
            Some(Message::Settings(write)) => {
                self.settings
                    .insert(write.setting_name.clone(), write.clone());
                (ResponseInfo::ok(), Some(write.into()))
            }
            Some(Message::SettingsRequest(read)) => match self.settings.get(&read.setting_name) {
                Some(stored) => (ResponseInfo::ok(), Some(stored.clone().into())),
                None => (
                    ResponseInfo::error(ResponseCode::NotFound, "never set"),
                    None,
                ),
            },
            _ => (
                ResponseInfo::error(ResponseCode::NotImplemented, "the fake does not serve it"),
                None,
            ),
        };
        self.answer(envelope.id, response, message)
    }

    /// The refusal of a request over the limit, sending `RetryAfter` with the first.
    fn rate_limited(&mut self, now: Instant) -> Option<ResponseInfo> {
        if let Some(until) = self.retry_until {
            if now < until {
                return Some(ResponseInfo::error(ResponseCode::NotReady, "wait"));
            }
            self.retry_until = None;
            self.served = 0;
        }
        self.served += 1;
        if self.served <= BURST {
            return None;
        }
        self.retry_until = Some(now + RETRY_WINDOW);
        let interval = RETRY_WINDOW.as_millis() as u32;
        let _ = self.send(&Envelope::request(0, RetryAfter { interval }));
        Some(ResponseInfo::error(
            ResponseCode::NotReady,
            "over the limit",
        ))
    }

    fn hello(&mut self, envelope: Envelope) -> Next {
        let Some(Message::PluginHello(hello)) = envelope.message else {
            return Next::Close;
        };
        if hello.plugin_id != PLUGIN_ID || hello.plugin_code != CODE {
            let refusal = ResponseInfo::error(ResponseCode::Unauthorized, "not admitted");
            let _ = self.answer(envelope.id, refusal, None);
            return Next::Close;
        }
        let answer = ManagerHello {
            manager_version: "fake 1".into(),
            protocol_version: PROTOCOL_VERSION,
            language_code: "en-US".into(),
            ..ManagerHello::default()
        };
        if let Next::Close = self.answer(envelope.id, ResponseInfo::ok(), Some(answer.into())) {
            return Next::Close;
        }
        if self.has(Fault::ClosesAfterHello) {
            return Next::Close;
        }
        self.said_hello = true;
        if !self.has(Fault::NeverPings) {
            self.next_ping = Some(Instant::now() + PING_INTERVAL);
        }
        Next::Go
    }
}
