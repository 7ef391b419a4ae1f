//! Request ids and deadlines for the requests one side has sent.
//!
//! Each side numbers its own requests from 1, wrapping past `u32::MAX` and skipping 0 (which
//! means "no id" on the wire) and any id still in flight, so a response can never be matched to
//! the wrong request. Every request ends exactly once: answered ([`RequestTracker::complete`]) or
//! timed out ([`RequestTracker::expire`]); a response that comes after that matches nothing and is
//! the owner's to drop and count. Time comes in as an argument; nothing here reads a clock.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

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
#[derive(Debug)]
pub struct RequestTracker<T> {
    next_id: u32,
    limit: usize,
    in_flight: IdMap<Pending<T>>,
    /// Deadlines, earliest on top. An answered request leaves its entry behind (a push is far
    /// cheaper than a search); the top is kept live, so the earliest deadline is always exact,
    /// and the heap is rebuilt when stale entries outnumber live ones.
    deadlines: BinaryHeap<Reverse<(Instant, u32)>>,
}

#[derive(Debug)]
struct Pending<T> {
    deadline: Option<Instant>,
    data: T,
}

/// The most requests a tracker lets wait at once, so that an id is always free.
pub const MAX_IN_FLIGHT_LIMIT: usize = 1 << 24;

impl<T> RequestTracker<T> {
    /// A tracker allowing at most `limit` requests in flight (capped at [`MAX_IN_FLIGHT_LIMIT`]).
    pub fn new(limit: usize) -> RequestTracker<T> {
        RequestTracker {
            next_id: 1,
            limit: limit.min(MAX_IN_FLIGHT_LIMIT),
            in_flight: IdMap::default(),
            deadlines: BinaryHeap::new(),
        }
    }

    /// The number of requests waiting for a response.
    pub fn len(&self) -> usize {
        self.in_flight.len()
    }

    /// Whether no request is waiting.
    pub fn is_empty(&self) -> bool {
        self.in_flight.is_empty()
    }

    /// Whether request `id` is waiting for its response.
    pub fn contains(&self, id: u32) -> bool {
        self.in_flight.contains_key(&id)
    }

    /// Registers a request sent at `now` that times out after `timeout`, and gives it an id.
    pub fn register(
        &mut self,
        now: Instant,
        timeout: Duration,
        data: T,
    ) -> Result<u32, TrackError> {
        if self.in_flight.len() >= self.limit {
            return Err(TrackError::TooManyInFlight { limit: self.limit });
        }
        let id = self.allocate_id();
        // A timeout too long to represent never fires.
        let deadline = now.checked_add(timeout);
        if let Some(deadline) = deadline {
            self.deadlines.push(Reverse((deadline, id)));
        }
        self.in_flight.insert(id, Pending { deadline, data });
        Ok(id)
    }

    /// The response to `id` arrived: its data, or `None` if no such request is waiting (it timed
    /// out already, was answered already, or was never sent).
    pub fn complete(&mut self, id: u32) -> Option<T> {
        let pending = self.in_flight.remove(&id)?;
        self.clean_top();
        if self.deadlines.len() > 2 * self.in_flight.len() + 64 {
            let in_flight = &self.in_flight;
            self.deadlines
                .retain(|&Reverse((deadline, id))| is_live(in_flight, id, deadline));
        }
        Some(pending.data)
    }

    /// One request whose deadline is at or before `now`, removed; call until `None`.
    #[must_use]
    pub fn expire(&mut self, now: Instant) -> Option<(u32, T)> {
        let &Reverse((deadline, id)) = self.deadlines.peek()?;
        if deadline > now {
            return None;
        }
        self.deadlines.pop();
        let pending = self.in_flight.remove(&id)?;
        self.clean_top();
        Some((id, pending.data))
    }

    /// The earliest deadline of a waiting request.
    #[must_use]
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines
            .peek()
            .map(|&Reverse((deadline, _))| deadline)
    }

    /// Ends every waiting request (the connection is gone), in id order.
    pub fn drain(&mut self) -> Vec<(u32, T)> {
        self.deadlines.clear();
        let mut all: Vec<(u32, T)> = self.in_flight.drain().map(|(id, p)| (id, p.data)).collect();
        all.sort_unstable_by_key(|&(id, _)| id);
        all
    }

    /// Drops the entries of answered requests from the top, so the top is a live deadline.
    fn clean_top(&mut self) {
        while let Some(&Reverse((deadline, id))) = self.deadlines.peek() {
            if is_live(&self.in_flight, id, deadline) {
                return;
            }
            self.deadlines.pop();
        }
    }

    /// The next id: not 0 and not in flight. The limit keeps a free id within reach.
    fn allocate_id(&mut self) -> u32 {
        loop {
            let id = self.next_id;
            self.next_id = self.next_id.checked_add(1).unwrap_or(1);
            if id != 0 && !self.in_flight.contains_key(&id) {
                return id;
            }
        }
    }
}

/// Whether the deadline entry `(deadline, id)` belongs to a request still waiting.
fn is_live<T>(in_flight: &IdMap<Pending<T>>, id: u32, deadline: Instant) -> bool {
    in_flight
        .get(&id)
        .is_some_and(|pending| pending.deadline == Some(deadline))
}

/// A map keyed by request id.
pub(crate) type IdMap<V> = HashMap<u32, V, BuildIdHasher>;

/// A set of request ids.
pub(crate) type IdSet = HashSet<u32, BuildIdHasher>;

/// Hashes request ids with one multiplication instead of SipHash. Our own ids are sequential;
/// the peer's are kept in a set bounded by `Limits::max_peer_pending`, so a peer choosing
/// colliding ids can slow a lookup at most to a scan of that many.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BuildIdHasher;

impl BuildHasher for BuildIdHasher {
    type Hasher = IdHasher;

    fn build_hasher(&self) -> IdHasher {
        IdHasher(0)
    }
}

/// The hasher of [`BuildIdHasher`].
#[derive(Debug)]
pub(crate) struct IdHasher(u64);

/// 2^64 divided by the golden ratio: multiplying by it spreads consecutive keys over the high
/// bits, which the hash table reads.
const SPREAD: u64 = 0x9E37_79B9_7F4A_7C15;

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(SPREAD);
        }
    }

    fn write_u32(&mut self, id: u32) {
        self.0 = (self.0 ^ u64::from(id)).wrapping_mul(SPREAD);
    }
}

#[cfg(test)]
mod tests {
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
        tracker.next_id = u32::MAX;
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
        assert_eq!(tracker.next_deadline(), None);
    }

    #[test]
    fn a_request_times_out_exactly_once_at_its_deadline() {
        let start = Instant::now();
        let mut tracker = RequestTracker::new(16);
        let id = tracker.register(start, SECOND, "get value").unwrap();
        assert_eq!(tracker.next_deadline(), Some(start + SECOND));
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
        assert_eq!(tracker.next_deadline(), None);
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
        assert_eq!(tracker.next_deadline(), None);
    }

    /// One step of the model test.
    #[derive(Clone, Debug)]
    enum Op {
        Send { timeout_ms: u64 },
        Answer { pick: prop::sample::Index },
        AnswerUnknown { id: u32 },
        Advance { ms: u64 },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (1u64..500).prop_map(|timeout_ms| Op::Send { timeout_ms }),
            3 => any::<prop::sample::Index>().prop_map(|pick| Op::Answer { pick }),
            1 => any::<u32>().prop_map(|id| Op::AnswerUnknown { id }),
            2 => (0u64..300).prop_map(|ms| Op::Advance { ms }),
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
                }
                prop_assert_eq!(tracker.len(), open.len());
                prop_assert_eq!(tracker.next_deadline(), open.values().min().copied());
            }
            now += Duration::from_secs(1);
            expire_all(&mut tracker, &mut open, now, &mut ended)?;
            prop_assert!(open.is_empty());
            prop_assert!(tracker.is_empty());
            prop_assert_eq!(sent, ended, "every request sent ended exactly once");
        }
    }
}
