//! A plugin the host stops is told so and ends by itself: the example plugin, a real SDK
//! program, asked to stop by a shutdown, an uninstall or a reload, ends within the grace period
//! instead of reconnecting until it is killed.
#![cfg(unix)]

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{host_with, until, until_state};
use logi_example_media::PLUGIN_ID;
use logi_plugin_core::proto::manager::ContainerState;
use logi_plugin_manager::{Host, HostEvent, LogSink};

const LOGI_PLUGIN: &str = env!("CARGO_BIN_EXE_logi-plugin");

/// What a stop that the plugin obeyed reports.
const ENDED_ON_ITS_OWN: &str = "stopped by the host; it ended on its own";

/// The host's default grace period, which these tests keep.
const GRACE: Duration = Duration::from_secs(2);

/// A host (development mode: the package is unsigned) running the example plugin as its own
/// program, and every line of the host's log.
fn running_media() -> (Host, tempfile::TempDir, Arc<Mutex<Vec<String>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let lines = log.clone();
    let (host, data) = host_with(|config| {
        config.development = true;
        assert_eq!(config.stop_grace, GRACE);
        config.log = LogSink::new(move |record| lines.lock().unwrap().push(record.to_string()));
    });
    let events = host.subscribe();
    let package = logi_example_media::package::packed(Path::new(LOGI_PLUGIN)).unwrap();
    smol::block_on(host.install(&package.to_zip().unwrap())).unwrap();
    until_state(&events, PLUGIN_ID, ContainerState::Running);
    (host, data, log)
}

/// Asserts that no line of the log says the plugin was killed.
fn assert_not_killed(log: &Mutex<Vec<String>>) {
    let log = log.lock().unwrap();
    let killed: Vec<_> = log.iter().filter(|line| line.contains("killed")).collect();
    assert!(killed.is_empty(), "{killed:?}");
}

/// Asserts that the log says the plugin ended on its own once stopped.
fn assert_told_it_ended_on_its_own(log: &Mutex<Vec<String>>) {
    let told = format!("[{PLUGIN_ID}] INFO: {ENDED_ON_ITS_OWN}");
    let log = log.lock().unwrap();
    assert!(log.contains(&told), "{log:?}");
}

#[test]
fn an_sdk_plugin_stopped_by_a_shutdown_ends_on_its_own_within_the_grace_period() {
    let (host, _data, log) = running_media();
    let began = Instant::now();
    smol::block_on(host.shutdown());
    assert!(began.elapsed() < GRACE, "took {:?}", began.elapsed());
    assert_not_killed(&log);
    let stop = host.plugin(PLUGIN_ID).unwrap().last_stop.unwrap();
    assert_eq!(stop.ending.how, ENDED_ON_ITS_OWN);
}

#[test]
fn an_sdk_plugin_uninstalled_ends_on_its_own_within_the_grace_period() {
    let (host, _data, log) = running_media();
    let began = Instant::now();
    smol::block_on(host.uninstall(PLUGIN_ID)).unwrap();
    assert!(began.elapsed() < GRACE, "took {:?}", began.elapsed());
    assert_not_killed(&log);
    // The plugin is gone with its report; the log keeps how it ended.
    assert_told_it_ended_on_its_own(&log);
    smol::block_on(host.shutdown());
}

#[test]
fn an_sdk_plugin_reloaded_ends_on_its_own_and_runs_again() {
    let (host, _data, log) = running_media();
    let events = host.subscribe();
    let began = Instant::now();
    smol::block_on(host.reload(PLUGIN_ID)).unwrap();
    assert!(began.elapsed() < GRACE, "took {:?}", began.elapsed());
    until_state(&events, PLUGIN_ID, ContainerState::Running);
    assert_not_killed(&log);
    assert_told_it_ended_on_its_own(&log);
    smol::block_on(host.shutdown());
}

#[test]
fn a_program_that_never_said_hello_is_asked_by_sigterm_before_it_is_killed() {
    let (host, _data, log) = {
        let log = Arc::new(Mutex::new(Vec::new()));
        let lines = log.clone();
        let (host, data) = host_with(|config| {
            config.development = true;
            config.log = LogSink::new(move |record| lines.lock().unwrap().push(record.to_string()));
        });
        (host, data, log)
    };
    let events = host.subscribe();
    // It never connects, so only the signal can reach it; `sleep` ends by it.
    let script = "#!/bin/sh\nexec sleep 30\n";
    let archive = common::script_archive(script);
    smol::block_on(host.install(&archive)).unwrap();
    until(&events, |event| {
        matches!(
            event,
            HostEvent::State {
                state: ContainerState::Launching,
                ..
            }
        )
    });
    let began = Instant::now();
    smol::block_on(host.shutdown());
    assert!(began.elapsed() < GRACE, "took {:?}", began.elapsed());
    assert_not_killed(&log);
    let stop = host
        .plugin("com.example.script")
        .unwrap()
        .last_stop
        .unwrap();
    assert_eq!(stop.ending.signal, Some(15), "{stop:?}");
    assert!(
        stop.ending
            .how
            .starts_with("stopped by the host; it ended: "),
        "{stop:?}"
    );
}
