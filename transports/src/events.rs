//! The hand-off of events from the task that makes them (a driver, a reconnecting client's
//! runner) to the handles that take them.
//!
//! A driver hands over a round's events at once: one lock and one wake-up per round. A channel
//! takes them one at a time, with a lock-free push, a listener notification and a pop each; for
//! a plugin taking a flood of dial updates, that was a third of what each update cost beyond
//! its decoding.
//!
//! The queue is shared by every clone of a handle ([`Connection`](crate::Connection),
//! [`Reconnecting`](crate::reconnect::Reconnecting)): each event goes to exactly one taker, in
//! the order it was made, and none is lost when a handle is dropped. It is unbounded, like the
//! session's own event queue: an owner that stops taking events costs memory, never a stalled
//! session.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures_lite::Stream;

use crate::lock::lock;

struct Queue<T> {
    events: VecDeque<T>,
    /// The maker is gone: no event will follow those queued.
    ended: bool,
    /// Takers that found the queue empty, each woken once by the next hand-off.
    waiting: Vec<Waker>,
}

type Shared<T> = Arc<Mutex<Queue<T>>>;

/// The events of a connection, shared by every clone of its handle; a [`Stream`] too.
pub struct Events<T> {
    queue: Shared<T>,
}

impl<T> Clone for Events<T> {
    fn clone(&self) -> Self {
        Events {
            queue: self.queue.clone(),
        }
    }
}

impl<T> std::fmt::Debug for Events<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let queue = lock(&self.queue);
        f.debug_struct("Events")
            .field("queued", &queue.events.len())
            .field("ended", &queue.ended)
            .finish()
    }
}

impl<T> Events<T> {
    /// The next event; `None` once its maker has ended and every event was taken.
    pub async fn recv(&self) -> Option<T> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next event if there is one; `Pending` (waking `cx` when one comes) if not yet;
    /// `None` once its maker has ended and every event was taken.
    pub fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut queue = lock(&self.queue);
        if let Some(event) = queue.events.pop_front() {
            return Poll::Ready(Some(event));
        }
        if queue.ended {
            return Poll::Ready(None);
        }
        if !queue.waiting.iter().any(|w| w.will_wake(cx.waker())) {
            queue.waiting.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// How many events wait to be taken.
    pub fn len(&self) -> usize {
        lock(&self.queue).events.len()
    }

    /// Whether no event waits to be taken.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Stream for Events<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.poll_recv(cx)
    }
}

/// The maker's end: events gathered during a round, handed over together by [`flush`].
///
/// [`flush`]: Outbox::flush
pub(crate) struct Outbox<T> {
    queue: Shared<T>,
    gathered: Vec<T>,
    /// The takers being woken: kept to reuse its allocation from one hand-off to the next.
    waking: Vec<Waker>,
}

// Nothing in an outbox is ever pinned: the driver that owns one stays movable whatever the
// events it makes.
impl<T> Unpin for Outbox<T> {}

/// A connected outbox and its events.
pub(crate) fn outbox<T>() -> (Outbox<T>, Events<T>) {
    let queue = Arc::new(Mutex::new(Queue {
        events: VecDeque::new(),
        ended: false,
        waiting: Vec::new(),
    }));
    let events = Events {
        queue: queue.clone(),
    };
    let outbox = Outbox {
        queue,
        gathered: Vec::new(),
        waking: Vec::new(),
    };
    (outbox, events)
}

impl<T> Outbox<T> {
    /// Gathers `event`; it reaches the takers at the next [`flush`](Outbox::flush).
    pub(crate) fn push(&mut self, event: T) {
        self.gathered.push(event);
    }

    /// Hands over what was gathered, and wakes every taker that waits. With no handle left to
    /// take them, the events are dropped instead of kept.
    pub(crate) fn flush(&mut self) {
        if self.gathered.is_empty() {
            return;
        }
        if Arc::strong_count(&self.queue) == 1 {
            self.gathered.clear();
            return;
        }
        self.hand_over(false);
    }

    /// Moves the gathered events into the queue (marking it ended if `end`), then wakes the
    /// takers that waited, outside the lock.
    fn hand_over(&mut self, end: bool) {
        {
            let mut queue = lock(&self.queue);
            queue.events.extend(self.gathered.drain(..));
            queue.ended |= end;
            std::mem::swap(&mut queue.waiting, &mut self.waking);
        }
        for waker in self.waking.drain(..) {
            waker.wake();
        }
    }
}

impl<T> Drop for Outbox<T> {
    fn drop(&mut self) {
        self.hand_over(true);
    }
}

#[cfg(test)]
mod tests {
    use logi_plugin_core::session::{CloseReason, Event};

    use super::*;
    use crate::wakes::Wakes;

    type Ev = Event<()>;

    fn closed(n: usize) -> Ev {
        Event::Closed(CloseReason::TransportFailed(n.to_string()))
    }

    fn poll(events: &Events<Ev>, counter: &Arc<Wakes>) -> Poll<Option<Ev>> {
        let waker = Waker::from(counter.clone());
        events.poll_recv(&mut Context::from_waker(&waker))
    }

    #[test]
    fn gathered_events_reach_takers_only_when_flushed() {
        let (mut outbox, events) = outbox::<Ev>();
        outbox.push(closed(1));
        assert!(events.is_empty());
        outbox.flush();
        assert_eq!(events.len(), 1);
    }

    #[test]
    fn events_are_taken_in_order_once_each_across_clones() {
        let (mut outbox, events) = outbox::<Ev>();
        let other = events.clone();
        for n in 0..3 {
            outbox.push(closed(n));
        }
        outbox.flush();
        let counter = Arc::new(Wakes::default());
        assert_eq!(poll(&events, &counter), Poll::Ready(Some(closed(0))));
        assert_eq!(poll(&other, &counter), Poll::Ready(Some(closed(1))));
        assert_eq!(poll(&events, &counter), Poll::Ready(Some(closed(2))));
        assert_eq!(poll(&other, &counter), Poll::Pending);
    }

    #[test]
    fn a_waiting_taker_is_woken_once_per_hand_off_however_often_it_polled() {
        let (mut outbox, events) = outbox::<Ev>();
        let counter = Arc::new(Wakes::default());
        for _ in 0..3 {
            assert_eq!(poll(&events, &counter), Poll::Pending);
        }
        outbox.push(closed(0));
        outbox.push(closed(1));
        outbox.flush();
        assert_eq!(counter.count(), 1);
        // Woken takers are forgotten: the next hand-off wakes only those that wait again.
        outbox.push(closed(2));
        outbox.flush();
        assert_eq!(counter.count(), 1);
    }

    #[test]
    fn every_waiting_taker_is_woken_so_none_misses_an_event() {
        let (mut outbox, events) = outbox::<Ev>();
        let (first, second) = (Arc::new(Wakes::default()), Arc::new(Wakes::default()));
        assert_eq!(poll(&events, &first), Poll::Pending);
        assert_eq!(poll(&events.clone(), &second), Poll::Pending);
        outbox.push(closed(0));
        outbox.flush();
        assert_eq!(first.count(), 1);
        assert_eq!(second.count(), 1);
    }

    #[test]
    fn events_nobody_can_take_are_dropped() {
        let (mut outbox, events) = outbox::<Ev>();
        drop(events);
        outbox.push(closed(0));
        outbox.flush();
        assert!(outbox.gathered.is_empty());
        assert!(lock(&outbox.queue).events.is_empty());
    }

    #[test]
    fn the_driver_gone_ends_the_events_after_the_last_one_gathered() {
        let (mut outbox, events) = outbox::<Ev>();
        let counter = Arc::new(Wakes::default());
        assert_eq!(poll(&events, &counter), Poll::Pending);
        outbox.push(closed(0));
        drop(outbox);
        assert_eq!(counter.count(), 1);
        assert_eq!(poll(&events, &counter), Poll::Ready(Some(closed(0))));
        assert_eq!(poll(&events, &counter), Poll::Ready(None));
    }
}
