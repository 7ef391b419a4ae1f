//! The handle of a plugin's supervisor task (`process::supervise`): what the host keeps to stop
//! it.

/// The handle of a running supervisor.
pub(super) struct Supervisor {
    pub(super) stop: async_channel::Sender<()>,
    pub(super) done: async_channel::Receiver<()>,
}

impl Supervisor {
    /// Stops the container and waits until it is gone.
    pub(super) async fn stop(self) {
        self.ask_to_stop();
        let _ = self.done.recv().await;
    }

    /// Stops the container, without waiting: to stop several at once, then wait for each.
    pub(super) fn ask_to_stop(&self) {
        let _ = self.stop.try_send(());
    }
}
