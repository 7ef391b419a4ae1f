//! Supervision of what runs a plugin (a child process, or a CORE plugin's task): checked before
//! each start (an installed program against its signed listing), started with a fresh secret,
//! watched, given [`HostConfig::hello_timeout`](super::HostConfig::hello_timeout) to say hello,
//! restarted after a crash with capped backoff, and stopped cleanly (its code withdrawn, its
//! session closed, then a grace period before it is killed, with whatever it started).
//!
//! States (Kortex `ContainerState`): `LAUNCHING` from the start until the plugin says hello,
//! then `RUNNING`; `CRASHED` when it ends on its own with a failure, or says no hello in time
//! (it is restarted); `STOPPED` when it ends on its own with success (it meant to: it is not
//! restarted), after a stop, or when its files no longer pass the check before a start (listed
//! with the reason until it is reloaded or installed again); `SHUTTING_DOWN` while a stop waits
//! for it.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_lite::future;
use logi_plugin_core::proto::manager::ContainerState;
use logi_plugin_core::proto::plugin::log_event::LogLevel;
use logi_plugin_transports::{ENDPOINT_ENV, TOKEN_ENV};

#[cfg(target_os = "linux")]
use super::descendants::Lineage;
use super::diagnostics::Ending;
use super::stderr::{Batch, CHUNK, StderrFilter};
use super::{Shared, lock};
use logi_plugin_package::signature::Trust;

/// A plugin that said hello and stayed up this long is healthy again: its next crash restarts
/// it at once.
const HEALTHY_AFTER: Duration = Duration::from_secs(30);

/// How long the report of a program that ended waits for the last of its stderr.
const STDERR_DRAIN: Duration = Duration::from_millis(500);

/// What a supervisor runs.
pub(super) trait Container: Send + Sync + 'static {
    /// One run of it.
    type Running: Send;

    /// Checks, before each start, that it may run; `Err` says why not, and it is then listed
    /// `STOPPED` with the reason instead of started.
    fn admit(&self, _shared: &Arc<Shared>) -> impl Future<Output = Result<(), String>> + Send {
        async { Ok(()) }
    }

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
    /// Whether the folder was checked against its signature just before the supervisor began
    /// (at a start or a reload), or written from the package an install has just verified, with
    /// no installation command run in it: its first launch is then not checked twice.
    pub(super) checked: AtomicBool,
}

/// One run of an installed plugin's program.
pub(super) struct Run {
    child: smol::process::Child,
    /// Closed once its stderr has been read to the end.
    stderr_done: async_channel::Receiver<()>,
    /// What it starts, killed with it.
    #[cfg(target_os = "linux")]
    lineage: Lineage,
}

impl Run {
    /// Ends whatever the program left (its group and, on Linux, its other descendants) once
    /// it has ended, and gives its stderr a moment to be read to the end, so that its report
    /// has the last lines.
    async fn ended(&self) {
        end_group(&self.child);
        #[cfg(target_os = "linux")]
        self.lineage.end().await;
        let drained = async {
            let _ = self.stderr_done.recv().await;
        };
        let given_up = async {
            async_io::Timer::after(STDERR_DRAIN).await;
        };
        future::or(drained, given_up).await;
    }
}

impl Container for Process {
    type Running = Run;

    async fn admit(&self, shared: &Arc<Shared>) -> Result<(), String> {
        if self.checked.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        if let Trust::Development(why) = shared.check_installed(&self.dir).await? {
            let message = format!("launched in development mode: {why}");
            shared.log(&self.plugin_id, LogLevel::Warning, message);
        }
        Ok(())
    }

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
            let child = command.spawn().map_err(|error| {
                format!("{} could not be started: {error}", self.program.display())
            })?;
            let pid = child.id();
            Ok((child, pid))
        })?;
        shared.install_launched(&self.plugin_id);
        let (done, stderr_done) = async_channel::bounded::<()>(1);
        // What it writes to stderr goes to the log (within limits), and into its stop report.
        if let Some(stderr) = child.stderr.take() {
            let (shared, plugin_id) = (shared.clone(), self.plugin_id.clone());
            smol::spawn(async move {
                copy_stderr(&shared, &plugin_id, stderr).await;
                drop(done);
            })
            .detach();
        }
        Ok(Run {
            #[cfg(target_os = "linux")]
            lineage: Lineage::new(child.id(), token),
            child,
            stderr_done,
        })
    }

    async fn wait(run: &mut Self::Running) -> Result<(), Ending> {
        let status = run.child.status().await;
        run.ended().await;
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

    async fn kill(mut run: Self::Running) {
        // Its descendants are found through it, so they go first.
        #[cfg(target_os = "linux")]
        run.lineage.kill_attached();
        end_group(&run.child);
        let _ = run.child.kill();
        let _ = run.child.status().await;
        run.ended().await;
    }
}

/// Copies a program's stderr into its plugin's log, within the limits of [`StderrFilter`],
/// reading [`CHUNK`] bytes at a time until it closes.
async fn copy_stderr(shared: &Shared, plugin_id: &str, mut stderr: smol::process::ChildStderr) {
    use futures_lite::AsyncReadExt as _;
    let mut filter = StderrFilter::new(Instant::now());
    let mut buffer = vec![0; CHUNK];
    loop {
        let read = async { Some(stderr.read(&mut buffer).await) };
        let note = async {
            match filter.note_due() {
                Some(due) => async_io::Timer::at(due).await,
                None => future::pending().await,
            };
            None
        };
        let outcome = future::or(read, note).await;
        let batch = match outcome {
            Some(Ok(0) | Err(_)) => break,
            Some(Ok(read)) => filter.feed(Instant::now(), &buffer[..read]),
            None => filter.poll(Instant::now()),
        };
        log_stderr(shared, plugin_id, batch);
    }
    log_stderr(shared, plugin_id, filter.finish(Instant::now()));
}

/// Logs what a [`StderrFilter`] let through; the lines it dropped only go to the plugin's
/// report.
fn log_stderr(shared: &Shared, plugin_id: &str, batch: Batch) {
    for line in batch.logged {
        shared.log(plugin_id, LogLevel::Info, format!("stderr: {line}"));
    }
    if !batch.dropped.is_empty()
        && let Some(plugin) = lock(&shared.plugins).get_mut(plugin_id)
    {
        for line in &batch.dropped {
            let line = format!("stderr: {line}");
            plugin.diagnostics.logged(LogLevel::Info, &line);
        }
    }
    if let Some(note) = batch.note {
        shared.log(plugin_id, LogLevel::Warning, note);
    }
}

struct Watch<C> {
    shared: Arc<Shared>,
    plugin_id: String,
    container: C,
    stop: async_channel::Receiver<()>,
}

/// How a run being watched came to an end.
enum Outcome {
    /// It ended: `Ok` as it meant to.
    Ended(Result<(), Ending>),
    /// A stop was asked for.
    Stop,
    /// It said no hello within the limit.
    NoHello,
}

impl<C: Container> Watch<C> {
    async fn run(self) {
        let mut failures: u32 = 0;
        loop {
            let started = Instant::now();
            let token = crate::secret::new_token();
            // Closed when the run says hello.
            let (said_hello, hello) = async_channel::bounded::<()>(1);
            self.note(|diagnostics| diagnostics.launched(said_hello));
            self.state(ContainerState::Launching);
            let admitted = future::or(
                async { Some(self.container.admit(&self.shared).await) },
                async {
                    self.stop_requested().await;
                    None
                },
            )
            .await;
            match admitted {
                None => return self.state(ContainerState::Stopped),
                Some(Err(problem)) => {
                    let why = format!("not launched: {problem}");
                    self.log(LogLevel::Error, why.clone());
                    self.shared.install_done(&self.plugin_id, Some(&why));
                    return self.list_stopped(problem);
                }
                Some(Ok(())) => {}
            }
            let ended = match self.container.start(&self.shared, &token) {
                Ok(running) => match self.watch(running, &hello).await {
                    Some(ended) => ended,
                    None => return,
                },
                Err(error) => {
                    self.note(|diagnostics| diagnostics.not_started());
                    Err(Ending::from(error))
                }
            };
            self.shared.codes.set(&self.plugin_id, None);
            if !hello.is_closed() {
                // An install is told whole after its first run, hello or not.
                let how = match &ended {
                    Ok(()) => "ended on its own".to_string(),
                    Err(ending) => ending.how.clone(),
                };
                self.shared.install_done(&self.plugin_id, Some(&how));
            }
            let ending = match ended {
                Ok(()) => {
                    self.log(LogLevel::Info, "ended on its own; not restarted".into());
                    self.stopped("ended on its own".to_string().into(), false);
                    return self.state(ContainerState::Stopped);
                }
                Err(ending) => ending,
            };
            // A run that never said hello is a failed start, however long it took.
            let said_hello = hello.is_closed();
            failures = if said_hello && started.elapsed() > HEALTHY_AFTER {
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
                return self.list_stopped(why);
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

    /// Watches a run until it ends (`Some`: how), or until a stop is asked for (`None`: it has
    /// been shut down). A run that says no hello (`hello` still open) within the limit is
    /// killed, and ends as a crash.
    async fn watch(
        &self,
        mut running: C::Running,
        hello: &async_channel::Receiver<()>,
    ) -> Option<Result<(), Ending>> {
        let timeout = self.shared.config.hello_timeout;
        let ended = async { Outcome::Ended(C::wait(&mut running).await) };
        let stop = async {
            self.stop_requested().await;
            Outcome::Stop
        };
        let no_hello = async {
            let said = async {
                let _ = hello.recv().await;
                true
            };
            let late = async {
                async_io::Timer::after(timeout).await;
                false
            };
            if future::or(said, late).await {
                // Said in time: only its end or a stop count now.
                future::pending::<()>().await;
            }
            Outcome::NoHello
        };
        let outcome = future::or(ended, future::or(stop, no_hello)).await;
        match outcome {
            Outcome::Ended(ended) => Some(ended),
            Outcome::Stop => {
                self.shut_down(running).await;
                None
            }
            Outcome::NoHello => {
                C::kill(running).await;
                Some(Err(
                    format!("said no hello within {timeout:?}; killed").into()
                ))
            }
        }
    }

    /// Lists the plugin `STOPPED` with the `problem` that keeps it from running.
    fn list_stopped(&self, problem: String) {
        if let Some(plugin) = lock(&self.shared.plugins).get_mut(&self.plugin_id) {
            plugin.info.problem = Some(problem);
        }
        self.state(ContainerState::Stopped);
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

    /// Changes the plugin's diagnostics; a plugin no longer listed has none, and the change is
    /// dropped (with what it holds).
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
