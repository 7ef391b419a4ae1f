//! The timer buffer (seed 7.6): accumulates a slot's updates over a set interval.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

use super::{
    Admission, AnalogBuffer, DEFAULT_MAX_SLOTS, DEFAULT_TIMER_INTERVAL, PendingUpdate, SlotKey,
    SlotMap, clamp, hold,
};
use crate::proto::plugin::UpdateAnalogControl;

/// A leading-edge throttle per slot: at most one delivery per slot per interval.
///
/// An update to an idle slot is dispatched at once and opens a window of `interval`. Updates
/// within the window are merged and delivered when it ends, and that delivery opens the next
/// window; a window that ends with nothing merged leaves the slot idle (and forgotten, so only
/// slots with an open window count towards the cap). Answers from the app are not needed.
///
/// An interval so long that a window's end is past what an [`Instant`] can hold opens a window
/// that never ends.
#[derive(Debug)]
pub struct TimerBuffer {
    interval: Duration,
    max_slots: usize,
    slots: SlotMap<SlotKey, Slot>,
    /// The end of every open window, earliest first; each slot has at most one entry.
    windows: BinaryHeap<Reverse<(Instant, SlotKey)>>,
    /// Slots whose window ended with an update pending, in the order they ended; each slot is
    /// here at most once (`Slot::due`).
    ready: VecDeque<SlotKey>,
    now: Option<Instant>,
}

/// One slot with an open (or just ended) window.
#[derive(Debug)]
struct Slot {
    /// The end of the window; `None` if it cannot be represented.
    window_end: Option<Instant>,
    pending: Option<PendingUpdate>,
    /// The window ended with `pending` set: the slot waits in `ready`, and updates arriving
    /// meanwhile still merge into the undelivered update.
    due: bool,
}

impl Default for TimerBuffer {
    fn default() -> Self {
        TimerBuffer::new(DEFAULT_TIMER_INTERVAL, DEFAULT_MAX_SLOTS)
    }
}

impl TimerBuffer {
    /// A buffer with windows of `interval`, holding at most `max_slots` slots at once.
    pub fn new(interval: Duration, max_slots: usize) -> TimerBuffer {
        TimerBuffer {
            interval,
            max_slots,
            slots: SlotMap::default(),
            windows: BinaryHeap::new(),
            ready: VecDeque::new(),
            now: None,
        }
    }

    /// The length of a window.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The most slots this buffer holds at once.
    pub fn max_slots(&self) -> usize {
        self.max_slots
    }

    /// The number of slots with an open window.
    pub fn slot_len(&self) -> usize {
        self.slots.len()
    }

    /// Opens a window for `key` starting at `now`.
    fn open_window(&mut self, key: SlotKey, now: Instant) {
        let window_end = now.checked_add(self.interval);
        if let Some(slot) = self.slots.get_mut(&key) {
            slot.window_end = window_end;
            if let Some(end) = window_end {
                self.windows.push(Reverse((end, key)));
            }
        }
    }

    /// Clamps `now` and ends every window that has ended by then.
    fn advance(&mut self, now: Instant) -> Instant {
        let now = clamp(&mut self.now, now);
        while let Some(Reverse((end, _))) = self.windows.peek()
            && *end <= now
        {
            let Some(Reverse((end, key))) = self.windows.pop() else {
                break;
            };
            let Some(slot) = self.slots.get_mut(&key) else {
                continue;
            };
            if slot.window_end != Some(end) || slot.due {
                continue;
            }
            if slot.pending.is_some() {
                slot.due = true;
                self.ready.push_back(key);
            } else {
                self.slots.remove(&key);
            }
        }
        now
    }
}

impl AnalogBuffer for TimerBuffer {
    fn pending_len(&self) -> usize {
        self.slots.values().filter(|s| s.pending.is_some()).count()
    }

    fn on_update(
        &mut self,
        now: Instant,
        request_id: u32,
        mut update: UpdateAnalogControl,
    ) -> Admission {
        // A window that has ended must release its slot first, or this update would be held
        // for a window that is already over.
        let now = self.advance(now);
        let key = SlotKey::take(&mut update);
        if let Some(slot) = self.slots.get_mut(&key) {
            let superseded = hold(&mut slot.pending, key, request_id, update);
            return Admission::Held { superseded };
        }
        if self.slots.len() >= self.max_slots {
            key.restore(&mut update);
            return Admission::Dispatch(update);
        }
        key.copy_into(&mut update);
        self.slots.insert(
            key.clone(),
            Slot {
                window_end: None,
                pending: None,
                due: false,
            },
        );
        self.open_window(key, now);
        Admission::Dispatch(update)
    }

    fn on_response(&mut self, now: Instant, _request_id: u32) {
        // Deliveries wait on time only, not on answers.
        clamp(&mut self.now, now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
    }

    fn poll_ready(&mut self, now: Instant) -> Option<(u32, UpdateAnalogControl)> {
        let now = self.advance(now);
        while let Some(key) = self.ready.pop_front() {
            let Some(slot) = self.slots.get_mut(&key) else {
                continue;
            };
            if !slot.due {
                continue;
            }
            slot.due = false;
            let Some(pending) = slot.pending.take() else {
                self.slots.remove(&key);
                continue;
            };
            // The delivery opens the next window, from the moment it is handed out.
            self.open_window(key, now);
            return Some(pending.into_update());
        }
        None
    }

    fn poll_timeout(&self) -> Option<Instant> {
        if self.ready.is_empty() {
            self.windows.peek().map(|Reverse((end, _))| *end)
        } else {
            self.now
        }
    }
}
