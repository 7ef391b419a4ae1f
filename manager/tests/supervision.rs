//! Supervision with diagnostics, with real child processes: a plugin that crashes again and
//! again is quarantined instead of restarted for ever, and every stop keeps its reason (exit
//! code or signal, how far the handshake got, the last message, the last log lines), readable
//! through the embedding API, the client library and `logi-plugin status`. Before every launch
//! the program's files are checked against their signed listing; a program must say hello
//! within its deadline; what it writes to stderr reaches the log within limits.
#![cfg(unix)]

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{crashing, host_with, media_host, script_package, until, until_state};
use logi_example_media::PLUGIN_ID;
use logi_plugin_core::proto::manager::ContainerState;
use logi_plugin_core::proto::plugin::log_event::LogLevel;
use logi_plugin_manager::{Host, HostEvent, LogSink, PluginInfo, Stage, StopReport};
use logi_plugin_package::signature::SecretKey;

/// Why the script plugin's last run ended.
fn last_stop(host: &Host) -> StopReport {
    host.plugin("com.example.script")
        .unwrap()
        .last_stop
        .expect("a run has ended")
}

/// Asserts that `stop` kept a log line that ends with `line`.
fn assert_kept(stop: &StopReport, line: &str) {
    assert!(
        stop.last_log.iter().any(|kept| kept.ends_with(line)),
        "no {line:?} in {:?}",
        stop.last_log
    );
}

#[test]
fn a_plugin_crashing_in_a_loop_is_quarantined_with_its_exit_code_and_stderr() {
    let (host, _data, events) = crashing("#!/bin/sh\necho 'cannot open the device' >&2\nexit 3\n");
    until(
        &events,
        |event| matches!(event, HostEvent::Log { message, .. } if message.starts_with("quarantined")),
    );
    until_state(&events, "com.example.script", ContainerState::Stopped);
    let script = host.plugin("com.example.script").unwrap();
    assert_eq!(script.state, ContainerState::Stopped);
    let problem = script.problem.unwrap();
    assert!(problem.contains("quarantined after 3 crashes"), "{problem}");
    let stop = script.last_stop.unwrap();
    assert!(stop.quarantined);
    assert_eq!(stop.ending.exit_code, Some(3));
    assert_eq!(stop.stage, Stage::Launched);
    assert_kept(&stop, "stderr: cannot open the device");
    // That it is not launched again is the supervision's decision, checked on a fake clock
    // (`a_quarantined_supervision_is_over_and_hears_nothing_more` in host/supervision.rs).
}

#[test]
fn a_plugin_killed_by_a_signal_reports_the_signal() {
    let (host, _data, events) = crashing("#!/bin/sh\nkill -9 $$\n");
    until_state(&events, "com.example.script", ContainerState::Crashed);
    let stop = last_stop(&host);
    assert_eq!(stop.ending.signal, Some(9));
    assert_eq!(stop.ending.exit_code, None);
    assert!(!stop.quarantined);
}

#[test]
fn a_stop_by_the_host_keeps_the_last_message_and_the_stage_reached() {
    let (host, _data) = media_host(|_| {});
    // A press makes the media plugin store its settings (a `Settings` request) before it
    // answers: its last message.
    smol::block_on(host.trigger(PLUGIN_ID, "toggle_mute", "key")).unwrap();
    assert!(host.settings().get(PLUGIN_ID, "plugin").unwrap().is_some());
    smol::block_on(host.shutdown());
    let stop = host.plugin(PLUGIN_ID).unwrap().last_stop.unwrap();
    // Asked to stop, the CORE plugin's client ended its event stream, and its task returned.
    assert_eq!(stop.ending.how, "stopped by the host; it ended on its own");
    assert_eq!(stop.stage, Stage::Connected);
    assert_eq!(
        stop.last_message.as_deref(),
        Some("logi.plugin.protocol.Settings")
    );
}

/// A host that trusts packages signed with `key`, in development mode or not, and quarantines
/// after 3 crashes in a row; the host's events from before the install of `script`, signed with
/// `key`.
fn signed_crashing(
    key: &SecretKey,
    development: bool,
    script: &str,
) -> (Host, tempfile::TempDir, async_channel::Receiver<HostEvent>) {
    let (host, data) = host_with(|config| {
        config.trust.add(key.public_key(), "Tests");
        config.development = development;
        config.crash_loop_limit = 3;
        // What replaces the program never says hello: the shutdown need not give it 2 s.
        config.stop_grace = Duration::from_millis(100);
    });
    let events = host.subscribe();
    let mut package = script_package(script);
    package.sign("Tests", key);
    smol::block_on(host.install(&package.to_zip().unwrap())).unwrap();
    (host, data, events)
}

/// A program that replaces itself on disk with one that would touch `marker`, then crashes.
fn replacing_itself(marker: &Path) -> String {
    format!(
        "#!/bin/sh\nprintf '#!/bin/sh\\ntouch {}\\nexec sleep 30\\n' > run.new\nchmod +x run.new\n\
         mv run.new run.sh\nexit 1\n",
        marker.display()
    )
}

/// Waits until `plugin_id` is listed `STOPPED`, failing at once if `marker` appears first.
fn until_stopped_unless(host: &Host, plugin_id: &str, marker: &Path) -> PluginInfo {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(!marker.exists(), "the program replaced on disk was run");
        let info = host.plugin(plugin_id).unwrap();
        if info.state == ContainerState::Stopped {
            return info;
        }
        assert!(
            Instant::now() < deadline,
            "still {:?} after 10 s",
            info.state
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_program_replaced_on_disk_is_not_run_when_the_plugin_is_restarted_after_a_crash() {
    let key = SecretKey::generate().unwrap();
    let marks = tempfile::tempdir().unwrap();
    let marker = marks.path().join("replacement-ran");
    let (host, _data, _events) = signed_crashing(&key, false, &replacing_itself(&marker));
    let info = until_stopped_unless(&host, "com.example.script", &marker);
    let problem = info.problem.unwrap_or_default();
    assert!(
        problem.contains("run.sh was changed or removed since it was installed"),
        "{problem}"
    );
    // The crash before the refusal is still the last stop.
    assert_eq!(info.last_stop.unwrap().ending.exit_code, Some(1));
    std::thread::sleep(Duration::from_millis(200));
    assert!(!marker.exists(), "the program replaced on disk was run");
    smol::block_on(host.shutdown());
}

#[test]
fn in_development_mode_a_program_changed_after_a_crash_is_run_with_a_warning() {
    let marks = tempfile::tempdir().unwrap();
    let marker = marks.path().join("replacement-ran");
    let key = SecretKey::generate().unwrap();
    let (host, _data, events) = signed_crashing(&key, true, &replacing_itself(&marker));
    until(&events, |event| {
        matches!(event, HostEvent::Log { level: LogLevel::Warning, message, .. }
            if message.contains("launched in development mode: run.sh was changed"))
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "the changed program never ran");
        std::thread::sleep(Duration::from_millis(10));
    }
    smol::block_on(host.shutdown());
}

#[test]
fn a_program_that_never_says_hello_is_killed_at_the_deadline_and_counted_as_a_crash() {
    let (host, data) = host_with(|config| {
        config.development = true;
        config.crash_loop_limit = 2;
        config.hello_timeout = Duration::from_millis(300);
    });
    let events = host.subscribe();
    let pids = data.path().join("pids");
    let script = format!("#!/bin/sh\necho $$ >> {}\nexec sleep 30\n", pids.display());
    smol::block_on(host.install(&script_package(&script).to_zip().unwrap())).unwrap();
    until_state(&events, "com.example.script", ContainerState::Crashed);
    let stop = last_stop(&host);
    assert_eq!(stop.stage, Stage::Launched);
    assert!(
        stop.ending.how.contains("said no hello within 300ms"),
        "{}",
        stop.ending.how
    );
    // Restarted, and quarantined like any program that keeps failing to start.
    until(
        &events,
        |event| matches!(event, HostEvent::Log { message, .. } if message.starts_with("quarantined after 2")),
    );
    for pid in std::fs::read_to_string(&pids).unwrap().lines() {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "program {pid} still runs"
        );
    }
    smol::block_on(host.shutdown());
}

#[test]
fn a_stderr_flood_is_logged_within_limits_and_its_last_lines_kept_for_the_stop_report() {
    let logged = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = logged.clone();
    let (host, _data) = host_with(|config| {
        config.development = true;
        config.log = LogSink::new(move |record| {
            if record.plugin_id == Some("com.example.script") {
                sink.lock().unwrap().push(record.message.to_string());
            }
        });
    });
    let events = host.subscribe();
    // About 100 MB in lines, then a last word, then a clean exit.
    let script = "#!/bin/sh\nyes 'a line of stderr, again and again' | head -c 100000000 >&2\n\
                  printf '\\nthe last words\\n' >&2\nexit 0\n";
    smol::block_on(host.install(&script_package(script).to_zip().unwrap())).unwrap();
    until_state(&events, "com.example.script", ContainerState::Stopped);
    let logged = logged.lock().unwrap().clone();
    let stderr = logged
        .iter()
        .filter(|line| line.starts_with("stderr: "))
        .count();
    assert!(stderr < 1000, "{stderr} stderr lines logged");
    assert!(
        logged.iter().any(|line| line.contains("lines dropped")),
        "no note of the dropped lines in {:?}",
        &logged[logged.len().saturating_sub(5)..]
    );
    let stop = last_stop(&host);
    assert_kept(&stop, "stderr: the last words");
    smol::block_on(host.shutdown());
}

#[test]
fn a_program_that_cannot_be_started_is_reported_with_its_path() {
    let (host, data, events) = crashing("#!/no/such/interpreter\n");
    until_state(&events, "com.example.script", ContainerState::Crashed);
    let stop = last_stop(&host);
    let program = data.path().join("plugins/com.example.script/run.sh");
    assert!(
        stop.ending.how.contains(&program.display().to_string()),
        "{}",
        stop.ending.how
    );
    assert_eq!(stop.stage, Stage::NotStarted);
    smol::block_on(host.shutdown());
}
