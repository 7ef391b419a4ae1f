//! Running a connection on the current thread: [`block_on`].
//!
//! `async_io::block_on` checks the reactor every time the future wakes itself. A driver and the
//! code using its [`Connection`](crate::Connection) wake each other several times per message
//! (a command in, an event out, an answer back), so on one thread each message would pay for
//! several reactor polls (five system calls each). [`block_on`] polls again at once when the
//! future woke itself while being polled, and leaves the reactor to the waits that are real.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// How many polls in a row a future that keeps waking itself gets before the reactor is
/// checked anyway.
const BUDGET: usize = 64;

/// Set while the future is being polled.
const POLLING: u8 = 1;
/// Set when the future was woken.
const WOKEN: u8 = 2;

/// Runs `future` to completion on this thread, with `async-io`'s reactor serving its IO and
/// timers, as `async_io::block_on` does, but without a reactor poll for each wake the future
/// gives itself.
pub fn block_on<T>(future: impl Future<Output = T>) -> T {
    async_io::block_on(Coalesced::new(future))
}

/// A future whose wakes during its own poll make it poll again, instead of reaching the
/// executor.
struct Coalesced<F> {
    /// Boxed, so that the wrapper is `Unpin` and needs no pin projection.
    future: Pin<Box<F>>,
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

impl<F: Future> Coalesced<F> {
    fn new(future: F) -> Self {
        let state = Arc::new(WakeState::default());
        Coalesced {
            future: Box::pin(future),
            waker: Waker::from(state.clone()),
            state,
        }
    }
}

impl<F: Future> Future for Coalesced<F> {
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
        for _ in 0..BUDGET {
            this.state.bits.store(POLLING, Ordering::Release);
            if let Poll::Ready(output) = this.future.as_mut().poll(&mut inner) {
                this.state.bits.store(0, Ordering::Release);
                return Poll::Ready(output);
            }
            if this.state.bits.swap(0, Ordering::AcqRel) & WOKEN == 0 {
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
