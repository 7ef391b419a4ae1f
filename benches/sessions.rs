//! The sessions' cost over the codec alone, the pair wired in memory with no IO.
//!
//! - `round_trip`: the manager sends `TriggerAction`, the plugin application answers
//!   `ActionCellStatus`, the manager gets the response: through both sessions (`sessions`), and
//!   as the same two frames encoded, framed, deframed and decoded with the codec alone (`codec`).
//! - `analog_flood`: 1,000,000 `UpdateAnalogControl` deltas sent while the plugin application
//!   works on the first, merged by a throughput buffer, every request answered: through both
//!   sessions, and as the same frames (a million requests, a million answers) with the codec.
//!
//! Bytes move a transport read (64 KiB) at a time and each owner takes its session's output
//! round by round, as a driving loop does. Target: the sessions add at most 30% over the codec alone.
//!
//! After criterion's report, each pair is also timed in alternating rounds and the median ratio
//! printed: on a shared machine that figure holds still where back-to-back medians swing.

mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use criterion::Criterion;
use logi_plugin_core::codec::binary;
use logi_plugin_core::codec::frame::{DEFAULT_MAX_FRAME_LEN, FrameDecoder, encode_frame};
use logi_plugin_core::proto::plugin::ManagerHello;
use logi_plugin_core::proto::plugin::update_analog_control::UpdateType;
use logi_plugin_core::session::{
    Event, Frame, Input, Limits, ManagerConfig, ManagerSession, Output, PluginConfig,
    PluginSession, Reply, Session, Verdict,
};
use logi_plugin_core::{Envelope, Message, ResponseInfo};
use support::{Ratio, dial, status, trigger};

const FLOOD: usize = 1_000_000;

/// What a transport reads at once.
const READ: usize = 64 * 1024;

/// How many flood requests the manager sends between transport writes.
const BATCH: usize = 1024;

/// A connected pair, the manager allowing a whole flood in flight.
fn pair(now: Instant) -> (ManagerSession, PluginSession) {
    let mut manager = ManagerConfig::new("0.1.0");
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
    pump(now, &mut manager, &mut plugin, &mut 0, |_, _| {});
    // The manager's owner admits the hello the session handed it.
    manager.admit(now, Verdict::Accept).unwrap();
    pump(now, &mut manager, &mut plugin, &mut 0, |_, _| {});
    assert!(manager.is_connected() && plugin.is_connected());
    (manager, plugin)
}

/// Moves every queued byte across, both ways, a read at a time, until both sides are quiet; the
/// owners take the events as they come: the manager's responses are counted, the plugin's go to
/// `plugin_app`.
fn pump(
    now: Instant,
    manager: &mut ManagerSession,
    plugin: &mut PluginSession,
    responses: &mut usize,
    mut plugin_app: impl FnMut(&mut PluginSession, Event<ManagerHello>),
) {
    loop {
        let to_plugin = round(now, manager, plugin, |_, event| {
            *responses += usize::from(matches!(event, Event::Response { .. }));
        });
        let to_manager = round(now, plugin, manager, &mut plugin_app);
        if !to_plugin && !to_manager {
            return;
        }
    }
}

/// Takes a round of `from`'s output: its events to `owner`, its bytes to `to` a read at a time;
/// `true` if it wrote anything. (A round that hands out an event holds bulk frames back for a
/// round; these workloads write none.)
fn round<F: Session, T: Session>(
    now: Instant,
    from: &mut F,
    to: &mut T,
    mut owner: impl FnMut(&mut F, Event<F::PeerHello>),
) -> bool {
    let mut moved = false;
    loop {
        match from.poll_output(0) {
            Output::Event(event) => owner(from, event),
            Output::Transmit(transmit) => {
                let Frame::Binary(bytes) = transmit.frame else {
                    unreachable!("a byte stream")
                };
                for chunk in bytes.chunks(READ) {
                    to.handle_input(now, Input::Bytes(chunk)).unwrap();
                }
                moved = true;
            }
            Output::Timeout(_) | Output::Idle => return moved,
        }
    }
}

/// Encodes, frames, deframes and decodes `envelope` with the codec alone.
fn codec_only(envelope: &Envelope, out: &mut BytesMut, decoder: &mut FrameDecoder) {
    out.clear();
    encode_frame(envelope, DEFAULT_MAX_FRAME_LEN, out).unwrap();
    decoder.push(out);
    black_box(binary::decode(decoder.next_frame().unwrap().unwrap()).unwrap());
}

/// `n` round trips through both sessions.
fn session_round_trips(
    n: usize,
    now: Instant,
    manager: &mut ManagerSession,
    plugin: &mut PluginSession,
) {
    for _ in 0..n {
        let mut responses = 0;
        manager
            .send_request(now, trigger(), Duration::from_secs(5))
            .unwrap();
        pump(now, manager, plugin, &mut responses, |plugin, event| {
            if let Event::Request { id, .. } = event {
                plugin
                    .respond(now, id, Reply::Message(status().into()))
                    .unwrap();
            }
        });
        assert_eq!(responses, 1);
    }
}

/// The frames of `n` round trips through the codec alone.
fn codec_round_trips(n: usize, out: &mut BytesMut, decoder: &mut FrameDecoder) {
    for _ in 0..n {
        codec_only(&Envelope::request(7, trigger()), out, decoder);
        let answer = Envelope::response(7, ResponseInfo::ok(), Some(Message::from(status())));
        codec_only(&answer, out, decoder);
    }
}

/// A flood of `deltas` through a fresh pair: the manager writes its requests out as it sends
/// them, a transport write per [`BATCH`], while the application works on the first update (the
/// rest are merged); when it answers, it gets the merged rest.
fn session_flood(now: Instant, deltas: usize) {
    let (mut manager, mut plugin) = pair(now);
    let first = std::cell::Cell::new(None);
    let sum = std::cell::Cell::new(0.0f64);
    let mut responses = 0;
    let take = |plugin: &mut PluginSession, event| {
        if let Event::Request {
            id,
            message: Message::UpdateAnalogControl(u),
        } = event
        {
            if let Some(UpdateType::Delta(d)) = u.update_type {
                sum.set(sum.get() + f64::from(d));
            }
            match first.get() {
                None => first.set(Some(id)),
                Some(_) => plugin.respond(now, id, Reply::Ok).unwrap(),
            }
        }
    };
    for sent in 1..=deltas {
        manager
            .send_request(now, dial(), Duration::from_secs(60))
            .unwrap();
        if sent % BATCH == 0 {
            pump(now, &mut manager, &mut plugin, &mut responses, take);
        }
    }
    pump(now, &mut manager, &mut plugin, &mut responses, take);
    let first = first.get().expect("the first update");
    plugin.respond(now, first, Reply::Ok).unwrap();
    pump(now, &mut manager, &mut plugin, &mut responses, take);
    assert_eq!(sum.get(), deltas as f64, "the whole movement arrives");
    assert_eq!(responses, deltas, "every request answered once");
}

/// A flood's frames (`deltas` requests, as many answers) through the codec alone.
fn codec_flood(deltas: usize, out: &mut BytesMut, decoder: &mut FrameDecoder) {
    for _ in 0..deltas {
        codec_only(&Envelope::request(7, dial()), out, decoder);
        codec_only(
            &Envelope::response(7, ResponseInfo::ok(), None),
            out,
            decoder,
        );
    }
}

fn round_trip(c: &mut Criterion) {
    let now = Instant::now();
    let mut group = c.benchmark_group("round_trip");
    let (mut manager, mut plugin) = pair(now);
    group.bench_function("sessions", |b| {
        b.iter(|| session_round_trips(1, now, &mut manager, &mut plugin))
    });
    let (mut out, mut decoder) = (BytesMut::new(), FrameDecoder::default());
    group.bench_function("codec", |b| {
        b.iter(|| codec_round_trips(1, &mut out, &mut decoder))
    });
    group.finish();
}

fn analog_flood(c: &mut Criterion) {
    let now = Instant::now();
    let mut group = c.benchmark_group("analog_flood");
    group.sample_size(10);
    group.bench_function("sessions", |b| b.iter(|| session_flood(now, FLOOD)));
    let (mut out, mut decoder) = (BytesMut::new(), FrameDecoder::default());
    group.bench_function("codec", |b| {
        b.iter(|| codec_flood(FLOOD, &mut out, &mut decoder))
    });
    group.finish();
}

/// Runs one workload and nothing else, for an instruction counter (`scripts/instruction-gate`):
/// `LOGI_BENCH_ONLY` names it, `LOGI_BENCH_COUNT` says how many round trips, or how many deltas
/// the one flood carries.
fn run_only(workload: &str, count: usize) {
    let now = Instant::now();
    let (mut manager, mut plugin) = pair(now);
    let (mut out, mut decoder) = (BytesMut::new(), FrameDecoder::default());
    match workload {
        "round_trip/sessions" => session_round_trips(count, now, &mut manager, &mut plugin),
        "round_trip/codec" => codec_round_trips(count, &mut out, &mut decoder),
        "analog_flood/sessions" => session_flood(now, count),
        "analog_flood/codec" => codec_flood(count, &mut out, &mut decoder),
        other => panic!("no workload {other:?}"),
    }
}

fn main() {
    if let Ok(workload) = std::env::var("LOGI_BENCH_ONLY") {
        let count = std::env::var("LOGI_BENCH_COUNT").map_or(1, |n| n.parse().unwrap());
        return run_only(&workload, count);
    }
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
    if !support::measuring() {
        return;
    }
    let now = Instant::now();
    let (mut manager, mut plugin) = pair(now);
    let (mut out, mut decoder) = (BytesMut::new(), FrameDecoder::default());
    support::interleaved(
        "round trip (20,000 a round): sessions / codec alone",
        1.30,
        21,
        || session_round_trips(20_000, now, &mut manager, &mut plugin),
        || codec_round_trips(20_000, &mut out, &mut decoder),
    );
    let (mut out, mut decoder) = (BytesMut::new(), FrameDecoder::default());
    support::interleaved(
        "analog flood of 1,000,000 deltas: sessions / codec alone",
        1.30,
        9,
        || session_flood(now, FLOOD),
        || codec_flood(FLOOD, &mut out, &mut decoder),
    );
}
