//! The JavaScript SDK beside the Rust SDK, through the same manager: the counter example written
//! on each (`examples/counter`, `examples/counter-js`: a key that counts, a dial that sets the
//! step, both storing their settings with the manager), linked into one in-process host on its
//! local socket, measured in the same run.
//!
//! - `press_round_trip`: `Host::trigger` of the `count` action until its status comes back (the
//!   plugin reads nothing: its settings are cached; it stores the new count, then answers).
//! - `dial_flood`: 1000 `UpdateAnalogControl` turns of `step` sent at once, until the last is
//!   answered: the throughput buffer merges what queues up, and each SDK answers every turn.
//!
//! The host runs without its rate limit (each press and each merged turn stores a setting, a
//! message the limit counts). The Rust plugin is the baseline; the ratio of the JavaScript
//! figure to it is the result. The Rust counter is built here (`cargo build -p
//! logi-example-counter`, in the bench's profile); the JavaScript one needs `npm ci` in sdk-js/
//! and examples/counter-js/ (`.ci/run` does both), and is built here with `npm run build`.
//! Without npm, only the Rust figures are given, saying so.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use logi_plugin_manager::{Host, HostConfig, LogSink};

const FLOOD: usize = 1000;

/// A counter example: its plugin id and its package folder.
struct Counter {
    name: &'static str,
    plugin_id: &'static str,
    package: PathBuf,
    program: Option<PathBuf>,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The Rust counter, built in the bench's own profile (its executable is in the profile's
/// `deps/`): release under `cargo bench`, debug when `cargo test --benches` checks the bench.
fn rust_counter() -> Counter {
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().and_then(Path::parent).unwrap();
    let mut build = Command::new(env!("CARGO"));
    build.args(["build", "-p", "logi-example-counter", "--bin", "counter"]);
    if profile.ends_with("release") {
        build.arg("--release");
    }
    let status = build.current_dir(workspace()).status().unwrap();
    assert!(status.success(), "building the Rust counter failed");
    Counter {
        name: "rust",
        plugin_id: "com.logi.example.counter",
        package: workspace().join("examples/counter/package"),
        program: Some(profile.join("counter")),
    }
}

/// The JavaScript counter, bundled by its own build (`None` without npm).
fn javascript_counter() -> Option<Counter> {
    let example = workspace().join("examples/counter-js");
    let npm = |args: &[&str], dir: &Path| {
        Command::new("npm")
            .arg("--silent")
            .args(args)
            .current_dir(dir)
            .status()
    };
    match npm(&["run", "build"], &workspace().join("sdk-js")) {
        Ok(status) => assert!(status.success(), "building sdk-js failed"),
        Err(error) => {
            eprintln!("no JavaScript figures: npm cannot be run ({error})");
            return None;
        }
    }
    let status = npm(&["run", "build"], &example).unwrap();
    assert!(status.success(), "building examples/counter-js failed");
    Some(Counter {
        name: "javascript",
        plugin_id: "com.logi.example.counter-js",
        package: example.join("package"),
        program: None,
    })
}

/// Links `counter` into `host` and waits until its session is up.
fn linked(host: &Host, counter: &Counter) {
    smol::block_on(host.link(&counter.package, counter.program.as_deref())).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !host
        .plugin(counter.plugin_id)
        .is_some_and(|info| info.connected)
    {
        assert!(
            Instant::now() < deadline,
            "{} never connected",
            counter.name
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // What is measured must be the counter answering, not a refusal.
    let answer = smol::block_on(host.trigger(counter.plugin_id, "count", "key-1")).unwrap();
    assert!(
        answer.response.is_ok(),
        "{}: {:?}",
        counter.name,
        answer.response
    );
    let answer = smol::block_on(host.turn(counter.plugin_id, "step", "dial-1", 1.0)).unwrap();
    assert!(
        answer.response.is_ok(),
        "{}: {:?}",
        counter.name,
        answer.response
    );
}

fn sdks(c: &mut Criterion) {
    let data = tempfile::tempdir().unwrap();
    let mut config = HostConfig::new(data.path());
    config.endpoint = data.path().join("manager.sock");
    // Linking runs the author's folder unsigned: development mode.
    config.development = true;
    config.log = LogSink::new(|_| {});
    // A press stores the count: at the manager's default rate limit (100 messages a second)
    // most presses would be refused NOT_READY, and the refusal is not what is measured.
    config.rate_limit = None;
    let host = Host::start(config).unwrap();
    let counters: Vec<Counter> = std::iter::once(rust_counter())
        .chain(javascript_counter())
        .collect();
    for counter in &counters {
        linked(&host, counter);
    }

    let mut group = c.benchmark_group("press_round_trip");
    for counter in &counters {
        group.bench_function(BenchmarkId::from_parameter(counter.name), |b| {
            b.iter(|| {
                let answer = smol::block_on(host.trigger(counter.plugin_id, "count", "key-1"));
                answer.unwrap()
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("dial_flood");
    group.sample_size(20);
    group.throughput(Throughput::Elements(FLOOD as u64));
    for counter in &counters {
        group.bench_function(BenchmarkId::from_parameter(counter.name), |b| {
            b.iter(|| flood(&host, counter.plugin_id));
        });
    }
    group.finish();
    smol::block_on(host.shutdown());
}

/// Sends `FLOOD` turns at once and waits for every answer.
fn flood(host: &Host, plugin_id: &str) {
    let executor = smol::LocalExecutor::new();
    let turns: Vec<_> = (0..FLOOD)
        .map(|i| {
            let delta = if i % 2 == 0 { 1.0 } else { -1.0 };
            executor.spawn(host.turn(plugin_id, "step", "dial-1", delta))
        })
        .collect();
    smol::block_on(executor.run(async {
        for turn in turns {
            assert!(turn.await.unwrap().response.is_ok());
        }
    }));
}

criterion_group!(benches, sdks);
criterion_main!(benches);
