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
//! Targets: binary with framing <= 1.10x raw prost; binary faster than JSON, and JSON <= 4x binary.
//!
//! The benchmark measures under fixed glibc allocator thresholds (`support::with_steady_malloc`),
//! so that no path pays page faults for the heap layout it happens to run in. Wall-clock ratios
//! still move between runs on a shared machine; `scripts/instruction-gate` holds the same
//! workloads (`LOGI_BENCH_ONLY=group/path`) to budgets in instructions, in CI.

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

/// One message's envelope and the buffers its three paths reuse between iterations.
struct Paths<M> {
    message: M,
    envelope: Envelope,
    raw_buf: Vec<u8>,
    out: BytesMut,
    decoder: FrameDecoder,
    text: String,
}

impl<M> Paths<M>
where
    M: prost::Message + Name + Default + Clone + PartialEq + std::fmt::Debug + Into<Message>,
{
    fn new(message: M) -> Self {
        let envelope = Envelope::request(42, message.clone());
        Paths {
            message,
            envelope,
            raw_buf: Vec::new(),
            out: BytesMut::new(),
            decoder: FrameDecoder::default(),
            text: String::new(),
        }
    }

    /// The baseline: prost alone, no framing.
    fn raw_prost(&mut self) {
        self.raw_buf.clear();
        let wire = plugin::Envelope {
            id: 42,
            message: Some(Any::from_msg(black_box(&self.message)).unwrap()),
            response: None,
        };
        wire.encode(&mut self.raw_buf).unwrap();
        let decoded = plugin::Envelope::decode(black_box(self.raw_buf.as_slice())).unwrap();
        let typed: M = decoded.message.unwrap().to_msg().unwrap();
        black_box((decoded.id, typed));
    }

    /// Our binary codec with the stream framing.
    fn binary_framed(&mut self) {
        self.out.clear();
        encode_frame(
            black_box(&self.envelope),
            DEFAULT_MAX_FRAME_LEN,
            &mut self.out,
        )
        .unwrap();
        self.decoder.push(black_box(&self.out));
        let frame: Bytes = self.decoder.next_frame().unwrap().unwrap();
        black_box(binary::decode(frame).unwrap());
    }

    /// Our canonical JSON codec.
    fn json(&mut self) {
        self.text.clear();
        json::encode_into(black_box(&self.envelope), &mut self.text);
        black_box(json::decode(black_box(&self.text)).unwrap());
    }

    /// Runs the path named `path` `count` times.
    fn run(&mut self, path: &str, count: usize) {
        let once: fn(&mut Self) = match path {
            "raw_prost" => Self::raw_prost,
            "binary_framed" => Self::binary_framed,
            "json" => Self::json,
            other => panic!("no codec path {other:?}"),
        };
        (0..count).for_each(|_| once(self));
    }

    /// The three paths must agree, or the comparison means nothing.
    fn check_agreement(&self) {
        let via_binary = {
            let mut framed = BytesMut::new();
            encode_frame(&self.envelope, DEFAULT_MAX_FRAME_LEN, &mut framed).unwrap();
            let mut decoder = FrameDecoder::default();
            decoder.push(&framed);
            binary::decode(decoder.next_frame().unwrap().unwrap()).unwrap()
        };
        assert_eq!(via_binary, self.envelope);
        assert_eq!(
            json::decode(&json::encode(&self.envelope)).unwrap(),
            self.envelope
        );
        assert_eq!(
            Any::from_msg(&self.message).unwrap().to_msg::<M>().unwrap(),
            self.message
        );
    }
}

fn bench_message<M>(c: &mut Criterion, group_name: &str, message: M)
where
    M: prost::Message + Name + Default + Clone + PartialEq + std::fmt::Debug + Into<Message>,
{
    let mut paths = Paths::new(message);
    paths.check_agreement();
    let mut group = c.benchmark_group(group_name);
    group.throughput(Throughput::Bytes(
        binary::encoded_len(&paths.envelope) as u64
    ));
    group.bench_function("raw_prost", |b| b.iter(|| paths.raw_prost()));
    group.bench_function("binary_framed", |b| b.iter(|| paths.binary_framed()));
    group.bench_function("json", |b| b.iter(|| paths.json()));
    group.finish();
}

fn ratios(group: &str) -> [Ratio; 3] {
    [
        Ratio {
            what: format!("{group}: binary codec with framing / raw prost"),
            numerator: format!("{group}/binary_framed"),
            denominator: format!("{group}/raw_prost"),
            target: 1.10,
        },
        Ratio {
            what: format!("{group}: binary codec / JSON codec"),
            numerator: format!("{group}/binary_framed"),
            denominator: format!("{group}/json"),
            target: 1.0,
        },
        Ratio {
            what: format!("{group}: JSON codec / binary codec"),
            numerator: format!("{group}/json"),
            denominator: format!("{group}/binary_framed"),
            target: 4.0,
        },
    ]
}

/// Runs one workload (`group/path`) `count` times and nothing else, for an instruction counter
/// (`scripts/instruction-gate`): `LOGI_BENCH_ONLY` names it, `LOGI_BENCH_COUNT` says how often.
fn run_only(workload: &str, count: usize) {
    let (group, path) = workload
        .split_once('/')
        .unwrap_or_else(|| panic!("LOGI_BENCH_ONLY={workload:?} is not group/path"));
    match group {
        "trigger_action" => Paths::new(trigger_action()).run(path, count),
        "action_cell_status_64k" => Paths::new(action_cell_status()).run(path, count),
        other => panic!("no codec group {other:?}"),
    }
}

fn main() {
    if let Ok(workload) = std::env::var("LOGI_BENCH_ONLY") {
        let count = std::env::var("LOGI_BENCH_COUNT").map_or(1, |n| n.parse().unwrap());
        return run_only(&workload, count);
    }
    support::with_steady_malloc();
    let mut c = Criterion::default().configure_from_args();
    bench_message(&mut c, "trigger_action", trigger_action());
    bench_message(&mut c, "action_cell_status_64k", action_cell_status());
    c.final_summary();
    let mut all = Vec::new();
    all.extend(ratios("trigger_action"));
    all.extend(ratios("action_cell_status_64k"));
    support::report(&all);
}
