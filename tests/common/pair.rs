//! A manager session and its peer's (a plugin's, a client library's) wired in memory on one
//! fake clock: how every session test drives the two. Each direction is a [`Link`] that
//! delivers what is written, loses it, or holds its bytes for the test to hand over in chunks
//! of its choosing; time moves only when the test says. The manager's owner is played by an
//! [`Admission`], as the transports' listener plays it: it judges the hello at once and lets
//! the plugin id go once the session has closed.

use std::time::{Duration, Instant};

use logi_plugin_core::session::{
    Admission, Claim, Event, Frame, Input, Output, Peer, Session, Wake,
};

/// What happens to what one side writes.
#[derive(Debug, Default)]
pub enum Link {
    /// Delivered to the other side at once.
    #[default]
    Open,
    /// Lost, as on a connection that stopped carrying anything.
    Lost,
    /// Kept as bytes until the test hands them over ([`Pair::release_to_manager`],
    /// [`Pair::release_to_peer`]).
    Held(Vec<u8>),
}

impl Link {
    /// The bytes held so far (none unless [`Link::Held`]).
    pub fn held(&self) -> &[u8] {
        match self {
            Link::Held(bytes) => bytes,
            _ => &[],
        }
    }
}

/// The two sessions, their events so far, and the clock.
pub struct Pair<M: Session<PeerHello = Peer>, P: Session> {
    pub now: Instant,
    pub manager: M,
    pub peer: P,
    pub manager_events: Vec<Event<Peer>>,
    pub peer_events: Vec<Event<P::PeerHello>>,
    /// What the peer writes.
    pub to_manager: Link,
    /// What the manager writes.
    pub to_peer: Link,
    /// Delivers byte streams one byte at a time.
    pub byte_at_a_time: bool,
    /// When each side last asked to be woken: `[manager, peer]`.
    wakes: [Option<Instant>; 2],
    /// The manager's owner, judging the hello.
    pub admission: Admission,
    /// The plugin id admitted, held while the manager's session is open.
    claim: Option<Claim>,
}

impl<M: Session<PeerHello = Peer>, P: Session> Pair<M, P> {
    /// The two sessions, made at `now`, on open links, the manager's owner judging by
    /// `admission`; nothing moved yet ([`Pair::drive`] carries their hellos).
    pub fn new(now: Instant, manager: M, peer: P, admission: Admission) -> Self {
        Pair {
            now,
            manager,
            peer,
            manager_events: Vec::new(),
            peer_events: Vec::new(),
            to_manager: Link::Open,
            to_peer: Link::Open,
            byte_at_a_time: false,
            wakes: [None, None],
            admission,
            claim: None,
        }
    }

    /// Moves frames both ways until neither side writes anything more or has an event,
    /// collecting events into `manager_events` and `peer_events`.
    pub fn drive(&mut self) {
        loop {
            let peer = self.deliver_peer_output();
            let manager = self.deliver_manager_output();
            if !peer && !manager {
                return;
            }
        }
    }

    /// Takes a round of the peer's output: its events into `peer_events`, its frames to the
    /// manager, and nothing back; `true` if it had any. (Sent after each update, updates leave
    /// before a newer one can replace them in the plugin's bulk lane.)
    pub fn deliver_peer_output(&mut self) -> bool {
        round(
            &mut self.peer,
            &mut self.peer_events,
            &mut self.wakes[1],
            (&mut self.to_manager, self.byte_at_a_time),
            &mut self.manager,
            self.now,
        )
    }

    /// Takes a round of the manager's output, as [`deliver_peer_output`](Self::deliver_peer_output)
    /// does the peer's.
    fn deliver_manager_output(&mut self) -> bool {
        let seen = self.manager_events.len();
        let mut moved = round(
            &mut self.manager,
            &mut self.manager_events,
            &mut self.wakes[0],
            (&mut self.to_peer, self.byte_at_a_time),
            &mut self.peer,
            self.now,
        );
        // The owner answers a hello at once, and keeps it to itself.
        if let Some(at) = (seen..self.manager_events.len())
            .find(|&i| matches!(self.manager_events[i], Event::Hello(_)))
            && let Event::Hello(peer) = self.manager_events.remove(at)
        {
            let (verdict, claim) = self.admission.judge(&peer, None);
            self.claim = claim;
            self.manager.admit(self.now, verdict).unwrap();
            moved = true;
        }
        if self.manager.close_reason().is_some() {
            self.claim = None;
        }
        moved
    }

    /// The earlier of the two sides' deadlines, once everything waiting has moved.
    pub fn next_timeout(&mut self) -> Option<Instant> {
        self.drive();
        self.wakes.into_iter().flatten().min()
    }

    /// Both sides handle the time `now` (the clock does not move), then drive.
    pub fn handle_timeouts(&mut self) {
        self.manager.handle_input(self.now, Input::Timeout).unwrap();
        self.peer.handle_input(self.now, Input::Timeout).unwrap();
        self.drive();
    }

    /// Jumps to the earlier deadline of the two, handles it, and drives. `false` when neither
    /// side has a deadline.
    pub fn step(&mut self) -> bool {
        let Some(next) = self.next_timeout() else {
            return false;
        };
        self.now = self.now.max(next);
        self.handle_timeouts();
        true
    }

    /// Lets `duration` pass, handling every deadline on the way, in order.
    pub fn advance(&mut self, duration: Duration) {
        let end = self.now + duration;
        while self.next_timeout().is_some_and(|due| due <= end) {
            self.step();
        }
        self.now = end;
        self.handle_timeouts();
    }

    /// Hands the manager up to `n` of the bytes held on its link (the caller drives after);
    /// the bytes.
    pub fn release_to_manager(&mut self, n: usize) -> Vec<u8> {
        let chunk = release(&mut self.to_manager, n);
        self.manager
            .handle_input(self.now, Input::Bytes(&chunk))
            .unwrap();
        chunk
    }

    /// Hands the peer up to `n` of the bytes held on its link (the caller drives after); the
    /// bytes.
    pub fn release_to_peer(&mut self, n: usize) -> Vec<u8> {
        let chunk = release(&mut self.to_peer, n);
        self.peer
            .handle_input(self.now, Input::Bytes(&chunk))
            .unwrap();
        chunk
    }
}

/// Takes a round of `from`'s output: events into `events`, frames over `link` to `to`, the
/// wake it asks for into `wake`; `true` if it had an event or a frame.
fn round<S: Session>(
    from: &mut S,
    events: &mut Vec<Event<S::PeerHello>>,
    wake: &mut Option<Instant>,
    (link, byte_at_a_time): (&mut Link, bool),
    to: &mut impl Session,
    now: Instant,
) -> bool {
    let mut moved = false;
    loop {
        match from.poll_output(0) {
            Output::Event(event) => events.push(event),
            Output::Transmit(transmit) => {
                carry(transmit.frame, link, byte_at_a_time, |frame| {
                    hand(to, now, frame)
                });
            }
            Output::Timeout(next) => {
                *wake = Some(next.at);
                return moved;
            }
            Output::Idle => {
                *wake = None;
                return moved;
            }
        }
        moved = true;
    }
}

/// Takes up to `n` bytes off the front of a held link.
fn release(link: &mut Link, n: usize) -> Vec<u8> {
    match link {
        Link::Held(bytes) => bytes.drain(..n.min(bytes.len())).collect(),
        _ => Vec::new(),
    }
}

/// Does with `frame` what `link` does: hands it to `to` (whole, or a byte at a time), loses
/// it, or holds its bytes.
fn carry(frame: Frame, link: &mut Link, byte_at_a_time: bool, mut to: impl FnMut(Frame)) {
    match (link, frame) {
        (Link::Lost, _) => {}
        (Link::Held(held), frame) => held.extend_from_slice(frame.as_bytes()),
        (Link::Open, Frame::Binary(bytes)) if byte_at_a_time => {
            for i in 0..bytes.len() {
                to(Frame::Binary(bytes.slice(i..i + 1)));
            }
        }
        (Link::Open, frame) => to(frame),
    }
}

/// Hands a frame to a session as its transport would: a byte stream's bytes, or a whole
/// WebSocket text frame.
fn hand(session: &mut impl Session, now: Instant, frame: Frame) {
    match frame {
        Frame::Binary(bytes) => session.handle_input(now, Input::Bytes(&bytes)).unwrap(),
        frame @ Frame::Text(_) => session.handle_input(now, Input::Frame(frame)).unwrap(),
    }
}

/// What one session gave its driver until it had nothing more.
#[derive(Debug)]
pub struct Taken<H> {
    /// Its events, in order.
    pub events: Vec<Event<H>>,
    /// The frames it wrote, in order.
    pub frames: Vec<Frame>,
    /// When it asked to be woken, and why (`None`: no deadline).
    pub wake: Option<Wake>,
}

/// Takes rounds of `session`'s output until one has no event and no frame.
pub fn take<S: Session>(session: &mut S) -> Taken<S::PeerHello> {
    let mut taken = Taken {
        events: Vec::new(),
        frames: Vec::new(),
        wake: None,
    };
    loop {
        let mut moved = false;
        loop {
            match session.poll_output(0) {
                Output::Event(event) => taken.events.push(event),
                Output::Transmit(transmit) => taken.frames.push(transmit.frame),
                Output::Timeout(wake) => {
                    taken.wake = Some(wake);
                    break;
                }
                Output::Idle => {
                    taken.wake = None;
                    break;
                }
            }
            moved = true;
        }
        if !moved {
            return taken;
        }
    }
}
