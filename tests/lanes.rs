//! Priority lanes (issue 7 item 3): status and image updates wait behind every other frame a
//! session writes, and a newer update for an instance replaces the one still waiting. One
//! plugin session, handshaken by hand, with what it writes decoded back into envelopes.

use std::time::Instant;

use logi_plugin_core::codec::frame::{DEFAULT_MAX_FRAME_LEN, FrameDecoder, encode_frame};
use logi_plugin_core::codec::{binary, json};
use logi_plugin_core::proto::plugin::{
    ActionCellStatus, LogEvent, ManagerHello, TriggerAction, action_cell_status::ImageType,
};
use logi_plugin_core::session::{
    Event, Format, Frame, PluginConfig, PluginSession, Reply, SendError, Wire,
};
use logi_plugin_core::{Envelope, Message, ResponseInfo};

/// A plugin session whose hello the manager has answered, on `wire`.
fn connected_plugin(now: Instant, wire: Wire) -> PluginSession {
    let mut config = PluginConfig::new("com.example.media", "secret", "1.0.0");
    config.wire = wire;
    let mut plugin = PluginSession::new(now, config);
    let hello = written(&mut plugin, PluginSession::poll_transmit);
    let answer = Envelope::response(hello[0].id, ResponseInfo::ok(), Some(manager_hello()));
    take(&mut plugin, now, wire, &answer);
    assert!(plugin.is_connected());
    while plugin.poll_event().is_some() {}
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
            plugin.handle_bytes(now, &bytes).unwrap();
        }
        Wire::Messages { .. } => {
            let frame = Frame::Text(json::encode(envelope));
            plugin.handle_frame(now, frame).unwrap();
        }
    }
}

/// Every envelope `poll` gives until it gives none, in order.
fn written(
    plugin: &mut PluginSession,
    mut poll: impl FnMut(&mut PluginSession) -> Option<Frame>,
) -> Vec<Envelope> {
    let mut decoder = FrameDecoder::default();
    let mut out = Vec::new();
    while let Some(frame) = poll(plugin) {
        match frame {
            Frame::Binary(bytes) => {
                decoder.push(&bytes);
                while let Some(one) = decoder.next_frame().unwrap() {
                    out.push(binary::decode(one).unwrap());
                }
            }
            Frame::Text(text) => out.push(json::decode(&text).unwrap()),
        }
    }
    out
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
    for instance in ["cover-1", "cover-2", "cover-3"] {
        plugin
            .send_notification(now, image(instance, instance))
            .unwrap();
    }
    let log = LogEvent {
        message: "pressed".into(),
        ..LogEvent::default()
    };
    plugin.send_notification(now, log).unwrap();
    take(&mut plugin, now, wire, &Envelope::request(9, trigger()));
    let Some(Event::Request { id, .. }) = plugin.poll_event() else {
        panic!("the press did not reach the application")
    };
    plugin.respond(now, id, Reply::Ok).unwrap();
    written(&mut plugin, PluginSession::poll_transmit)
        .iter()
        .map(what)
        .collect()
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
fn taking_prompt_frames_only_leaves_the_image_updates_waiting() {
    let now = Instant::now();
    let mut plugin = connected_plugin(now, stream());
    plugin
        .send_notification(now, image("cover-1", "1"))
        .unwrap();
    assert!(plugin.poll_transmit_prompt().is_none());
    take(&mut plugin, now, stream(), &Envelope::request(4, trigger()));
    let Some(Event::Request { id, .. }) = plugin.poll_event() else {
        panic!("the press did not reach the application")
    };
    plugin.respond(now, id, Reply::Ok).unwrap();
    let prompt = written(&mut plugin, PluginSession::poll_transmit_prompt);
    assert_eq!(prompt.iter().map(what).collect::<Vec<_>>(), ["answer 4"]);
    let rest = written(&mut plugin, PluginSession::poll_transmit);
    assert_eq!(rest.iter().map(what).collect::<Vec<_>>(), ["status 1"]);
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
    let sent = written(&mut plugin, PluginSession::poll_transmit);
    assert_eq!(
        sent.iter().map(what).collect::<Vec<_>>(),
        ["status 1b", "status 2a"]
    );
    assert_eq!(plugin.stats().superseded, 1);
    assert_eq!(plugin.stats().frames_out - frames_before, 2);
}

#[test]
fn image_updates_queued_before_a_close_can_still_be_written() {
    let now = Instant::now();
    let mut plugin = connected_plugin(now, stream());
    plugin
        .send_notification(now, image("cover-1", "last"))
        .unwrap();
    plugin.close(now);
    let sent = written(&mut plugin, PluginSession::poll_transmit);
    assert_eq!(sent.iter().map(what).collect::<Vec<_>>(), ["status last"]);
}

#[test]
fn an_image_update_too_large_for_a_frame_is_refused_when_sent_not_as_it_leaves() {
    let now = Instant::now();
    let wire = Wire::Stream {
        max_frame_len: 32 * 1024,
    };
    let mut plugin = connected_plugin(now, wire);
    let error = plugin
        .send_notification(now, image("cover-1", "too large"))
        .unwrap_err();
    assert!(
        matches!(error, SendError::Oversized { len, limit: 32768 } if len > 64 * 1024),
        "{error:?}"
    );
    assert!(written(&mut plugin, PluginSession::poll_transmit).is_empty());
}
