//! What a plugin's program starts ends with it, even what left its process group: a grandchild
//! that called `setsid()`, or one double-forked away from the program, is gone once the plugin
//! is uninstalled, the host shuts down, or the program ends on its own (Linux, where the host
//! is a child subreaper and finds a plugin's descendants in `/proc`).
#![cfg(target_os = "linux")]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{host_with, script_package, until_state};
use logi_plugin_core::proto::manager::ContainerState;
use logi_plugin_manager::Host;

/// Sleeps started by a plugin, each leaving its pid in a file of `dir`; whatever still runs
/// when the test ends is killed, so that a failing test leaves nothing behind.
struct Sleepers {
    dir: tempfile::TempDir,
}

impl Sleepers {
    fn new() -> Sleepers {
        Sleepers {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn pid_file(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.pid"))
    }

    /// A plugin program that starts `setsid sleep 1000 &` and a double-forked
    /// `(setsid sleep 1000 &)`, then `ends` (`exec sleep 1000`, or `exit 0`).
    fn script(&self, ends: &str) -> String {
        format!(
            "#!/bin/sh\n\
             setsid sh -c 'echo $$ > {setsid}; exec sleep 1000' &\n\
             (setsid sh -c 'echo $$ > {double}; exec sleep 1000' &)\n\
             while [ ! -s {setsid} ] || [ ! -s {double} ]; do sleep 0.01; done\n\
             {ends}\n",
            setsid = self.pid_file("setsid").display(),
            double = self.pid_file("double").display(),
        )
    }

    /// The sleeps' pids, once both have written them.
    fn pids(&self) -> Vec<u32> {
        ["setsid", "double"]
            .iter()
            .map(|name| {
                let path = self.pid_file(name);
                let deadline = Instant::now() + Duration::from_secs(10);
                loop {
                    if let Ok(text) = std::fs::read_to_string(&path)
                        && let Ok(pid) = text.trim().parse()
                    {
                        break pid;
                    }
                    assert!(Instant::now() < deadline, "no {}", path.display());
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
            .collect()
    }

    /// Waits until no process `pids` names is left (not even unreaped), failing after 5 s.
    fn assert_gone(&self, pids: &[u32]) {
        let deadline = Instant::now() + Duration::from_secs(5);
        for pid in pids {
            let proc = PathBuf::from(format!("/proc/{pid}"));
            while proc.exists() {
                let state = std::fs::read_to_string(proc.join("stat")).unwrap_or_default();
                assert!(
                    Instant::now() < deadline,
                    "the sleep {pid} outlived its plugin: {state}"
                );
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

impl Drop for Sleepers {
    fn drop(&mut self) {
        use rustix::process::{Pid, Signal, kill_process};
        for name in ["setsid", "double"] {
            let pid = std::fs::read_to_string(self.pid_file(name)).unwrap_or_default();
            if let Some(pid) = pid.trim().parse().ok().and_then(Pid::from_raw) {
                let _ = kill_process(pid, Signal::KILL);
            }
        }
    }
}

/// A host running `sleepers`' script as a plugin that does not end, stopping it quickly, and
/// the pids of the sleeps, running.
fn running(sleepers: &Sleepers) -> (Host, tempfile::TempDir, Vec<u32>) {
    let (host, data) = host_with(|config| {
        config.development = true;
        config.stop_grace = Duration::from_millis(100);
    });
    let script = script_package(&sleepers.script("exec sleep 1000"));
    smol::block_on(host.install(&script.to_zip().unwrap())).unwrap();
    let pids = sleepers.pids();
    for pid in &pids {
        assert!(Path::new(&format!("/proc/{pid}")).exists(), "{pid} is gone");
    }
    (host, data, pids)
}

#[test]
fn setsid_descendants_are_killed_when_the_plugin_is_uninstalled() {
    let sleepers = Sleepers::new();
    let (host, _data, pids) = running(&sleepers);
    smol::block_on(host.uninstall("com.example.script")).unwrap();
    sleepers.assert_gone(&pids);
    smol::block_on(host.shutdown());
}

#[test]
fn setsid_descendants_are_killed_when_the_host_shuts_down() {
    let sleepers = Sleepers::new();
    let (host, _data, pids) = running(&sleepers);
    smol::block_on(host.shutdown());
    sleepers.assert_gone(&pids);
}

#[test]
fn setsid_descendants_end_with_a_program_that_ends_on_its_own() {
    let sleepers = Sleepers::new();
    let (host, _data) = host_with(|config| config.development = true);
    let events = host.subscribe();
    let script = script_package(&sleepers.script("exit 0"));
    smol::block_on(host.install(&script.to_zip().unwrap())).unwrap();
    let pids = sleepers.pids();
    until_state(&events, "com.example.script", ContainerState::Stopped);
    sleepers.assert_gone(&pids);
    smol::block_on(host.shutdown());
}
