//! What each fuzz target checks, shared with `tests/fuzz_corpus.rs` so that `cargo test` replays
//! the checked-in corpus through exactly the code the fuzzer ran.
//!
//! Beyond "no panic": whatever decodes must encode again and decode to the same envelope, through
//! either codec; and the wire check must judge a body as its decoding does.

use bytes::{Bytes, BytesMut};
use logi_plugin_core::codec::frame::{FrameDecoder, encode_frame};
use logi_plugin_core::codec::{binary, json};
use logi_plugin_core::{Envelope, MessageType};
use logi_plugin_manifest::Manifest;
use logi_plugin_manifest::localization::Translations;

/// A small limit, so that oversized announcements are within the fuzzer's reach.
const FUZZ_MAX_FRAME_LEN: usize = 4096;

/// Splits the input into chunks (sizes taken from its first byte) and runs them through a frame
/// decoder; every frame goes to the binary checks.
pub fn framer(data: &[u8]) {
    let Some((&pattern, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(pattern % 17) + 1;
    let mut decoder = FrameDecoder::new(FUZZ_MAX_FRAME_LEN);
    let mut pushed = 0;
    for piece in stream.chunks(chunk) {
        decoder.push(piece);
        pushed += piece.len();
        assert!(
            decoder.buffered_len() <= pushed,
            "the decoder holds only what it was given"
        );
        loop {
            match decoder.next_frame() {
                Ok(Some(frame)) => {
                    assert!(frame.len() <= FUZZ_MAX_FRAME_LEN);
                    check_binary(frame);
                }
                Ok(None) => break,
                Err(error) => {
                    let _ = error.to_string();
                    assert_eq!(
                        decoder.next_frame(),
                        Err(error),
                        "a failed decoder stays failed"
                    );
                    return;
                }
            }
        }
    }
    let _ = decoder.finish();
}

/// Decodes the input as one binary envelope; and checks that, read as the body of each message
/// type, it is decodable exactly when it decodes.
pub fn binary_decode(data: &[u8]) {
    check_binary(Bytes::copy_from_slice(data));
    for &message_type in MessageType::ALL {
        assert_eq!(
            message_type.is_decodable(data),
            message_type.decode(data).is_ok(),
            "the check and the decoding disagree on a {}",
            message_type.full_name()
        );
    }
}

/// Decodes the input as one JSON envelope.
pub fn json_decode(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match json::decode(text) {
        Ok(envelope) => check_round_trips(&envelope),
        Err(error) => {
            let _ = error.to_string();
        }
    }
}

fn check_binary(bytes: Bytes) {
    match binary::decode(bytes) {
        Ok(envelope) => check_round_trips(&envelope),
        Err(error) => {
            let _ = error.to_string();
        }
    }
}

/// A decoded envelope survives both codecs and the framer unchanged (compared by its binary
/// encoding, which is exact for NaN too).
fn check_round_trips(envelope: &Envelope) {
    let wire = binary::encode_to_bytes(envelope);
    assert_eq!(wire.len(), binary::encoded_len(envelope));
    let again = binary::decode(wire.clone()).expect("our binary encoding decodes");
    assert_eq!(binary::encode_to_bytes(&again), wire, "binary round trip");

    // JSON has one NaN, so a NaN's payload bits cannot survive it. The text must: the writer maps
    // distinct values to distinct text (NaN payloads aside), so equal text means an equal
    // envelope, and without a NaN the bytes must match too.
    let text = json::encode(envelope);
    let from_json = json::decode(&text).unwrap_or_else(|e| panic!("our JSON decodes: {e}\n{text}"));
    assert_eq!(json::encode(&from_json), text, "JSON round trip");
    if !text.contains("\"NaN\"") {
        assert_eq!(
            binary::encode_to_bytes(&from_json),
            wire,
            "JSON round trip of {text}"
        );
    }

    let mut framed = BytesMut::new();
    if encode_frame(envelope, FUZZ_MAX_FRAME_LEN, &mut framed).is_ok() {
        let mut decoder = FrameDecoder::new(FUZZ_MAX_FRAME_LEN);
        decoder.push(&framed);
        let frame = decoder
            .next_frame()
            .expect("our frame decodes")
            .expect("a whole frame");
        assert_eq!(frame, wire, "framing round trip");
    }
}

/// Drives a manager session with fuzz input: a plugin's bytes, time steps and owner commands.
pub fn manager_session(data: &[u8]) {
    use logi_plugin_core::proto::plugin::{PluginHello, TriggerAction};
    use logi_plugin_core::session::{Admission, Input, ManagerConfig, ManagerSession, Session};
    use std::collections::HashMap;
    use std::sync::Arc;

    let registry: HashMap<String, String> =
        [("com.example.fuzz".to_string(), "code".to_string())].into();
    // The owner, as the transports' listener is: it judges each hello as it comes.
    let admission = Admission::new(Arc::new(registry));
    let mut claim = None;
    let mut config = ManagerConfig::new("0.0.0");
    config.wire = logi_plugin_core::session::Wire::Stream {
        max_frame_len: FUZZ_MAX_FRAME_LEN,
    };
    let start = std::time::Instant::now();
    let mut session = ManagerSession::new(start, config);
    let mut driver = SessionDriver::new(start);
    let Some((&first, ops)) = data.split_first() else {
        return;
    };
    if first % 2 == 0 {
        // Start from a valid handshake half the time, so the fuzzer reaches the connected state.
        let hello = PluginHello {
            plugin_id: "com.example.fuzz".into(),
            plugin_code: "code".into(),
            plugin_version: "1".into(),
            protocol_version: 1,
        };
        let mut framed = BytesMut::new();
        encode_frame(
            &Envelope::request(1, hello),
            FUZZ_MAX_FRAME_LEN,
            &mut framed,
        )
        .expect("a small hello");
        let _ = session.handle_input(start, Input::Bytes(&framed));
    }
    for op in Ops(ops) {
        match op {
            Op::Bytes(bytes) => {
                let _ = session.handle_input(driver.now, Input::Bytes(bytes));
            }
            Op::Advance(step) => {
                driver.now += step;
                let _ = session.handle_input(driver.now, Input::Timeout);
                driver.take_output(&mut session);
                driver.check_timeout_ahead();
            }
            Op::Command(c) => {
                if c % 2 == 0 {
                    let trigger = TriggerAction {
                        action_id: "a".into(),
                        ..TriggerAction::default()
                    };
                    if let Ok(id) = session.send_request(
                        driver.now,
                        trigger,
                        std::time::Duration::from_millis(u64::from(c) * 10),
                    ) {
                        driver.sent(id);
                    }
                } else if let Some(id) = driver.peer_requests.pop() {
                    let _ = session.respond(driver.now, id, logi_plugin_core::session::Reply::Ok);
                }
            }
        }
        driver.take_output(&mut session);
        if let Some(peer) = driver.hello.take() {
            let verdict;
            (verdict, claim) = admission.judge(&peer, None);
            // Unless the session has closed since (its hello deadline passed, say).
            if let Err(error) = session.admit(driver.now, verdict) {
                assert!(
                    matches!(error, logi_plugin_core::session::SendError::Closed(_)),
                    "a hello handed out waits for its verdict: {error}"
                );
            }
            driver.take_output(&mut session);
        }
        if driver.closed {
            claim = None;
        }
    }
    drop(claim);
}

/// Drives a plugin session with fuzz input: a manager's bytes, time steps and app commands.
pub fn plugin_session(data: &[u8]) {
    use logi_plugin_core::proto::plugin::{ActionCellStatus, ManagerHello, Settings};
    use logi_plugin_core::session::{Input, PluginConfig, PluginSession, Reply, Session};

    let mut config = PluginConfig::new("com.example.fuzz", "code", "1");
    config.wire = logi_plugin_core::session::Wire::Stream {
        max_frame_len: FUZZ_MAX_FRAME_LEN,
    };
    let start = std::time::Instant::now();
    let mut session = PluginSession::new(start, config);
    let mut driver = SessionDriver::new(start);
    let Some((&first, ops)) = data.split_first() else {
        return;
    };
    if first % 4 == 0 {
        let _ = session.enable_control_buffering([("dial", "throughput"), ("knob", "timer")]);
    }
    if first % 2 == 0 {
        let hello = ManagerHello {
            manager_version: "0".into(),
            protocol_version: 1,
            language_code: "en-US".into(),
            ..ManagerHello::default()
        };
        let mut framed = BytesMut::new();
        let answer =
            Envelope::response(1, logi_plugin_core::ResponseInfo::ok(), Some(hello.into()));
        encode_frame(&answer, FUZZ_MAX_FRAME_LEN, &mut framed).expect("a small answer");
        let _ = session.handle_input(start, Input::Bytes(&framed));
    }
    for op in Ops(ops) {
        match op {
            Op::Bytes(bytes) => {
                let _ = session.handle_input(driver.now, Input::Bytes(bytes));
            }
            Op::Advance(step) => {
                driver.now += step;
                let _ = session.handle_input(driver.now, Input::Timeout);
                driver.take_output(&mut session);
                driver.check_timeout_ahead();
            }
            Op::Command(c) => {
                if c % 3 == 0 {
                    let setting = Settings {
                        setting_name: "k".into(),
                        setting_value: c.to_string(),
                        ..Settings::default()
                    };
                    if let Ok(id) = session.send_request(
                        driver.now,
                        setting,
                        std::time::Duration::from_millis(u64::from(c) * 10),
                    ) {
                        driver.sent(id);
                    }
                } else if c % 3 == 1 {
                    // A transport still writing, or not: bulk may leave only from an idle one.
                    driver.unwritten = if c & 16 != 0 { 100 } else { 0 };
                    if c & 8 != 0 {
                        let status = ActionCellStatus {
                            action_instance_id: (c % 4).to_string(),
                            ..ActionCellStatus::default()
                        };
                        let _ = session.send_notification(driver.now, status);
                    } else {
                        let _ = session.send_notification(driver.now, Settings::default());
                    }
                } else if let Some(id) = driver.peer_requests.pop() {
                    let _ = session.respond(driver.now, id, Reply::Ok);
                }
            }
        }
        driver.take_output(&mut session);
    }
}

/// One step of a session fuzz input.
enum Op<'a> {
    Bytes(&'a [u8]),
    Advance(std::time::Duration),
    Command(u8),
}

/// Splits fuzz input into steps: a tag byte, then the step's own bytes.
struct Ops<'a>(&'a [u8]);

impl<'a> Iterator for Ops<'a> {
    type Item = Op<'a>;

    fn next(&mut self) -> Option<Op<'a>> {
        let (&tag, rest) = self.0.split_first()?;
        let (&arg, rest) = rest.split_first().unwrap_or((&0, &[]));
        match tag % 4 {
            0 | 1 => {
                let len = usize::from(arg).min(rest.len());
                let (bytes, rest) = rest.split_at(len);
                self.0 = rest;
                Some(Op::Bytes(bytes))
            }
            2 => {
                self.0 = rest;
                // Steps from a millisecond to over a minute: deadlines both just hit and jumped past.
                Some(Op::Advance(std::time::Duration::from_millis(
                    u64::from(arg) * u64::from(arg) + 1,
                )))
            }
            _ => {
                self.0 = rest;
                Some(Op::Command(arg))
            }
        }
    }
}

/// What the fuzz owner of a session keeps, to check the session's promises.
struct SessionDriver {
    now: std::time::Instant,
    /// This side's requests not yet ended.
    open: std::collections::HashSet<u32>,
    peer_requests: Vec<u32>,
    closed: bool,
    /// The deadline the session last asked to be woken at.
    wake: Option<logi_plugin_core::session::Wake>,
    /// What the fuzzed transport says it has yet to write.
    unwritten: usize,
    /// A manager's peer's hello waiting for the owner's verdict.
    hello: Option<logi_plugin_core::session::Peer>,
    /// Whether a hello was handed out or the handshake done.
    greeted: bool,
}

impl SessionDriver {
    fn new(now: std::time::Instant) -> SessionDriver {
        SessionDriver {
            now,
            open: Default::default(),
            peer_requests: Vec::new(),
            closed: false,
            wake: None,
            unwritten: 0,
            hello: None,
            greeted: false,
        }
    }

    fn sent(&mut self, id: u32) {
        assert!(id != 0, "request id 0");
        assert!(
            self.open.insert(id),
            "request id {id} given out while in flight"
        );
    }

    fn event<H: std::any::Any>(&mut self, event: logi_plugin_core::session::Event<H>) {
        use logi_plugin_core::session::{Event, Peer};
        assert!(!self.closed, "an event after Closed");
        match event {
            Event::Hello(peer) => {
                assert!(
                    !self.greeted,
                    "a second hello handed out, or one after Connected"
                );
                self.greeted = true;
                let peer: Box<dyn std::any::Any> = Box::new(peer);
                let peer = peer
                    .downcast::<Peer>()
                    .expect("only a manager hands out a hello");
                self.hello = Some(*peer);
            }
            Event::Connected(_) => {
                assert!(self.hello.is_none(), "connected before the verdict");
                self.greeted = true;
            }
            Event::Response { id, .. } | Event::Timeout { id, .. } => {
                assert!(
                    self.open.remove(&id),
                    "request {id} ended twice or was never sent"
                );
            }
            Event::Request { id, .. } => self.peer_requests.push(id),
            Event::Closed(reason) => {
                let _ = reason.to_string();
                self.closed = true;
                // Requests still open end with the session.
                self.open.clear();
            }
            Event::Notification { .. } | Event::Throttled { .. } => {}
        }
    }

    /// Takes the session's output until a round has no event and no frame: the frames are
    /// dropped, the events checked, the wake kept. Nothing comes after `Closed` but frames, and
    /// no bulk frame to a transport still writing unless the session has closed.
    fn take_output<S: logi_plugin_core::session::Session>(&mut self, session: &mut S)
    where
        S::PeerHello: 'static,
    {
        use logi_plugin_core::session::{Lane, Output};
        loop {
            let mut moved = false;
            loop {
                match session.poll_output(self.unwritten) {
                    Output::Event(event) => self.event(event),
                    Output::Transmit(transmit) => assert!(
                        transmit.lane == Lane::Prompt || self.unwritten == 0 || self.closed,
                        "a bulk frame for a transport still writing"
                    ),
                    Output::Timeout(wake) => {
                        assert!(!self.closed, "a closed session asks to be woken");
                        self.wake = Some(wake);
                        break;
                    }
                    Output::Idle => {
                        self.wake = None;
                        break;
                    }
                }
                moved = true;
            }
            if !moved {
                return;
            }
            // What was taken has been written.
            self.unwritten = 0;
        }
    }

    /// After `Input::Timeout` at `now`, the next deadline is in the future: nothing left due,
    /// so an owner sleeping until it never spins.
    fn check_timeout_ahead(&self) {
        if let Some(wake) = self.wake {
            assert!(
                wake.at > self.now,
                "the wake ({:?}) is not ahead of the time just handled",
                wake.timer
            );
        }
    }
}

/// Reads the input as a manifest and as a localization file. A manifest that is accepted keeps
/// the rules the reader promises; one that is refused says why, with at least one error.
pub fn manifest(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match Manifest::parse(&text) {
        Ok(manifest) => {
            let reparsed: logi_plugin_manifest::Version = manifest
                .version
                .to_string()
                .parse()
                .expect("a version prints as it reads");
            assert_eq!(reparsed, manifest.version);
            let mut ids: Vec<&str> = manifest.actions.iter().map(|a| a.id.as_str()).collect();
            ids.extend(manifest.controls.iter().map(|c| c.id.as_str()));
            let count = ids.len();
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len(), count, "action and control ids are unique");
            assert!(!manifest.os.is_empty());
        }
        Err(errors) => {
            assert!(!errors.0.is_empty(), "a refusal names at least one problem");
            assert!(!errors.to_string().is_empty());
        }
    }
    if let Ok(translations) = Translations::parse("fuzz", &text) {
        let _ = translations.translate("name");
    }
}
