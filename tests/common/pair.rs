//! A manager session and its peer's (a plugin's, a client library's) wired in memory on one
//! fake clock: how every session test drives the two. Each direction is a [`Link`] that
//! delivers what is written, loses it, or holds its bytes for the test to hand over in chunks
//! of its choosing; time moves only when the test says.

use std::time::{Duration, Instant};

use logi_plugin_core::session::{Event, Frame, Peer, Session};

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
}

impl<M: Session<PeerHello = Peer>, P: Session> Pair<M, P> {
    /// The two sessions, made at `now`, on open links; nothing moved yet ([`Pair::drive`]
    /// carries their hellos).
    pub fn new(now: Instant, manager: M, peer: P) -> Self {
        Pair {
            now,
            manager,
            peer,
            manager_events: Vec::new(),
            peer_events: Vec::new(),
            to_manager: Link::Open,
            to_peer: Link::Open,
            byte_at_a_time: false,
        }
    }

    /// Moves frames both ways until neither side writes anything more, collecting events.
    pub fn drive(&mut self) {
        loop {
            let mut moved = self.deliver_peer_output();
            while let Some(frame) = self.manager.poll_transmit() {
                moved = true;
                let (link, byte_at_a_time) = (&mut self.to_peer, self.byte_at_a_time);
                carry(frame, link, byte_at_a_time, |frame| {
                    hand(&mut self.peer, self.now, frame)
                });
            }
            self.collect_events();
            if !moved {
                return;
            }
        }
    }

    /// Carries what the peer has written to the manager, and nothing back; `true` if it wrote
    /// anything. (Sent after each update, updates leave before a newer one can replace them in
    /// the plugin's bulk lane.)
    pub fn deliver_peer_output(&mut self) -> bool {
        let mut moved = false;
        while let Some(frame) = self.peer.poll_transmit() {
            moved = true;
            let (link, byte_at_a_time) = (&mut self.to_manager, self.byte_at_a_time);
            carry(frame, link, byte_at_a_time, |frame| {
                hand(&mut self.manager, self.now, frame)
            });
        }
        moved
    }

    /// Takes both sides' events into `manager_events` and `peer_events`.
    pub fn collect_events(&mut self) {
        self.manager_events
            .extend(std::iter::from_fn(|| self.manager.poll_event()));
        self.peer_events
            .extend(std::iter::from_fn(|| self.peer.poll_event()));
    }

    /// The earlier of the two sides' deadlines.
    pub fn next_timeout(&self) -> Option<Instant> {
        [self.manager.poll_timeout(), self.peer.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Both sides handle the time `now` (the clock does not move), then drive.
    pub fn handle_timeouts(&mut self) {
        self.manager.handle_timeout(self.now);
        self.peer.handle_timeout(self.now);
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
        self.manager.handle_bytes(self.now, &chunk).unwrap();
        chunk
    }

    /// Hands the peer up to `n` of the bytes held on its link (the caller drives after); the
    /// bytes.
    pub fn release_to_peer(&mut self, n: usize) -> Vec<u8> {
        let chunk = release(&mut self.to_peer, n);
        self.peer.handle_bytes(self.now, &chunk).unwrap();
        chunk
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
        Frame::Binary(bytes) => session.handle_bytes(now, &bytes).unwrap(),
        frame @ Frame::Text(_) => session.handle_frame(now, frame).unwrap(),
    }
}
