//! The throughput buffer (seed 7.5): adapts to the app's speed by delivering a slot's merged
//! update as soon as the app has answered the one before it.

use std::collections::VecDeque;
use std::collections::hash_map::Entry;
use std::time::Instant;

use super::{
    Admission, AnalogBuffer, DEFAULT_MAX_SLOTS, PendingUpdate, SlotKey, SlotMap, clamp, hold,
};
use crate::ids::IdMap;
use crate::proto::plugin::UpdateAnalogControl;

/// A buffer that keeps at most one update per slot in flight at the app.
///
/// A slot's first update is dispatched at once. While the app has not answered it, later
/// updates are merged into one pending update; the answer makes that update ready, and it
/// becomes the one in flight when `poll_ready` hands it out. A slot with nothing in flight and
/// nothing pending is forgotten, so only busy slots count towards the cap.
#[derive(Debug)]
pub struct ThroughputBuffer {
    max_slots: usize,
    slots: SlotMap<SlotKey, Slot>,
    /// Which slot each in-flight request id belongs to.
    in_flight: IdMap<SlotKey>,
    /// Slots whose in-flight update was answered while one was pending, in answer order; each
    /// slot is here at most once (it leaves only through `poll_ready`).
    ready: VecDeque<SlotKey>,
    now: Option<Instant>,
}

/// One busy slot.
#[derive(Debug)]
struct Slot {
    /// The request id the app is working on; `None` once answered, while a merged update waits
    /// in `ready`.
    in_flight: Option<u32>,
    pending: Option<PendingUpdate>,
}

impl Default for ThroughputBuffer {
    fn default() -> Self {
        ThroughputBuffer::new(DEFAULT_MAX_SLOTS)
    }
}

impl ThroughputBuffer {
    /// A buffer holding at most `max_slots` busy slots; updates for further slots pass through.
    pub fn new(max_slots: usize) -> ThroughputBuffer {
        ThroughputBuffer {
            max_slots,
            slots: SlotMap::default(),
            in_flight: IdMap::default(),
            ready: VecDeque::new(),
            now: None,
        }
    }

    /// The most slots this buffer holds at once.
    pub fn max_slots(&self) -> usize {
        self.max_slots
    }

    /// The number of busy slots: with an update in flight or pending.
    pub fn slot_len(&self) -> usize {
        self.slots.len()
    }

    /// Records that `request_id` is in flight for the slot `key`.
    fn start(&mut self, key: SlotKey, request_id: u32) {
        if let Some(slot) = self.slots.get_mut(&key) {
            slot.in_flight = Some(request_id);
        }
        match self.in_flight.entry(request_id) {
            Entry::Vacant(entry) => {
                entry.insert(key);
            }
            Entry::Occupied(mut entry) => {
                // The peer reused an id the app has not answered yet. One answer cannot be told
                // apart from the other, so the older holder is released now rather than left
                // waiting for an answer that will be taken as the newer one's.
                let older = entry.insert(key);
                self.release(older, request_id);
            }
        }
    }

    /// The app answered `request_id`, in flight for `key`: its pending update (if any) is ready,
    /// otherwise the slot is idle and forgotten.
    fn release(&mut self, key: SlotKey, request_id: u32) {
        let Some(slot) = self.slots.get_mut(&key) else {
            return;
        };
        if slot.in_flight != Some(request_id) {
            return;
        }
        slot.in_flight = None;
        if slot.pending.is_some() {
            self.ready.push_back(key);
        } else {
            self.slots.remove(&key);
        }
    }
}

impl AnalogBuffer for ThroughputBuffer {
    fn pending_len(&self) -> usize {
        self.slots.values().filter(|s| s.pending.is_some()).count()
    }

    fn on_update(
        &mut self,
        now: Instant,
        request_id: u32,
        mut update: UpdateAnalogControl,
    ) -> Admission {
        clamp(&mut self.now, now);
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
                in_flight: None,
                pending: None,
            },
        );
        self.start(key, request_id);
        Admission::Dispatch(update)
    }

    fn on_response(&mut self, now: Instant, request_id: u32) {
        clamp(&mut self.now, now);
        if let Some(key) = self.in_flight.remove(&request_id) {
            self.release(key, request_id);
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        // Nothing here waits on time.
        clamp(&mut self.now, now);
    }

    fn poll_ready(&mut self, now: Instant) -> Option<(u32, UpdateAnalogControl)> {
        clamp(&mut self.now, now);
        while let Some(key) = self.ready.pop_front() {
            let Some(slot) = self.slots.get_mut(&key) else {
                continue;
            };
            if slot.in_flight.is_some() {
                continue;
            }
            let Some(pending) = slot.pending.take() else {
                continue;
            };
            let (request_id, update) = pending.into_update();
            self.start(key, request_id);
            return Some((request_id, update));
        }
        None
    }

    fn poll_timeout(&self) -> Option<Instant> {
        // Only answers make updates ready, and then they are ready at once.
        if self.ready.is_empty() {
            None
        } else {
            self.now
        }
    }
}
