//! `logi-plugin serve` (or anything that prints JSON lines, as `serve --json` does) as a real
//! process, for the tests that need one.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// The `logi-plugin` executable this package builds.
pub const LOGI_PLUGIN: &str = env!("CARGO_BIN_EXE_logi-plugin");

/// A daemon, asked to stop (SIGTERM: it stops its plugins) and reaped when dropped, even by a
/// failing test.
pub struct Daemon {
    pub child: Child,
}

impl Daemon {
    /// Spawns `command` with its stdout piped; every JSON line it prints arrives on the
    /// receiver as it is printed (a line that is not JSON as `null`).
    pub fn spawn(command: &mut Command) -> (Daemon, mpsc::Receiver<Value>) {
        let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                let _ = sender.send(serde_json::from_str(&line).unwrap_or_default());
            }
        });
        (Daemon { child }, lines)
    }

    /// [`spawn`](Self::spawn), once it has printed its first line (at most 10 s): that line
    /// says where it serves. What it prints after is dropped.
    pub fn start(command: &mut Command) -> (Daemon, Value) {
        let (daemon, lines) = Daemon::spawn(command);
        let first = lines
            .recv_timeout(Duration::from_secs(10))
            .expect("the daemon printed nothing within 10 s");
        std::thread::spawn(move || lines.into_iter().for_each(drop));
        (daemon, first)
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let pid = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let _ = self.child.wait();
    }
}

/// A daemon in development mode (the test package is unsigned) on `data` and `socket`.
pub fn daemon(data: &Path, socket: &Path) -> Daemon {
    daemon_with(data, socket, &[]).0
}

/// [`daemon`] with more of `serve`'s options (`--websocket 127.0.0.1:0`), and the line saying
/// where it serves.
pub fn daemon_with(data: &Path, socket: &Path, args: &[&str]) -> (Daemon, Value) {
    let (daemon, first) = Daemon::start(
        Command::new(LOGI_PLUGIN)
            .args(["--json", "serve", "--development", "--data-dir"])
            .arg(data)
            .arg("--endpoint")
            .arg(socket)
            .args(args),
    );
    assert_eq!(first["serving"], socket.to_str().unwrap());
    (daemon, first)
}

/// Installs `archive` with the tool and waits until its plugin `plugin_id`, a child process of
/// the daemon, has said hello; the plugins then listed.
pub fn install_connected(socket: &Path, archive: &Path, plugin_id: &str) -> Vec<Value> {
    let installed = lines(&tool(socket, &["install", archive.to_str().unwrap()]));
    assert_eq!(installed[0]["plugin_id"], plugin_id);
    until_connected(socket, plugin_id)
}

/// Waits (at most 10 s) until the plugin `plugin_id` of the daemon on `socket` has said hello;
/// the plugins then listed.
pub fn until_connected(socket: &Path, plugin_id: &str) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let listed = lines(&tool(socket, &["list"]));
        let connected = |p: &Value| p["plugin_id"] == plugin_id && p["connected"] == true;
        if listed.iter().any(connected) || std::time::Instant::now() > deadline {
            return listed;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs `logi-plugin --json <args> --endpoint <socket>`.
pub fn tool(socket: &Path, args: &[&str]) -> Output {
    Command::new(LOGI_PLUGIN)
        .arg("--json")
        .args(args)
        .arg("--endpoint")
        .arg(socket)
        .output()
        .unwrap()
}

/// The JSON lines a successful run printed.
pub fn lines(output: &Output) -> Vec<Value> {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}
