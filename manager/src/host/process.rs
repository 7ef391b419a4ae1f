//! Supervision of what runs a plugin (a child process, or a CORE plugin's task): checked before
//! each start (an installed program against its signed listing), started with a fresh secret,
//! watched, given [`HostConfig::hello_timeout`](super::HostConfig::hello_timeout) to say hello,
//! restarted after a crash with capped backoff, and stopped cleanly (its code withdrawn, its
//! session closed, so that a plugin on the SDK ends by itself; SIGTERM to its process group
//! halfway through the grace period if it still runs, or at once if it never said hello; killed
//! with whatever it started at the grace period's end).
//!
//! States (Kortex `ContainerState`): `LAUNCHING` from the start until the plugin says hello,
//! then `RUNNING`; `CRASHED` when it ends on its own with a failure, or says no hello in time
//! (it is restarted); `STOPPED` when it ends on its own with success (it meant to: it is not
//! restarted), after a stop, or when its files no longer pass the check before a start (listed
//! with the reason until it is reloaded or installed again); `SHUTTING_DOWN` while a stop waits
//! for it.
//!
//! What to do and when is decided by the run's [`Supervision`] (`supervision.rs`, no IO, no
//! clock); [`Watch`] only feeds it what happens and performs what it decides.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_lite::future;
use logi_plugin_core::proto::manager::LogSource;
use logi_plugin_core::proto::plugin::log_event::LogLevel;
use logi_plugin_transports::{ENDPOINT_ENV, TOKEN_ENV};

#[cfg(target_os = "linux")]
use super::descendants::Lineage;
use super::diagnostics::Ending;
use super::folder::Folder;
use super::recent::tagged;
use super::shared::Shared;
use super::stderr::{Batch, CHUNK, StderrFilter};
use super::supervision::{Action, Input, Policy, Supervision};
use super::supervisor::Supervisor;
use logi_plugin_package::signature::Trust;

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

    /// Asks the run to end the operating system's way, when its session cannot tell it (it
    /// said no hello, or it is still running halfway through the grace period).
    fn terminate(_running: &Self::Running) {}

    /// Ends the run now.
    fn kill(running: Self::Running) -> impl Future<Output = ()> + Send;
}

/// Starts supervising `plugin_id`'s `container`, keeping the supervisor's handle with the
/// plugin.
pub(super) fn supervise(shared: &Arc<Shared>, plugin_id: &str, container: impl Container) {
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
    let supervisor = Supervisor { stop, done };
    shared.core(|core| {
        if let Some(plugin) = core.plugin_mut(plugin_id) {
            plugin.supervisor = Some(supervisor);
        }
    });
}

/// An installed plugin's program, run as a child process in its folder.
pub(super) struct Process {
    /// The plugin, whose log gets what the program writes to stderr.
    pub(super) plugin_id: String,
    /// The executable.
    pub(super) program: PathBuf,
    /// The plugin's folder, its working directory.
    pub(super) folder: Folder,
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
        if let Trust::Development(why) = shared.check_installed(&self.folder).await? {
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
            .current_dir(&self.folder.dir)
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
        let now = Instant::now();
        shared.core(|core| core.install_launched(&self.plugin_id, now));
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
        // A process is asked by its session closing first: the code withdrawn, its next hello
        // is refused, and a plugin on the SDK ends by itself. `terminate` follows if not.
    }

    fn terminate(run: &Self::Running) {
        terminate_group(&run.child);
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
        shared.log_from(plugin_id, LogSource::Stderr, LogLevel::Info, line);
    }
    if !batch.dropped.is_empty() {
        shared.core(|core| {
            for line in &batch.dropped {
                core.logged(plugin_id, LogLevel::Info, &tagged(LogSource::Stderr, line));
            }
        });
    }
    if let Some(note) = batch.note {
        shared.log(plugin_id, LogLevel::Warning, note);
    }
}

/// The driver of a [`Supervision`]: feeds it what happens to the run (its end, its hello, a
/// stop, the deadline it asked for) and performs what it decides, in order.
struct Watch<C> {
    shared: Arc<Shared>,
    plugin_id: String,
    container: C,
    stop: async_channel::Receiver<()>,
}

/// What the driver holds of the run under supervision.
struct Current<R> {
    /// The run, until it ends or is killed.
    running: Option<R>,
    /// Closed when the run says hello; `None` once that was told (or before any run).
    hello: Option<async_channel::Receiver<()>>,
    /// Whether a stop was heard: the channel is not listened to again (dropped, it would be
    /// heard again at once).
    stop_heard: bool,
}

impl<C: Container> Watch<C> {
    async fn run(self) {
        let policy = Policy::from(&self.shared.config);
        let mut supervision = Supervision::new(Instant::now(), policy);
        let mut current = Current {
            running: None,
            hello: None,
            stop_heard: false,
        };
        loop {
            while let Some(action) = supervision.poll_action() {
                if action == Action::Finished {
                    return;
                }
                if let Some(input) = self.perform(action, &mut current).await {
                    supervision.handle_input(Instant::now(), input);
                }
            }
            self.hear(&mut supervision, &mut current).await;
        }
    }

    /// Does what the supervision decided; what an action answers at once (the check before a
    /// start, the start) is the next input.
    async fn perform(&self, action: Action, current: &mut Current<C::Running>) -> Option<Input> {
        match action {
            Action::BeginRun => {
                // Closed when the run says hello.
                let (said_hello, hello) = async_channel::bounded::<()>(1);
                self.note(|diagnostics| diagnostics.launched(said_hello));
                current.hello = Some(hello);
            }
            Action::Admit => {
                let admitted = async {
                    match self.container.admit(&self.shared).await {
                        Ok(()) => Input::Admitted,
                        Err(problem) => Input::NotAdmitted(problem),
                    }
                };
                let stop = async {
                    self.stop_requested().await;
                    Input::StopAsked
                };
                let input = future::or(admitted, stop).await;
                current.stop_heard |= input == Input::StopAsked;
                return Some(input);
            }
            Action::Start => {
                return Some(
                    match self
                        .container
                        .start(&self.shared, &crate::secret::new_token())
                    {
                        Ok(running) => {
                            current.running = Some(running);
                            Input::Started
                        }
                        Err(error) => {
                            self.note(|diagnostics| diagnostics.not_started());
                            Input::StartFailed(error)
                        }
                    },
                );
            }
            Action::AskToStop => {
                self.shared.withdraw(&self.plugin_id);
                if let Some(running) = &current.running {
                    C::ask_to_stop(running);
                }
            }
            Action::Terminate => {
                if let Some(running) = &current.running {
                    C::terminate(running);
                }
            }
            Action::Kill => {
                if let Some(running) = current.running.take() {
                    C::kill(running).await;
                }
            }
            Action::ForgetCode => self.shared.codes.set(&self.plugin_id, None),
            Action::State(state) => self.shared.set_state(&self.plugin_id, state),
            Action::Log(level, message) => self.shared.log(&self.plugin_id, level, message),
            Action::KeepStop {
                ending,
                quarantined,
            } => self.stopped(ending, quarantined),
            Action::ListStopped(problem) => self.list_stopped(problem),
            Action::InstallDone(how) => self.shared.install_done(&self.plugin_id, Some(&how)),
            Action::Finished => {}
        }
        None
    }

    /// Waits for what the supervision waits for (the run's end, its hello, a stop, or its
    /// deadline) and tells it.
    async fn hear(&self, supervision: &mut Supervision, current: &mut Current<C::Running>) {
        let Current {
            running,
            hello,
            stop_heard,
        } = current;
        let timeout = supervision.poll_timeout();
        // A hello belongs to a run: between runs its channel is not listened to.
        let listening = running.is_some();
        let ended = async {
            match running.as_mut() {
                Some(running) => Input::Ended(C::wait(running).await),
                None => future::pending().await,
            }
        };
        let said_hello = async {
            match hello.as_ref().filter(|_| listening) {
                Some(hello) => {
                    let _ = hello.recv().await;
                    Input::SaidHello
                }
                None => future::pending().await,
            }
        };
        let stop = async {
            if *stop_heard {
                future::pending::<()>().await;
            }
            self.stop_requested().await;
            Input::StopAsked
        };
        let deadline = async {
            match timeout {
                Some((at, _)) => {
                    async_io::Timer::at(at).await;
                    Input::Timeout
                }
                None => future::pending().await,
            }
        };
        let input = future::or(ended, future::or(said_hello, future::or(stop, deadline))).await;
        match &input {
            Input::Ended(_) => {
                *running = None;
                // A hello said just before the end still counts, though the end was heard
                // first.
                if hello.take().is_some_and(|hello| hello.is_closed()) {
                    supervision.handle_input(Instant::now(), Input::SaidHello);
                }
            }
            Input::SaidHello => *hello = None,
            Input::StopAsked => *stop_heard = true,
            _ => {}
        }
        supervision.handle_input(Instant::now(), input);
    }

    /// Lists the plugin `STOPPED` with the `problem` that keeps it from running.
    fn list_stopped(&self, problem: String) {
        self.shared
            .core(|core| core.list_stopped(&self.plugin_id, problem));
    }

    /// Returns once a stop is asked for, or the [`Supervisor`] is dropped: either way, the
    /// container must not outlive it.
    async fn stop_requested(&self) {
        let _ = self.stop.recv().await;
    }

    /// Keeps the report of the run that just ended as the plugin's last stop.
    fn stopped(&self, ending: Ending, quarantined: bool) {
        self.shared
            .core(|core| core.stopped(&self.plugin_id, ending, quarantined));
    }

    /// Changes the plugin's diagnostics; a plugin no longer listed has none, and the change is
    /// dropped (with what it holds).
    fn note(&self, change: impl FnOnce(&mut super::diagnostics::Diagnostics)) {
        self.shared.core(|core| {
            if let Some(plugin) = core.plugin_mut(&self.plugin_id) {
                change(&mut plugin.diagnostics);
            }
        });
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
    signal_group(child, rustix::process::Signal::KILL);
}

/// Windows has no process groups to end; a job object would be its counterpart (not done).
#[cfg(not(unix))]
fn end_group(_: &smol::process::Child) {}

/// Asks the program and the processes of its group to end: SIGTERM, which a program may
/// handle to finish its work (its default ends it).
#[cfg(unix)]
fn terminate_group(child: &smol::process::Child) {
    signal_group(child, rustix::process::Signal::TERM);
}

/// Sends `signal` to the group of `child`, which its program leads.
#[cfg(unix)]
fn signal_group(child: &smol::process::Child, signal: rustix::process::Signal) {
    use rustix::process::{Pid, kill_process_group};
    if let Some(group) = i32::try_from(child.id()).ok().and_then(Pid::from_raw) {
        let _ = kill_process_group(group, signal);
    }
}

/// Windows has no signal asking a program without a console to end: a program there hears of
/// its stop through its session alone, and is ended (`TerminateProcess`) at the grace period's
/// end.
#[cfg(not(unix))]
fn terminate_group(_: &smol::process::Child) {}
