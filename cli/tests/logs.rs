//! `logi-plugin logs` against a running `logi-plugin serve`, as real processes: a plugin's
//! recent log lines, and `--follow` printing the new ones until Ctrl-C or the daemon goes.

#![cfg(unix)]

mod common;

use std::path::Path;
use std::process::{Command, ExitStatus};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::daemon::{Daemon, LOGI_PLUGIN, daemon, lines, tool};
use common::script_package;
use serde_json::Value;

const SCRIPT: &str = "com.example.script";

/// A daemon on a fresh folder with a script plugin installed whose program writes `starting
/// up` to stderr, then, once the file `go` appears in the folder, `asked to go on`. The folder
/// (with the daemon's socket in it) and the daemon.
fn daemon_with_script() -> (tempfile::TempDir, Daemon) {
    let folder = tempfile::tempdir().unwrap();
    let go = folder.path().join("go");
    let script = format!(
        "#!/bin/sh\necho 'starting up' >&2\nwhile [ ! -e '{}' ]; do sleep 0.05; done\n\
         echo 'asked to go on' >&2\nexec sleep 30\n",
        go.display()
    );
    let archive = folder.path().join("script.zip");
    std::fs::write(&archive, script_package(&script).to_zip().unwrap()).unwrap();
    let socket = folder.path().join("manager.sock");
    let daemon = daemon(&folder.path().join("data"), &socket);
    lines(&tool(&socket, &["install", archive.to_str().unwrap()]));
    (folder, daemon)
}

/// `logi-plugin --json logs <plugin> --follow`, its JSON lines arriving as it prints them.
fn follow(socket: &Path, plugin_id: &str) -> (Daemon, mpsc::Receiver<Value>) {
    Daemon::spawn(
        Command::new(LOGI_PLUGIN)
            .args(["--json", "logs", plugin_id, "--follow", "--endpoint"])
            .arg(socket),
    )
}

/// The first line `lines` brings whose message is `message` (at most 10 s).
fn until_message(lines: &mpsc::Receiver<Value>, message: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line["message"] == message => return line,
            Ok(_) => {}
            Err(_) => panic!("no line {message:?} within 10 s"),
        }
    }
}

/// How `process` ended (at most 10 s).
fn ended(process: &mut Daemon) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = process.child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "still running after 10 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn logs_prints_the_recent_lines_of_a_plugin_with_their_time_level_and_source() {
    let (folder, _daemon) = daemon_with_script();
    let socket = folder.path().join("manager.sock");
    // Its program runs in the daemon: wait until its first line is in.
    let deadline = Instant::now() + Duration::from_secs(10);
    let line = loop {
        let printed = lines(&tool(&socket, &["logs", SCRIPT]));
        if let Some(line) = printed.iter().find(|line| line["message"] == "starting up") {
            break line.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no stderr line within 10 s: {printed:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        (&line["plugin_id"], &line["level"], &line["source"]),
        (
            &Value::from(SCRIPT),
            &Value::from("INFO"),
            &Value::from("stderr")
        )
    );
    let time = line["time"].as_str().unwrap();
    assert!(time.len() == 24 && time.ends_with('Z'), "{time}");

    let text = Command::new(LOGI_PLUGIN)
        .args(["logs", SCRIPT, "--color", "never", "--endpoint"])
        .arg(&socket)
        .output()
        .unwrap();
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.lines().any(|line| line.starts_with(time)
            && line.contains(" INFO ")
            && line.contains(" stderr ")
            && line.ends_with(" starting up")),
        "{text}"
    );
}

#[test]
fn logs_follow_prints_a_line_logged_after_it_started_and_ends_on_ctrl_c() {
    let (folder, _daemon) = daemon_with_script();
    let socket = folder.path().join("manager.sock");
    let (mut follower, printed) = follow(&socket, SCRIPT);
    // Recent or new, the first line comes; the next is logged only once it has.
    let first = until_message(&printed, "starting up");
    std::fs::write(folder.path().join("go"), "").unwrap();
    let next = until_message(&printed, "asked to go on");
    assert!(
        next["seq"].as_u64() > first["seq"].as_u64(),
        "{first} then {next}"
    );
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&follower.child),
        rustix::process::Signal::INT,
    )
    .unwrap();
    assert!(ended(&mut follower).success());
}

#[test]
fn logs_follow_ends_when_the_daemon_goes() {
    let (folder, daemon) = daemon_with_script();
    let socket = folder.path().join("manager.sock");
    let (mut follower, printed) = follow(&socket, SCRIPT);
    until_message(&printed, "starting up");
    drop(daemon);
    assert!(ended(&mut follower).success());
}

#[test]
fn logs_of_a_plugin_the_daemon_does_not_have_fails_naming_it() {
    let folder = tempfile::tempdir().unwrap();
    let socket = folder.path().join("manager.sock");
    let _daemon = daemon(&folder.path().join("data"), &socket);
    for follow in [false, true] {
        let mut args = vec!["logs", "com.example.nobody"];
        if follow {
            args.push("--follow");
        }
        let output = tool(&socket, &args);
        assert_eq!(output.status.code(), Some(1));
        let said = String::from_utf8_lossy(&output.stdout);
        assert!(
            said.contains("NOT_FOUND") && said.contains("com.example.nobody"),
            "{said}"
        );
    }
}
