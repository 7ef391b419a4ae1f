//! Shared by the benchmarks: the messages they send, and the ratios between benchmarks of one
//! run (from criterion's own estimates, or timed in alternating rounds) against their targets.
#![allow(dead_code)]

use std::path::PathBuf;

use logi_plugin_core::proto::plugin::update_analog_control::UpdateType;
use logi_plugin_core::proto::plugin::{ActionCellStatus, TriggerAction, UpdateAnalogControl};

/// The action a round trip triggers.
pub fn trigger() -> TriggerAction {
    TriggerAction {
        action_instance_id: "3f1c9a2e-8d4b-4f6a-9c1e-2b7d5e8f0a13".into(),
        action_id: "com.example.media.toggle_mute".into(),
        configuration: None,
    }
}

/// The status it is answered with.
pub fn status() -> ActionCellStatus {
    ActionCellStatus {
        action_instance_id: "3f1c9a2e-8d4b-4f6a-9c1e-2b7d5e8f0a13".into(),
        action_id: "com.example.media.toggle_mute".into(),
        text: Some("Muted".into()),
        ..ActionCellStatus::default()
    }
}

/// One step of a dial.
pub fn dial() -> UpdateAnalogControl {
    UpdateAnalogControl {
        analog_control_id: "volume".into(),
        instance_id: "dial-1".into(),
        configuration: None,
        update_type: Some(UpdateType::Delta(1.0)),
    }
}

/// A ratio to report: `numerator` / `denominator` (criterion ids, `group/function`) and its target.
pub struct Ratio {
    pub what: String,
    pub numerator: String,
    pub denominator: String,
    pub target: f64,
}

/// Where criterion keeps its results: `$CARGO_TARGET_DIR/criterion`, else the nearest
/// `target/criterion` from here up (a member's benchmarks run in the member's directory, their
/// results land in the workspace's target directory).
fn criterion_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return Some(PathBuf::from(dir).join("criterion"));
    }
    let here = std::env::current_dir().ok()?;
    here.ancestors()
        .map(|dir| dir.join("target").join("criterion"))
        .find(|dir| dir.is_dir())
}

fn median_ns(id: &str) -> Option<f64> {
    let path = criterion_dir()?.join(id).join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["median"]["point_estimate"].as_f64()
}

/// Whether this run measures: `--list` and `--test` (as `cargo test --benches` runs a bench)
/// only name or try each benchmark once, and save no medians.
pub fn measuring() -> bool {
    !std::env::args().any(|arg| arg == "--list" || arg == "--test")
}

/// Prints each ratio measured in this run, and whether it meets its target; nothing when the run
/// does not measure, as criterion's files would then hold an earlier run's medians.
pub fn report(ratios: &[Ratio]) {
    if !measuring() {
        return;
    }
    println!("\nratios (medians of this run):");
    for r in ratios {
        match (median_ns(&r.numerator), median_ns(&r.denominator)) {
            (Some(n), Some(d)) => {
                let ratio = n / d;
                let verdict = if ratio <= r.target { "meets" } else { "MISSES" };
                println!(
                    "  {:<66} {ratio:>6.2}x  ({verdict} target <= {:.2}x; {n:.0} ns / {d:.0} ns)",
                    r.what, r.target
                );
            }
            _ => println!("  {:<66} not measured in this run", r.what),
        }
    }
}

/// How long `work` takes.
pub fn elapsed(work: impl FnOnce()) -> std::time::Duration {
    let start = std::time::Instant::now();
    work();
    start.elapsed()
}

/// Times `a` and `b` alternately, `rounds` times each, and prints the median of the per-round
/// ratios `a / b`. Noise on a shared machine comes in bursts lasting seconds, which land on one
/// side of criterion's back-to-back measurements; alternating lets each round's pair share them.
pub fn interleaved(
    what: &str,
    target: f64,
    rounds: usize,
    mut a: impl FnMut(),
    mut b: impl FnMut(),
) {
    let time = |f: &mut dyn FnMut()| elapsed(f).as_secs_f64();
    // One untimed round each, to warm caches and allocators.
    a();
    b();
    let mut ratios: Vec<f64> = (0..rounds).map(|_| time(&mut a) / time(&mut b)).collect();
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    let verdict = if median <= target { "meets" } else { "MISSES" };
    println!(
        "  {what:<66} {median:>6.2}x  ({verdict} target <= {target:.2}x; median of {rounds} \
         interleaved rounds, range {:.2}x..{:.2}x)",
        ratios[0],
        ratios[ratios.len() - 1]
    );
}

/// glibc's allocator settings under which the benchmarks measure: fixed thresholds, so that it
/// neither hands the top of its heap back to the kernel after each large free nor serves large
/// blocks by `mmap`.
///
/// With glibc's defaults, a path that frees more than 128 KiB to the top of the heap in one
/// iteration (raw prost on a 64 KiB message frees three such blocks) has it trimmed, then faults
/// the pages back in on the next iteration: about 32 page faults each time. Whether a path does so
/// depends on the heap's layout, which depends on what ran before it in the process, so the same
/// code measured 11 us in one process and 84 us in another, and ratios between paths swung by
/// 2-3x between runs. With the thresholds fixed, every path measures its own work.
pub const STEADY_MALLOC: &str =
    "glibc.malloc.trim_threshold=1073741824:glibc.malloc.mmap_threshold=33554432";

/// Runs this benchmark again in a child process under [`STEADY_MALLOC`], unless it already runs
/// under it, and exits with the child's status. glibc reads its tunables only at start-up, hence
/// the second process.
pub fn with_steady_malloc() {
    const MARK: &str = "LOGI_BENCH_STEADY_MALLOC";
    if std::env::var_os(MARK).is_some() {
        return;
    }
    let tunables = match std::env::var("GLIBC_TUNABLES") {
        Ok(set) if !set.is_empty() => format!("{set}:{STEADY_MALLOC}"),
        _ => STEADY_MALLOC.to_string(),
    };
    let me = std::env::current_exe().expect("the benchmark's own path");
    let status = std::process::Command::new(me)
        .args(std::env::args_os().skip(1))
        .env("GLIBC_TUNABLES", tunables)
        .env(MARK, "1")
        .status()
        .expect("the benchmark runs again under steady allocator settings");
    std::process::exit(status.code().unwrap_or(1));
}
