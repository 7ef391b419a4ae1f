//! `logi-plugin dev`: a plugin made by `logi-plugin new`, linked into a running daemon, rebuilt
//! and reloaded when its source changes, kept running when a change does not build, its log
//! streamed, and unlinked by Ctrl-C; a TypeScript plugin built by npm the same way.

#![cfg(unix)]

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::daemon::{Daemon, LOGI_PLUGIN, daemon, lines, tool};
use common::npm;
use serde_json::Value;

const PLUGIN_ID: &str = "com.example.dev";

/// The next line `wanted` accepts, within `wait`; the lines passed over are returned too.
fn until(printed: &Receiver<Value>, wait: Duration, wanted: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + wait;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match printed.recv_timeout(left) {
            Ok(line) if wanted(&line) => return line,
            Ok(line) => seen.push(line),
            Err(_) => panic!("nothing wanted within {wait:?}; printed: {seen:#?}"),
        }
    }
}

/// What the key shows after a press through the daemon.
fn press(socket: &Path) -> String {
    let output = tool(socket, &["invoke", PLUGIN_ID, "press"]);
    lines(&output)[0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// `logi-plugin --json dev PROJECT` against the daemon at `socket`, run by `command`: the
/// process, its JSON lines, and what it wrote to stderr so far (the build's output).
fn start_dev(
    mut command: Command,
    project: &Path,
    socket: &Path,
) -> (Daemon, Receiver<Value>, Arc<Mutex<String>>) {
    command
        .args(["--json", "dev"])
        .arg(project)
        .arg("--endpoint")
        .arg(socket)
        .stderr(Stdio::piped());
    let (mut dev, printed) = Daemon::spawn(&mut command);
    let stderr = Arc::new(Mutex::new(String::new()));
    let mut pipe = dev.child.stderr.take().unwrap();
    let copied = stderr.clone();
    std::thread::spawn(move || {
        let mut buffer = [0; 4096];
        while let Ok(read @ 1..) = pipe.read(&mut buffer) {
            let text = String::from_utf8_lossy(&buffer[..read]);
            copied.lock().unwrap().push_str(&text);
        }
    });
    (dev, printed, stderr)
}

/// Ctrl-C to `dev`: it unlinks the plugin, exits 0, and the folder stays.
fn interrupt(mut dev: Daemon, printed: &Receiver<Value>, socket: &Path, project: &Path) {
    let pid = rustix::process::Pid::from_child(&dev.child);
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    until(printed, Duration::from_secs(30), |line| {
        line["unlinked"] == PLUGIN_ID
    });
    assert!(dev.child.wait().unwrap().success());
    let listed = lines(&tool(socket, &["list"]));
    assert!(
        listed.iter().all(|plugin| plugin["plugin_id"] != PLUGIN_ID),
        "{listed:?}"
    );
    assert!(project.join("package/manifest.json").is_file());
}

#[test]
fn dev_reloads_a_changed_plugin_keeps_a_broken_change_out_and_unlinks_on_ctrl_c() {
    let work = tempfile::tempdir().unwrap();
    let (data, socket) = (work.path().join("data"), work.path().join("manager.sock"));
    let project = work.path().join("hello");
    let made = Command::new(LOGI_PLUGIN)
        .args(["new", PLUGIN_ID, "--dir"])
        .arg(&project)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    // The workspace's versions of every crate, built once for the generated projects' tests.
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    std::fs::copy(workspace.join("Cargo.lock"), project.join("Cargo.lock")).unwrap();
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("new-plugin");
    let _daemon = daemon(&data, &socket);

    let mut command = Command::new(LOGI_PLUGIN);
    command
        .env("CARGO_TARGET_DIR", &target)
        .env("CARGO_NET_OFFLINE", "true");
    let (dev, printed, stderr) = start_dev(command, &project, &socket);

    // The first build may compile the SDK: minutes on a cold cache.
    let linked = until(&printed, Duration::from_secs(900), |line| {
        line["linked"].is_string()
    });
    assert_eq!(linked["linked"], PLUGIN_ID);
    assert_eq!(linked["folder"], project.join("package").to_str().unwrap());
    assert_eq!(press(&socket), "1");
    // Its log comes to the terminal.
    until(&printed, Duration::from_secs(10), |line| {
        line["message"] == "pressed 1 times"
    });

    // A change is rebuilt and reloaded; the count is kept in its settings.
    let main = project.join("src/main.rs");
    let source = std::fs::read_to_string(&main).unwrap();
    let changed = source.replace(
        "Status::text(cx.settings.presses.to_string())",
        "Status::text(format!(\"pressed {}\", cx.settings.presses))",
    );
    assert_ne!(
        changed, source,
        "the generated plugin changed: update this test"
    );
    std::fs::write(&main, &changed).unwrap();
    until(&printed, Duration::from_secs(300), |line| {
        line["reloaded"].is_string()
    });
    assert_eq!(press(&socket), "pressed 2");

    // A change that does not build keeps the last good version answering.
    std::fs::write(&main, format!("{changed}\nfn broken( {{\n")).unwrap();
    let failed = until(&printed, Duration::from_secs(300), |line| {
        line["ok"] == false
    });
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains("the last good version keeps running"),
        "{error}"
    );
    assert!(
        stderr.lock().unwrap().contains("error"),
        "the compiler's errors are not shown: {}",
        stderr.lock().unwrap()
    );
    assert_eq!(press(&socket), "pressed 3");

    // Ctrl-C unlinks it and leaves its folder.
    interrupt(dev, &printed, &socket, &project);
}

#[test]
fn dev_builds_a_typescript_plugin_with_npm_and_reloads_it_without_taking_its_output_for_a_change() {
    if !npm::present("`dev` on a TypeScript plugin") {
        return;
    }
    let sdk_js = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk-js");
    npm::ci(&sdk_js);
    npm::run(&sdk_js, &["run", "build"]);
    let work = tempfile::tempdir().unwrap();
    let (data, socket) = (work.path().join("data"), work.path().join("manager.sock"));
    let project = work.path().join("hello");
    let made = Command::new(LOGI_PLUGIN)
        .args(["new", PLUGIN_ID, "--lang", "ts", "--dir"])
        .arg(&project)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    npm::run(&project, &["install", "--no-audit", "--no-fund"]);
    let _daemon = daemon(&data, &socket);
    let (dev, printed, stderr) = start_dev(Command::new(LOGI_PLUGIN), &project, &socket);

    let linked = until(&printed, Duration::from_secs(120), |line| {
        line["linked"].is_string()
    });
    assert_eq!(linked["folder"], project.join("package").to_str().unwrap());
    assert_eq!(press(&socket), "1");

    let source = project.join("src/plugin.ts");
    let text = std::fs::read_to_string(&source).unwrap();
    let changed = text.replace(
        "Status.text(String(cx.settings.presses))",
        "Status.text(`pressed ${cx.settings.presses}`)",
    );
    assert_ne!(
        changed, text,
        "the generated plugin changed: update this test"
    );
    std::fs::write(&source, changed).unwrap();
    until(&printed, Duration::from_secs(120), |line| {
        line["reloaded"].is_string()
    });
    assert_eq!(press(&socket), "pressed 2");
    // The build wrote dist/ and the bundle beside the launcher: not a change to rebuild for.
    // (A rebuild would start within a poll and the quiet time; npm prints each build's script.)
    std::thread::sleep(Duration::from_secs(3));
    let builds = stderr.lock().unwrap().matches("> tsc").count();
    assert_eq!(builds, 2, "{}", stderr.lock().unwrap());
    interrupt(dev, &printed, &socket, &project);
}
