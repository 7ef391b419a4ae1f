//! Supervision of what runs a plugin (a child process, or a CORE plugin's task): started with a
//! fresh secret, watched, restarted after a crash with capped backoff, and stopped cleanly (its
//! code withdrawn, its session closed, then a grace period before it is killed).
//!
//! States (Kortex `ContainerState`): `LAUNCHING` from the start until the plugin says hello,
//! then `RUNNING`; `CRASHED` when it ends on its own with a failure (it is restarted); `STOPPED`
//! when it ends on its own with success (it meant to: it is not restarted) or after a stop;
//! `SHUTTING_DOWN` while a stop waits for it.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::future;
use logi_plugin_core::proto::manager::ContainerState;
use logi_plugin_core::proto::plugin::log_event::LogLevel;
use logi_plugin_transports::{ENDPOINT_ENV, TOKEN_ENV};

use super::diagnostics::Ending;
use super::{Shared, lock};

/// A plugin that stayed up this long is healthy again: its next crash restarts it at once.
const HEALTHY_AFTER: Duration = Duration::from_secs(30);

/// What a supervisor runs.
pub(super) trait Container: Send + Sync + 'static {
    /// One run of it.
    type Running: Send;

    /// Starts a run that will present `token` in its hello, admitting it with that code (in
    /// [`Shared::codes`]); an error says why it cannot start.
    fn start(&self, shared: &Arc<Shared>, token: &str) -> Result<Self::Running, String>;

    /// Waits for the run to end: `Ok` when it ended as it meant to, else how it failed.
    fn wait(running: &mut Self::Running) -> impl Future<Output = Result<(), Ending>> + Send;

    /// Asks the run to end; its session is closed besides.
    fn ask_to_stop(running: &Self::Running);

    /// Ends the run now.
    fn kill(running: Self::Running) -> impl Future<Output = ()> + Send;
}

/// The handle of a running supervisor.
pub(super) struct Supervisor {
    stop: async_channel::Sender<()>,
    done: async_channel::Receiver<()>,
}

impl Supervisor {
    /// Stops the container and waits until it is gone.
    pub(super) async fn stop(self) {
        let _ = self.stop.try_send(());
        let _ = self.done.recv().await;
    }
}

/// Starts supervising `plugin_id`'s `container`.
pub(super) fn supervise(
    shared: &Arc<Shared>,
    plugin_id: &str,
    container: impl Container,
) -> Supervisor {
    let (stop, stop_rx) = async_channel::bounded(1);
    let (done_tx, done) = async_channel::bounded::<()>(1);
    let watch = Watch {
        shared: shared.clone(),
        plugin_id: plugin_id.into(),
        container,
        stop: stop_rx,
    };
    smol::spawn(async move {
        watch.run().await;
        drop(done_tx);
    })
    .detach();
    Supervisor { stop, done }
}

/// An installed plugin's program, run as a child process in its folder.
pub(super) struct Process {
    /// The plugin, whose log gets what the program writes to stderr.
    pub(super) plugin_id: String,
    /// The executable.
    pub(super) program: PathBuf,
    /// The plugin's folder, its working directory.
    pub(super) dir: PathBuf,
}

impl Container for Process {
    type Running = smol::process::Child;

    fn start(&self, shared: &Arc<Shared>, token: &str) -> Result<Self::Running, String> {
        let mut command = std::process::Command::new(&self.program);
        // Its own process group: what it starts (a launcher's interpreter) ends with it.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut command = smol::process::Command::from(command);
        command
            .current_dir(&self.dir)
            .env(TOKEN_ENV, token)
            .env(ENDPOINT_ENV, &shared.config.endpoint)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        // Its code is good from its process (and the ones it starts) only.
        let mut child = shared.codes.launch(&self.plugin_id, token, || {
            let child = command
                .spawn()
                .map_err(|error| format!("could not be started: {error}"))?;
            let pid = child.id();
            Ok((child, pid))
        })?;
        // What it writes to stderr goes to the log, and so into its stop report.
        if let Some(stderr) = child.stderr.take() {
            let (shared, plugin_id) = (shared.clone(), self.plugin_id.clone());
            smol::spawn(async move {
                use futures_lite::{AsyncBufReadExt as _, StreamExt as _};
                let mut lines = futures_lite::io::BufReader::new(stderr).lines();
                while let Some(Ok(line)) = lines.next().await {
                    shared.log(&plugin_id, LogLevel::Info, format!("stderr: {line}"));
                }
            })
            .detach();
        }
        Ok(child)
    }

    async fn wait(child: &mut Self::Running) -> Result<(), Ending> {
        let status = child.status().await;
        // Whatever it started and left behind goes with it.
        end_group(child);
        match status {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => Err(Ending {
                how: format!("crashed ({status})"),
                exit_code: status.code(),
                signal: signal(&status),
            }),
            Err(error) => Err(format!("could not be watched: {error}").into()),
        }
    }

    fn ask_to_stop(_: &Self::Running) {
        // A process is asked by its session closing.
    }

    async fn kill(mut child: Self::Running) {
        end_group(&child);
        let _ = child.kill();
        let _ = child.status().await;
    }
}

struct Watch<C> {
    shared: Arc<Shared>,
    plugin_id: String,
    container: C,
    stop: async_channel::Receiver<()>,
}

impl<C: Container> Watch<C> {
    async fn run(self) {
        let mut failures: u32 = 0;
        loop {
            let started = Instant::now();
            let token = new_token();
            self.note(|diagnostics| diagnostics.launched());
            self.state(ContainerState::Launching);
            let ended = match self.container.start(&self.shared, &token) {
                Ok(mut running) => {
                    let ended = future::or(async { Some(C::wait(&mut running).await) }, async {
                        self.stop_requested().await;
                        None
                    })
                    .await;
                    match ended {
                        Some(ended) => ended,
                        None => return self.shut_down(running).await,
                    }
                }
                Err(error) => {
                    self.note(|diagnostics| diagnostics.not_started());
                    Err(Ending::from(error))
                }
            };
            self.shared.codes.set(&self.plugin_id, None);
            let ending = match ended {
                Ok(()) => {
                    self.log(LogLevel::Info, "ended on its own; not restarted".into());
                    self.stopped("ended on its own".to_string().into(), false);
                    return self.state(ContainerState::Stopped);
                }
                Err(ending) => ending,
            };
            failures = if started.elapsed() > HEALTHY_AFTER {
                0
            } else {
                failures + 1
            };
            let quarantined = failures >= self.shared.config.crash_loop_limit;
            let how = ending.how.clone();
            // Kept before the crash is told, so that whoever hears of it can read why.
            self.stopped(ending, quarantined);
            self.state(ContainerState::Crashed);
            if quarantined {
                let why = format!(
                    "quarantined after {failures} crashes in a row, the last: {how}; reload or \
                     reinstall it to run it again"
                );
                self.log(LogLevel::Error, why.clone());
                if let Some(plugin) = lock(&self.shared.plugins).get_mut(&self.plugin_id) {
                    plugin.info.problem = Some(why);
                }
                return self.state(ContainerState::Stopped);
            }
            let delay = self.shared.config.restart.delay(failures.saturating_sub(1));
            self.log(LogLevel::Error, format!("{how}; restarting in {delay:?}"));
            let stopped = future::or(
                async {
                    async_io::Timer::after(delay).await;
                    false
                },
                async {
                    self.stop_requested().await;
                    true
                },
            )
            .await;
            if stopped {
                return self.state(ContainerState::Stopped);
            }
        }
    }

    /// Returns once a stop is asked for, or the [`Supervisor`] is dropped: either way, the
    /// container must not outlive it.
    async fn stop_requested(&self) {
        let _ = self.stop.recv().await;
    }

    /// Withdraws the plugin's code (so it cannot reconnect), closes its session, and gives it
    /// the grace period to end before killing it.
    async fn shut_down(&self, mut running: C::Running) {
        self.state(ContainerState::ShuttingDown);
        self.shared.withdraw(&self.plugin_id);
        C::ask_to_stop(&running);
        let grace = self.shared.config.stop_grace;
        let ended = future::or(
            async {
                // However it ends now, it ended: the stop asked for it.
                let _ = C::wait(&mut running).await;
                true
            },
            async {
                async_io::Timer::after(grace).await;
                false
            },
        )
        .await;
        if !ended {
            self.log(
                LogLevel::Warning,
                format!("still running after {grace:?}; killed"),
            );
            C::kill(running).await;
        }
        self.stopped("stopped by the host".to_string().into(), false);
        self.state(ContainerState::Stopped);
    }

    /// Keeps the report of the run that just ended as the plugin's last stop.
    fn stopped(&self, ending: Ending, quarantined: bool) {
        if let Some(plugin) = lock(&self.shared.plugins).get_mut(&self.plugin_id) {
            let report = plugin.diagnostics.report(ending, quarantined);
            plugin.info.last_stop = Some(report);
        }
    }

    fn note(&self, change: impl FnOnce(&mut super::diagnostics::Diagnostics)) {
        if let Some(plugin) = lock(&self.shared.plugins).get_mut(&self.plugin_id) {
            change(&mut plugin.diagnostics);
        }
    }

    fn state(&self, state: ContainerState) {
        self.shared.set_state(&self.plugin_id, state);
    }

    fn log(&self, level: LogLevel, message: String) {
        self.shared.log(&self.plugin_id, level, message);
    }
}

/// A fresh per-launch secret: 32 random bytes, in hex.
pub(super) fn new_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source works");
    hex::encode(bytes)
}

#[cfg(unix)]
fn signal(status: &std::process::ExitStatus) -> Option<i32> {
    std::os::unix::process::ExitStatusExt::signal(status)
}

#[cfg(not(unix))]
fn signal(_: &std::process::ExitStatus) -> Option<i32> {
    None
}

/// Kills every process left in the group of `child` (the plugin's program leads it). Nothing is
/// there to kill once the whole group has ended, and that is fine.
#[cfg(unix)]
fn end_group(child: &smol::process::Child) {
    use rustix::process::{Pid, Signal, kill_process_group};
    if let Some(group) = i32::try_from(child.id()).ok().and_then(Pid::from_raw) {
        let _ = kill_process_group(group, Signal::KILL);
    }
}

/// Windows has no process groups to end; a job object would be its counterpart (not done).
#[cfg(not(unix))]
fn end_group(_: &smol::process::Child) {}
