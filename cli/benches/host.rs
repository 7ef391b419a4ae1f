//! The host against raw baselines, each measured in the same run.
//!
//! - `settings_write`: one durable setting write through `SettingsStore::set` (WAL,
//!   `synchronous = FULL`, answered only once committed); beside the same upsert on a bare
//!   `rusqlite` connection with the same pragmas. Reported as writes per second by criterion's
//!   throughput.
//! - `install_to_running`: `Host::install` of the packed example plugin (unpack, commands,
//!   launch as a child process) until the host reports it `RUNNING` after its hello; beside the
//!   same program started as the host starts it, until its first bytes reach a bare socket.

use std::os::unix::net::UnixListener;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use logi_example_media::{PLUGIN_ID, PROGRAM_PATH};
use logi_plugin_core::proto::manager::ContainerState;
use logi_plugin_manager::settings::SettingsStore;
use logi_plugin_manager::{Host, HostConfig, HostEvent, LogSink};

mod common;

const UPSERT: &str = "INSERT INTO settings (plugin_id, name, value) VALUES (?1, ?2, ?3)
    ON CONFLICT (plugin_id, name) DO UPDATE SET value = excluded.value";

fn settings_write(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = SettingsStore::open(&dir.path().join("store.sqlite3")).unwrap();
    let raw = rusqlite::Connection::open(dir.path().join("raw.sqlite3")).unwrap();
    raw.pragma_update(None, "journal_mode", "WAL").unwrap();
    raw.pragma_update(None, "synchronous", "FULL").unwrap();
    raw.execute_batch(
        "CREATE TABLE settings (plugin_id TEXT NOT NULL, name TEXT NOT NULL,
         value TEXT NOT NULL, PRIMARY KEY (plugin_id, name)) WITHOUT ROWID;",
    )
    .unwrap();
    let mut group = c.benchmark_group("settings_write");
    group.throughput(Throughput::Elements(1));
    let mut n = 0u64;
    group.bench_function("store", |b| {
        b.iter(|| {
            n += 1;
            store.set(PLUGIN_ID, "volume", &n.to_string()).unwrap();
        });
    });
    group.bench_function("raw_sqlite", |b| {
        b.iter(|| {
            n += 1;
            raw.execute(
                UPSERT,
                rusqlite::params![PLUGIN_ID, "volume", n.to_string()],
            )
            .unwrap();
        });
    });
    group.finish();
}

fn install_to_running(c: &mut Criterion) {
    let exe = Path::new(env!("CARGO_BIN_EXE_logi-plugin"));
    let package = logi_example_media::package::packed(exe).unwrap();
    let archive = package.to_zip().unwrap();
    // The raw baseline runs the program as installed, under its plugin name.
    let staging = tempfile::tempdir().unwrap();
    package.extract(staging.path()).unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut config = HostConfig::new(data.path());
    config.endpoint = data.path().join("manager.sock");
    // Unsigned: the package is made here; signing is measured by the package tests.
    config.development = true;
    config.log = LogSink::new(|_| {});
    let host = Host::start(config).unwrap();

    let mut group = c.benchmark_group("install_to_running");
    group.sample_size(10);
    group.bench_function("host", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let events = host.subscribe();
                let start = Instant::now();
                smol::block_on(host.install(&archive)).unwrap();
                smol::block_on(async {
                    while let Ok(event) = events.recv().await {
                        if matches!(
                            event,
                            HostEvent::State {
                                state: ContainerState::Running,
                                ..
                            }
                        ) {
                            break;
                        }
                    }
                });
                total += start.elapsed();
                smol::block_on(host.uninstall(PLUGIN_ID)).unwrap();
            }
            total
        });
    });
    let socket = data.path().join("raw.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let program = staging.path().join(PROGRAM_PATH);
    group.bench_function("raw_spawn_to_hello", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += common::spawn_to_hello(&program, &socket, &listener);
            }
            total
        });
    });
    group.finish();
    smol::block_on(host.shutdown());
}

criterion_group!(benches, settings_write, install_to_running);
criterion_main!(benches);
