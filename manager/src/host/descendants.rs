//! A plugin's descendants (Linux): what its program started ends with it, even what left its
//! process group (`setsid()`) or was double-forked away from it.
//!
//! The host makes its process a child subreaper (`PR_SET_CHILD_SUBREAPER`), so that the
//! orphaned descendants of a plugin become the host's children instead of init's. A process is
//! taken for a plugin's when it descends from the running program (walking `/proc`, done just
//! before the program is killed), or, among the host's children, when its environment holds the
//! launch's secret (`token`, which every descendant inherits unless it replaces its
//! environment), when it is in the program's process group, or when it was seen so before; what
//! descends from such a process goes with it. When a run ends (or is stopped), what is left of
//! it is killed, and every such process that becomes the host's zombie is reaped, each by its
//! pid: never `waitpid(-1)`, which would take exit statuses that others in the process (the
//! runtime's child watcher, an embedding application) wait for. While plugins run, the host's
//! children are looked at every [`SWEEP_EVERY`], to reap those that ended on their own and to
//! note the living ones before their lineage is lost (an orphan coming to the host sends no
//! signal: only a look finds it); once no run and none of its processes are left, the looks
//! stop until the next launch.
//!
//! What escapes: a descendant that replaces its environment and leaves the process group, once
//! the process it came from has ended (nothing ties it to the plugin any more); one that runs
//! as another user (its environment cannot be read); a zombie of an orphan that ended before it
//! was ever seen, which stays the host's child until the host exits; and everything, if the
//! host itself is killed with SIGKILL. Processes are killed by pid, so a pid reused in the
//! instant between reading `/proc` and the signal would be hit: the host's own orphans cannot be
//! reused (no one else reaps them), a still attached descendant could.

use std::collections::{HashMap, HashSet};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use logi_plugin_transports::TOKEN_ENV;
use rustix::process::{Pid, Signal, WaitOptions, getpid, kill_process, waitpid};

use crate::offload::off_executor;
use logi_plugin_transports::lock::lock;

/// How often the host's children are looked at while plugins run.
const SWEEP_EVERY: Duration = Duration::from_secs(2);

/// How long the end of a run waits for what it killed to be reaped.
const SETTLE_WITHIN: Duration = Duration::from_secs(2);

/// Makes this process a child subreaper, so that a plugin's orphaned descendants become its
/// children. An application embedding the host gets its own orphaned descendants as children
/// too; the host never waits for those.
pub(super) fn become_subreaper() -> std::io::Result<()> {
    rustix::process::set_child_subreaper(Some(getpid())).map_err(Into::into)
}

/// What this process knows of plugin launches; one for the whole process, as the subreaper
/// status and the children it brings are.
#[derive(Default)]
struct Registry {
    /// The secret of each program that runs, by its pid.
    live: HashMap<u32, String>,
    /// The secrets of the runs that have ended, with their program's pid: whatever still
    /// carries one is killed.
    ended: HashMap<String, u32>,
    /// The programs of ended runs, while `/proc` still shows them: the runtime waits for
    /// them, so they are neither killed nor reaped here.
    ended_programs: HashSet<u32>,
    /// Processes taken for a launch's, by pid, until they are gone.
    known: HashMap<u32, Known>,
    /// Whether the task sweeping every [`SWEEP_EVERY`] runs.
    sweeping: bool,
}

/// A process taken for a launch's.
#[derive(Clone, Copy, Debug)]
struct Known {
    /// Its start time (`/proc/<pid>/stat`), so that a reused pid is not taken for it.
    start: u64,
    /// The pid of the program it came from.
    launch: u32,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(Mutex::default);

/// The processes a launched program may leave behind. Dropped without
/// [`end`](Lineage::end), its run counts as ended all the same, and the next sweep kills what
/// is left of it.
#[derive(Debug)]
pub(super) struct Lineage {
    pid: u32,
}

impl Lineage {
    /// Notes the program launched as `pid` with the secret `token`.
    pub(super) fn new(pid: u32, token: &str) -> Lineage {
        let start_sweeping = {
            let mut registry = lock(&REGISTRY);
            registry.live.insert(pid, token.to_string());
            !std::mem::replace(&mut registry.sweeping, true)
        };
        if start_sweeping {
            smol::spawn(sweep_while_needed(SWEEP_EVERY)).detach();
        }
        Lineage { pid }
    }

    /// Kills the descendants still attached to the program, which must still run: once it is
    /// killed they are orphans, and only their environment or process group tells whose they
    /// are.
    pub(super) fn kill_attached(&self) {
        let processes = Processes::read();
        let attached = processes.below(&[self.pid]);
        let mut registry = lock(&REGISTRY);
        kill(&processes, &attached, self.pid, &mut registry);
    }

    /// After the program has ended and been waited for: kills what is left of the run and
    /// reaps it, waiting at most [`SETTLE_WITHIN`].
    pub(super) async fn end(&self) {
        retire(self.pid);
        settle(Some(self.pid)).await;
    }
}

impl Drop for Lineage {
    fn drop(&mut self) {
        retire(self.pid);
    }
}

/// Kills whatever is left of the runs that have ended and reaps it, waiting at most
/// [`SETTLE_WITHIN`] (at the host's shutdown).
pub(super) async fn end_stragglers() {
    settle(None).await;
}

/// Sweeps (see [`sweep`]) until nothing of an ended run is left, or [`SETTLE_WITHIN`] has
/// passed; `/proc` is read off the executor.
async fn settle(ending: Option<u32>) {
    let deadline = Instant::now() + SETTLE_WITHIN;
    while off_executor(move || sweep(ending)).await > 0 && Instant::now() < deadline {
        async_io::Timer::after(Duration::from_millis(10)).await;
    }
}

/// The run of `pid` has ended: its secret now marks what must not outlive it.
fn retire(pid: u32) {
    let mut registry = lock(&REGISTRY);
    if let Some(token) = registry.live.remove(&pid) {
        registry.ended.insert(token, pid);
        registry.ended_programs.insert(pid);
    }
}

/// Sweeps `every` so long as a run goes on or a process of one is left; then ends, rather than
/// wake the host for nothing, until the next launch starts it again ([`Lineage::new`]).
async fn sweep_while_needed(every: Duration) {
    loop {
        async_io::Timer::after(every).await;
        {
            let mut registry = lock(&REGISTRY);
            if registry.live.is_empty() && registry.known.is_empty() {
                // Under the lock a launch takes to start the sweeps: one of the two does.
                registry.sweeping = false;
                return;
            }
            // Most looks find the host's children to be the programs it launched and nothing
            // else: then `/proc` is not read whole, nor a thread started to read it.
            if !registry.may_find_something(own_children().as_deref()) {
                continue;
            }
        }
        off_executor(|| sweep(None)).await;
    }
}

impl Registry {
    /// Whether a [`sweep`] may find something, given this process's `children` (`None` when
    /// they cannot be listed: it may): a process noted before, or a child that is not a program
    /// the host launched (an orphan that came to it). Forgets the programs of ended runs that
    /// are no longer children (reaped), as a sweep does.
    fn may_find_something(&mut self, children: Option<&[u32]>) -> bool {
        let Some(children) = children else {
            return true;
        };
        self.ended_programs.retain(|pid| children.contains(pid));
        !self.known.is_empty()
            || children
                .iter()
                .any(|pid| !self.live.contains_key(pid) && !self.ended_programs.contains(pid))
    }
}

/// This process's children (those of each of its threads, zombies included), as
/// `/proc/self/task/*/children` lists them; `None` where the kernel does not list them (built
/// without `CONFIG_PROC_CHILDREN`).
fn own_children() -> Option<Vec<u32>> {
    let mut children = Vec::new();
    let mut listed = false;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let Ok(text) = std::fs::read_to_string(task.path().join("children")) else {
            continue;
        };
        listed = true;
        children.extend(
            text.split_ascii_whitespace()
                .filter_map(|pid| pid.parse::<u32>().ok()),
        );
    }
    listed.then_some(children)
}

/// Looks at this process's children once: reaps the zombies taken for a launch's, kills the
/// living processes of ended runs (and of the run of `ending`, whose program's process group
/// still tells its own), and notes those of running ones. Returns how many processes are left,
/// dying or not yet reaped, of the run of `ending`, or of every ended run.
fn sweep(ending: Option<u32>) -> usize {
    let me = u32::try_from(getpid().as_raw_nonzero().get()).unwrap_or_default();
    // Locked from the reading of `/proc` on: two sweeps at once could otherwise reap a pid the
    // other has already reaped, and that has since been reused.
    let mut registry = lock(&REGISTRY);
    let processes = Processes::read();
    registry.known.retain(|pid, known| {
        processes
            .get(*pid)
            .is_some_and(|process| process.start == known.start)
    });
    registry
        .ended_programs
        .retain(|pid| processes.get(*pid).is_some());
    let mut doomed = Vec::new();
    let mut noted = Vec::new();
    for child in processes.list.iter().filter(|process| process.ppid == me) {
        if registry.live.contains_key(&child.pid) || registry.ended_programs.contains(&child.pid) {
            // A program the host launched: the runtime waits for it.
            continue;
        }
        let Some(launch) = owner(&registry, child, ending) else {
            continue;
        };
        if child.zombie {
            reap(child.pid);
            registry.known.remove(&child.pid);
        } else if registry.live.contains_key(&launch) {
            noted.push((child.pid, launch));
        } else {
            doomed.push((child.pid, launch));
        }
    }
    for (pid, launch) in noted {
        for pid in processes.below_and(pid) {
            note(&processes, &mut registry, pid, launch);
        }
    }
    for (pid, launch) in doomed {
        let tree = processes.below_and(pid);
        kill(&processes, &tree, launch, &mut registry);
    }
    registry
        .known
        .values()
        .filter(|known| match ending {
            Some(launch) => known.launch == launch,
            None => !registry.live.contains_key(&known.launch),
        })
        .count()
}

/// The launch (its program's pid) a child of this process belongs to, if it is taken for
/// one's: known before, in the process group of a running program or of the run `ending`, or
/// carrying a launch's secret.
fn owner(registry: &Registry, child: &Process, ending: Option<u32>) -> Option<u32> {
    if let Some(known) = registry.known.get(&child.pid)
        && known.start == child.start
    {
        return Some(known.launch);
    }
    if registry.live.contains_key(&child.pgrp) || ending == Some(child.pgrp) {
        return Some(child.pgrp);
    }
    let token = token_of(child.pid)?;
    if let Some(launch) = registry.ended.get(&token) {
        return Some(*launch);
    }
    registry
        .live
        .iter()
        .find(|(_, live)| **live == token)
        .map(|(pid, _)| *pid)
}

/// Kills each of `pids` (processes of `launch`), noting them so that their zombies are reaped.
fn kill(processes: &Processes, pids: &[u32], launch: u32, registry: &mut Registry) {
    for &pid in pids {
        note(processes, registry, pid, launch);
        if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
            let _ = kill_process(pid, Signal::KILL);
        }
    }
}

fn note(processes: &Processes, registry: &mut Registry, pid: u32, launch: u32) {
    if let Some(process) = processes.get(pid) {
        let known = Known {
            start: process.start,
            launch,
        };
        registry.known.insert(pid, known);
    }
}

/// Reaps a zombie child of this process, by its pid.
fn reap(pid: u32) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        let _ = waitpid(Some(pid), WaitOptions::NOHANG);
    }
}

/// The `token` entry of a process's environment, if it can be read.
fn token_of(pid: u32) -> Option<String> {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    let prefix = format!("{TOKEN_ENV}=");
    environ
        .split(|&byte| byte == 0)
        .find_map(|entry| entry.strip_prefix(prefix.as_bytes()))
        .map(|token| String::from_utf8_lossy(token).into_owned())
}

/// A process, as `/proc/<pid>/stat` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Process {
    pid: u32,
    ppid: u32,
    pgrp: u32,
    zombie: bool,
    /// Its start time, in clock ticks after boot.
    start: u64,
}

impl Process {
    /// Reads a `/proc/<pid>/stat` line; the command name, in parentheses, may hold anything.
    fn parse(stat: &str) -> Option<Process> {
        let (pid, rest) = stat.split_once(" (")?;
        let (_, fields) = rest.rsplit_once(") ")?;
        let fields: Vec<&str> = fields.split_ascii_whitespace().collect();
        // Fields from the third on: state, ppid, pgrp, ... starttime is the 22nd.
        Some(Process {
            pid: pid.trim().parse().ok()?,
            zombie: matches!(*fields.first()?, "Z" | "X"),
            ppid: fields.get(1)?.parse().ok()?,
            pgrp: fields.get(2)?.parse().ok()?,
            start: fields.get(19)?.parse().ok()?,
        })
    }
}

/// Every process `/proc` showed, at one moment.
struct Processes {
    list: Vec<Process>,
    children: HashMap<u32, Vec<u32>>,
}

impl Processes {
    /// Reads `/proc`; a process that ends meanwhile is left out.
    fn read() -> Processes {
        let list: Vec<Process> = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter(|entry| entry.file_name().to_string_lossy().parse::<u32>().is_ok())
            .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
            .filter_map(|stat| Process::parse(&stat))
            .collect();
        Processes::from(list)
    }

    fn from(list: Vec<Process>) -> Processes {
        let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
        for process in &list {
            children.entry(process.ppid).or_default().push(process.pid);
        }
        Processes { list, children }
    }

    fn get(&self, pid: u32) -> Option<&Process> {
        self.list.iter().find(|process| process.pid == pid)
    }

    /// Every descendant of `roots`, without them.
    fn below(&self, roots: &[u32]) -> Vec<u32> {
        let mut found = Vec::new();
        let mut next: Vec<u32> = roots.to_vec();
        while let Some(pid) = next.pop() {
            for &child in self.children.get(&pid).into_iter().flatten() {
                if !found.contains(&child) && !roots.contains(&child) {
                    found.push(child);
                    next.push(child);
                }
            }
        }
        found
    }

    /// `pid` and every descendant of it.
    fn below_and(&self, pid: u32) -> Vec<u32> {
        let mut tree = vec![pid];
        tree.extend(self.below(&[pid]));
        tree
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_is_read_whatever_the_command_name() {
        let stat = "4242 (a (weird) name) S 17 4200 4200 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 \
                    98765 0 0";
        let process = Process::parse(stat).unwrap();
        assert_eq!(
            process,
            Process {
                pid: 4242,
                ppid: 17,
                pgrp: 4200,
                zombie: false,
                start: 98765
            }
        );
        let zombie = "7 (sh) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0";
        assert!(Process::parse(zombie).unwrap().zombie);
        assert_eq!(Process::parse("not a stat line"), None);
    }

    #[test]
    fn the_descendants_of_a_process_are_found_through_every_generation() {
        let process = |pid, ppid| Process {
            pid,
            ppid,
            pgrp: pid,
            zombie: false,
            start: 0,
        };
        let processes = Processes::from(vec![
            process(10, 1),
            process(11, 10),
            process(12, 11),
            process(13, 1),
            process(14, 12),
        ]);
        let mut below = processes.below(&[10]);
        below.sort_unstable();
        assert_eq!(below, [11, 12, 14]);
        assert_eq!(processes.below_and(13), [13]);
    }

    #[test]
    fn the_sweeps_stop_once_no_run_is_left() {
        // No process has this pid: the run is one in name only.
        let pid = u32::MAX;
        lock(&REGISTRY).live.insert(pid, "a token".into());
        let sweeping = smol::spawn(sweep_while_needed(Duration::from_millis(1)));
        retire(pid);
        let stopped = smol::block_on(futures_lite::future::or(
            async {
                sweeping.await;
                true
            },
            async {
                async_io::Timer::after(Duration::from_secs(3)).await;
                false
            },
        ));
        assert!(stopped, "still sweeping 3 s after the last run ended");
    }

    #[test]
    fn a_look_at_the_whole_of_proc_is_needed_only_for_a_child_the_host_did_not_launch() {
        let mut registry = Registry::default();
        registry.live.insert(10, "a token".into());
        registry.ended_programs.extend([11, 12]);
        // The programs it launched, one ended but not yet reaped.
        assert!(!registry.may_find_something(Some(&[10, 11])));
        // 12 was reaped: forgotten.
        assert_eq!(registry.ended_programs, HashSet::from([11]));
        // An orphan came.
        assert!(registry.may_find_something(Some(&[10, 11, 99])));
        // Children that cannot be listed may be anything.
        assert!(registry.may_find_something(None));
        // A process noted before is looked at until it is gone.
        registry.known.insert(
            50,
            Known {
                start: 1,
                launch: 10,
            },
        );
        assert!(registry.may_find_something(Some(&[10])));
    }

    #[test]
    fn this_process_lists_its_own_children() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let children = own_children();
        let _ = child.kill();
        let _ = child.wait();
        assert!(children.unwrap().contains(&child.id()));
    }

    #[test]
    fn this_process_can_read_its_own_entry_and_token() {
        let me = u32::try_from(getpid().as_raw_nonzero().get()).unwrap();
        let processes = Processes::read();
        assert!(processes.get(me).is_some_and(|process| !process.zombie));
        // The test process has no plugin secret.
        assert_eq!(token_of(me), None);
    }
}
