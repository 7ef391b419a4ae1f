//! The sessions' cost over the codec alone, the pair wired in memory with no IO.
//!
//! - `round_trip`: the manager sends `TriggerAction`, the plugin application answers
//!   `ActionCellStatus`, the manager gets the response: through both sessions (`sessions`), and
//!   as the same two frames encoded, framed, deframed and decoded with the codec alone (`codec`).
//! - `analog_flood`: 1,000,000 `UpdateAnalogControl` deltas sent while the plugin application
//!   works on the first, merged by a throughput buffer, every request answered: through both
//!   sessions, and as the same frames (a million requests, a million answers) with the codec.
//!
//! Target: the sessions add at most 30% over the codec alone.

mod support;

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use criterion::Criterion;
use logi_plugin_core::codec::binary;
use logi_plugin_core::codec::frame::{DEFAULT_MAX_FRAME_LEN, FrameDecoder, encode_frame};
use logi_plugin_core::proto::plugin::update_analog_control::UpdateType;
use logi_plugin_core::proto::plugin::{ActionCellStatus, TriggerAction, UpdateAnalogControl};
use logi_plugin_core::session::{
    Event, Frame, Limits, ManagerConfig, ManagerSession, PluginConfig, PluginSession, Reply,
};
use logi_plugin_core::{Envelope, Message, ResponseInfo};
use support::Ratio;

const FLOOD: usize = 1_000_000;

fn trigger() -> TriggerAction {
    TriggerAction {
        action_instance_id: "3f1c9a2e-8d4b-4f6a-9c1e-2b7d5e8f0a13".into(),
        action_id: "com.example.media.toggle_mute".into(),
        configuration: None,
    }
}

fn status() -> ActionCellStatus {
    ActionCellStatus {
        action_instance_id: "3f1c9a2e-8d4b-4f6a-9c1e-2b7d5e8f0a13".into(),
        action_id: "com.example.media.toggle_mute".into(),
        text: Some("Muted".into()),
        ..ActionCellStatus::default()
    }
}

fn dial() -> UpdateAnalogControl {
    UpdateAnalogControl {
        analog_control_id: "volume".into(),
        instance_id: "dial-1".into(),
        configuration: None,
        update_type: Some(UpdateType::Delta(1.0)),
    }
}

/// A connected pair, the manager allowing a whole flood in flight.
fn pair(now: Instant) -> (ManagerSession, PluginSession) {
    let registry: HashMap<String, String> =
        [("com.example.bench".to_string(), "code".to_string())].into();
    let mut manager = ManagerConfig::new(Arc::new(registry), "0.1.0");
    manager.limits = Limits {
        max_in_flight: FLOOD + 16,
        ..Limits::default()
    };
    let mut manager = ManagerSession::new(now, manager);
    let mut plugin =
        PluginSession::new(now, PluginConfig::new("com.example.bench", "code", "1.0.0"));
    plugin
        .enable_control_buffering([("volume", "throughput")])
        .unwrap();
    pump(now, &mut manager, &mut plugin);
    while manager.poll_event().is_some() {}
    while plugin.poll_event().is_some() {}
    assert!(manager.is_connected() && plugin.is_connected());
    (manager, plugin)
}

/// Moves every queued frame across, both ways, until both sides are quiet.
fn pump(now: Instant, manager: &mut ManagerSession, plugin: &mut PluginSession) {
    loop {
        let mut moved = false;
        while let Some(Frame::Binary(bytes)) = manager.poll_transmit() {
            plugin.handle_bytes(now, &bytes).unwrap();
            moved = true;
        }
        while let Some(Frame::Binary(bytes)) = plugin.poll_transmit() {
            manager.handle_bytes(now, &bytes).unwrap();
            moved = true;
        }
        if !moved {
            return;
        }
    }
}

/// Encodes, frames, deframes and decodes `envelopes` with the codec alone.
fn codec_only(envelopes: &[Envelope], out: &mut BytesMut, decoder: &mut FrameDecoder) {
    for envelope in envelopes {
        out.clear();
        encode_frame(envelope, DEFAULT_MAX_FRAME_LEN, out).unwrap();
        decoder.push(out);
        black_box(binary::decode(decoder.next_frame().unwrap().unwrap()).unwrap());
    }
}

fn round_trip(c: &mut Criterion) {
    let now = Instant::now();
    let mut group = c.benchmark_group("round_trip");
    let (mut manager, mut plugin) = pair(now);
    group.bench_function("sessions", |b| {
        b.iter(|| {
            let id = manager
                .send_request(now, trigger(), Duration::from_secs(5))
                .unwrap();
            pump(now, &mut manager, &mut plugin);
            let Some(Event::Request { id: theirs, .. }) = plugin.poll_event() else {
                panic!("no request")
            };
            plugin
                .respond(now, theirs, Reply::Message(status().into()))
                .unwrap();
            pump(now, &mut manager, &mut plugin);
            let Some(Event::Response {
                id: answered,
                message,
                ..
            }) = manager.poll_event()
            else {
                panic!("no response")
            };
            assert_eq!(answered, id);
            black_box(message)
        })
    });
    let frames = [
        Envelope::request(7, trigger()),
        Envelope::response(7, ResponseInfo::ok(), Some(Message::from(status()))),
    ];
    let (mut out, mut decoder) = (BytesMut::new(), FrameDecoder::default());
    group.bench_function("codec", |b| {
        b.iter(|| codec_only(black_box(&frames), &mut out, &mut decoder))
    });
    group.finish();
}

fn analog_flood(c: &mut Criterion) {
    let now = Instant::now();
    let mut group = c.benchmark_group("analog_flood");
    group.sample_size(10);
    group.bench_function("sessions", |b| {
        b.iter_with_setup(
            || pair(now),
            |(mut manager, mut plugin)| {
                for _ in 0..FLOOD {
                    manager
                        .send_request(now, dial(), Duration::from_secs(60))
                        .unwrap();
                }
                pump(now, &mut manager, &mut plugin);
                // The application worked on the first update meanwhile; now it answers it and
                // the merged rest.
                let mut sum = 0.0f64;
                while let Some(event) = plugin.poll_event() {
                    if let Event::Request {
                        id,
                        message: Message::UpdateAnalogControl(u),
                    } = event
                    {
                        if let Some(UpdateType::Delta(d)) = u.update_type {
                            sum += f64::from(d);
                        }
                        plugin.respond(now, id, Reply::Ok).unwrap();
                    }
                }
                pump(now, &mut manager, &mut plugin);
                assert_eq!(sum, FLOOD as f64, "the whole movement arrives");
                let answered = std::iter::from_fn(|| manager.poll_event())
                    .filter(|e| matches!(e, Event::Response { .. }))
                    .count();
                assert_eq!(answered, FLOOD, "every request answered once");
            },
        )
    });
    let request = Envelope::request(7, dial());
    let answer = Envelope::response(7, ResponseInfo::ok(), None);
    let (mut out, mut decoder) = (BytesMut::new(), FrameDecoder::default());
    group.bench_function("codec", |b| {
        b.iter(|| {
            for _ in 0..FLOOD {
                codec_only(
                    std::slice::from_ref(black_box(&request)),
                    &mut out,
                    &mut decoder,
                );
                codec_only(
                    std::slice::from_ref(black_box(&answer)),
                    &mut out,
                    &mut decoder,
                );
            }
        })
    });
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    round_trip(&mut c);
    analog_flood(&mut c);
    c.final_summary();
    support::report(&[
        Ratio {
            what: "round trip: sessions / codec alone".into(),
            numerator: "round_trip/sessions".into(),
            denominator: "round_trip/codec".into(),
            target: 1.30,
        },
        Ratio {
            what: "analog flood of 1,000,000 deltas: sessions / codec alone".into(),
            numerator: "analog_flood/sessions".into(),
            denominator: "analog_flood/codec".into(),
            target: 1.30,
        },
    ]);
}
