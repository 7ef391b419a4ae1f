//! A plugin's process: launched with a fresh secret, watched, restarted after a crash with capped
//! backoff, and stopped cleanly (its code withdrawn, its session closed, then a grace period
//! before it is killed).
//!
//! States (Kortex `ContainerState`): `LAUNCHING` from the spawn until the plugin says hello, then
//! `RUNNING`; `CRASHED` when it exits on its own with a failure (it is restarted); `STOPPED` when
//! it exits on its own with success (it meant to: it is not restarted) or after a stop;
//! `SHUTTING_DOWN` while a stop waits for it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::future;
use logi_plugin_core::proto::manager::ContainerState;
use logi_plugin_core::proto::plugin::log_event::LogLevel;
use logi_plugin_transports::{ENDPOINT_ENV, TOKEN_ENV};

use super::{Shared, lock};

/// A plugin that stayed up this long is healthy again: its next crash restarts it at once.
const HEALTHY_AFTER: Duration = Duration::from_secs(30);

/// The handle of a running supervisor.
pub(super) struct Supervisor {
    stop: async_channel::Sender<()>,
    done: async_channel::Receiver<()>,
}

impl Supervisor {
    /// Stops the process and waits until it is gone.
    pub(super) async fn stop(self) {
        let _ = self.stop.try_send(());
        let _ = self.done.recv().await;
    }
}

/// Starts supervising `plugin_id`'s `program`, run in `dir`.
pub(super) fn launch(
    shared: &Arc<Shared>,
    plugin_id: &str,
    program: PathBuf,
    dir: PathBuf,
) -> Supervisor {
    let (stop, stop_rx) = async_channel::bounded(1);
    let (done_tx, done) = async_channel::bounded::<()>(1);
    let watch = Watch {
        shared: shared.clone(),
        plugin_id: plugin_id.into(),
        program,
        dir,
        stop: stop_rx,
    };
    smol::spawn(async move {
        watch.run().await;
        drop(done_tx);
    })
    .detach();
    Supervisor { stop, done }
}

struct Watch {
    shared: Arc<Shared>,
    plugin_id: String,
    program: PathBuf,
    dir: PathBuf,
    stop: async_channel::Receiver<()>,
}

impl Watch {
    async fn run(self) {
        let mut failures: u32 = 0;
        loop {
            let started = Instant::now();
            let token = new_token();
            self.shared.codes.set(&self.plugin_id, Some(token.clone()));
            self.state(ContainerState::Launching);
            let spawned = smol::process::Command::new(&self.program)
                .current_dir(&self.dir)
                .env(TOKEN_ENV, &token)
                .env(ENDPOINT_ENV, &self.shared.config.endpoint)
                .stdin(std::process::Stdio::null())
                .kill_on_drop(true)
                .spawn();
            let exited = match spawned {
                Ok(mut child) => {
                    let exited = future::or(async { Some(child.status().await) }, async {
                        self.stop_requested().await;
                        None
                    })
                    .await;
                    match exited {
                        Some(result) => result,
                        None => return self.shut_down(child).await,
                    }
                }
                Err(error) => Err(error),
            };
            self.shared.codes.set(&self.plugin_id, None);
            let how = match exited {
                Ok(status) if status.success() => {
                    self.log(LogLevel::Info, "exited on its own; not restarted".into());
                    return self.state(ContainerState::Stopped);
                }
                Ok(status) => format!("crashed ({status})"),
                Err(error) => format!("could not be started: {error}"),
            };
            self.state(ContainerState::Crashed);
            failures = if started.elapsed() > HEALTHY_AFTER {
                0
            } else {
                failures + 1
            };
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
    /// process must not outlive it.
    async fn stop_requested(&self) {
        let _ = self.stop.recv().await;
    }

    /// Withdraws the plugin's code (so it cannot reconnect), closes its session, and gives it
    /// the grace period to exit before killing it.
    async fn shut_down(&self, mut child: smol::process::Child) {
        self.state(ContainerState::ShuttingDown);
        self.shared.codes.set(&self.plugin_id, None);
        let connection = lock(&self.shared.plugins)
            .get(&self.plugin_id)
            .and_then(|plugin| plugin.connection.clone());
        if let Some(connection) = connection {
            connection.close();
        }
        let grace = self.shared.config.stop_grace;
        let exited = future::or(async { child.status().await.is_ok() }, async {
            async_io::Timer::after(grace).await;
            false
        })
        .await;
        if !exited {
            self.log(
                LogLevel::Warning,
                format!("still running after {grace:?}; killed"),
            );
            let _ = child.kill();
            let _ = child.status().await;
        }
        self.state(ContainerState::Stopped);
    }

    fn state(&self, state: ContainerState) {
        self.shared.set_state(&self.plugin_id, state);
    }

    fn log(&self, level: LogLevel, message: String) {
        self.shared.log(&self.plugin_id, level, message);
    }
}

/// A fresh per-launch secret: 32 random bytes, in hex.
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source works");
    hex::encode(bytes)
}
