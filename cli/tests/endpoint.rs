//! The host's local endpoint against another local user and against exhaustion, with real
//! processes: a `logi-plugin serve` run as uid 65534 (nobody) squatting the socket path, a
//! regular file at the path, and a daemon run out of file descriptors.
//!
//! The tests that start a process as another user need root; without it they say so and
//! pass.
#![cfg(target_os = "linux")]

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::daemon::{Daemon, LOGI_PLUGIN};
use logi_plugin_transports::local::{LocalError, LocalListener, connect_local};

/// The other user: `nobody`.
const NOBODY: u32 = 65534;

/// Whether this process may start one as [`NOBODY`]; when it may not, says that `test` is
/// skipped.
fn may_run_as_nobody(test: &str) -> bool {
    let root = rustix::process::geteuid().is_root();
    if !root {
        println!("skipping {test}: only root can start a process as uid {NOBODY}");
    }
    root
}

/// A [`Squatter`] for `test`, or `None` (said) when this process may not start one.
fn squatter_for(test: &str) -> Option<Squatter> {
    may_run_as_nobody(test).then(Squatter::start)
}

/// A `logi-plugin serve` running as [`NOBODY`] on a socket in a folder of its own, recording its
/// sessions; stopped when dropped.
struct Squatter {
    daemon: Daemon,
    dir: tempfile::TempDir,
}

impl Squatter {
    fn start() -> Squatter {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::chown(dir.path(), Some(NOBODY), Some(NOBODY)).unwrap();
        let (daemon, first) = Daemon::start(
            Command::new(nobodys_copy(dir.path()))
                .uid(NOBODY)
                .gid(NOBODY)
                .args(["--json", "serve", "--data-dir"])
                .arg(dir.path().join("data"))
                .arg("--endpoint")
                .arg(dir.path().join("agent.sock"))
                .arg("--record")
                .arg(dir.path().join("sessions"))
                .stderr(Stdio::null()),
        );
        assert!(first["serving"].is_string(), "the squatter: {first}");
        Squatter { daemon, dir }
    }

    fn endpoint(&self) -> PathBuf {
        self.dir.path().join("agent.sock")
    }

    fn pid(&self) -> u32 {
        self.daemon.id()
    }

    /// The sessions it recorded, as bytes.
    fn sessions(&self) -> Vec<Vec<u8>> {
        let Ok(entries) = std::fs::read_dir(self.dir.path().join("sessions")) else {
            return Vec::new();
        };
        entries
            .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
            .collect()
    }
}

/// Runs `command` to its end, at most 20 s (a daemon that should have refused to start is
/// killed, and the test fails).
fn finished(command: &mut Command) -> Output {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = rustix::process::Pid::from_child(&child);
    let (done, waited) = mpsc::channel();
    std::thread::spawn(move || done.send(child.wait_with_output().unwrap()));
    waited
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            panic!("{command:?} was still running after 20 s");
        })
}

/// What a run printed, both streams.
fn printed(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

/// `logi-plugin list` against the manager on `endpoint`, run to its end.
fn list(endpoint: &Path) -> Output {
    finished(
        Command::new(LOGI_PLUGIN)
            .args(["list", "--endpoint"])
            .arg(endpoint),
    )
}

/// A copy of `logi-plugin` in `dir` (a folder of [`NOBODY`]'s), which nobody may run: the
/// build's own may lie in a folder only its owner can enter (a fresh clone in a private
/// temporary folder, say). `cp` writes it, not this process: a copy written here would be held
/// open for writing by any child another test's thread forks meanwhile, and running it could
/// fail "text file busy".
fn nobodys_copy(dir: &Path) -> PathBuf {
    let copy = dir.join("logi-plugin");
    let copied = Command::new("cp")
        .arg(LOGI_PLUGIN)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(copied.success(), "cp {LOGI_PLUGIN} {}", copy.display());
    let runnable = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(&copy, runnable).unwrap();
    copy
}

/// `logi-plugin serve` on `endpoint` with a fresh data directory in `dir`.
fn serve(dir: &Path, endpoint: &Path) -> Command {
    serve_with(Path::new(LOGI_PLUGIN), dir, endpoint)
}

/// [`serve`], running `program`.
fn serve_with(program: &Path, dir: &Path, endpoint: &Path) -> Command {
    let mut command = Command::new(program);
    command
        .args(["serve", "--data-dir"])
        .arg(dir.join("data"))
        .arg("--endpoint")
        .arg(endpoint);
    command
}

#[test]
fn connecting_to_a_socket_another_user_serves_is_refused_naming_its_uid() {
    let Some(squatter) =
        squatter_for("connecting_to_a_socket_another_user_serves_is_refused_naming_its_uid")
    else {
        return;
    };

    let refused = smol::block_on(connect_local(squatter.endpoint()));

    let error = refused.expect_err("connected to another user's socket");
    let LocalError::NotOwner { owner, ours, .. } = &error else {
        panic!("expected NotOwner, got {error:?}");
    };
    assert_eq!(owner.uid, NOBODY);
    assert_eq!(owner.pid, Some(squatter.pid()));
    assert_eq!(*ours, 0);
    let message = error.to_string();
    assert!(message.contains(&format!("uid {NOBODY}")), "{message}");
    assert!(
        message.contains(&format!("process {}", squatter.pid())),
        "{message}"
    );
    assert!(
        message.contains(&squatter.endpoint().display().to_string()),
        "{message}"
    );
}

#[test]
fn the_cli_refuses_another_users_manager_and_sends_it_no_hello() {
    let Some(squatter) =
        squatter_for("the_cli_refuses_another_users_manager_and_sends_it_no_hello")
    else {
        return;
    };

    let output = list(&squatter.endpoint());

    let printed = printed(&output);
    assert!(!output.status.success(), "{printed}");
    assert!(printed.contains(&format!("uid {NOBODY}")), "{printed}");
    let sessions = squatter.sessions();
    assert!(
        sessions.len() <= 1,
        "the tool connected {} times",
        sessions.len()
    );
    let hello = b"ClientHello";
    assert!(
        !sessions
            .iter()
            .any(|session| session.windows(hello.len()).any(|w| w == hello)),
        "the squatter received the tool's hello"
    );
}

#[test]
fn serving_on_an_endpoint_another_user_holds_fails_saying_who_holds_it() {
    let Some(squatter) =
        squatter_for("serving_on_an_endpoint_another_user_holds_fails_saying_who_holds_it")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();

    let output = finished(&mut serve(dir.path(), &squatter.endpoint()));

    let printed = printed(&output);
    assert!(!output.status.success(), "{printed}");
    assert!(printed.contains(&format!("uid {NOBODY}")), "{printed}");
    assert!(
        printed.contains(&format!("process {}", squatter.pid())),
        "{printed}"
    );
}

#[test]
fn serving_as_another_user_on_a_socket_it_may_not_reach_names_the_files_owner() {
    if !may_run_as_nobody(
        "serving_as_another_user_on_a_socket_it_may_not_reach_names_the_files_owner",
    ) {
        return;
    }
    // A manager of root's on a socket nobody may connect to (mode 0600), in a folder nobody
    // may look into but not write.
    let root = tempfile::tempdir().unwrap();
    let permissions = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(root.path(), permissions).unwrap();
    let endpoint = root.path().join("agent.sock");
    let _manager = LocalListener::bind(&endpoint).unwrap();
    let theirs = tempfile::tempdir().unwrap();
    std::os::unix::fs::chown(theirs.path(), Some(NOBODY), Some(NOBODY)).unwrap();

    let program = nobodys_copy(theirs.path());
    let output = finished(
        serve_with(&program, theirs.path(), &endpoint)
            .uid(NOBODY)
            .gid(NOBODY),
    );

    let printed = printed(&output);
    assert!(!output.status.success(), "{printed}");
    assert!(
        printed.contains("held by uid 0 (the socket file's owner)"),
        "{printed}"
    );
    assert!(endpoint.exists());
}

#[test]
fn serving_on_a_regular_file_fails_naming_it_and_leaves_it_alone() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = dir.path().join("notes.txt");
    std::fs::write(&endpoint, "someone's notes\n").unwrap();

    let output = finished(&mut serve(dir.path(), &endpoint));

    let printed = printed(&output);
    assert!(!output.status.success(), "{printed}");
    assert!(
        printed.contains(&endpoint.display().to_string()) && printed.contains("a regular file"),
        "{printed}"
    );
    assert_eq!(
        std::fs::read_to_string(&endpoint).unwrap(),
        "someone's notes\n"
    );
}

/// The most idle connections thrown at the daemon: far past the descriptors it is left.
const FLOOD: usize = 200;

/// Descriptors the daemon may open beyond those it holds once serving.
const SPARE_DESCRIPTORS: u64 = 8;

#[test]
fn the_plugin_listener_keeps_serving_after_running_out_of_descriptors() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = dir.path().join("agent.sock");
    let (mut daemon, lines) = Daemon::spawn(
        serve(dir.path(), &endpoint)
            .args(["--json", "--websocket", "127.0.0.1:0"])
            .stderr(Stdio::piped()),
    );
    let log = log_lines(&mut daemon.child);
    let first = lines.recv_timeout(Duration::from_secs(10)).unwrap();
    let websocket: std::net::SocketAddr = first["websocket"].as_str().unwrap().parse().unwrap();
    let pid = rustix::process::Pid::from_child(&daemon.child);
    let open = std::fs::read_dir(format!("/proc/{}/fd", daemon.id()))
        .unwrap()
        .count() as u64;
    let limit = open + SPARE_DESCRIPTORS;
    let lowered = rustix::process::Rlimit {
        current: Some(limit),
        maximum: Some(limit),
    };
    rustix::process::prlimit(Some(pid), rustix::process::Resource::Nofile, lowered).unwrap();

    // Idle connections to the plugin WebSocket until the daemon's accept fails.
    let mut flood = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|line: &String| line.contains("os error 24"))
    {
        assert!(
            Instant::now() < deadline && flood.len() < FLOOD,
            "the daemon never ran out of descriptors: {seen:?}"
        );
        flood.push(TcpStream::connect(websocket).unwrap());
        std::thread::sleep(Duration::from_millis(5));
        seen.extend(log.try_iter());
    }
    drop(flood);

    // A client of the local socket is served again, and the WebSocket port still upgrades.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let listed = list(&endpoint);
        if listed.status.success() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the local socket is no longer served: {}\nthe daemon's log: {seen:?}",
            printed(&listed)
        );
    }
    assert!(endpoint.exists());
    let url = format!("ws://{websocket}");
    let format = logi_plugin_core::session::Format::Binary;
    smol::block_on(logi_plugin_transports::ws::connect_ws(&url, format))
        .expect("the WebSocket port no longer upgrades");
    drop(daemon);
    seen.extend(log.iter());
    // One line when a run of failures starts, one when it ends, naming how many it held.
    let started = seen
        .iter()
        .filter(|line| line.contains("os error 24"))
        .count();
    let ended: Vec<u64> = seen
        .iter()
        .filter_map(|line| {
            let (_, after) = line.split_once("accepting plugins again after ")?;
            after.split_whitespace().next()?.parse().ok()
        })
        .collect();
    assert_eq!(started, ended.len(), "{seen:?}");
    assert!(ended.iter().any(|&failures| failures > 1), "{seen:?}");
}

/// The daemon's stderr, line by line, as it comes.
fn log_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    lines
}
