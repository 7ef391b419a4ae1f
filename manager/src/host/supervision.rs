//! The decisions of a plugin's supervision as a pure state machine, one per supervisor: when to
//! check and start a run, how long a run has to say hello, what a stop asks of it, how long a
//! crashed run waits before its restart (capped, doubling), when a run counts as healthy again
//! (said hello and stayed up [`HEALTHY_AFTER`]), and when crashes in a row put it in quarantine.
//!
//! No IO, no clock reads, no locks: the supervisor (`process.rs`) feeds it what happened with
//! [`Supervision::handle_input`], performs every [`Action`] that [`Supervision::poll_action`]
//! gives, in order, and sleeps until [`Supervision::poll_timeout`] or the next input, whichever
//! comes first:
//!
//! ```text
//! let mut supervision = Supervision::new(now, policy);
//! loop {
//!     while let Some(action) = supervision.poll_action() {
//!         // perform it; Admit and Start are answered at once with an input
//!         if action == Action::Finished { return }
//!     }
//!     // wait for the run to end, its hello, a stop, or poll_timeout(), then:
//!     supervision.handle_input(now, input);
//! }
//! ```
//!
//! Every wait is a named [`Timer`] of the one deadline the machine has at a time: the hello
//! deadline while a run has not said hello, the grace period while a stop waits for the run
//! (its termination halfway through it first), the restart delay after a crash.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use logi_plugin_core::proto::manager::ContainerState;
use logi_plugin_core::proto::plugin::log_event::LogLevel;
use logi_plugin_transports::reconnect::Backoff;

use super::config::HostConfig;
use super::diagnostics::Ending;

/// How the report of every run the host stopped begins.
const STOPPED_BY_THE_HOST: &str = "stopped by the host";

/// A plugin that said hello and stayed up this long is healthy again: its next crash restarts
/// it after the first delay of the backoff, and counts as the first of a new series.
const HEALTHY_AFTER: Duration = Duration::from_secs(30);

/// How a supervisor restarts, and how long it waits: the supervision part of a
/// [`HostConfig`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Policy {
    /// The wait before a restart, after so many crashes in a row.
    pub(super) restart: Backoff,
    /// How many crashes in a row put the plugin in quarantine.
    pub(super) crash_loop_limit: u32,
    /// How long a started run has to say hello.
    pub(super) hello_timeout: Duration,
    /// How long a run asked to stop has before it is killed.
    pub(super) stop_grace: Duration,
}

impl From<&HostConfig> for Policy {
    fn from(config: &HostConfig) -> Policy {
        Policy {
            restart: config.restart,
            crash_loop_limit: config.crash_loop_limit,
            hello_timeout: config.hello_timeout,
            stop_grace: config.stop_grace,
        }
    }
}

/// What happened, as the supervisor saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Input {
    /// The check asked by [`Action::Admit`] passed.
    Admitted,
    /// The check asked by [`Action::Admit`] failed, saying why.
    NotAdmitted(String),
    /// The run asked by [`Action::Start`] runs.
    Started,
    /// The run asked by [`Action::Start`] could not be started, saying why.
    StartFailed(String),
    /// The run's hello was admitted.
    SaidHello,
    /// The run ended: `Ok` as it meant to, else how it failed.
    Ended(Result<(), Ending>),
    /// A stop was asked for (or the supervisor's handle was dropped).
    StopAsked,
    /// The deadline of [`Supervision::poll_timeout`] may have come; early, it does nothing.
    Timeout,
}

/// What the supervisor is to do, in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Action {
    /// A new run begins: note it in the plugin's diagnostics, and listen for its hello.
    BeginRun,
    /// Check that the plugin may run, and answer [`Input::Admitted`] or
    /// [`Input::NotAdmitted`] (or [`Input::StopAsked`], if a stop comes first).
    Admit,
    /// Start a run with a fresh secret, and answer [`Input::Started`] or
    /// [`Input::StartFailed`].
    Start,
    /// Withdraw the plugin's code (so that it cannot connect again), close its session, and
    /// ask the run to end: a plugin on the SDK hears its next hello refused and ends by itself.
    AskToStop,
    /// Ask the run to end the operating system's way (SIGTERM to a program's process group),
    /// when its session cannot tell it: it never said hello, or it is still running halfway
    /// through the grace period.
    Terminate,
    /// End the run now.
    Kill,
    /// Withdraw the plugin's code: the run it was made for has ended.
    ForgetCode,
    /// Set the plugin's container state.
    State(ContainerState),
    /// Log this line about the plugin.
    Log(LogLevel, String),
    /// Keep the report of the run that ended as the plugin's last stop.
    KeepStop {
        /// How the run ended.
        ending: Ending,
        /// Whether this stop put the plugin in quarantine.
        quarantined: bool,
    },
    /// List the plugin `STOPPED` with the problem that keeps it from running.
    ListStopped(String),
    /// Tell the install that brought the plugin, if one waits for its first run, that the run
    /// ended without a hello, and how.
    InstallDone(String),
    /// Supervision is over: nothing runs, and nothing will.
    Finished,
}

/// The deadlines of a supervision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Timer {
    /// The run has not said hello yet: at this deadline it is killed, a crash.
    Hello,
    /// The run was asked to stop and is still running halfway through the grace period: at
    /// this deadline it is terminated.
    Terminate,
    /// The run was asked to stop: at this deadline it is killed.
    Grace,
    /// The run crashed: at this deadline the next one begins.
    Restart,
}

/// Where a supervision is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for [`Action::Admit`]'s answer.
    Admitting,
    /// Waiting for [`Action::Start`]'s answer.
    Starting,
    /// A run is up; until `hello`, if it has not said hello yet.
    Running { hello: Option<Instant> },
    /// A run was asked to stop; it is terminated at `terminate`, if not yet, and killed at
    /// `until`.
    Stopping {
        terminate: Option<Instant>,
        until: Instant,
    },
    /// The last run crashed; the next begins at `at`.
    Restarting { at: Instant },
    /// Over.
    Finished,
}

/// The supervision of one plugin: its runs, its crashes in a row, the one wait it is in.
#[derive(Debug)]
pub(super) struct Supervision {
    policy: Policy,
    phase: Phase,
    /// The latest time given; time never goes back inside.
    now: Instant,
    /// When the current run began (its check before the start included).
    run_began: Instant,
    /// Whether the current run said hello.
    said_hello: bool,
    /// A stop asked while a start was under way, acted on once its answer comes.
    stop_asked: bool,
    /// Failed runs in a row.
    failures: u32,
    actions: VecDeque<Action>,
}

impl Supervision {
    /// A supervision that begins its first run at `now`.
    pub(super) fn new(now: Instant, policy: Policy) -> Supervision {
        let mut supervision = Supervision {
            policy,
            phase: Phase::Admitting,
            now,
            run_began: now,
            said_hello: false,
            stop_asked: false,
            failures: 0,
            actions: VecDeque::new(),
        };
        supervision.begin_run();
        supervision
    }

    /// Takes in what happened at `now`; what to do about it comes out of
    /// [`poll_action`](Self::poll_action). An input that does not fit where the supervision is
    /// (a hello with no run, anything once finished) does nothing.
    pub(super) fn handle_input(&mut self, now: Instant, input: Input) {
        self.now = self.now.max(now);
        match (self.phase, input) {
            (Phase::Finished, _) => {}
            (_, Input::Timeout) => self.handle_timeout(),
            (Phase::Admitting, Input::Admitted) => {
                self.phase = Phase::Starting;
                self.actions.push_back(Action::Start);
            }
            (Phase::Admitting, Input::NotAdmitted(problem)) => {
                let why = format!("not launched: {problem}");
                self.log(LogLevel::Error, why.clone());
                self.actions.push_back(Action::InstallDone(why));
                self.actions.push_back(Action::ListStopped(problem));
                self.finish();
            }
            (Phase::Admitting | Phase::Restarting { .. }, Input::StopAsked) => {
                self.state(ContainerState::Stopped);
                self.finish();
            }
            (Phase::Starting, Input::StopAsked) => self.stop_asked = true,
            (Phase::Starting, Input::Started) => {
                let hello = self.now + self.policy.hello_timeout;
                self.phase = Phase::Running { hello: Some(hello) };
                if self.stop_asked {
                    self.shut_down();
                }
            }
            (Phase::Starting, Input::StartFailed(error)) => self.run_ended(Err(error.into())),
            (Phase::Running { .. }, Input::SaidHello) => {
                self.said_hello = true;
                self.phase = Phase::Running { hello: None };
            }
            (Phase::Running { .. }, Input::Ended(ended)) => self.run_ended(ended),
            (Phase::Running { .. }, Input::StopAsked) => self.shut_down(),
            // However it ends now, it ended: the stop asked for it.
            (Phase::Stopping { .. }, Input::Ended(ended)) => self.ended_when_asked(ended),
            _ => {}
        }
    }

    /// The next thing to do, in order; `None` once all is done, until the next input.
    #[must_use]
    pub(super) fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When to give [`Input::Timeout`], and which deadline that is; `None` when nothing is
    /// waited for but an input.
    #[must_use]
    pub(super) fn poll_timeout(&self) -> Option<(Instant, Timer)> {
        match self.phase {
            Phase::Running { hello: Some(at) } => Some((at, Timer::Hello)),
            Phase::Stopping {
                terminate: Some(at),
                ..
            } => Some((at, Timer::Terminate)),
            Phase::Stopping { until, .. } => Some((until, Timer::Grace)),
            Phase::Restarting { at } => Some((at, Timer::Restart)),
            _ => None,
        }
    }

    /// Fires the deadline that has come, if one has.
    fn handle_timeout(&mut self) {
        match self.poll_timeout() {
            Some((at, _)) if self.now < at => {}
            Some((_, Timer::Hello)) => {
                self.actions.push_back(Action::Kill);
                let timeout = self.policy.hello_timeout;
                let how = format!("said no hello within {timeout:?}; killed");
                self.run_ended(Err(how.into()));
            }
            Some((_, Timer::Terminate)) => {
                self.actions.push_back(Action::Terminate);
                if let Phase::Stopping { until, .. } = self.phase {
                    self.phase = Phase::Stopping {
                        terminate: None,
                        until,
                    };
                }
            }
            Some((_, Timer::Grace)) => {
                let grace = self.policy.stop_grace;
                let message = format!("still running after {grace:?}; killed");
                self.log(LogLevel::Warning, message.clone());
                self.actions.push_back(Action::Kill);
                self.stopped_by_the_host(format!("{STOPPED_BY_THE_HOST}; {message}").into());
            }
            Some((_, Timer::Restart)) => self.begin_run(),
            None => {}
        }
    }

    /// A run begins: the check before its start first.
    fn begin_run(&mut self) {
        self.phase = Phase::Admitting;
        self.run_began = self.now;
        self.said_hello = false;
        self.actions.push_back(Action::BeginRun);
        self.state(ContainerState::Launching);
        self.actions.push_back(Action::Admit);
    }

    /// Asks the run to end, and gives it the grace period. A run that said hello is asked
    /// through its session first, and terminated only halfway through the grace period if it
    /// is still running, so that a plugin that ends by itself is not cut short; one that did
    /// not has no session to hear it, and is terminated at once.
    fn shut_down(&mut self) {
        self.state(ContainerState::ShuttingDown);
        self.actions.push_back(Action::AskToStop);
        let grace = self.policy.stop_grace;
        let terminate = if self.said_hello {
            Some(self.now + grace / 2)
        } else {
            self.actions.push_back(Action::Terminate);
            None
        };
        let until = self.now + grace;
        self.phase = Phase::Stopping { terminate, until };
    }

    /// The run asked to stop ended within the grace period: on its own (`Ok`), or as it
    /// failed (a program ended by the termination has its signal).
    fn ended_when_asked(&mut self, ended: Result<(), Ending>) {
        let ending = match ended {
            Ok(()) => format!("{STOPPED_BY_THE_HOST}; it ended on its own").into(),
            Err(ending) => Ending {
                how: format!("{STOPPED_BY_THE_HOST}; it ended: {}", ending.how),
                ..ending
            },
        };
        self.log(LogLevel::Info, ending.how.clone());
        self.stopped_by_the_host(ending);
    }

    /// The run asked to stop is gone, as `ending` says.
    fn stopped_by_the_host(&mut self, ending: Ending) {
        self.keep_stop(ending, false);
        self.state(ContainerState::Stopped);
        self.finish();
    }

    /// The run ended on its own (or was killed for saying no hello, or never started): not
    /// restarted when it meant to end, else restarted after the backoff, or quarantined.
    fn run_ended(&mut self, ended: Result<(), Ending>) {
        self.actions.push_back(Action::ForgetCode);
        if !self.said_hello {
            // An install is told whole after its first run, hello or not.
            let how = match &ended {
                Ok(()) => "ended on its own".to_string(),
                Err(ending) => ending.how.clone(),
            };
            self.actions.push_back(Action::InstallDone(how));
        }
        let ending = match ended {
            Ok(()) => {
                self.log(LogLevel::Info, "ended on its own; not restarted".into());
                self.keep_stop("ended on its own".to_string().into(), false);
                self.state(ContainerState::Stopped);
                return self.finish();
            }
            Err(ending) => ending,
        };
        // A run that never said hello is a failed start, however long it took.
        let healthy = self.said_hello && self.now - self.run_began > HEALTHY_AFTER;
        self.failures = if healthy { 0 } else { self.failures + 1 };
        let failures = self.failures;
        let quarantined = failures >= self.policy.crash_loop_limit;
        let how = ending.how.clone();
        // Kept before the crash is told, so that whoever hears of it can read why.
        self.keep_stop(ending, quarantined);
        self.state(ContainerState::Crashed);
        if quarantined {
            let why = format!(
                "quarantined after {failures} crashes in a row, the last: {how}; reload or \
                 reinstall it to run it again"
            );
            self.log(LogLevel::Error, why.clone());
            self.actions.push_back(Action::ListStopped(why));
            return self.finish();
        }
        if self.stop_asked {
            self.state(ContainerState::Stopped);
            return self.finish();
        }
        let delay = self.policy.restart.delay(failures.saturating_sub(1));
        self.log(LogLevel::Error, format!("{how}; restarting in {delay:?}"));
        self.phase = Phase::Restarting {
            at: self.now + delay,
        };
    }

    fn keep_stop(&mut self, ending: Ending, quarantined: bool) {
        let stop = Action::KeepStop {
            ending,
            quarantined,
        };
        self.actions.push_back(stop);
    }

    fn state(&mut self, state: ContainerState) {
        self.actions.push_back(Action::State(state));
    }

    fn log(&mut self, level: LogLevel, message: String) {
        self.actions.push_back(Action::Log(level, message));
    }

    fn finish(&mut self) {
        self.phase = Phase::Finished;
        self.actions.push_back(Action::Finished);
    }
}

#[cfg(test)]
mod tests {
    //! Supervision scenarios on a fake clock: no processes, no sleeps.

    use super::*;

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    fn secs(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    /// The host's defaults, but for a backoff that reaches its cap in three steps.
    fn policy() -> Policy {
        Policy {
            restart: Backoff {
                initial: ms(250),
                max: secs(1),
            },
            crash_loop_limit: 5,
            hello_timeout: secs(30),
            stop_grace: secs(2),
        }
    }

    /// How the runs of these tests crash.
    fn crash() -> Ending {
        Ending {
            how: "crashed (exit status: 3)".into(),
            exit_code: Some(3),
            signal: None,
        }
    }

    /// The stop report kept for a run that ended `how`, with no quarantine.
    fn kept(how: &str) -> Action {
        Action::KeepStop {
            ending: how.to_string().into(),
            quarantined: false,
        }
    }

    /// The stop report kept for a crash of these tests.
    fn kept_crash(quarantined: bool) -> Action {
        Action::KeepStop {
            ending: crash(),
            quarantined,
        }
    }

    /// What ends a supervision whose run, asked to stop, is gone `how`.
    fn stopped_by_the_host(how: &str) -> [Action; 3] {
        [
            kept(how),
            Action::State(ContainerState::Stopped),
            Action::Finished,
        ]
    }

    /// A supervision and the clock it is driven on.
    struct Fake {
        supervision: Supervision,
        now: Instant,
    }

    impl Fake {
        /// A supervision begun now, its first actions not taken yet.
        fn new(policy: Policy) -> Fake {
            let now = Instant::now();
            Fake {
                supervision: Supervision::new(now, policy),
                now,
            }
        }

        /// A supervision whose first run has been checked and started.
        fn running(policy: Policy) -> Fake {
            let mut fake = Fake::new(policy);
            fake.actions();
            fake.launch();
            fake
        }

        /// A supervision whose first run said hello and was then asked to stop.
        fn asked_to_stop(policy: Policy) -> Fake {
            let mut fake = Fake::running(policy);
            fake.input(Input::SaidHello);
            fake.input(Input::StopAsked);
            fake
        }

        /// What the supervision asks for now.
        fn actions(&mut self) -> Vec<Action> {
            std::iter::from_fn(|| self.supervision.poll_action()).collect()
        }

        /// `input` at the current time, and what it asks for.
        fn input(&mut self, input: Input) -> Vec<Action> {
            self.supervision.handle_input(self.now, input);
            self.actions()
        }

        /// Moves the clock on by `elapsed`.
        fn wait(&mut self, elapsed: Duration) {
            self.now += elapsed;
        }

        /// The deadline waited for now, as a time from now.
        fn timeout(&self) -> Option<(Duration, Timer)> {
            let (at, timer) = self.supervision.poll_timeout()?;
            Some((at - self.now, timer))
        }

        /// Moves the clock to the deadline and gives the timeout.
        fn time_out(&mut self) -> Vec<Action> {
            let (at, _) = self.supervision.poll_timeout().expect("a deadline");
            self.now = at;
            self.input(Input::Timeout)
        }

        /// The check passes and the run starts.
        fn launch(&mut self) {
            assert_eq!(self.input(Input::Admitted), [Action::Start]);
            assert_eq!(self.input(Input::Started), []);
        }

        /// The run crashes; the restart delay it was given.
        fn crash(&mut self) -> Duration {
            let actions = self.input(Input::Ended(Err(crash())));
            assert!(actions.contains(&Action::State(ContainerState::Crashed)));
            match self.timeout() {
                Some((delay, Timer::Restart)) => delay,
                other => panic!("no restart after a crash: {other:?}, {actions:?}"),
            }
        }

        /// The restart delay passes and the next run is checked and started.
        fn restart(&mut self) {
            let actions = self.time_out();
            assert_eq!(actions[0], Action::BeginRun, "{actions:?}");
            self.launch();
        }
    }

    #[test]
    fn a_run_begins_in_launching_with_the_check_before_its_start() {
        let mut fake = Fake::new(policy());
        let launching = Action::State(ContainerState::Launching);
        assert_eq!(fake.actions(), [Action::BeginRun, launching, Action::Admit]);
        assert_eq!(fake.timeout(), None);
        assert_eq!(fake.input(Input::Admitted), [Action::Start]);
        assert_eq!(fake.input(Input::Started), []);
        assert_eq!(fake.timeout(), Some((secs(30), Timer::Hello)));
    }

    #[test]
    fn a_plugin_that_fails_its_check_is_listed_stopped_with_the_reason_and_not_started() {
        let mut fake = Fake::new(policy());
        fake.actions();
        let problem = "run.sh was changed or removed since it was installed";
        let why = format!("not launched: {problem}");
        assert_eq!(
            fake.input(Input::NotAdmitted(problem.into())),
            [
                Action::Log(LogLevel::Error, why.clone()),
                Action::InstallDone(why),
                Action::ListStopped(problem.into()),
                Action::Finished,
            ]
        );
    }

    #[test]
    fn a_stop_during_the_check_stops_it_without_a_start() {
        let mut fake = Fake::new(policy());
        fake.actions();
        let stopped = Action::State(ContainerState::Stopped);
        assert_eq!(fake.input(Input::StopAsked), [stopped, Action::Finished]);
        assert_eq!(fake.input(Input::Admitted), []);
    }

    #[test]
    fn a_crash_is_reported_then_restarted_after_the_backoff() {
        let mut fake = Fake::running(policy());
        let how = crash().how;
        assert_eq!(
            fake.input(Input::Ended(Err(crash()))),
            [
                Action::ForgetCode,
                Action::InstallDone(how.clone()),
                kept_crash(false),
                Action::State(ContainerState::Crashed),
                Action::Log(LogLevel::Error, format!("{how}; restarting in 250ms")),
            ]
        );
        assert_eq!(fake.timeout(), Some((ms(250), Timer::Restart)));
        let launching = Action::State(ContainerState::Launching);
        assert_eq!(
            fake.time_out(),
            [Action::BeginRun, launching, Action::Admit]
        );
    }

    #[test]
    fn the_restart_delay_doubles_with_each_crash_in_a_row_up_to_its_cap() {
        let mut fake = Fake::running(policy());
        let mut delays = vec![fake.crash()];
        for _ in 0..3 {
            fake.restart();
            delays.push(fake.crash());
        }
        assert_eq!(delays, [ms(250), ms(500), secs(1), secs(1)]);
    }

    #[test]
    fn a_timeout_before_its_deadline_does_nothing() {
        let mut fake = Fake::running(policy());
        fake.crash();
        fake.wait(ms(249));
        assert_eq!(fake.input(Input::Timeout), []);
        assert_eq!(fake.timeout(), Some((ms(1), Timer::Restart)));
    }

    #[test]
    fn a_run_that_said_hello_and_stayed_up_past_healthy_after_starts_the_count_over() {
        let mut fake = Fake::running(policy());
        fake.crash();
        fake.restart();
        fake.crash();
        fake.restart();
        fake.input(Input::SaidHello);
        fake.wait(secs(30) + ms(1));
        assert_eq!(fake.crash(), ms(250));
    }

    #[test]
    fn a_run_that_said_hello_but_crashed_within_healthy_after_keeps_the_count() {
        let mut fake = Fake::running(policy());
        fake.crash();
        fake.restart();
        fake.input(Input::SaidHello);
        fake.wait(secs(30));
        assert_eq!(fake.crash(), ms(500));
    }

    #[test]
    fn a_run_that_never_said_hello_keeps_the_count_however_long_it_ran() {
        let mut fake = Fake::running(Policy {
            hello_timeout: secs(600),
            ..policy()
        });
        fake.crash();
        fake.restart();
        fake.wait(secs(300));
        assert_eq!(fake.crash(), ms(500));
    }

    #[test]
    fn the_crash_that_reaches_the_limit_puts_the_plugin_in_quarantine() {
        let mut fake = Fake::running(Policy {
            crash_loop_limit: 3,
            ..policy()
        });
        fake.crash();
        fake.restart();
        fake.crash();
        fake.restart();
        let how = crash().how;
        let why = format!(
            "quarantined after 3 crashes in a row, the last: {how}; reload or reinstall it to \
             run it again"
        );
        assert_eq!(
            fake.input(Input::Ended(Err(crash()))),
            [
                Action::ForgetCode,
                Action::InstallDone(how),
                kept_crash(true),
                Action::State(ContainerState::Crashed),
                Action::Log(LogLevel::Error, why.clone()),
                Action::ListStopped(why),
                Action::Finished,
            ]
        );
        assert_eq!(fake.timeout(), None);
    }

    #[test]
    fn a_quarantined_supervision_is_over_and_hears_nothing_more() {
        let mut fake = Fake::running(Policy {
            crash_loop_limit: 1,
            ..policy()
        });
        let actions = fake.input(Input::Ended(Err(crash())));
        assert_eq!(actions.last(), Some(&Action::Finished));
        fake.wait(secs(3600));
        for input in [
            Input::Timeout,
            Input::StopAsked,
            Input::Admitted,
            Input::Started,
        ] {
            assert_eq!(fake.input(input), []);
        }
        assert_eq!(fake.timeout(), None);
    }

    /// `Host::reload` stops the supervisor (at once, when it is over: its task has returned)
    /// and supervises the plugin again with a new one: its count starts over.
    #[test]
    fn reload_after_quarantine_runs_it_again_with_a_fresh_count() {
        let quarantining = Policy {
            crash_loop_limit: 2,
            ..policy()
        };
        let mut fake = Fake::running(quarantining);
        fake.crash();
        fake.restart();
        let actions = fake.input(Input::Ended(Err(crash())));
        assert_eq!(actions.last(), Some(&Action::Finished));
        let mut reloaded = Fake::running(quarantining);
        assert_eq!(reloaded.crash(), ms(250));
        let actions = reloaded.input(Input::Timeout);
        assert_eq!(actions, [], "restarted before its delay");
        reloaded.restart();
        let last = reloaded.input(Input::Ended(Err(crash())));
        assert!(last.contains(&Action::Finished), "{last:?}");
    }

    #[test]
    fn a_stop_during_the_restart_wait_stops_it_without_a_restart() {
        let mut fake = Fake::running(policy());
        fake.crash();
        fake.wait(ms(100));
        let stopped = Action::State(ContainerState::Stopped);
        assert_eq!(fake.input(Input::StopAsked), [stopped, Action::Finished]);
        assert_eq!(fake.timeout(), None);
        fake.wait(secs(1));
        assert_eq!(fake.input(Input::Timeout), []);
    }

    #[test]
    fn a_stop_during_a_run_asks_it_to_stop_and_kills_it_at_the_grace_deadline() {
        let mut fake = Fake::running(policy());
        fake.input(Input::SaidHello);
        let shutting_down = Action::State(ContainerState::ShuttingDown);
        assert_eq!(
            fake.input(Input::StopAsked),
            [shutting_down, Action::AskToStop]
        );
        assert_eq!(fake.timeout(), Some((secs(1), Timer::Terminate)));
        assert_eq!(fake.time_out(), [Action::Terminate]);
        assert_eq!(fake.timeout(), Some((secs(1), Timer::Grace)));
        fake.wait(secs(1) - ms(1));
        assert_eq!(fake.input(Input::Timeout), [], "killed before the deadline");
        let killed = Action::Log(LogLevel::Warning, "still running after 2s; killed".into());
        let actions = fake.time_out();
        assert_eq!(actions[..2], [killed, Action::Kill]);
        let how = "stopped by the host; still running after 2s; killed";
        assert_eq!(actions[2..], stopped_by_the_host(how));
    }

    #[test]
    fn a_run_that_said_hello_is_not_terminated_before_half_its_grace_period() {
        let mut fake = Fake::asked_to_stop(policy());
        fake.wait(secs(1) - ms(1));
        assert_eq!(fake.input(Input::Timeout), [], "terminated too early");
        fake.wait(ms(1));
        assert_eq!(fake.input(Input::Timeout), [Action::Terminate]);
    }

    /// What a stop asks of a run that said no hello: there is no session to tell it.
    fn terminated_at_once() -> [Action; 3] {
        [
            Action::State(ContainerState::ShuttingDown),
            Action::AskToStop,
            Action::Terminate,
        ]
    }

    #[test]
    fn a_run_that_said_no_hello_is_terminated_as_soon_as_it_is_asked_to_stop() {
        let mut fake = Fake::running(policy());
        assert_eq!(fake.input(Input::StopAsked), terminated_at_once());
        assert_eq!(fake.timeout(), Some((secs(2), Timer::Grace)));
    }

    #[test]
    fn a_run_that_ends_on_its_own_when_asked_to_stop_says_so() {
        let mut fake = Fake::asked_to_stop(policy());
        fake.wait(ms(150));
        let how = "stopped by the host; it ended on its own";
        let mut expected = vec![Action::Log(LogLevel::Info, how.into())];
        expected.extend(stopped_by_the_host(how));
        assert_eq!(fake.input(Input::Ended(Ok(()))), expected);
    }

    #[test]
    fn a_run_that_ends_within_the_grace_period_is_not_killed() {
        let mut fake = Fake::asked_to_stop(policy());
        fake.wait(ms(300));
        let how = "stopped by the host; it ended: crashed (exit status: 3)";
        let ended = Ending {
            how: how.into(),
            ..crash()
        };
        assert_eq!(
            fake.input(Input::Ended(Err(crash()))),
            [
                Action::Log(LogLevel::Info, how.into()),
                Action::KeepStop {
                    ending: ended,
                    quarantined: false,
                },
                Action::State(ContainerState::Stopped),
                Action::Finished,
            ]
        );
        assert_eq!(fake.timeout(), None);
    }

    #[test]
    fn a_stop_asked_while_a_run_starts_shuts_it_down_once_it_runs() {
        let mut fake = Fake::new(policy());
        fake.actions();
        fake.input(Input::Admitted);
        assert_eq!(fake.input(Input::StopAsked), []);
        assert_eq!(fake.input(Input::Started), terminated_at_once());
        assert_eq!(fake.timeout(), Some((secs(2), Timer::Grace)));
    }

    #[test]
    fn a_run_that_says_no_hello_within_the_limit_is_killed_and_counted_as_a_crash() {
        let mut fake = Fake::running(policy());
        assert_eq!(fake.timeout(), Some((secs(30), Timer::Hello)));
        let how = "said no hello within 30s; killed".to_string();
        assert_eq!(
            fake.time_out(),
            [
                Action::Kill,
                Action::ForgetCode,
                Action::InstallDone(how.clone()),
                kept(&how),
                Action::State(ContainerState::Crashed),
                Action::Log(LogLevel::Error, format!("{how}; restarting in 250ms")),
            ]
        );
        fake.restart();
        assert_eq!(fake.crash(), ms(500), "the first failure was not counted");
    }

    #[test]
    fn a_run_that_said_hello_is_not_killed_at_the_hello_deadline() {
        let mut fake = Fake::running(policy());
        assert_eq!(fake.input(Input::SaidHello), []);
        assert_eq!(fake.timeout(), None);
        fake.wait(secs(30));
        assert_eq!(fake.input(Input::Timeout), []);
    }

    #[test]
    fn a_run_that_ends_with_success_is_stopped_and_not_restarted() {
        let mut fake = Fake::running(policy());
        fake.input(Input::SaidHello);
        assert_eq!(
            fake.input(Input::Ended(Ok(()))),
            [
                Action::ForgetCode,
                Action::Log(LogLevel::Info, "ended on its own; not restarted".into()),
                kept("ended on its own"),
                Action::State(ContainerState::Stopped),
                Action::Finished,
            ]
        );
        assert_eq!(fake.timeout(), None);
    }

    #[test]
    fn a_first_run_that_ends_without_a_hello_tells_the_install_how() {
        let mut fake = Fake::running(policy());
        let actions = fake.input(Input::Ended(Ok(())));
        assert_eq!(actions[1], Action::InstallDone("ended on its own".into()));
    }

    #[test]
    fn a_run_that_said_hello_leaves_the_install_to_its_hello() {
        let mut fake = Fake::running(policy());
        fake.input(Input::SaidHello);
        let actions = fake.input(Input::Ended(Err(crash())));
        let told = actions.iter().any(|a| matches!(a, Action::InstallDone(_)));
        assert!(!told, "{actions:?}");
    }

    #[test]
    fn a_program_that_cannot_be_started_counts_as_a_crash() {
        let mut fake = Fake::new(policy());
        fake.actions();
        fake.input(Input::Admitted);
        let error = "/plugins/run.sh could not be started: No such file or directory";
        let actions = fake.input(Input::StartFailed(error.into()));
        assert!(actions.contains(&kept(error)), "{actions:?}");
        assert_eq!(fake.timeout(), Some((ms(250), Timer::Restart)));
    }

    #[test]
    fn a_time_earlier_than_one_already_given_counts_as_the_latest() {
        let mut fake = Fake::running(policy());
        fake.crash();
        fake.restart();
        let began = fake.now;
        fake.wait(secs(31));
        fake.input(Input::SaidHello);
        // The clock steps back: the run still said hello 31 s after it began, and crashed
        // after that, a healthy run; its restart delay runs from the latest time.
        fake.now = began + secs(5);
        fake.input(Input::Ended(Err(crash())));
        let restart = fake.supervision.poll_timeout();
        assert_eq!(restart, Some((began + secs(31) + ms(250), Timer::Restart)));
    }
}
