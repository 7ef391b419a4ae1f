//! Codec cost per message, each beside raw prost in the same run.
//!
//! For a `TriggerAction` envelope and for an `ActionCellStatus` carrying a 64 KiB base64 image,
//! one iteration encodes the envelope and decodes it back to the typed message:
//! - `raw_prost`: the baseline, prost alone (`Any::from_msg` + `Envelope::encode`, then
//!   `Envelope::decode` + `Any::to_msg`), no framing;
//! - `binary_framed`: our binary codec with the stream framing (`encode_frame`, then
//!   `FrameDecoder` + `binary::decode`);
//! - `json`: our canonical JSON codec (`json::encode_into`, then `json::decode`).
//!
//! Targets: binary with framing <= 1.10x raw prost; JSON <= 4x binary.

mod support;

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput};
use logi_plugin_core::codec::frame::{DEFAULT_MAX_FRAME_LEN, FrameDecoder, encode_frame};
use logi_plugin_core::codec::{binary, json};
use logi_plugin_core::proto::plugin::{
    self, ActionCellStatus, TriggerAction, action_cell_status::ImageType,
};
use logi_plugin_core::{Envelope, Message};
use prost::{Message as _, Name};
use prost_types::Any;
use support::Ratio;

fn trigger_action() -> TriggerAction {
    TriggerAction {
        action_instance_id: "3f1c9a2e-8d4b-4f6a-9c1e-2b7d5e8f0a13".into(),
        action_id: "com.example.media.toggle_mute".into(),
        configuration: Some(r#"{"device":"default","fade_ms":150}"#.into()),
    }
}

/// An action cell status with a 64 KiB base64 image (deterministic pseudo-random content).
fn action_cell_status() -> ActionCellStatus {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut state: u32 = 0x2545_f491;
    let image: String = (0..64 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            char::from(ALPHABET[(state % 64) as usize])
        })
        .collect();
    ActionCellStatus {
        action_instance_id: "3f1c9a2e-8d4b-4f6a-9c1e-2b7d5e8f0a13".into(),
        action_id: "com.example.camera.preview".into(),
        text: Some("Live".into()),
        image: Some(image),
        image_type: Some(ImageType::Base64 as i32),
        error: None,
        error_code: None,
    }
}

fn bench_message<M>(c: &mut Criterion, group_name: &str, message: M)
where
    M: prost::Message + Name + Default + Clone + PartialEq + std::fmt::Debug + Into<Message>,
{
    let envelope = Envelope::request(42, message.clone());
    let mut group = c.benchmark_group(group_name);
    group.throughput(Throughput::Bytes(binary::encoded_len(&envelope) as u64));

    let mut raw_buf = Vec::new();
    group.bench_function("raw_prost", |b| {
        b.iter(|| {
            raw_buf.clear();
            let wire = plugin::Envelope {
                id: 42,
                message: Some(Any::from_msg(black_box(&message)).unwrap()),
                response: None,
            };
            wire.encode(&mut raw_buf).unwrap();
            let decoded = plugin::Envelope::decode(black_box(raw_buf.as_slice())).unwrap();
            let typed: M = decoded.message.unwrap().to_msg().unwrap();
            black_box((decoded.id, typed))
        })
    });

    let mut out = BytesMut::new();
    let mut decoder = FrameDecoder::default();
    group.bench_function("binary_framed", |b| {
        b.iter(|| {
            out.clear();
            encode_frame(black_box(&envelope), DEFAULT_MAX_FRAME_LEN, &mut out).unwrap();
            decoder.push(black_box(&out));
            let frame: Bytes = decoder.next_frame().unwrap().unwrap();
            black_box(binary::decode(frame).unwrap())
        })
    });

    let mut text = String::new();
    group.bench_function("json", |b| {
        b.iter(|| {
            text.clear();
            json::encode_into(black_box(&envelope), &mut text);
            black_box(json::decode(black_box(&text)).unwrap())
        })
    });
    group.finish();

    // The three paths must agree, or the comparison means nothing.
    let via_binary = {
        let mut framed = BytesMut::new();
        encode_frame(&envelope, DEFAULT_MAX_FRAME_LEN, &mut framed).unwrap();
        let mut decoder = FrameDecoder::default();
        decoder.push(&framed);
        binary::decode(decoder.next_frame().unwrap().unwrap()).unwrap()
    };
    assert_eq!(via_binary, envelope);
    assert_eq!(json::decode(&json::encode(&envelope)).unwrap(), envelope);
    assert_eq!(
        Any::from_msg(&message).unwrap().to_msg::<M>().unwrap(),
        message
    );
}

fn ratios(group: &str) -> [Ratio; 2] {
    [
        Ratio {
            what: format!("{group}: binary codec with framing / raw prost"),
            numerator: format!("{group}/binary_framed"),
            denominator: format!("{group}/raw_prost"),
            target: 1.10,
        },
        Ratio {
            what: format!("{group}: JSON codec / binary codec"),
            numerator: format!("{group}/json"),
            denominator: format!("{group}/binary_framed"),
            target: 4.0,
        },
    ]
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench_message(&mut c, "trigger_action", trigger_action());
    bench_message(&mut c, "action_cell_status_64k", action_cell_status());
    c.final_summary();
    let mut all = Vec::new();
    all.extend(ratios("trigger_action"));
    all.extend(ratios("action_cell_status_64k"));
    support::report(&all);
}
