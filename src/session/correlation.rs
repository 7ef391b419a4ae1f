//! Request ids and deadlines for the requests one side has sent.
//!
//! Each side numbers its own requests from 1, wrapping past `u32::MAX` and skipping 0 (which
//! means "no id" on the wire) and any id still in flight, so a response can never be matched to
//! the wrong request. Every request ends exactly once: answered ([`RequestTracker::complete`]) or
//! timed out ([`RequestTracker::expire`]); a response that comes after that matches nothing and is
//! the owner's to drop and count. Time comes in as an argument; nothing here reads a clock.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::ids::IdMap;

/// Why a request could not be registered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrackError {
    /// As many requests as the limit allows are waiting for their responses.
    #[error("{limit} requests are already waiting for a response")]
    TooManyInFlight {
        /// The limit.
        limit: usize,
    },
}

/// The requests one side has sent and not yet seen end, each with the owner's data `T`.
///
/// Ids are handed out in order and answers mostly come in order, so both stores are queues read
/// from the front: a request is found by subtracting ids, not by hashing, and a flood of a
/// million requests in flight streams through memory instead of missing the cache on each.
#[derive(Debug)]
pub struct RequestTracker<T> {
    limit: usize,
    /// The id of `window[0]`; `base + window.len()` is the next id to try.
    base: u32,
    /// Requests by id from `base` on; an ended request leaves `None` until the front passes it.
    window: VecDeque<Option<Pending<T>>>,
    /// How many of `window` are `Some`.
    window_live: usize,
    /// Requests moved out of the window when it grew sparse behind them (old requests still
    /// waiting while many later ones ended), so the window stays within twice the live count.
    stragglers: IdMap<Pending<T>>,
    /// `(deadline, seq, id)` of each waiting request with a deadline, in `(deadline, seq)`
    /// order. Timeouts are mostly alike and time only moves on, so a new entry usually goes at
    /// the back and an ended one is found near the front.
    deadlines: VecDeque<(Instant, u64, u32)>,
    /// Registrations so far: orders requests with equal deadlines, so each entry has one place.
    seq: u64,
}

#[derive(Debug)]
struct Pending<T> {
    deadline: Option<Instant>,
    seq: u64,
    data: T,
}

/// The most requests a tracker lets wait at once, so that an id is always free.
pub const MAX_IN_FLIGHT_LIMIT: usize = 1 << 24;

/// How many deadlines from the front an ended request's entry is looked for before searching.
const NEAR: usize = 8;

/// How far the window may grow beyond twice its live entries before its oldest are moved out.
const SLACK: usize = 64;

impl<T> RequestTracker<T> {
    /// A tracker allowing at most `limit` requests in flight (capped at [`MAX_IN_FLIGHT_LIMIT`]).
    pub fn new(limit: usize) -> RequestTracker<T> {
        RequestTracker {
            limit: limit.min(MAX_IN_FLIGHT_LIMIT),
            base: 1,
            window: VecDeque::new(),
            window_live: 0,
            stragglers: IdMap::default(),
            deadlines: VecDeque::new(),
            seq: 0,
        }
    }

    /// The number of requests waiting for a response.
    pub fn len(&self) -> usize {
        self.window_live + self.stragglers.len()
    }

    /// Whether no request is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether request `id` is waiting for its response.
    pub fn contains(&self, id: u32) -> bool {
        self.get(id).is_some()
    }

    /// Registers a request sent at `now` that times out after `timeout`, and gives it an id.
    #[inline]
    pub fn register(
        &mut self,
        now: Instant,
        timeout: Duration,
        data: T,
    ) -> Result<u32, TrackError> {
        if self.len() >= self.limit {
            return Err(TrackError::TooManyInFlight { limit: self.limit });
        }
        let id = self.allocate_id();
        let seq = self.seq;
        self.seq += 1;
        // A timeout too long to represent never fires.
        let deadline = now.checked_add(timeout);
        if let Some(deadline) = deadline {
            match self.deadlines.back() {
                Some(&(last, _, _)) if last > deadline => {
                    let at = self.deadlines.partition_point(|&(d, _, _)| d <= deadline);
                    self.deadlines.insert(at, (deadline, seq, id));
                }
                _ => self.deadlines.push_back((deadline, seq, id)),
            }
        }
        self.window.push_back(Some(Pending {
            deadline,
            seq,
            data,
        }));
        self.window_live += 1;
        Ok(id)
    }

    /// The response to `id` arrived: its data, or `None` if no such request is waiting (it timed
    /// out already, was answered already, or was never sent).
    #[inline]
    pub fn complete(&mut self, id: u32) -> Option<T> {
        let pending = self.take(id)?;
        if let Some(deadline) = pending.deadline {
            self.remove_deadline(deadline, pending.seq);
        }
        Some(pending.data)
    }

    /// One request whose deadline is at or before `now`, removed; call until `None`.
    #[must_use]
    pub fn expire(&mut self, now: Instant) -> Option<(u32, T)> {
        let &(deadline, _, id) = self.deadlines.front()?;
        if deadline > now {
            return None;
        }
        self.deadlines.pop_front();
        let pending = self.take(id)?;
        Some((id, pending.data))
    }

    /// The earliest deadline of a waiting request, and that request's data.
    #[must_use]
    pub fn next_deadline(&self) -> Option<(Instant, &T)> {
        let &(deadline, _, id) = self.deadlines.front()?;
        Some((deadline, &self.get(id)?.data))
    }

    /// Ends every waiting request (the connection is gone), in id order.
    pub fn drain(&mut self) -> Vec<(u32, T)> {
        self.deadlines.clear();
        let base = self.base;
        let next = base.wrapping_add(self.window.len() as u32);
        let in_window = self
            .window
            .drain(..)
            .enumerate()
            .filter_map(|(index, slot)| {
                slot.map(|pending| (base.wrapping_add(index as u32), pending.data))
            });
        let mut all: Vec<(u32, T)> = self
            .stragglers
            .drain()
            .map(|(id, pending)| (id, pending.data))
            .chain(in_window)
            .collect();
        self.base = next;
        self.window_live = 0;
        all.sort_unstable_by_key(|&(id, _)| id);
        all
    }

    #[inline]
    fn get(&self, id: u32) -> Option<&Pending<T>> {
        let index = id.wrapping_sub(self.base) as usize;
        match self.window.get(index) {
            Some(Some(pending)) => Some(pending),
            _ if self.stragglers.is_empty() => None,
            _ => self.stragglers.get(&id),
        }
    }

    /// Removes request `id`, keeping the window's front live and the window dense.
    // Always: once per answer, and the compiler otherwise keeps it apart as soon as a caller
    // of `complete` grows.
    #[inline(always)]
    fn take(&mut self, id: u32) -> Option<Pending<T>> {
        let index = id.wrapping_sub(self.base) as usize;
        let Some(pending) = self.window.get_mut(index).and_then(Option::take) else {
            if self.stragglers.is_empty() {
                return None;
            }
            return self.stragglers.remove(&id);
        };
        self.window_live -= 1;
        self.trim_window();
        Some(pending)
    }

    /// Removes the deadline entry of the request registered as `seq`.
    #[inline]
    fn remove_deadline(&mut self, deadline: Instant, seq: u64) {
        // Answers mostly come in order, behind the few requests left waiting longest: look near
        // the front first, and close the gap there by swapping rather than a general shift.
        let near = self.deadlines.len().min(NEAR);
        if let Some(at) = (0..near).find(|&i| self.deadlines[i].1 == seq) {
            for i in (0..at).rev() {
                self.deadlines.swap(i, i + 1);
            }
            self.deadlines.pop_front();
            return;
        }
        let at = self
            .deadlines
            .partition_point(|&(d, s, _)| (d, s) < (deadline, seq));
        debug_assert!(self.deadlines.get(at).is_some_and(|&(_, s, _)| s == seq));
        self.deadlines.remove(at);
    }

    #[inline]
    fn trim_window(&mut self) {
        while let Some(front) = self.window.front() {
            if front.is_some() && self.window.len() <= 2 * self.window_live + SLACK {
                return;
            }
            if let Some(Some(pending)) = self.window.pop_front() {
                self.stragglers.insert(self.base, pending);
                self.window_live -= 1;
            }
            self.base = self.base.wrapping_add(1);
        }
    }

    /// The next id: not 0 and not held by a straggler. The limit keeps a free id within reach.
    #[inline]
    fn allocate_id(&mut self) -> u32 {
        loop {
            let id = self.base.wrapping_add(self.window.len() as u32);
            if id != 0 && (self.stragglers.is_empty() || !self.stragglers.contains_key(&id)) {
                return id;
            }
            // Skipped: the window keeps an empty slot for it, so ids stay a subtraction apart.
            if self.window.is_empty() {
                self.base = id.wrapping_add(1);
            } else {
                self.window.push_back(None);
            }
        }
    }

    /// Makes `next` the next id to try, as if the ids before it had been used and answered; the
    /// requests in flight keep theirs. For tests of wrap-around.
    #[cfg(test)]
    fn jump_to(&mut self, next: u32) {
        let base = self.base;
        for (index, slot) in self.window.drain(..).enumerate() {
            if let Some(pending) = slot {
                self.stragglers
                    .insert(base.wrapping_add(index as u32), pending);
            }
        }
        self.window_live = 0;
        self.base = next;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn ids_start_at_one_and_count_up() {
        let now = Instant::now();
        let mut tracker = RequestTracker::new(16);
        let ids: Vec<u32> = (0..3)
            .map(|_| tracker.register(now, SECOND, ()).unwrap())
            .collect();
        assert_eq!(ids, [1, 2, 3]);
    }

    #[test]
    fn ids_wrap_past_u32_max_skipping_zero_and_ids_in_flight() {
        let now = Instant::now();
        let mut tracker = RequestTracker::new(16);
        let first = tracker.register(now, SECOND, ()).unwrap();
        assert_eq!(first, 1);
        tracker.jump_to(u32::MAX);
        assert_eq!(tracker.register(now, SECOND, ()), Ok(u32::MAX));
        // 0 is never used, and 1 is still waiting.
        assert_eq!(tracker.register(now, SECOND, ()), Ok(2));
    }

    #[test]
    fn a_response_completes_its_request_once() {
        let now = Instant::now();
        let mut tracker = RequestTracker::new(16);
        let id = tracker.register(now, SECOND, "trigger").unwrap();
        assert_eq!(tracker.complete(id), Some("trigger"));
        assert_eq!(tracker.complete(id), None);
        assert!(tracker.is_empty());
        assert_eq!(tracker.next_deadline().map(|(at, _)| at), None);
    }

    #[test]
    fn a_request_times_out_exactly_once_at_its_deadline() {
        let start = Instant::now();
        let mut tracker = RequestTracker::new(16);
        let id = tracker.register(start, SECOND, "get value").unwrap();
        assert_eq!(
            tracker.next_deadline().map(|(at, _)| at),
            Some(start + SECOND)
        );
        assert_eq!(
            tracker.expire(start + SECOND - Duration::from_nanos(1)),
            None
        );
        assert_eq!(tracker.expire(start + SECOND), Some((id, "get value")));
        assert_eq!(tracker.expire(start + 10 * SECOND), None);
        // The late response matches nothing.
        assert_eq!(tracker.complete(id), None);
    }

    #[test]
    fn timeouts_come_out_in_deadline_order() {
        let start = Instant::now();
        let mut tracker = RequestTracker::new(16);
        let slow = tracker.register(start, 3 * SECOND, "slow").unwrap();
        let fast = tracker.register(start, SECOND, "fast").unwrap();
        let later = start + 5 * SECOND;
        assert_eq!(tracker.expire(later), Some((fast, "fast")));
        assert_eq!(tracker.expire(later), Some((slow, "slow")));
        assert_eq!(tracker.expire(later), None);
    }

    #[test]
    fn a_request_left_waiting_keeps_its_id_while_many_later_ones_end() {
        let now = Instant::now();
        let mut tracker = RequestTracker::new(16);
        let old = tracker.register(now, 100 * SECOND, "old").unwrap();
        for _ in 0..10_000 {
            let id = tracker.register(now, SECOND, "quick").unwrap();
            assert_ne!(id, old);
            assert_eq!(tracker.complete(id), Some("quick"));
            assert!(tracker.window.len() <= 2 * tracker.len() + SLACK + 1);
            assert!(tracker.deadlines.len() <= tracker.len());
        }
        assert_eq!(
            tracker.next_deadline().map(|(at, _)| at),
            Some(now + 100 * SECOND)
        );
        assert_eq!(tracker.complete(old), Some("old"));
        assert!(tracker.is_empty());
    }

    #[test]
    fn the_in_flight_limit_is_an_error_not_a_panic() {
        let now = Instant::now();
        let mut tracker = RequestTracker::new(2);
        tracker.register(now, SECOND, ()).unwrap();
        tracker.register(now, SECOND, ()).unwrap();
        assert_eq!(
            tracker.register(now, SECOND, ()),
            Err(TrackError::TooManyInFlight { limit: 2 })
        );
    }

    #[test]
    fn a_timeout_past_the_end_of_time_never_fires() {
        let now = Instant::now();
        let mut tracker = RequestTracker::new(2);
        let id = tracker.register(now, Duration::MAX, ()).unwrap();
        assert_eq!(tracker.next_deadline().map(|(at, _)| at), None);
        assert!(tracker.contains(id));
        assert_eq!(tracker.complete(id), Some(()));
    }

    #[test]
    fn drain_ends_every_request() {
        let now = Instant::now();
        let mut tracker = RequestTracker::new(8);
        for name in ["a", "b", "c"] {
            tracker.register(now, SECOND, name).unwrap();
        }
        assert_eq!(tracker.drain(), vec![(1, "a"), (2, "b"), (3, "c")]);
        assert!(tracker.is_empty());
        assert_eq!(tracker.next_deadline().map(|(at, _)| at), None);
    }

    /// One step of the model test.
    #[derive(Clone, Debug)]
    enum Op {
        Send { timeout_ms: u64 },
        Answer { pick: prop::sample::Index },
        AnswerUnknown { id: u32 },
        Advance { ms: u64 },
        Jump { to: u32 },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (1u64..500).prop_map(|timeout_ms| Op::Send { timeout_ms }),
            // Left waiting while many later requests end.
            1 => Just(Op::Send { timeout_ms: 1_000_000 }),
            3 => any::<prop::sample::Index>().prop_map(|pick| Op::Answer { pick }),
            1 => any::<u32>().prop_map(|id| Op::AnswerUnknown { id }),
            2 => (0u64..300).prop_map(|ms| Op::Advance { ms }),
            1 => prop_oneof![Just(u32::MAX - 2), any::<u32>()].prop_map(|to| Op::Jump { to }),
        ]
    }

    use proptest::prelude::*;

    /// Takes every request due at `now` out of the tracker and the model, checking each.
    fn expire_all(
        tracker: &mut RequestTracker<Instant>,
        open: &mut HashMap<u32, Instant>,
        now: Instant,
        ended: &mut usize,
    ) -> Result<(), TestCaseError> {
        while let Some((id, deadline)) = tracker.expire(now) {
            prop_assert!(deadline <= now, "request {id} timed out early");
            prop_assert_eq!(
                open.remove(&id),
                Some(deadline),
                "request {} ended twice or never began",
                id
            );
            *ended += 1;
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn every_request_ends_exactly_once_and_never_shares_an_id(ops in prop::collection::vec(op(), 1..300)) {
            let start = Instant::now();
            let mut now = start;
            let mut tracker = RequestTracker::new(64);
            // Model: id -> deadline of every request sent and not yet ended.
            let mut open: HashMap<u32, Instant> = HashMap::new();
            let mut ended = 0usize;
            let mut sent = 0usize;
            for op in ops {
                match op {
                    Op::Send { timeout_ms } => {
                        let timeout = Duration::from_millis(timeout_ms);
                        if let Ok(id) = tracker.register(now, timeout, now + timeout) {
                            prop_assert!(id != 0);
                            prop_assert!(open.insert(id, now + timeout).is_none(), "id {} reused while in flight", id);
                            sent += 1;
                        } else {
                            prop_assert_eq!(open.len(), 64);
                        }
                    }
                    Op::Answer { pick } => {
                        let mut ids: Vec<u32> = open.keys().copied().collect();
                        if ids.is_empty() { continue; }
                        ids.sort_unstable();
                        let id = ids[pick.index(ids.len())];
                        prop_assert_eq!(tracker.complete(id), open.remove(&id));
                        ended += 1;
                        // A second answer matches nothing.
                        prop_assert_eq!(tracker.complete(id), None);
                    }
                    Op::AnswerUnknown { id } => {
                        // Usually no such request; if the id happens to be in flight, it ends now.
                        let matched = tracker.complete(id).is_some();
                        prop_assert_eq!(matched, open.remove(&id).is_some());
                        ended += usize::from(matched);
                    }
                    Op::Advance { ms } => {
                        now += Duration::from_millis(ms);
                        expire_all(&mut tracker, &mut open, now, &mut ended)?;
                    }
                    Op::Jump { to } => tracker.jump_to(to),
                }
                // Memory follows the requests waiting, not the requests ever sent.
                prop_assert!(tracker.window.len() <= 2 * tracker.len() + SLACK + 2);
                prop_assert!(tracker.deadlines.len() <= tracker.len());
                prop_assert_eq!(tracker.len(), open.len());
                prop_assert_eq!(tracker.next_deadline().map(|(at, _)| at), open.values().min().copied());
            }
            now += Duration::from_secs(2000);
            expire_all(&mut tracker, &mut open, now, &mut ended)?;
            prop_assert!(open.is_empty());
            prop_assert!(tracker.is_empty());
            prop_assert_eq!(sent, ended, "every request sent ended exactly once");
        }
    }
}
