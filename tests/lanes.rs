//! Priority lanes (issue 7 item 3): status and image updates wait behind every other frame a
//! session writes, and a newer update for an instance replaces the one still waiting. One
//! plugin session, handshaken by hand, with what it writes decoded back into envelopes. When
//! bulk leaves is the session's call too, from how much its transport has yet to write.

use std::time::Instant;

use logi_plugin_core::codec::frame::{DEFAULT_MAX_FRAME_LEN, FrameDecoder, encode_frame};
use logi_plugin_core::codec::{binary, json};
use logi_plugin_core::proto::plugin::{
    ActionCellStatus, LogEvent, ManagerHello, TriggerAction, action_cell_status::ImageType,
};
use logi_plugin_core::session::{
    BULK_ROOM, Event, Format, Frame, Input, Lane, Output, PluginConfig, PluginSession, Reply,
    SendError, Session, Timer, Wake, Wire,
};
use logi_plugin_core::{Envelope, Message, ResponseInfo};

/// A plugin session whose hello the manager has answered, on `wire`.
fn connected_plugin(now: Instant, wire: Wire) -> PluginSession {
    let mut config = PluginConfig::new("com.example.media", "secret", "1.0.0");
    config.wire = wire;
    let mut plugin = PluginSession::new(now, config);
    let hello = round(&mut plugin, 0);
    let answer = Envelope::response(
        hello.sent[0].1.id,
        ResponseInfo::ok(),
        Some(manager_hello()),
    );
    take(&mut plugin, now, wire, &answer);
    assert!(plugin.is_connected());
    assert!(matches!(
        round(&mut plugin, 0).events[..],
        [Event::Connected(_)]
    ));
    // A quiet round, as a driver takes many: the next one with an event holds bulk back.
    round(&mut plugin, 0);
    plugin
}

fn manager_hello() -> Message {
    ManagerHello {
        manager_version: "1.0.0".into(),
        protocol_version: 1,
        ..ManagerHello::default()
    }
    .into()
}

fn stream() -> Wire {
    Wire::Stream {
        max_frame_len: DEFAULT_MAX_FRAME_LEN,
    }
}

/// Hands the session `envelope` as its wire carries it.
fn take(plugin: &mut PluginSession, now: Instant, wire: Wire, envelope: &Envelope) {
    match wire {
        Wire::Stream { .. } => {
            let mut bytes = bytes::BytesMut::new();
            encode_frame(envelope, DEFAULT_MAX_FRAME_LEN, &mut bytes).unwrap();
            plugin.handle_input(now, Input::Bytes(&bytes)).unwrap();
        }
        Wire::Messages { .. } => {
            let frame = Frame::Text(json::encode(envelope));
            plugin.handle_input(now, Input::Frame(frame)).unwrap();
        }
    }
}

/// One round of a session's output.
struct Round {
    /// The events, in order.
    events: Vec<Event<ManagerHello>>,
    /// The envelopes written, in order, with their lane.
    sent: Vec<(Lane, Envelope)>,
    /// The wake it ended with.
    wake: Option<Wake>,
}

impl Round {
    /// What was written, in a word each.
    fn what(&self) -> Vec<String> {
        self.sent
            .iter()
            .map(|(_, envelope)| what(envelope))
            .collect()
    }
}

/// Takes one round of `plugin`'s output, its transport having `unwritten` bytes yet to write.
fn round(plugin: &mut PluginSession, unwritten: usize) -> Round {
    let mut decoder = FrameDecoder::default();
    let mut round = Round {
        events: Vec::new(),
        sent: Vec::new(),
        wake: None,
    };
    loop {
        let (lane, frame) = match plugin.poll_output(unwritten) {
            Output::Event(event) => {
                round.events.push(event);
                continue;
            }
            Output::Transmit(transmit) => (transmit.lane, transmit.frame),
            Output::Timeout(wake) => {
                round.wake = Some(wake);
                return round;
            }
            Output::Idle => return round,
        };
        match frame {
            Frame::Binary(bytes) => {
                decoder.push(&bytes);
                while let Some(one) = decoder.next_frame().unwrap() {
                    round.sent.push((lane, binary::decode(one).unwrap()));
                }
            }
            Frame::Text(text) => round.sent.push((lane, json::decode(&text).unwrap())),
        }
    }
}

/// A 64 KiB image update for `instance`, its text saying which one it is.
fn image(instance: &str, text: &str) -> ActionCellStatus {
    ActionCellStatus {
        action_instance_id: instance.into(),
        action_id: "com.example.media.cover".into(),
        text: Some(text.into()),
        image: Some("A".repeat(64 * 1024)),
        image_type: Some(ImageType::Base64.into()),
        ..ActionCellStatus::default()
    }
}

/// Sends an image update for each instance, its text the instance's name.
fn send_images(plugin: &mut PluginSession, now: Instant, instances: &[&str]) {
    for instance in instances {
        plugin
            .send_notification(now, image(instance, instance))
            .unwrap();
    }
}

fn trigger() -> TriggerAction {
    TriggerAction {
        action_instance_id: "mute-1".into(),
        action_id: "com.example.media.toggle_mute".into(),
        configuration: None,
    }
}

/// What an envelope is, in a word: the type's short name, or `answer N`.
fn what(envelope: &Envelope) -> String {
    if envelope.response.is_some() {
        return format!("answer {}", envelope.id);
    }
    match &envelope.message {
        Some(Message::ActionCellStatus(status)) => {
            format!("status {}", status.text.clone().unwrap_or_default())
        }
        Some(message) => message.full_name().rsplit('.').next().unwrap().to_owned(),
        None => "empty".into(),
    }
}

/// Three image updates queued, then a log line, then a press answered: what the session writes,
/// in order.
fn press_behind_a_flood(wire: Wire) -> Vec<String> {
    let now = Instant::now();
    let mut plugin = connected_plugin(now, wire);
    send_images(&mut plugin, now, &["cover-1", "cover-2", "cover-3"]);
    let log = LogEvent {
        message: "pressed".into(),
        ..LogEvent::default()
    };
    plugin.send_notification(now, log).unwrap();
    take(&mut plugin, now, wire, &Envelope::request(9, trigger()));
    let first = round(&mut plugin, 0);
    let [Event::Request { id, .. }] = first.events[..] else {
        panic!("the press did not reach the application")
    };
    plugin.respond(now, id, Reply::Ok).unwrap();
    let mut written = first.what();
    loop {
        let round = round(&mut plugin, 0);
        if round.sent.is_empty() {
            return written;
        }
        written.extend(round.what());
    }
}

/// What `press_behind_a_flood` writes: the log line and the answer, then the images in order.
const PROMPT_THEN_BULK: [&str; 5] = [
    "LogEvent",
    "answer 9",
    "status cover-1",
    "status cover-2",
    "status cover-3",
];

#[test]
fn a_press_answer_leaves_before_image_updates_queued_ahead_of_it() {
    assert_eq!(press_behind_a_flood(stream()), PROMPT_THEN_BULK);
}

#[test]
fn lanes_order_a_message_wire_the_same_way() {
    let wire = Wire::Messages {
        format: Format::Json,
    };
    assert_eq!(press_behind_a_flood(wire), PROMPT_THEN_BULK);
}

#[test]
fn a_busy_transport_gets_prompt_frames_only_and_bulk_once_it_has_written_everything() {
    let now = Instant::now();
    let mut plugin = connected_plugin(now, stream());
    plugin
        .send_notification(now, image("cover-1", "1"))
        .unwrap();
    plugin.send_notification(now, LogEvent::default()).unwrap();
    let busy = round(&mut plugin, 100);
    assert_eq!(busy.what(), ["LogEvent"]);
    assert_eq!(busy.sent[0].0, Lane::Prompt);
    let idle = round(&mut plugin, 0);
    assert_eq!(idle.what(), ["status 1"]);
    assert_eq!(idle.sent[0].0, Lane::Bulk);
}

#[test]
fn a_round_that_hands_the_owner_an_event_holds_bulk_back_for_one_round_only() {
    let now = Instant::now();
    let mut plugin = connected_plugin(now, stream());
    plugin
        .send_notification(now, image("cover-1", "1"))
        .unwrap();
    take(&mut plugin, now, stream(), &Envelope::request(4, trigger()));
    let first = round(&mut plugin, 0);
    let [Event::Request { id, .. }] = first.events[..] else {
        panic!("the press did not reach the application")
    };
    assert!(first.sent.is_empty(), "bulk waits while the owner answers");
    assert_eq!(
        first.wake,
        Some(Wake {
            at: now,
            timer: Timer::Bulk
        }),
        "and the session asks to be polled again at once"
    );
    plugin.respond(now, id, Reply::Ok).unwrap();
    take(&mut plugin, now, stream(), &Envelope::request(5, trigger()));
    let second = round(&mut plugin, 0);
    assert_eq!(second.events.len(), 1, "another press");
    assert_eq!(
        second.what(),
        ["answer 4", "status 1"],
        "an event in the next round holds bulk back no longer"
    );
}

#[test]
fn bulk_held_back_for_an_event_leaves_when_the_driver_wakes_as_asked_with_no_new_input() {
    let now = Instant::now();
    let mut plugin = connected_plugin(now, stream());
    send_images(&mut plugin, now, &["cover-1"]);
    take(&mut plugin, now, stream(), &Envelope::request(4, trigger()));
    let held = round(&mut plugin, 0);
    let wake = held.wake.expect("a wake");
    assert_eq!(wake.timer, Timer::Bulk);
    plugin.handle_input(wake.at, Input::Timeout).unwrap();
    assert_eq!(round(&mut plugin, 0).what(), ["status cover-1"]);
}

#[test]
fn a_round_takes_bulk_up_to_its_room_a_larger_frame_alone() {
    let now = Instant::now();
    let mut plugin = connected_plugin(now, stream());
    send_images(&mut plugin, now, &["cover-1", "cover-2"]);
    const {
        assert!(
            64 * 1024 > BULK_ROOM,
            "each image is larger than a round's room"
        )
    };
    assert_eq!(round(&mut plugin, 0).what(), ["status cover-1"]);
    assert_eq!(round(&mut plugin, 0).what(), ["status cover-2"]);
}

#[test]
fn a_newer_update_replaces_the_waiting_one_for_its_instance_and_is_counted() {
    let now = Instant::now();
    let mut plugin = connected_plugin(now, stream());
    let frames_before = plugin.stats().frames_out;
    for (instance, text) in [("cover-1", "1a"), ("cover-2", "2a"), ("cover-1", "1b")] {
        plugin
            .send_notification(now, image(instance, text))
            .unwrap();
    }
    let mut sent = round(&mut plugin, 0).what();
    sent.extend(round(&mut plugin, 0).what());
    assert_eq!(sent, ["status 1b", "status 2a"]);
    assert_eq!(plugin.stats().superseded, 1);
    assert_eq!(plugin.stats().frames_out - frames_before, 2);
}

#[test]
fn image_updates_queued_before_a_close_all_leave_at_once_whatever_the_transport_holds() {
    let now = Instant::now();
    let mut plugin = connected_plugin(now, stream());
    send_images(&mut plugin, now, &["cover-1", "cover-2"]);
    plugin.close(now);
    let last = round(&mut plugin, 100);
    assert!(matches!(last.events[..], [Event::Closed(_)]));
    assert_eq!(last.what(), ["status cover-1", "status cover-2"]);
}

#[test]
fn an_image_update_too_large_for_a_frame_is_refused_when_sent_not_as_it_leaves() {
    let now = Instant::now();
    let wire = Wire::Stream {
        max_frame_len: 32 * 1024,
    };
    let mut plugin = connected_plugin(now, wire);
    let refused = plugin
        .send_notification(now, image("cover-1", "too large"))
        .unwrap_err();
    assert!(
        matches!(refused.error, SendError::Oversized { len, limit: 32768 } if len > 64 * 1024),
        "{refused:?}"
    );
    assert_eq!(*refused.message, image("cover-1", "too large").into());
    assert!(round(&mut plugin, 0).sent.is_empty());
}
