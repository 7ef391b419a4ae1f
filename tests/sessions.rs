//! The two sessions wired byte to byte in memory with a fake clock: one scenario per behaviour of
//! seed chapter 5 (handshake, correlation, heartbeat, error answers).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use logi_plugin_core::codec::frame::{DEFAULT_MAX_FRAME_LEN, encode_frame};
use logi_plugin_core::codec::{binary, frame::FrameDecoder};
use logi_plugin_core::proto::plugin::{
    ActionCellStatus, LogEvent, PluginHello, Settings, TriggerAction, VisibilityChanged,
};
use logi_plugin_core::session::{
    Admission, CloseReason, Event, Fault, Format, Frame, Input, Lane, ManagerConfig,
    ManagerSession, Output, Peer, PluginConfig, PluginSession, Refused, Reply, SendError, Session,
    Timer, Transmit, Verdict, Wake, Wire,
};
use logi_plugin_core::view::View;
use logi_plugin_core::{
    EncodedMessage, Envelope, Message, MessageType, ResponseCode, ResponseInfo,
};
use prost::Message as _;

mod common;
use common::pair::{Link, take};

const PLUGIN: &str = "com.example.media";
const CODE: &str = "per-launch-secret";
const SECOND: Duration = Duration::from_secs(1);

fn manager_config() -> ManagerConfig {
    let mut config = ManagerConfig::new("0.1.0");
    config.language_code = "de-DE".into();
    config
}

/// The manager's owner: admits the one registered plugin.
fn admission() -> Admission {
    let registry: HashMap<String, String> = [(PLUGIN.to_string(), CODE.to_string())].into();
    Admission::new(Arc::new(registry))
}

fn plugin_config() -> PluginConfig {
    PluginConfig::new(PLUGIN, CODE, "1.2.0")
}

/// A manager session and a plugin session wired in memory, with one clock.
type Pair = common::pair::Pair<ManagerSession, PluginSession>;

impl Pair {
    /// The two sessions made now with these configurations, driven through the handshake.
    fn of(manager: ManagerConfig, plugin: PluginConfig) -> Pair {
        let now = Instant::now();
        let mut pair = Pair::new(
            now,
            ManagerSession::new(now, manager),
            PluginSession::new(now, plugin),
            admission(),
        );
        pair.drive();
        pair
    }

    /// Connected over messages, the plugin writing JSON text and the manager following it.
    fn json() -> Pair {
        let mut manager = manager_config();
        manager.wire = Wire::Messages {
            format: Format::FollowPeer,
        };
        let mut plugin = plugin_config();
        plugin.wire = Wire::Messages {
            format: Format::Json,
        };
        Pair::of(manager, plugin)
    }

    fn connected() -> Pair {
        let pair = Pair::of(manager_config(), plugin_config());
        assert!(
            pair.manager.is_connected() && pair.peer.is_connected(),
            "handshake failed"
        );
        pair
    }
}

/// An envelope framed for a byte stream, as a peer would write it.
fn framed(envelope: &Envelope) -> Bytes {
    let mut buf = BytesMut::new();
    encode_frame(envelope, DEFAULT_MAX_FRAME_LEN, &mut buf).unwrap();
    buf.freeze()
}

/// Decodes everything a session has queued for a byte stream.
fn sent_envelopes(frames: impl IntoIterator<Item = Frame>) -> Vec<Envelope> {
    let mut decoder = FrameDecoder::default();
    let mut out = Vec::new();
    for frame in frames {
        let Frame::Binary(bytes) = frame else {
            panic!("a stream session sent text")
        };
        decoder.push(&bytes);
        while let Some(f) = decoder.next_frame().unwrap() {
            out.push(binary::decode(f).unwrap());
        }
    }
    out
}

/// A manager session that has accepted the plugin's hello, and that hello's answer taken.
fn connected_manager(now: Instant) -> ManagerSession {
    let mut manager = admitted_manager(now, manager_config());
    take(&mut manager);
    manager
}

/// A manager session made with `config` that has been sent the plugin's hello and accepted it;
/// its answer not yet taken.
fn admitted_manager(now: Instant, config: ManagerConfig) -> ManagerSession {
    let mut manager = ManagerSession::new(now, config);
    let hello = PluginHello {
        plugin_id: PLUGIN.into(),
        plugin_code: CODE.into(),
        plugin_version: "1".into(),
        protocol_version: 1,
    };
    manager
        .handle_input(now, Input::Bytes(&framed(&Envelope::request(1, hello))))
        .unwrap();
    manager.admit(now, Verdict::Accept).unwrap();
    assert!(manager.is_connected());
    manager
}

fn trigger() -> TriggerAction {
    TriggerAction {
        action_instance_id: "instance-1".into(),
        action_id: "toggle_mute".into(),
        configuration: None,
    }
}

#[test]
fn the_handshake_connects_both_sides_with_each_others_hello() {
    let pair = Pair::connected();
    match &pair.manager_events[..] {
        [Event::Connected(Peer::Plugin(hello))] => {
            assert_eq!(
                (
                    hello.plugin_id.as_str(),
                    hello.plugin_version.as_str(),
                    hello.protocol_version
                ),
                (PLUGIN, "1.2.0", 1)
            );
        }
        other => panic!("{other:?}"),
    }
    match &pair.peer_events[..] {
        [Event::Connected(hello)] => {
            assert_eq!(
                (
                    hello.manager_version.as_str(),
                    hello.language_code.as_str(),
                    hello.protocol_version
                ),
                ("0.1.0", "de-DE", 1)
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(pair.manager.plugin_id(), Some(PLUGIN));
}

#[test]
fn the_handshake_survives_delivery_one_byte_at_a_time() {
    let now = Instant::now();
    let mut pair = Pair::new(
        now,
        ManagerSession::new(now, manager_config()),
        PluginSession::new(now, plugin_config()),
        admission(),
    );
    pair.byte_at_a_time = true;
    pair.drive();
    assert!(pair.manager.is_connected() && pair.peer.is_connected());
}

#[test]
fn a_wrong_plugin_code_is_refused_unauthorized_and_both_sides_close() {
    let mut plugin = plugin_config();
    plugin.plugin_code = "guessed".into();
    let pair = Pair::of(manager_config(), plugin);
    // The manager refused the plugin's hello, the plugin's was refused: each side says which.
    assert!(
        matches!(
            pair.manager.close_reason(),
            Some(CloseReason::HelloRefused {
                code: ResponseCode::Unauthorized,
                ..
            })
        ),
        "{:?}",
        pair.manager.close_reason()
    );
    assert!(
        matches!(
            pair.peer.close_reason(),
            Some(CloseReason::HelloRefusedByPeer {
                code: ResponseCode::Unauthorized,
                ..
            })
        ),
        "{:?}",
        pair.peer.close_reason()
    );
    // The wrong secret is the plugin's: the manager's peer, the plugin's own configuration.
    let fault = |reason: Option<&CloseReason>| reason.and_then(CloseReason::fault);
    assert_eq!(fault(pair.manager.close_reason()), Some(Fault::Peer));
    assert_eq!(fault(pair.peer.close_reason()), Some(Fault::Caller));
    assert!(
        !pair
            .peer_events
            .iter()
            .any(|e| matches!(e, Event::Connected(_)))
    );
}

#[test]
fn an_unregistered_plugin_id_is_refused_naming_it() {
    let mut plugin = plugin_config();
    plugin.plugin_id = "com.example.stranger".into();
    let pair = Pair::of(manager_config(), plugin);
    match pair.peer.close_reason() {
        Some(CloseReason::HelloRefusedByPeer {
            code: ResponseCode::Unauthorized,
            what,
        }) => {
            assert_eq!(what, "plugin \"com.example.stranger\" is not registered");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_unsupported_protocol_version_is_refused_invalid_arg() {
    let mut plugin = plugin_config();
    plugin.protocol_version = 7;
    let pair = Pair::of(manager_config(), plugin);
    let fault = pair.peer.close_reason().and_then(CloseReason::fault);
    assert_eq!(fault, Some(Fault::Incompatible));
    match pair.peer.close_reason() {
        Some(CloseReason::HelloRefusedByPeer {
            code: ResponseCode::InvalidArg,
            what,
        }) => {
            assert_eq!(
                what,
                "protocol version 7 is not supported (supported: 1 to 1)"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_message_before_the_hello_closes_the_manager_session_with_a_reason() {
    let now = Instant::now();
    let mut manager = ManagerSession::new(now, manager_config());
    let log = LogEvent {
        log_level: 2,
        message: "hi".into(),
    };
    manager
        .handle_input(now, Input::Bytes(&framed(&Envelope::request(1, log))))
        .unwrap();
    assert_eq!(
        manager.close_reason(),
        Some(&CloseReason::MessageBeforeHello(
            "logi.plugin.protocol.LogEvent".into()
        ))
    );
    let answers = sent_envelopes(take(&mut manager).frames);
    assert_eq!(
        answers[0].response.as_ref().map(|r| r.result()),
        Some(ResponseCode::Unauthorized)
    );
}

#[test]
fn no_hello_within_the_deadline_closes_the_manager_session() {
    let start = Instant::now();
    let mut manager = ManagerSession::new(start, manager_config());
    assert_eq!(
        manager.poll_output(0),
        Output::Timeout(Wake {
            at: start + 10 * SECOND,
            timer: Timer::Hello
        })
    );
    manager
        .handle_input(start + 9 * SECOND, Input::Timeout)
        .unwrap();
    assert!(manager.close_reason().is_none());
    manager
        .handle_input(start + 10 * SECOND, Input::Timeout)
        .unwrap();
    assert_eq!(
        manager.close_reason(),
        Some(&CloseReason::HelloTimeout(10 * SECOND))
    );
    assert!(matches!(
        manager.poll_output(0),
        Output::Event(Event::Closed(CloseReason::HelloTimeout(_)))
    ));
    assert_eq!(manager.poll_output(0), Output::Idle);
}

#[test]
fn a_request_is_answered_with_its_id() {
    let mut pair = Pair::connected();
    let (id, their_id) = pressed(&mut pair);
    assert_eq!(their_id, id);
    pair.peer
        .respond(pair.now, their_id, Reply::Message(muted().into()))
        .unwrap();
    pair.drive();
    assert_answered_muted(&mut pair, id);
}

/// The manager presses (`trigger()`), and the plugin gets the press; its ids at the manager and
/// at the plugin.
fn pressed(pair: &mut Pair) -> (u32, u32) {
    let id = pair
        .manager
        .send_request(pair.now, trigger(), 5 * SECOND)
        .unwrap();
    pair.drive();
    let Some(Event::Request {
        id: their_id,
        message: Message::TriggerAction(press),
    }) = pair.peer_events.pop()
    else {
        panic!("{:?}", pair.peer_events)
    };
    assert_eq!(press, trigger());
    (id, their_id)
}

/// Asserts that the manager's last event is the answer `muted()` to its request `id`.
fn assert_answered_muted(pair: &mut Pair, id: u32) {
    assert_eq!(
        pair.manager_events.pop(),
        Some(Event::Response {
            id,
            response: ResponseInfo::ok(),
            message: Some(muted().into())
        })
    );
}

fn muted() -> ActionCellStatus {
    ActionCellStatus {
        action_instance_id: "instance-1".into(),
        action_id: "toggle_mute".into(),
        text: Some("Muted".into()),
        ..Default::default()
    }
}

#[test]
fn an_answer_already_encoded_goes_to_the_wire_byte_for_byte() {
    let mut pair = Pair::connected();
    let (id, their_id) = pressed(&mut pair);
    // With an unknown field (20, varint 1) after it, which a decode and encode again would drop.
    let body = [muted().encode_to_vec(), vec![0xa0, 0x01, 0x01]].concat();
    let encoded = EncodedMessage::new(MessageType::ActionCellStatus, body.clone()).unwrap();
    pair.to_manager = Link::Held(Vec::new());
    pair.peer
        .respond(pair.now, their_id, Reply::Encoded(encoded))
        .unwrap();
    pair.drive();
    let written = pair.to_manager.held().to_vec();
    assert!(
        written.windows(body.len()).any(|window| window == body),
        "{written:02x?} does not hold {body:02x?}"
    );
    pair.release_to_manager(written.len());
    pair.drive();
    assert_answered_muted(&mut pair, id);
}

#[test]
fn an_answer_already_encoded_is_written_as_its_message_on_a_json_session() {
    let mut pair = Pair::json();
    let (id, their_id) = pressed(&mut pair);
    let encoded = EncodedMessage::from(&Message::from(muted()));
    pair.peer
        .respond(pair.now, their_id, Reply::Encoded(encoded))
        .unwrap();
    let Output::Transmit(Transmit {
        frame: Frame::Text(text),
        ..
    }) = pair.peer.poll_output(0)
    else {
        panic!("the plugin did not answer in JSON")
    };
    assert!(text.contains(r#""text":"Muted""#), "{text}");
    pair.manager
        .handle_input(pair.now, Input::Frame(Frame::Text(text)))
        .unwrap();
    pair.drive();
    assert_answered_muted(&mut pair, id);
}

#[test]
fn an_answer_already_encoded_of_the_managers_side_is_refused_and_the_request_still_waits() {
    let mut pair = Pair::connected();
    let (_, their_id) = pressed(&mut pair);
    let theirs = EncodedMessage::from(&Message::from(trigger()));
    assert_eq!(
        pair.peer
            .respond(pair.now, their_id, Reply::Encoded(theirs)),
        Err(SendError::WrongDirection(
            "logi.plugin.protocol.TriggerAction"
        ))
    );
    let ours = EncodedMessage::from(&Message::from(muted()));
    assert_eq!(
        pair.peer.respond(pair.now, their_id, Reply::Encoded(ours)),
        Ok(())
    );
}

#[test]
fn an_unanswered_request_times_out_once_and_its_late_answer_is_dropped_and_counted() {
    let mut pair = Pair::connected();
    let id = pair
        .manager
        .send_request(pair.now, trigger(), 2 * SECOND)
        .unwrap();
    pair.drive();
    let Some(Event::Request { id: their_id, .. }) = pair.peer_events.pop() else {
        panic!()
    };
    pair.advance(3 * SECOND);
    let timeouts: Vec<_> = pair
        .manager_events
        .iter()
        .filter(|e| matches!(e, Event::Timeout { .. }))
        .collect();
    assert_eq!(
        timeouts,
        [&Event::Timeout {
            id,
            message_type: MessageType::TriggerAction
        }]
    );
    pair.peer.respond(pair.now, their_id, Reply::Ok).unwrap();
    pair.drive();
    assert!(
        !pair
            .manager_events
            .iter()
            .any(|e| matches!(e, Event::Response { .. }))
    );
    assert_eq!(pair.manager.stats().unmatched_responses, 1);
    assert_eq!(pair.manager.stats().timeouts, 1);
}

#[test]
fn the_manager_pings_on_its_interval_and_the_plugin_answers_by_itself() {
    let mut pair = Pair::connected();
    let frames_before = pair.manager.stats().frames_out;
    pair.advance(60 * SECOND);
    assert!(pair.manager.is_connected() && pair.peer.is_connected());
    // Six pings in a minute at a 10 s interval, each answered, none seen by either application.
    assert_eq!(pair.manager.stats().frames_out - frames_before, 6);
    assert_eq!(pair.peer.stats().frames_out, 1 + 6);
    assert_eq!(pair.peer_events.len(), 1);
    assert_eq!(pair.manager_events.len(), 1);
}

#[test]
fn a_plugin_that_stops_answering_is_closed_when_the_pong_deadline_passes() {
    let mut pair = Pair::connected();
    let connected_at = pair.now;
    pair.to_manager = Link::Lost;
    pair.advance(30 * SECOND);
    assert_eq!(
        pair.manager.close_reason(),
        Some(&CloseReason::HeartbeatTimeout(5 * SECOND))
    );
    // The first ping went out 10 s after the handshake and its Pong was due 5 s later.
    assert_eq!(pair.manager.stats().timeouts, 1);
    let closed_at = pair.now;
    assert!(closed_at >= connected_at + 15 * SECOND);
}

#[test]
fn the_heartbeat_closes_exactly_at_the_pong_deadline() {
    let start = Instant::now();
    let mut manager = connected_manager(start);
    let wake = |at, timer| Some(Wake { at, timer });
    assert_eq!(
        take(&mut manager).wake,
        wake(start + 10 * SECOND, Timer::Ping)
    );
    manager
        .handle_input(start + 10 * SECOND, Input::Timeout)
        .unwrap();
    let taken = take(&mut manager);
    assert_eq!(taken.wake, wake(start + 15 * SECOND, Timer::Pong));
    let pings = sent_envelopes(taken.frames);
    assert_eq!(pings.len(), 1);
    assert_eq!(
        pings[0].message.as_ref().map(Message::message_type),
        Some(MessageType::Ping)
    );
    manager
        .handle_input(
            start + 15 * SECOND - Duration::from_nanos(1),
            Input::Timeout,
        )
        .unwrap();
    assert!(manager.is_connected());
    manager
        .handle_input(start + 15 * SECOND, Input::Timeout)
        .unwrap();
    assert_eq!(
        manager.close_reason(),
        Some(&CloseReason::HeartbeatTimeout(5 * SECOND))
    );
}

#[test]
fn a_time_jump_past_the_pong_deadline_pings_again_instead_of_closing() {
    let start = Instant::now();
    let mut manager = connected_manager(start);
    manager
        .handle_input(start + 10 * SECOND, Input::Timeout)
        .unwrap();
    take(&mut manager);
    // The machine sleeps for an hour with the Pong outstanding.
    let woke = start + 3600 * SECOND;
    manager.handle_input(woke, Input::Timeout).unwrap();
    assert!(manager.is_connected());
    assert_eq!(manager.stats().reprobes, 1);
    let pings = sent_envelopes(take(&mut manager).frames);
    assert_eq!(
        pings
            .iter()
            .map(|e| e.message.as_ref().map(Message::message_type))
            .collect::<Vec<_>>(),
        [Some(MessageType::Ping)]
    );
    // The fresh ping's deadline passing on time is a dead plugin.
    manager
        .handle_input(woke + 5 * SECOND, Input::Timeout)
        .unwrap();
    assert_eq!(
        manager.close_reason(),
        Some(&CloseReason::HeartbeatTimeout(5 * SECOND))
    );
}

#[test]
fn after_a_suspend_like_jump_both_sides_stay_connected_when_the_peer_answers() {
    let mut pair = Pair::connected();
    // A ping goes out, and is lost as the machine goes to sleep for an hour.
    pair.to_peer = Link::Lost;
    pair.advance(10 * SECOND);
    pair.to_peer = Link::Open;
    pair.now += 3600 * SECOND;
    pair.manager.handle_input(pair.now, Input::Timeout).unwrap();
    pair.peer.handle_input(pair.now, Input::Timeout).unwrap();
    pair.drive();
    assert!(pair.manager.is_connected() && pair.peer.is_connected());
    assert_eq!(pair.manager.stats().reprobes, 1);
    assert_eq!(pair.peer.stats().reprobes, 1);
    pair.advance(60 * SECOND);
    assert!(pair.manager.is_connected() && pair.peer.is_connected());
}

fn shown(instance: &str, visible: bool) -> VisibilityChanged {
    VisibilityChanged {
        control_id: "toggle_mute".into(),
        action_instance_id: instance.into(),
        visible,
        configuration: visible.then(|| format!("{{\"cell\":\"{instance}\"}}")),
    }
}

impl Pair {
    /// The manager shows or hides what `changes` say, each as its own request; the plugin
    /// applies every visibility change it receives to `view` and answers it.
    fn change_visibility(&mut self, changes: Vec<Message>, view: &mut View) {
        for change in changes {
            self.manager
                .send_request(self.now, change, 5 * SECOND)
                .unwrap();
        }
        self.drive();
        for event in std::mem::take(&mut self.peer_events) {
            if let Event::Request { id, message } = event {
                view.apply_message(&message);
                self.peer.respond(self.now, id, Reply::Ok).unwrap();
            }
        }
        self.drive();
    }
}

#[test]
fn a_visibility_change_sent_as_the_machine_sleeps_lands_once_it_wakes() {
    let mut pair = Pair::connected();
    let (mut manager_view, mut plugin_view) = (View::new(), View::new());
    // A ping is lost, a change is queued, and the machine sleeps for an hour before either is
    // answered.
    pair.to_peer = Link::Lost;
    pair.advance(10 * SECOND);
    pair.to_peer = Link::Open;
    manager_view.apply(&shown("cell-1", true));
    let id = pair
        .manager
        .send_request(pair.now, shown("cell-1", true), 5 * SECOND)
        .unwrap();
    pair.now += 3600 * SECOND;
    pair.manager.handle_input(pair.now, Input::Timeout).unwrap();
    pair.peer.handle_input(pair.now, Input::Timeout).unwrap();
    pair.change_visibility(Vec::new(), &mut plugin_view);
    // Both sides stay: the manager probes again instead of calling the plugin dead. The change's
    // own deadline passed in the sleep, so its owner is told it timed out; the plugin still gets
    // it, and the two views agree.
    assert!(pair.manager.is_connected() && pair.peer.is_connected());
    assert_eq!(pair.manager.stats().reprobes, 1);
    assert!(pair.manager_events.iter().any(|event| matches!(
        event,
        Event::Timeout { id: timed_out, .. } if *timed_out == id
    )));
    assert_eq!(plugin_view, manager_view);
    assert!(plugin_view.is_visible("toggle_mute", "cell-1"));
}

#[test]
fn a_plugin_lost_across_a_sleep_is_resynced_to_the_managers_view_by_its_next_session() {
    let mut pair = Pair::connected();
    let (mut manager_view, mut plugin_view) = (View::new(), View::new());
    let first = vec![shown("cell-1", true).into(), shown("cell-2", true).into()];
    for change in &first {
        manager_view.apply_message(change);
    }
    pair.change_visibility(first, &mut plugin_view);
    let told = manager_view.clone();
    // The machine sleeps; once it wakes the plugin is never heard again, and meanwhile the
    // manager's client hides one cell and shows another.
    pair.to_manager = Link::Lost;
    pair.now += 3600 * SECOND;
    pair.manager.handle_input(pair.now, Input::Timeout).unwrap();
    pair.advance(10 * SECOND);
    assert!(matches!(
        pair.manager.close_reason(),
        Some(CloseReason::HeartbeatTimeout(_))
    ));
    manager_view.apply(&shown("cell-2", false));
    manager_view.apply(&shown("cell-3", true));
    assert_ne!(plugin_view, manager_view);

    // The plugin connects again, keeping its state: one resync brings it to the manager's view.
    let mut pair = Pair::connected();
    let resync = manager_view.resync(&told);
    pair.change_visibility(vec![resync.into()], &mut plugin_view);
    assert_eq!(plugin_view, manager_view);
    assert!(!plugin_view.is_visible("toggle_mute", "cell-2"));
}

#[test]
fn a_plugin_woken_from_sleep_gives_the_manager_one_more_interval_to_be_heard() {
    let mut pair = Pair::connected();
    pair.to_peer = Link::Lost;
    pair.now += 3600 * SECOND;
    pair.peer.handle_input(pair.now, Input::Timeout).unwrap();
    assert!(pair.peer.is_connected());
    let woke = pair.now;
    // Still nothing from the manager: gone one interval after waking.
    pair.advance(11 * SECOND);
    assert_eq!(
        pair.peer.close_reason(),
        Some(&CloseReason::ManagerSilent(30 * SECOND))
    );
    assert!(pair.now >= woke + 10 * SECOND);
}

#[test]
fn a_plugin_that_hears_nothing_for_three_intervals_reports_the_manager_gone() {
    let mut pair = Pair::connected();
    let last_heard = pair.now;
    pair.to_peer = Link::Lost;
    pair.advance(31 * SECOND);
    assert_eq!(
        pair.peer.close_reason(),
        Some(&CloseReason::ManagerSilent(30 * SECOND))
    );
    assert!(pair.now >= last_heard + 30 * SECOND);
}

#[test]
fn an_unknown_type_url_is_answered_not_implemented_naming_the_url() {
    let mut pair = Pair::connected();
    let mut raw = BytesMut::new();
    prost::encoding::uint32::encode(1, &77u32, &mut raw);
    let mut any = Vec::new();
    prost::encoding::string::encode(
        1,
        &"type.googleapis.com/acme.Teleport".to_string(),
        &mut any,
    );
    prost::encoding::bytes::encode(2, &any, &mut raw);
    let mut stream = BytesMut::new();
    prost::encoding::encode_varint(raw.len() as u64, &mut stream);
    stream.extend_from_slice(&raw);
    pair.peer
        .handle_input(pair.now, Input::Bytes(&stream))
        .unwrap();
    let answers = sent_envelopes(take(&mut pair.peer).frames);
    let response = answers[0].response.clone().unwrap();
    assert_eq!(
        (answers[0].id, response.result()),
        (77, ResponseCode::NotImplemented)
    );
    assert_eq!(
        response.what,
        "unknown message type URL \"type.googleapis.com/acme.Teleport\""
    );
}

#[test]
fn a_malformed_body_is_answered_invalid_arg() {
    let mut pair = Pair::connected();
    let mut raw = BytesMut::new();
    prost::encoding::uint32::encode(1, &78u32, &mut raw);
    let mut any = Vec::new();
    prost::encoding::string::encode(
        1,
        &MessageType::TriggerAction.type_url().to_string(),
        &mut any,
    );
    prost::encoding::bytes::encode(2, &vec![0x0a, 0x05, 0x01], &mut any);
    prost::encoding::bytes::encode(2, &any, &mut raw);
    let mut stream = BytesMut::new();
    prost::encoding::encode_varint(raw.len() as u64, &mut stream);
    stream.extend_from_slice(&raw);
    pair.peer
        .handle_input(pair.now, Input::Bytes(&stream))
        .unwrap();
    let answers = sent_envelopes(take(&mut pair.peer).frames);
    assert_eq!(answers[0].id, 78);
    assert_eq!(
        answers[0].response.as_ref().map(|r| r.result()),
        Some(ResponseCode::InvalidArg)
    );
    assert_eq!(pair.peer.stats().malformed, 1);
}

#[test]
fn a_message_from_the_wrong_side_is_answered_invalid_verb() {
    let now = Instant::now();
    let mut manager = connected_manager(now);
    manager
        .handle_input(now, Input::Bytes(&framed(&Envelope::request(9, trigger()))))
        .unwrap();
    let answers = sent_envelopes(take(&mut manager).frames);
    assert_eq!(answers[0].id, 9);
    assert_eq!(
        answers[0].response.as_ref().map(|r| r.result()),
        Some(ResponseCode::InvalidVerb)
    );
    assert_eq!(manager.stats().invalid_verbs, 1);
}

#[test]
fn sending_a_message_of_the_other_side_is_a_send_error() {
    let mut pair = Pair::connected();
    assert_eq!(
        pair.peer.send_request(pair.now, trigger(), SECOND),
        Err(Refused::new(
            SendError::WrongDirection("logi.plugin.protocol.TriggerAction"),
            trigger().into()
        ))
    );
}

#[test]
fn a_request_type_the_application_does_not_handle_is_answered_not_implemented() {
    let mut plugin = plugin_config();
    plugin.handles = Some(vec![MessageType::UpdateAnalogControl]);
    let mut pair = Pair::of(manager_config(), plugin);
    let id = pair
        .manager
        .send_request(pair.now, trigger(), 5 * SECOND)
        .unwrap();
    pair.drive();
    match pair.manager_events.last() {
        Some(Event::Response {
            id: answered,
            response,
            message: None,
        }) => {
            assert_eq!(
                (*answered, response.result()),
                (id, ResponseCode::NotImplemented)
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(pair.peer.stats().not_implemented, 1);
}

#[test]
fn notifications_reach_the_other_application_without_an_answer() {
    let mut pair = Pair::connected();
    let setting = Settings {
        setting_name: "theme".into(),
        setting_value: "dark".into(),
        ..Settings::default()
    };
    pair.peer
        .send_notification(pair.now, setting.clone())
        .unwrap();
    pair.drive();
    assert_eq!(
        pair.manager_events.last(),
        Some(&Event::Notification {
            message: setting.into()
        })
    );
    assert_eq!(
        pair.manager.stats().frames_out,
        1,
        "only the hello answer went back"
    );
}

#[test]
fn answering_a_request_that_is_not_waiting_is_a_send_error() {
    let mut pair = Pair::connected();
    assert_eq!(
        pair.peer.respond(pair.now, 41, Reply::Ok),
        Err(SendError::UnknownRequest(41))
    );
}

#[test]
fn nothing_can_be_sent_before_the_handshake() {
    let now = Instant::now();
    let mut plugin = PluginSession::new(now, plugin_config());
    assert_eq!(
        plugin.send_notification(now, Settings::default()),
        Err(Refused::new(
            SendError::NotConnected,
            Settings::default().into()
        ))
    );
}

#[test]
fn json_text_sessions_follow_the_plugins_first_frame() {
    let mut pair = Pair::json();
    assert!(pair.manager.is_connected() && pair.peer.is_connected());
    pair.manager
        .send_request(pair.now, trigger(), SECOND)
        .unwrap();
    let Output::Transmit(Transmit {
        frame: Frame::Text(text),
        lane: Lane::Prompt,
    }) = pair.manager.poll_output(0)
    else {
        panic!("the manager did not answer in JSON")
    };
    assert!(
        text.contains(r#""@type":"type.googleapis.com/logi.plugin.protocol.TriggerAction""#),
        "{text}"
    );
}

#[test]
fn a_binary_frame_on_a_text_session_closes_it() {
    let mut manager = manager_config();
    manager.wire = Wire::Messages {
        format: Format::Json,
    };
    let now = Instant::now();
    let mut session = ManagerSession::new(now, manager);
    session
        .handle_input(
            now,
            Input::Frame(Frame::Binary(Bytes::from_static(b"\x08\x01"))),
        )
        .unwrap();
    assert_eq!(
        session.close_reason(),
        Some(&CloseReason::WrongFrameKind {
            expected: "text",
            got: "binary"
        })
    );
}

#[test]
fn time_going_backwards_is_taken_as_no_time() {
    let start = Instant::now() + 100 * SECOND;
    let mut manager = ManagerSession::new(start, manager_config());
    manager
        .handle_input(start - 50 * SECOND, Input::Timeout)
        .unwrap();
    manager
        .handle_input(start + 9 * SECOND, Input::Timeout)
        .unwrap();
    assert!(manager.close_reason().is_none());
}

#[test]
fn the_peer_closing_mid_frame_is_reported_as_truncated() {
    let now = Instant::now();
    let mut manager = ManagerSession::new(now, manager_config());
    let hello = framed(&Envelope::request(1, PluginHello::default()));
    manager
        .handle_input(now, Input::Bytes(&hello[..hello.len() - 1]))
        .unwrap();
    manager.handle_input(now, Input::End).unwrap();
    assert!(
        matches!(manager.close_reason(), Some(CloseReason::Truncated(_))),
        "{:?}",
        manager.close_reason()
    );
}

/// A connected pair whose manager admits `per_second` messages a second, `burst` at once.
fn rate_limited_pair(per_second: u32, burst: u32) -> Pair {
    let mut manager = manager_config();
    manager.rate_limit =
        Some(logi_plugin_core::session::RateLimit::new(per_second, burst).unwrap());
    let pair = Pair::of(manager, plugin_config());
    assert!(pair.peer.is_connected());
    pair
}

fn setting(value: &str) -> Settings {
    Settings {
        setting_name: "theme".into(),
        setting_value: value.into(),
        ..Settings::default()
    }
}

fn status(instance: &str, text: &str) -> ActionCellStatus {
    ActionCellStatus {
        action_instance_id: instance.into(),
        action_id: "toggle_mute".into(),
        text: Some(text.into()),
        ..Default::default()
    }
}

#[test]
fn when_the_bucket_runs_dry_the_manager_sends_retry_after_and_refuses_the_request_not_ready() {
    let mut pair = rate_limited_pair(10, 2);
    let ids: Vec<u32> = (0..3)
        .map(|i| {
            pair.peer
                .send_request(pair.now, setting(&i.to_string()), SECOND)
                .unwrap()
        })
        .collect();
    pair.drive();
    let requests = pair
        .manager_events
        .iter()
        .filter(|e| matches!(e, Event::Request { .. }))
        .count();
    assert_eq!(requests, 2, "the burst of 2 was admitted");
    // The window lasts until the bucket is full again: two tokens at ten a second.
    assert!(pair.peer_events.contains(&Event::Throttled {
        until: pair.now + Duration::from_millis(200)
    }));
    match pair
        .peer_events
        .iter()
        .find(|e| matches!(e, Event::Response { id, .. } if *id == ids[2]))
    {
        Some(Event::Response { response, .. }) => {
            assert_eq!(response.result(), ResponseCode::NotReady);
            assert_eq!(response.what, "rate limit exceeded: retry after 200 ms");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        (
            pair.manager.stats().rate_limited,
            pair.manager.stats().retry_after
        ),
        (1, 1)
    );
}

#[test]
fn a_throttled_plugin_holds_what_it_starts_and_sends_it_when_the_window_ends() {
    let mut pair = rate_limited_pair(10, 1);
    pair.peer.send_notification(pair.now, setting("a")).unwrap();
    pair.peer.send_notification(pair.now, setting("b")).unwrap();
    pair.drive();
    assert!(
        pair.peer_events
            .iter()
            .any(|e| matches!(e, Event::Throttled { .. }))
    );
    pair.peer.send_notification(pair.now, setting("c")).unwrap();
    assert_eq!(
        take(&mut pair.peer).frames,
        [],
        "held back while the window lasts"
    );
    pair.advance(Duration::from_millis(100));
    assert_eq!(
        pair.manager_events.last(),
        Some(&Event::Notification {
            message: setting("c").into()
        })
    );
    assert_eq!(pair.peer.stats().held, 1);
}

#[test]
fn held_status_updates_for_one_instance_coalesce_and_the_last_wins() {
    let mut pair = rate_limited_pair(10, 2);
    // Three against a burst of two: the third brings RetryAfter.
    for value in ["a", "b", "c"] {
        pair.peer
            .send_notification(pair.now, setting(value))
            .unwrap();
    }
    pair.drive();
    for text in ["1", "2", "3"] {
        pair.peer
            .send_notification(pair.now, status("dial-1", text))
            .unwrap();
    }
    pair.peer
        .send_notification(pair.now, status("dial-2", "x"))
        .unwrap();
    let before = pair.manager_events.len();
    pair.advance(Duration::from_millis(200));
    let delivered: Vec<_> = pair.manager_events[before..].to_vec();
    assert_eq!(
        delivered,
        [
            Event::Notification {
                message: status("dial-1", "3").into()
            },
            Event::Notification {
                message: status("dial-2", "x").into()
            },
        ]
    );
}

#[test]
fn status_updates_over_the_limit_reach_the_manager_when_the_bucket_allows_the_latest_per_instance()
{
    let mut pair = rate_limited_pair(10, 2);
    // All five leave before the RetryAfter comes back: two admitted, three refused and kept.
    for (instance, text) in [
        ("dial-1", "1"),
        ("dial-2", "1"),
        ("dial-1", "2"),
        ("dial-1", "3"),
        ("dial-2", "2"),
    ] {
        pair.peer
            .send_notification(pair.now, status(instance, text))
            .unwrap();
        pair.deliver_peer_output();
    }
    pair.drive();
    let before = pair.manager_events.len();
    pair.advance(Duration::from_millis(200));
    assert_eq!(
        pair.manager_events[before..],
        [
            Event::Notification {
                message: status("dial-1", "3").into()
            },
            Event::Notification {
                message: status("dial-2", "2").into()
            },
        ]
    );
    assert_eq!(pair.manager.stats().deferred, 3);
}

#[test]
fn a_status_admitted_after_the_window_replaces_the_one_kept_back() {
    let mut pair = rate_limited_pair(10, 1);
    pair.peer
        .send_notification(pair.now, status("dial-1", "old"))
        .unwrap();
    pair.deliver_peer_output();
    pair.peer
        .send_notification(pair.now, status("dial-1", "kept"))
        .unwrap();
    pair.drive();
    // The window ends; the plugin's newer status arrives before the manager's timer fires.
    pair.now += Duration::from_millis(100);
    pair.peer.handle_input(pair.now, Input::Timeout).unwrap();
    pair.peer
        .send_notification(pair.now, status("dial-1", "new"))
        .unwrap();
    pair.drive();
    pair.advance(SECOND);
    let statuses: Vec<_> = pair
        .manager_events
        .iter()
        .filter(|e| matches!(e, Event::Notification { .. }))
        .collect();
    assert_eq!(
        statuses,
        [
            &Event::Notification {
                message: status("dial-1", "old").into()
            },
            &Event::Notification {
                message: status("dial-1", "new").into()
            },
        ]
    );
}

#[test]
fn answers_and_pongs_are_never_held_back() {
    let mut pair = rate_limited_pair(10, 1);
    pair.peer.send_notification(pair.now, setting("a")).unwrap();
    pair.peer.send_notification(pair.now, setting("b")).unwrap();
    pair.drive();
    let id = pair
        .manager
        .send_request(pair.now, trigger(), 5 * SECOND)
        .unwrap();
    pair.drive();
    let Some(Event::Request { id: theirs, .. }) = pair.peer_events.pop() else {
        panic!()
    };
    pair.peer.respond(pair.now, theirs, Reply::Ok).unwrap();
    pair.drive();
    assert!(
        matches!(pair.manager_events.last(), Some(Event::Response { id: answered, .. }) if *answered == id)
    );
    // A long throttle does not starve the heartbeat.
    pair.manager
        .handle_input(pair.now, Input::Bytes(&[]))
        .unwrap();
    pair.advance(30 * SECOND);
    assert!(pair.manager.is_connected() && pair.peer.is_connected());
}

/// A manager session past the hello, admitting one message a second (bursts of one) and
/// closing past 3 messages inside a `RetryAfter` window.
fn rate_limited_manager(start: Instant) -> ManagerSession {
    let mut config = manager_config();
    config.rate_limit = Some(logi_plugin_core::session::RateLimit::new(1, 1).unwrap());
    config.max_rate_violations = 3;
    admitted_manager(start, config)
}

#[test]
fn a_plugin_that_ignores_retry_after_is_closed_past_the_violation_limit() {
    let start = Instant::now();
    let mut manager = rate_limited_manager(start);
    // One admitted, one refused with RetryAfter, then four inside its window: past the limit of 3.
    for _ in 0..6 {
        let log = LogEvent {
            log_level: 2,
            message: "flood".into(),
        };
        manager
            .handle_input(
                start,
                Input::Bytes(&framed(&Envelope {
                    id: 0,
                    message: Some(log.into()),
                    response: None,
                })),
            )
            .unwrap();
    }
    assert_eq!(
        manager.close_reason(),
        Some(&CloseReason::RateLimitViolations(4))
    );
}

#[test]
fn violations_are_counted_per_retry_after_window_so_a_plugin_catching_up_is_not_closed() {
    let start = Instant::now();
    let mut manager = rate_limited_manager(start);
    let log = framed(&Envelope {
        id: 0,
        message: Some(
            LogEvent {
                log_level: 2,
                message: "flushed after the window".into(),
            }
            .into(),
        ),
        response: None,
    });
    // Each window: one admitted, one refused with RetryAfter, then three already on their way
    // (sent before the plugin heard it): at the limit, not past it. Ten windows, 30 in all.
    for window in 0..10 {
        let now = start + SECOND * 2 * window;
        for _ in 0..5 {
            manager.handle_input(now, Input::Bytes(&log)).unwrap();
        }
        assert_eq!(manager.close_reason(), None, "closed in window {window}");
    }
}

#[test]
fn the_hold_queue_is_bounded_and_hands_the_message_back_saying_when_to_try_again() {
    let mut manager = manager_config();
    manager.rate_limit = Some(logi_plugin_core::session::RateLimit::new(10, 1).unwrap());
    let mut plugin = plugin_config();
    plugin.max_held = 1;
    let mut pair = Pair::of(manager, plugin);
    pair.peer.send_notification(pair.now, setting("a")).unwrap();
    pair.peer.send_notification(pair.now, setting("b")).unwrap();
    pair.drive();
    pair.peer.send_notification(pair.now, setting("c")).unwrap();
    let refused = pair
        .peer
        .send_notification(pair.now, setting("d"))
        .unwrap_err();
    let retry_in = Duration::from_millis(100);
    assert_eq!(refused.error, SendError::Throttled { retry_in });
    assert_eq!(*refused.message, setting("d").into(), "handed back whole");
    // Sent again once the hold is over, the same message goes.
    pair.advance(retry_in);
    pair.peer
        .send_notification(pair.now, refused.into_message())
        .unwrap();
}

#[test]
fn a_request_beyond_the_in_flight_limit_is_handed_back_to_send_later() {
    let mut plugin = plugin_config();
    plugin.limits.max_in_flight = 1;
    let mut pair = Pair::of(manager_config(), plugin);
    let first = pair
        .peer
        .send_request(pair.now, setting("a"), 5 * SECOND)
        .unwrap();
    let refused = pair
        .peer
        .send_request(pair.now, setting("b"), 5 * SECOND)
        .unwrap_err();
    assert_eq!(refused.error, SendError::TooManyInFlight { limit: 1 });
    assert_eq!(*refused.message, setting("b").into());
    pair.drive();
    let Some(Event::Request { id, .. }) = pair.manager_events.pop() else {
        panic!("the first request reaches the manager")
    };
    pair.manager.respond(pair.now, id, Reply::Ok).unwrap();
    pair.drive();
    assert!(
        pair.peer_events
            .iter()
            .any(|event| matches!(event, Event::Response { id, .. } if *id == first))
    );
    pair.peer
        .send_request(pair.now, refused.into_message(), 5 * SECOND)
        .unwrap();
}

fn dial(delta: f32) -> logi_plugin_core::proto::plugin::UpdateAnalogControl {
    logi_plugin_core::proto::plugin::UpdateAnalogControl {
        analog_control_id: "volume".into(),
        instance_id: "dial-1".into(),
        configuration: None,
        update_type: Some(
            logi_plugin_core::proto::plugin::update_analog_control::UpdateType::Delta(delta),
        ),
    }
}

fn delta_of(message: &Message) -> f32 {
    match message {
        Message::UpdateAnalogControl(logi_plugin_core::proto::plugin::UpdateAnalogControl {
            update_type:
                Some(logi_plugin_core::proto::plugin::update_analog_control::UpdateType::Delta(d)),
            ..
        }) => *d,
        other => panic!("not a delta update: {other:?}"),
    }
}

#[test]
fn a_dial_flood_through_a_throughput_buffer_arrives_merged_with_every_request_answered_once() {
    let mut manager = manager_config();
    manager.rate_limit = None;
    let mut pair = Pair::of(manager, plugin_config());
    pair.peer
        .enable_control_buffering([("volume", "throughput")])
        .unwrap();
    for _ in 0..1000 {
        pair.manager
            .send_request(pair.now, dial(1.0), 5 * SECOND)
            .unwrap();
    }
    pair.drive();
    // The application got the first update and is still working on it: the rest wait, merged.
    let requests: Vec<(u32, f32)> = pair
        .peer_events
        .drain(..)
        .filter_map(|e| match e {
            Event::Request { id, message } => Some((id, delta_of(&message))),
            _ => None,
        })
        .collect();
    assert_eq!(requests.len(), 1);
    pair.peer
        .respond(pair.now, requests[0].0, Reply::Ok)
        .unwrap();
    pair.drive();
    let Some(Event::Request {
        id: merged_id,
        message,
    }) = pair.peer_events.pop()
    else {
        panic!("{:?}", pair.peer_events)
    };
    assert_eq!(
        requests[0].1 + delta_of(&message),
        1000.0,
        "the whole movement of the dial arrived"
    );
    pair.peer.respond(pair.now, merged_id, Reply::Ok).unwrap();
    pair.drive();
    let responses = pair
        .manager_events
        .iter()
        .filter(|e| matches!(e, Event::Response { .. }))
        .count();
    assert_eq!(responses, 1000, "every request answered exactly once");
    pair.advance(10 * SECOND);
    assert_eq!(pair.manager.stats().timeouts, 0);
    assert_eq!(pair.peer.buffer_stats().superseded, 998);
}

#[test]
fn updates_of_controls_without_a_buffer_reach_the_application_one_by_one() {
    let mut pair = Pair::connected();
    for _ in 0..3 {
        pair.manager
            .send_request(pair.now, dial(0.5), SECOND)
            .unwrap();
    }
    pair.drive();
    let requests = pair
        .peer_events
        .iter()
        .filter(|e| matches!(e, Event::Request { .. }))
        .count();
    assert_eq!(requests, 3);
}

/// The answers a manager session wrote for the plugin's requests with these ids, in order.
fn answered_codes(manager: &mut ManagerSession) -> Vec<(u32, ResponseCode)> {
    sent_envelopes(take(manager).frames)
        .iter()
        .filter_map(|e| Some((e.id, e.response.as_ref()?.result())))
        .collect()
}

#[test]
fn a_peer_request_reusing_an_id_still_waiting_is_answered_invalid_arg() {
    let now = Instant::now();
    let mut manager = connected_manager(now);
    for _ in 0..2 {
        let request = framed(&Envelope::request(5, setting("a")));
        manager.handle_input(now, Input::Bytes(&request)).unwrap();
    }
    let taken = take(&mut manager);
    let requests = taken
        .events
        .iter()
        .filter(|e| matches!(e, Event::Request { id: 5, .. }))
        .count();
    assert_eq!(requests, 1, "the first is the owner's, the second is not");
    let codes: Vec<_> = sent_envelopes(taken.frames)
        .iter()
        .filter_map(|e| Some((e.id, e.response.as_ref()?.result())))
        .collect();
    assert_eq!(codes, [(5, ResponseCode::InvalidArg)]);
}

#[test]
fn a_peer_request_beyond_the_pending_limit_is_answered_not_ready_and_a_reused_id_still_invalid_arg()
{
    let now = Instant::now();
    let mut config = manager_config();
    config.limits.max_peer_pending = 2;
    let mut manager = admitted_manager(now, config);
    take(&mut manager);
    for id in [5, 6, 7, 6] {
        let request = framed(&Envelope::request(id, setting("a")));
        manager.handle_input(now, Input::Bytes(&request)).unwrap();
    }
    assert_eq!(
        answered_codes(&mut manager),
        [(7, ResponseCode::NotReady), (6, ResponseCode::InvalidArg)]
    );
    manager.respond(now, 5, Reply::Ok).unwrap();
    let request = framed(&Envelope::request(7, setting("a")));
    manager.handle_input(now, Input::Bytes(&request)).unwrap();
    assert_eq!(
        answered_codes(&mut manager),
        [(5, ResponseCode::Success)],
        "room again: 7 goes to the owner"
    );
}
