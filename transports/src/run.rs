//! Running a connection on the current thread: [`block_on`].
//!
//! `async_io::block_on` checks the reactor every time the future wakes itself. A driver and the
//! code using its [`Connection`](crate::Connection) wake each other several times per message
//! (a command in, an event out, an answer back), so on one thread each message would pay for
//! several reactor polls (five system calls each). [`block_on`] polls again at once when the
//! future woke itself while being polled, and leaves the reactor to the waits that are real.
//!
//! Before it parks, it spins for up to 50 µs: it polls the future again, yielding the CPU
//! between polls, and drivers polled then read their transports without waiting for the
//! reactor. An answer to a request just sent usually comes within that time, and is taken
//! without the reactor's system calls (about seven per wait with `async-io`) or the wake-up of
//! a parked thread, which is most of what separated a driven round trip from a raw blocking one.
//! The price is at most 50 µs of CPU each time the thread goes idle; executors that run the
//! driver elsewhere (`smol::spawn`, tokio) do not spin, and neither does a process that may use
//! only one CPU, where the spin would only keep the peer it waits for from running.
//!
//! While it spins, it still gives the reactor a turn every 100 µs. `async-io` runs a thread of
//! its own that takes the reactor whenever no thread has turned it for a while (50 µs to 10
//! ms). A busy round trip, its threads spinning from one message to the next, turned it never:
//! that thread then sat in the reactor, and every message woke it on a CPU the spinning threads
//! needed, which made whole rounds of a press benchmark half again as long (2,000 to 8,000 of
//! its wake-ups in 5,000 presses, each taking a CPU from a spinning thread).

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

/// How many polls in a row a future that keeps waking itself gets before the reactor is
/// checked anyway.
const BUDGET: usize = 64;

/// How long a future with nothing to do is polled again, its drivers reading their transports
/// directly, before the thread parks in the reactor. An answer that comes within this is taken
/// without the reactor's system calls and without the wake-up of a parked thread; a thread
/// that then parks anyway has spent at most this much CPU first.
const SPIN: Duration = Duration::from_micros(50);

/// How often [`block_on`] gives the reactor a turn while it spins: shorter than the 10 ms after
/// which `async-io`'s own thread takes the reactor from threads that never turn it, and long
/// enough that the turn (a reactor poll that does not wait: a system call or two) costs about
/// 1% of the spin.
const TURN: Duration = Duration::from_micros(100);

/// Set while the future is being polled.
const POLLING: u8 = 1;
/// Set when the future was woken.
const WOKEN: u8 = 2;

/// Runs `future` to completion on this thread, with `async-io`'s reactor serving its IO and
/// timers, as `async_io::block_on` does, but without a reactor poll for each wake the future
/// gives itself.
pub fn block_on<T>(future: impl Future<Output = T>) -> T {
    let future = std::pin::pin!(future);
    async_io::block_on(Coalesced::new(future, spin(), Some(TURN)))
}

/// Runs `future` to completion on this thread without the reactor, for a thread that waits
/// only for other threads (a command taken by a driver, an item handed over), never for IO.
/// It spins before it parks as [`block_on`] does, so what comes within the spin costs no
/// wake-up; but a thread parked here does not take the reactor, whose IO another thread's
/// drivers wait for, and is woken without it (`async-io` would wake a thread sleeping in the
/// reactor through its notifier, two more system calls).
pub fn wait<T>(future: impl Future<Output = T>) -> T {
    let future = std::pin::pin!(future);
    futures_lite::future::block_on(Coalesced::new(future, spin(), None))
}

/// A future whose wakes during its own poll make it poll again, instead of reaching the
/// executor.
struct Coalesced<F> {
    /// How long it polls a future with nothing to do before it parks.
    spin: Duration,
    /// How often, while it spins, it hands the executor a turn: `async-io`'s reactor then
    /// polls without waiting. None for an executor without a reactor.
    turn: Option<Duration>,
    /// `Unpin` (pinned by the caller, on its stack), so that the wrapper needs no pin
    /// projection and no allocation.
    future: F,
    state: Arc<WakeState>,
    waker: Waker,
}

#[derive(Default)]
struct WakeState {
    bits: AtomicU8,
    /// The executor's waker, for wakes that come while the future is not being polled.
    outer: Mutex<Option<Waker>>,
}

impl Wake for WakeState {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.bits.fetch_or(WOKEN, Ordering::AcqRel) & POLLING == 0 {
            let outer = self.outer.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(waker) = outer.as_ref() {
                waker.wake_by_ref();
            }
        }
    }
}

impl<F: Future + Unpin> Coalesced<F> {
    fn new(future: F, spin: Duration, turn: Option<Duration>) -> Self {
        let state = Arc::new(WakeState::default());
        Coalesced {
            spin,
            turn,
            future,
            waker: Waker::from(state.clone()),
            state,
        }
    }
}

impl<F: Future + Unpin> Future for Coalesced<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        {
            let mut outer = this.state.outer.lock().unwrap_or_else(|e| e.into_inner());
            if !outer.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *outer = Some(cx.waker().clone());
            }
        }
        let mut inner = Context::from_waker(&this.waker);
        let mut woken = 0;
        let mut spin_until: Option<Instant> = None;
        // From the first spin of this call: a call kept busy by wakes never spins.
        let mut turn_at: Option<Instant> = None;
        // Every poll but the first of this call comes without a reactor turn before it: the
        // reactor cannot have told a driver of new input, so drivers look for themselves.
        let mut repoll = false;
        loop {
            this.state.bits.store(POLLING, Ordering::Release);
            SPINNING.set(repoll);
            repoll = true;
            let polled = Pin::new(&mut this.future).poll(&mut inner);
            SPINNING.set(false);
            if let Poll::Ready(output) = polled {
                this.state.bits.store(0, Ordering::Release);
                return Poll::Ready(output);
            }
            if this.state.bits.swap(0, Ordering::AcqRel) & WOKEN != 0 {
                woken += 1;
                if woken == BUDGET {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                spin_until = None;
                continue;
            }
            if this.spin.is_zero() {
                return Poll::Pending;
            }
            let now = Instant::now();
            if now >= *spin_until.get_or_insert(now + this.spin) {
                return Poll::Pending;
            }
            if let Some(turn) = this.turn
                && now >= *turn_at.get_or_insert(now + turn)
            {
                // Woken, so that the executor polls again right after the reactor's turn.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            // Lets the peer run when it shares this CPU; returns at once when it does not.
            std::thread::yield_now();
        }
    }
}

/// How long a thread that may run on `cpus` CPUs spins before it parks: not at all on one,
/// where the peer it waits for (the other end of a socket, the reactor's thread) cannot run
/// until it stops. Spinning there made a round trip 1.5 times as long.
fn spin_for(cpus: usize) -> Duration {
    if cpus > 1 { SPIN } else { Duration::ZERO }
}

/// [`spin_for`] the CPUs this process may use (its affinity and its cgroup's quota), read once.
fn spin() -> Duration {
    static SPIN_FOR_THIS_PROCESS: OnceLock<Duration> = OnceLock::new();
    *SPIN_FOR_THIS_PROCESS
        .get_or_init(|| spin_for(std::thread::available_parallelism().map_or(1, |n| n.get())))
}

thread_local! {
    /// Set while [`block_on`] polls again without a reactor turn (the future woke itself, or
    /// the spin before parking): drivers then read their transport without waiting for the
    /// reactor to say it has input, which it cannot say until the thread gets back to it.
    static SPINNING: Cell<bool> = const { Cell::new(false) };
}

/// Whether this poll is one of [`block_on`]'s polls again without a reactor turn.
pub(crate) fn spinning() -> bool {
    SPINNING.get()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wakes::Wakes;

    /// Pending at first, waking itself then only if `wakes_itself`; ready on a later poll.
    /// Records whether each poll was one without a reactor turn.
    struct ReadyOnSecondPoll {
        wakes_itself: bool,
        polls: Vec<bool>,
    }

    impl ReadyOnSecondPoll {
        fn new(wakes_itself: bool) -> Self {
            ReadyOnSecondPoll {
                wakes_itself,
                polls: Vec::new(),
            }
        }
    }

    impl Future for ReadyOnSecondPoll {
        type Output = Vec<bool>;

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<bool>> {
            self.polls.push(spinning());
            if self.polls.len() < 2 {
                if self.wakes_itself {
                    cx.waker().wake_by_ref();
                }
                return Poll::Pending;
            }
            Poll::Ready(std::mem::take(&mut self.polls))
        }
    }

    #[test]
    fn a_future_ready_again_within_the_spin_is_finished_without_a_wake() {
        // Spinning whatever CPUs the test may use: on one, `block_on` would park at once.
        let polls = async_io::block_on(Coalesced::new(ReadyOnSecondPoll::new(false), SPIN, None));
        assert_eq!(polls, [false, true]);
    }

    /// A future kept busy (a flood of commands) never gives the reactor a turn within a call, so
    /// its drivers must look for input themselves: a press would otherwise wait a whole budget.
    #[test]
    fn a_future_that_woke_itself_is_polled_again_with_drivers_reading_directly() {
        let polls = block_on(ReadyOnSecondPoll::new(true));
        assert_eq!(polls, [false, true]);
    }

    /// However long the spin, the executor gets the thread back at every turn, asked to poll
    /// again at once: `async-io`'s reactor is then turned by this thread, not by its own.
    #[test]
    fn a_spin_longer_than_the_turn_hands_the_executor_a_turn_and_asks_to_be_polled_again() {
        let (wakes, waker) = Wakes::waker();
        let hour = Duration::from_secs(3600);
        let mut idle = Coalesced::new(std::future::pending::<()>(), hour, Some(TURN));
        let started = Instant::now();
        let polled = Pin::new(&mut idle).poll(&mut Context::from_waker(&waker));
        assert!(polled.is_pending());
        assert!(started.elapsed() >= TURN, "returned before its turn");
        assert_eq!(wakes.count(), 1, "not asked to be polled again");
    }

    #[test]
    fn a_spin_over_before_its_turn_hands_the_thread_back_to_park() {
        let (wakes, waker) = Wakes::waker();
        let hour = Duration::from_secs(3600);
        let mut idle = Coalesced::new(std::future::pending::<()>(), SPIN, Some(hour));
        let polled = Pin::new(&mut idle).poll(&mut Context::from_waker(&waker));
        assert!(polled.is_pending());
        assert_eq!(
            wakes.count(),
            0,
            "asked to be polled again with nothing to do"
        );
    }

    #[test]
    fn a_thread_confined_to_one_cpu_parks_without_spinning() {
        assert_eq!(spin_for(1), Duration::ZERO);
        assert_eq!(spin_for(2), SPIN);
    }

    /// `wait` parks once its spin is over, and the other thread's wake brings it back.
    #[test]
    fn wait_finishes_a_future_another_thread_completes_after_the_spin() {
        let (sender, receiver) = futures_channel::oneshot::channel();
        let completer = std::thread::spawn(move || {
            std::thread::sleep(SPIN * 20);
            sender.send(7).unwrap();
        });
        assert_eq!(wait(receiver), Ok(7));
        completer.join().unwrap();
    }

    #[test]
    fn polls_outside_block_on_are_not_spinning() {
        assert!(!spinning());
    }
}
