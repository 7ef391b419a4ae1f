//! Bounds on what the clients of the host's network-reachable surfaces (the admin port, the
//! marketplace bridge) can hold: loopback ports are open to every local user, and each
//! connection held costs a descriptor and a task.
//!
//! - [`Slots`]: at most so many of a long-lived thing at once (event streams, marketplace
//!   views); past that a new one is refused, and the ones open are left alone.
//! - [`Crowd`]: at most so many of a short-lived thing waiting at once (WebSocket upgrades in
//!   progress); past that the one that has waited longest is dropped for the newcomer, so idle
//!   connections cannot keep a real client out.
//! - [`AcceptFailures`]: a listening socket that fails to accept (out of descriptors) is tried
//!   again after a doubling pause, never given up, with one log line per run of failures.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use logi_plugin_core::proto::plugin::log_event::LogLevel;
use logi_plugin_transports::listener::ACCEPT_RETRY;

use crate::log::LogSink;

/// A count of open things, bounded.
#[derive(Clone, Debug)]
pub(crate) struct Slots {
    open: Arc<AtomicUsize>,
    max: usize,
}

/// One open thing; its slot is free again when it is dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    open: Arc<AtomicUsize>,
}

impl Slots {
    /// Room for `max` at once.
    pub(crate) fn new(max: usize) -> Slots {
        Slots {
            open: Arc::default(),
            max,
        }
    }

    /// A slot, if one is free.
    pub(crate) fn take(&self) -> Option<Slot> {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < self.max).then_some(open + 1)
            })
            .ok()?;
        Some(Slot {
            open: self.open.clone(),
        })
    }

    /// How many may be open at once.
    pub(crate) fn max(&self) -> usize {
        self.max
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Tasks waiting on a client, at most so many: a newcomer past the limit cancels the task that
/// has waited longest.
#[derive(Debug)]
pub(crate) struct Crowd<T> {
    waiting: VecDeque<smol::Task<T>>,
    max: usize,
}

impl<T> Crowd<T> {
    /// Room for `max` at once.
    pub(crate) fn new(max: usize) -> Crowd<T> {
        Crowd {
            waiting: VecDeque::new(),
            max,
        }
    }

    /// Keeps `task` among the waiting; whether an older one was dropped to make room.
    pub(crate) fn join(&mut self, task: smol::Task<T>) -> bool {
        self.waiting.retain(|task| !task.is_finished());
        let evicted = self.waiting.len() >= self.max;
        if evicted {
            // Dropping a task cancels it, closing its connection.
            self.waiting.pop_front();
        }
        self.waiting.push_back(task);
        evicted
    }
}

/// The failed accepts in a row of one listener: logged when a run of them starts and when it
/// ends, not at each failure.
#[derive(Debug)]
pub(crate) struct AcceptFailures {
    /// What is accepted, for the log ("plugins", "admin requests").
    what: &'static str,
    count: u32,
}

impl AcceptFailures {
    /// None yet, on the listener that accepts `what`.
    pub(crate) fn new(what: &'static str) -> AcceptFailures {
        AcceptFailures { what, count: 0 }
    }

    /// Notes a failed accept, logged if it starts a run.
    pub(crate) fn note(&mut self, log: &LogSink, error: &std::io::Error) {
        if self.count == 0 {
            let what = format!(
                "accepting {} failed: {error}; retrying while it fails",
                self.what
            );
            log.write(None, LogLevel::Error, &what);
        }
        self.count = self.count.saturating_add(1);
    }

    /// [`note`](Self::note)s a failed accept and waits before the next, by
    /// [`ACCEPT_RETRY`]: the same failure would come back at once, as no descriptor is freed
    /// by asking (the plugin listener pauses by itself).
    pub(crate) async fn failed(&mut self, log: &LogSink, error: &std::io::Error) {
        self.note(log, error);
        async_io::Timer::after(ACCEPT_RETRY.delay(self.count - 1)).await;
    }

    /// Notes an accept that worked, ending a run of failures (logged).
    pub(crate) fn succeeded(&mut self, log: &LogSink) {
        if self.count > 0 {
            let what = format!(
                "accepting {} again after {} failed accepts",
                self.what, self.count
            );
            log.write(None, LogLevel::Info, &what);
            self.count = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_is_free_again_once_dropped() {
        let slots = Slots::new(2);
        let first = slots.take().unwrap();
        let _second = slots.take().unwrap();
        assert!(slots.take().is_none());
        drop(first);
        assert!(slots.take().is_some());
    }

    #[test]
    fn a_full_crowd_drops_the_one_that_waited_longest() {
        let mut crowd = Crowd::new(2);
        let (old_tx, old_rx) = async_channel::bounded::<()>(1);
        let oldest = smol::spawn(async move {
            let _ = old_rx.recv().await;
        });
        assert!(!crowd.join(oldest));
        assert!(!crowd.join(smol::spawn(std::future::pending::<()>())));
        assert!(crowd.join(smol::spawn(std::future::pending::<()>())));
        // The oldest task was cancelled: its receiver is gone once the executor drops it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !old_tx.is_closed() {
            assert!(
                std::time::Instant::now() < deadline,
                "the oldest still waits"
            );
            std::thread::yield_now();
        }
        assert_eq!(crowd.waiting.len(), 2);
    }

    #[test]
    fn finished_tasks_leave_the_crowd_without_evicting_anyone() {
        let mut crowd = Crowd::new(1);
        let done = smol::spawn(async {});
        smol::block_on(async {
            while !done.is_finished() {
                smol::future::yield_now().await;
            }
        });
        crowd.join(done);
        assert!(!crowd.join(smol::spawn(std::future::pending::<()>())));
    }
}
