//! The time the drivers read and the timers they sleep on: the machine's by default, or a
//! virtual clock that moves only when told, for tests (the SDK's mock host runs a plugin and
//! its manager on one).
//!
//! The sessions are sans-IO and take `now` as an argument; whoever drives them reads it here.
//! A [`Driver`](crate::Driver) takes its clock with [`Driver::with_clock`](crate::Driver::with_clock),
//! a [`ManagerListener`](crate::ManagerListener) with
//! [`with_clock`](crate::ManagerListener::with_clock), a reconnecting client from its
//! [`Dialer::clock`](crate::reconnect::Dialer::clock); each creates its sessions at that clock's
//! [`now`](Clock::now) and sleeps on its [`Timer`]s.
//!
//! A [`VirtualClock`] starts at the machine's `Instant::now()` and stays there until
//! [`advance`](VirtualClock::advance) moves it, one timer deadline at a time, so that what a
//! deadline sets off (a heartbeat's `Ping`, its `Pong`) runs before the next deadline is
//! reached, as it would have in real time.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::lock::lock;

/// Where time comes from: the machine's clock, or a [`VirtualClock`].
#[derive(Clone, Debug, Default)]
pub enum Clock {
    /// The machine's monotonic clock, with `async-io` timers.
    #[default]
    System,
    /// A clock that moves only when told (tests).
    Virtual(VirtualClock),
}

impl Clock {
    /// The time now, on this clock.
    pub fn now(&self) -> Instant {
        match self {
            Clock::System => Instant::now(),
            Clock::Virtual(clock) => clock.now(),
        }
    }

    /// A timer that fires at nothing until [`Timer::set_at`] gives it a deadline.
    pub fn timer(&self) -> Timer {
        Timer {
            kind: match self {
                Clock::System => Kind::System(async_io::Timer::never()),
                Clock::Virtual(clock) => Kind::Virtual {
                    clock: clock.clone(),
                    id: clock.0.next_id.fetch_add(1, Ordering::Relaxed),
                    at: None,
                },
            },
        }
    }

    /// A timer that fires `duration` from now on this clock.
    pub fn sleep(&self, duration: Duration) -> Timer {
        let mut timer = self.timer();
        // A duration past what an `Instant` holds never ends.
        if let Some(at) = self.now().checked_add(duration) {
            timer.set_at(at);
        }
        timer
    }
}

/// A future that completes when its clock reaches its deadline.
#[derive(Debug)]
#[must_use = "a timer does nothing unless polled"]
pub struct Timer {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    System(async_io::Timer),
    Virtual {
        clock: VirtualClock,
        /// Its key in the clock's table, with the deadline.
        id: u64,
        /// `None` once fired, or before a deadline is set.
        at: Option<Instant>,
    },
}

impl Timer {
    /// Fires at `at` (at once if that has passed), instead of any deadline set before.
    pub fn set_at(&mut self, at: Instant) {
        match &mut self.kind {
            Kind::System(timer) => timer.set_at(at),
            Kind::Virtual {
                clock,
                id,
                at: deadline,
            } => {
                if let Some(old) = deadline.replace(at) {
                    lock(&clock.0.state).timers.remove(&(old, *id));
                }
            }
        }
    }
}

impl Future for Timer {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.get_mut().kind {
            Kind::System(timer) => Pin::new(timer).poll(cx).map(|_| ()),
            Kind::Virtual { clock, id, at } => {
                let Some(deadline) = *at else {
                    return Poll::Pending;
                };
                let mut state = lock(&clock.0.state);
                if deadline <= state.now {
                    state.timers.remove(&(deadline, *id));
                    *at = None;
                    return Poll::Ready(());
                }
                state.timers.insert((deadline, *id), cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if let Kind::Virtual {
            clock,
            id,
            at: Some(at),
        } = &self.kind
        {
            lock(&clock.0.state).timers.remove(&(*at, *id));
        }
    }
}

/// A clock that stands still until [`advance`](Self::advance)d. Clones share one time.
#[derive(Clone, Debug)]
pub struct VirtualClock(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    next_id: AtomicU64,
}

#[derive(Debug)]
struct State {
    now: Instant,
    /// The timers waiting, by deadline: what to wake when time reaches it.
    timers: BTreeMap<(Instant, u64), Waker>,
}

impl Default for VirtualClock {
    fn default() -> Self {
        VirtualClock::new()
    }
}

impl VirtualClock {
    /// A clock standing at the machine's time now.
    pub fn new() -> VirtualClock {
        VirtualClock(Arc::new(Shared {
            state: Mutex::new(State {
                now: Instant::now(),
                timers: BTreeMap::new(),
            }),
            next_id: AtomicU64::new(0),
        }))
    }

    /// The time it stands at.
    pub fn now(&self) -> Instant {
        lock(&self.0.state).now
    }

    /// Moves time forward by `duration`, stopping at each timer deadline on the way: it wakes
    /// the timers due there, then calls `settle`, which should run what they woke until nothing
    /// is left to run (the executor the drivers are on), before going on. The timers that what
    /// ran set on the way fire in their turn, as they would have in real time.
    pub fn advance(&self, duration: Duration, mut settle: impl FnMut()) {
        let now = self.now();
        let target = now.checked_add(duration).unwrap_or(now);
        settle();
        while let Some(at) = self.next_deadline().filter(|at| *at <= target) {
            self.move_to(at);
            settle();
        }
        self.move_to(target);
        settle();
    }

    /// The earliest deadline of a timer waiting.
    fn next_deadline(&self) -> Option<Instant> {
        let state = lock(&self.0.state);
        state.timers.keys().next().map(|(at, _)| *at)
    }

    /// Sets the time to `at` (never backwards) and wakes the timers due by then.
    fn move_to(&self, at: Instant) {
        let due = {
            let mut state = lock(&self.0.state);
            let now = state.now.max(at);
            state.now = now;
            let later = state.timers.split_off(&(now, u64::MAX));
            std::mem::replace(&mut state.timers, later)
        };
        // Woken outside the lock: a waker may poll its timer at once.
        for waker in due.into_values() {
            waker.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wakes::Wakes;

    fn poll(timer: &mut Timer, wakes: &Arc<Wakes>) -> Poll<()> {
        let waker = Waker::from(wakes.clone());
        Pin::new(timer).poll(&mut Context::from_waker(&waker))
    }

    /// A timer `secs` from now on `clock`, polled once (waiting), and what counts its wakes.
    fn armed(clock: &VirtualClock, secs: u64) -> (Timer, Arc<Wakes>) {
        let mut timer = Clock::Virtual(clock.clone()).sleep(Duration::from_secs(secs));
        let wakes = Arc::new(Wakes::default());
        assert!(poll(&mut timer, &wakes).is_pending());
        (timer, wakes)
    }

    #[test]
    fn a_virtual_timer_fires_only_once_time_is_advanced_to_its_deadline() {
        let clock = VirtualClock::new();
        let (mut timer, wakes) = armed(&clock, 10);
        clock.advance(Duration::from_secs(9), || {});
        assert_eq!(wakes.count(), 0, "woken a second early");
        clock.advance(Duration::from_secs(1), || {});
        assert!(wakes.count() > 0, "not woken at its deadline");
        assert!(poll(&mut timer, &wakes).is_ready());
    }

    #[test]
    fn advancing_stops_at_each_deadline_on_the_way() {
        let clock = VirtualClock::new();
        let start = clock.now();
        let _timers = [armed(&clock, 3), armed(&clock, 1)];
        let mut seen = Vec::new();
        clock.advance(Duration::from_secs(5), || seen.push(clock.now() - start));
        let secs = |s| Duration::from_secs(s);
        assert_eq!(seen, [secs(0), secs(1), secs(3), secs(5)]);
    }

    #[test]
    fn a_deadline_moved_later_is_not_fired_at_the_old_one() {
        let clock = VirtualClock::new();
        let (mut timer, wakes) = armed(&clock, 1);
        timer.set_at(clock.now() + Duration::from_secs(2));
        clock.advance(Duration::from_secs(1), || {});
        assert!(poll(&mut timer, &wakes).is_pending());
        clock.advance(Duration::from_secs(1), || {});
        assert!(poll(&mut timer, &wakes).is_ready());
    }

    #[test]
    fn a_dropped_timer_leaves_nothing_to_stop_at() {
        let clock = VirtualClock::new();
        let (timer, _) = armed(&clock, 1);
        drop(timer);
        assert_eq!(clock.next_deadline(), None);
    }
}
