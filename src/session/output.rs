//! The one way into a session and the one way out: an [`Input`] from the transport or the clock
//! goes in through `handle_input`; `poll_output` gives an event for the owner, a frame to write
//! (saying its [`Lane`]), or, once there is nothing more, when to wake the session and why
//! ([`Wake`], naming its [`Timer`]).
//!
//! Also here: the rule for when bulk frames leave ([`Round`]). A driver says how many bytes its
//! transport has yet to write; the session decides what goes, as quinn-proto's `poll_transmit`
//! is told how many datagrams fit.

use std::time::Instant;

use super::types::{Event, Frame};

/// What the transport or the clock brings a session.
#[derive(Clone, Debug, PartialEq)]
pub enum Input<'a> {
    /// Bytes read from a byte stream, split anywhere.
    Bytes(&'a [u8]),
    /// One message read from a message transport.
    Frame(Frame),
    /// The transport ended.
    End,
    /// The transport failed, saying this; the session closes
    /// ([`CloseReason::TransportFailed`](super::CloseReason::TransportFailed)).
    Failed(String),
    /// Time has reached the [`Wake`] the session asked for. Early or repeated, it does nothing.
    Timeout,
}

/// What a session gives its driver, one at a time, until [`Output::Timeout`] or
/// [`Output::Idle`] says there is nothing more for now.
#[derive(Debug, PartialEq)]
pub enum Output<H> {
    /// Something for the owner.
    Event(Event<H>),
    /// A frame to write.
    Transmit(Transmit),
    /// Nothing more until an input or a command: hand the session [`Input::Timeout`] at
    /// `Wake::at` (at once for [`Timer::Bulk`]). Bulk frames held back because the transport
    /// was still writing are the one exception: poll again once it has written everything.
    Timeout(Wake),
    /// Nothing more until an input or a command, and no deadline (a closed session has none);
    /// bulk frames waiting for a transport to finish writing, as for [`Output::Timeout`].
    Idle,
}

/// A frame to write, and the lane it left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// What to write.
    pub frame: Frame,
    /// The lane it comes from.
    pub lane: Lane,
}

/// The two lanes of what a session writes (seed 5.5, 5.6): status and image updates wait in the
/// bulk lane behind every other frame, so that the answer to a press never queues behind a
/// flood of images.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// Requests, answers, input, heartbeats: everything that is not bulk.
    Prompt,
    /// A status or image update.
    Bulk,
}

/// When the session next has work, and which of its deadlines that is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wake {
    /// When.
    pub at: Instant,
    /// Why.
    pub timer: Timer,
}

/// A session's deadlines, each named.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Timer {
    /// The hello: the peer's is due (manager side), or the answer to this side's.
    Hello,
    /// The time to send the next `Ping` (manager side).
    Ping,
    /// The answer to a `Ping` is due (manager side).
    Pong,
    /// The manager has been silent for as many heartbeats as it may miss (plugin and client
    /// library side).
    Silence,
    /// The answer to one of the owner's requests is due.
    Request,
    /// A `RetryAfter` hold ends (plugin side): what it held back leaves.
    Hold,
    /// Status updates the rate limit kept back may be delivered (manager side).
    Deferred,
    /// An analog buffer releases the updates it merged (plugin side).
    Flush,
    /// Bulk frames wait that the round just ended held back because it handed the owner an
    /// event: the next round lets them go. Due at once; [`Input::Timeout`] for it does nothing,
    /// the next `poll_output` is what it asks for.
    Bulk,
}

/// Something with named deadlines, each shown in a fixed order.
pub(crate) trait Timers {
    /// Shows `see` every deadline, `None` for one not set.
    fn timers(&self, see: &mut impl FnMut(Timer, Option<Instant>));
}

/// The earliest of the deadlines of `timers`; on a tie, the one shown first. Worked out as the
/// deadlines are shown, with no table in memory: it runs once per round of output.
#[inline]
pub(crate) fn earliest(timers: &impl Timers) -> Option<Wake> {
    let mut best: Option<Wake> = None;
    timers.timers(&mut |timer, at| {
        if let Some(at) = at
            && best.is_none_or(|wake| at < wake.at)
        {
            best = Some(Wake { at, timer });
        }
    });
    best
}

/// The deadlines of `timers` that are due at `now`, in the order shown.
pub(crate) fn due(timers: &impl Timers, now: Instant) -> Vec<Timer> {
    let mut due = Vec::new();
    timers.timers(&mut |timer, at| {
        if at.is_some_and(|at| at <= now) {
            due.push(timer);
        }
    });
    due
}

/// How many bytes of bulk frames leave in one round (a larger frame leaves alone): enough for
/// small updates to leave in batches, little enough that an answer queued behind a batch leaves
/// within microseconds.
pub const BULK_ROOM: usize = 16 * 1024;

/// One round of output: the polls from the first after the last `Timeout`/`Idle` up to the next.
/// It decides when bulk frames leave:
///
/// - only if the transport had written everything when the round began: a frame queued behind
///   an unfinished one would hold an answer that comes next back for both, where bulk waiting
///   in the session lets it pass;
/// - at most [`BULK_ROOM`] bytes a round;
/// - not in a round that handed the owner an event (a press it will answer sooner with nothing
///   being written ahead), though never two rounds in a row, or input arriving without a pause
///   would starve them;
/// - every one once the session has closed: its last words.
#[derive(Debug, Default)]
pub(crate) struct Round {
    /// Whether the transport had nothing left to write as the round began; `None` before the
    /// round's first poll.
    transport_empty: Option<bool>,
    /// Whether the round handed the owner an event.
    evented: bool,
    /// Bulk bytes taken in the round.
    bulk: usize,
    /// Whether this round holds bulk back for an event; `None` until decided, which every round
    /// does once, with bulk waiting or not, so that "two in a row" counts rounds.
    held: Option<bool>,
    /// Whether the round before held bulk back for an event.
    held_before: bool,
}

impl Round {
    /// Notes a poll, `unwritten` the bytes the transport has yet to write.
    #[inline]
    pub(crate) fn poll(&mut self, unwritten: usize) {
        if self.transport_empty.is_none() {
            self.transport_empty = Some(unwritten == 0);
        }
    }

    #[inline]
    pub(crate) fn handed_event(&mut self) {
        self.evented = true;
    }

    /// Whether a bulk frame may leave now, there being one.
    pub(crate) fn bulk_goes(&mut self, closed: bool) -> bool {
        if closed {
            return true;
        }
        let held = self.held();
        !held && self.transport_empty == Some(true) && self.bulk < BULK_ROOM
    }

    /// Notes a bulk frame of `len` bytes taken.
    #[inline]
    pub(crate) fn took_bulk(&mut self, len: usize) {
        // A frame of no bytes still counts as taken.
        self.bulk += len.max(1);
    }

    /// Ends the round: the next poll starts another.
    #[inline]
    pub(crate) fn end(&mut self) {
        self.held_before = self.held.unwrap_or(self.evented && !self.held_before);
        self.transport_empty = None;
        self.evented = false;
        self.bulk = 0;
        self.held = None;
    }

    /// Whether the round last ended held bulk back for an event.
    #[inline]
    pub(crate) fn held_last(&self) -> bool {
        self.held_before
    }

    /// Whether this round holds bulk back for an event, decided the first time it is asked.
    #[inline]
    fn held(&mut self) -> bool {
        match self.held {
            Some(held) => held,
            None => {
                let held = self.evented && !self.held_before;
                self.held = Some(held);
                held
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Deadlines as a list, shown in order.
    struct List(Vec<(Timer, Option<Instant>)>);

    impl Timers for List {
        fn timers(&self, see: &mut impl FnMut(Timer, Option<Instant>)) {
            for &(timer, at) in &self.0 {
                see(timer, at);
            }
        }
    }

    #[test]
    fn the_earliest_deadline_names_its_timer_and_a_tie_goes_to_the_first_shown() {
        let now = Instant::now();
        let later = now + Duration::from_secs(1);
        let timers = List(vec![
            (Timer::Hello, Some(later)),
            (Timer::Request, Some(now)),
            (Timer::Silence, None),
            (Timer::Hold, Some(now)),
        ]);
        assert_eq!(
            earliest(&timers),
            Some(Wake {
                at: now,
                timer: Timer::Request
            })
        );
        assert_eq!(earliest(&List(vec![(Timer::Flush, None)])), None);
    }

    #[test]
    fn the_due_deadlines_come_in_the_order_shown() {
        let now = Instant::now();
        let later = now + Duration::from_secs(1);
        let timers = List(vec![
            (Timer::Pong, Some(now)),
            (Timer::Hello, Some(later)),
            (Timer::Ping, Some(now - Duration::from_secs(1))),
            (Timer::Deferred, None),
        ]);
        assert_eq!(due(&timers, now), [Timer::Pong, Timer::Ping]);
    }

    #[test]
    fn bulk_leaves_only_from_an_empty_transport() {
        let mut round = Round::default();
        round.poll(10);
        assert!(!round.bulk_goes(false));
        round.end();
        round.poll(0);
        assert!(round.bulk_goes(false));
    }

    #[test]
    fn bulk_leaves_a_room_a_round_a_larger_frame_alone() {
        let mut round = Round::default();
        round.poll(0);
        assert!(round.bulk_goes(false));
        round.took_bulk(BULK_ROOM + 1);
        assert!(!round.bulk_goes(false));
        round.end();
        round.poll(0);
        assert!(round.bulk_goes(false));
        round.took_bulk(BULK_ROOM - 1);
        assert!(round.bulk_goes(false), "room for one more");
    }

    #[test]
    fn a_round_with_an_event_holds_bulk_back_but_never_two_in_a_row() {
        let mut round = Round::default();
        round.poll(0);
        round.handed_event();
        assert!(!round.bulk_goes(false));
        round.end();
        round.poll(0);
        round.handed_event();
        assert!(
            round.bulk_goes(false),
            "the second round in a row takes bulk"
        );
        round.took_bulk(100);
        round.end();
        round.poll(0);
        round.handed_event();
        assert!(
            !round.bulk_goes(false),
            "held back again after a round that took it"
        );
    }

    #[test]
    fn a_round_without_an_event_counts_between_two_that_hold_bulk_back() {
        let mut round = Round::default();
        round.poll(0);
        round.handed_event();
        assert!(!round.bulk_goes(false));
        round.end();
        // A busy transport, no event: bulk waits, and the event rule rests.
        round.poll(10);
        assert!(!round.bulk_goes(false));
        round.end();
        round.poll(0);
        round.handed_event();
        assert!(
            !round.bulk_goes(false),
            "not two in a row: a round came between"
        );
    }

    #[test]
    fn a_round_with_an_event_and_no_bulk_still_counts_as_holding_back() {
        let mut round = Round::default();
        round.poll(0);
        round.handed_event();
        round.end();
        round.poll(0);
        round.handed_event();
        assert!(round.bulk_goes(false), "the round before held back");
    }

    #[test]
    fn a_closed_session_lets_every_bulk_frame_go() {
        let mut round = Round::default();
        round.poll(100);
        round.handed_event();
        round.took_bulk(BULK_ROOM);
        assert!(round.bulk_goes(true));
    }
}
