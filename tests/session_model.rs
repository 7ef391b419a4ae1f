//! A model test of the two sessions together: random interleavings of application actions on
//! both sides, random chunking of both byte streams, random time steps. Properties:
//! - every request ends in exactly one response or one timeout (or with the session);
//! - no two requests in flight on one side share an id;
//! - the plugin application receives exactly the analog movement the manager sent;
//! - the manager never admits more plugin messages than its bucket allows;
//! - the manager closes for heartbeat exactly when a `Ping`'s deadline passes without its `Pong`
//!   having arrived: never before, and at the first timeout handled at or after it.
//!
//! Time steps stay under the heartbeat interval: a jump past a deadline by a whole interval is a
//! machine waking from sleep, which re-probes instead of closing (`tests/sessions.rs`).
//!
//! The model follows the pings by reading the frames on the wire itself, with the codec.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use logi_plugin_core::codec::binary;
use logi_plugin_core::codec::frame::FrameDecoder;
use logi_plugin_core::proto::plugin::update_analog_control::UpdateType;
use logi_plugin_core::proto::plugin::{
    ActionCellStatus, Settings, TriggerAction, UpdateAnalogControl,
};
use logi_plugin_core::session::{
    Admission, CloseReason, Event, Input, ManagerConfig, ManagerSession, PluginConfig,
    PluginSession, RateLimit, Reply, Session,
};
use logi_plugin_core::{Envelope, Message};
use proptest::prelude::*;

mod common;
use common::pair::Link;

const RATE: u32 = 50;
const BURST: u32 = 5;
const PING_INTERVAL: Duration = Duration::from_secs(2);
const PONG_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Clone, Debug)]
enum Op {
    ManagerTrigger,
    ManagerDial(i8),
    PluginSetting,
    PluginStatus(u8),
    PluginAnswer(prop::sample::Index),
    ManagerAnswer(prop::sample::Index),
    DeliverToManager(u16),
    DeliverToPlugin(u16),
    Advance(u16),
    /// Jump to the earlier of the two sessions' next timeouts, as a driving loop does.
    AdvanceToTimeout,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => Just(Op::ManagerTrigger),
        4 => (-5i8..=5).prop_map(Op::ManagerDial),
        2 => Just(Op::PluginSetting),
        2 => (0u8..3).prop_map(Op::PluginStatus),
        3 => any::<prop::sample::Index>().prop_map(Op::PluginAnswer),
        2 => any::<prop::sample::Index>().prop_map(Op::ManagerAnswer),
        4 => (1u16..400).prop_map(Op::DeliverToManager),
        4 => (1u16..400).prop_map(Op::DeliverToPlugin),
        3 => (0u16..1500).prop_map(Op::Advance),
        2 => Just(Op::AdvanceToTimeout),
    ]
}

/// One side's record of its own requests and of the peer's waiting for its answer.
#[derive(Default)]
struct Side {
    open: HashSet<u32>,
    ended: usize,
    sent: usize,
    peer_pending: Vec<u32>,
    closed: bool,
}

impl Side {
    fn sent(&mut self, id: u32) -> Result<(), TestCaseError> {
        prop_assert!(id != 0);
        prop_assert!(
            self.open.insert(id),
            "id {} given to two requests in flight",
            id
        );
        self.sent += 1;
        Ok(())
    }

    fn ended(&mut self, id: u32) -> Result<(), TestCaseError> {
        prop_assert!(
            self.open.remove(&id),
            "request {} ended twice or was never sent",
            id
        );
        self.ended += 1;
        Ok(())
    }

    fn close(&mut self) {
        self.closed = true;
        self.ended += self.open.len();
        self.open.clear();
    }
}

/// Both sessions on held links: the model hands each stream over in chunks of its choosing.
type Pair = common::pair::Pair<ManagerSession, PluginSession>;

struct Model {
    pair: Pair,
    m: Side,
    p: Side,
    dial_sent: i64,
    dial_received: i64,
    connected_at: Option<Instant>,
    admitted: u64,
    /// The frames the manager wrote, read as they leave it.
    manager_wrote: FrameDecoder,
    /// The frames the manager received, read as they arrive.
    manager_received: FrameDecoder,
    /// The deadline of each ping sent whose pong has not arrived, by request id.
    pings: HashMap<u32, Instant>,
}

impl Model {
    fn new() -> Model {
        let now = Instant::now();
        let registry: HashMap<String, String> =
            [("com.example.model".to_string(), "code".to_string())].into();
        let mut manager = ManagerConfig::new("0.1.0");
        manager.rate_limit = Some(RateLimit::new(RATE, BURST).unwrap());
        manager.max_rate_violations = u32::MAX;
        manager.heartbeat_interval = PING_INTERVAL;
        manager.heartbeat_timeout = PONG_TIMEOUT;
        let mut plugin =
            PluginSession::new(now, PluginConfig::new("com.example.model", "code", "1.0.0"));
        plugin
            .enable_control_buffering([("volume", "throughput")])
            .unwrap();
        let admission = Admission::new(Arc::new(registry));
        let mut pair = Pair::new(now, ManagerSession::new(now, manager), plugin, admission);
        (pair.to_manager, pair.to_peer) = (Link::Held(Vec::new()), Link::Held(Vec::new()));
        Model {
            pair,
            m: Side::default(),
            p: Side::default(),
            dial_sent: 0,
            dial_received: 0,
            connected_at: None,
            admitted: 0,
            manager_wrote: FrameDecoder::default(),
            manager_received: FrameDecoder::default(),
            pings: HashMap::new(),
        }
    }

    /// The envelopes completed by `bytes` on the stream `decoder` reads.
    fn read_frames(decoder: &mut FrameDecoder, bytes: &[u8]) -> Vec<Envelope> {
        decoder.push(bytes);
        let mut envelopes = Vec::new();
        while let Some(frame) = decoder.next_frame().unwrap() {
            envelopes.push(binary::decode(frame).unwrap());
        }
        envelopes
    }

    /// Gives the manager up to `n` bytes from the plugin, noting the pongs among them as
    /// arrived now.
    fn deliver_to_manager(&mut self, n: usize) {
        let chunk = self.pair.release_to_manager(n);
        for envelope in Self::read_frames(&mut self.manager_received, &chunk) {
            if envelope.response.is_some() {
                self.pings.remove(&envelope.id);
            }
        }
    }

    /// Lets time reach `now` on both sides, then checks the heartbeat verdict.
    fn advance_to(&mut self, now: Instant) -> Result<(), TestCaseError> {
        self.pair.now = now;
        self.pair.manager.handle_input(now, Input::Timeout).unwrap();
        self.pair.peer.handle_input(now, Input::Timeout).unwrap();
        self.settle()?;
        let overdue = self.pings.values().any(|&deadline| deadline <= now);
        prop_assert!(
            !overdue || self.m.closed,
            "a pong is overdue at {:?} and the manager is still open",
            now
        );
        Ok(())
    }

    /// Collects what both sessions produced: frames onto the held links (the pings among the
    /// manager's noted), events into the model.
    fn settle(&mut self) -> Result<(), TestCaseError> {
        let written = self.pair.to_peer.held().len();
        self.pair.drive();
        let wrote = self.pair.to_peer.held()[written..].to_vec();
        for envelope in Self::read_frames(&mut self.manager_wrote, &wrote) {
            if let Some(Message::Ping(_)) = envelope.message {
                self.pings.insert(envelope.id, self.pair.now + PONG_TIMEOUT);
            }
        }
        for event in std::mem::take(&mut self.pair.manager_events) {
            prop_assert!(!self.m.closed, "manager event after Closed");
            match event {
                Event::Connected(_) => self.connected_at = Some(self.pair.now),
                Event::Request { id, .. } => {
                    self.admitted += 1;
                    self.m.peer_pending.push(id);
                }
                Event::Notification { .. } => self.admitted += 1,
                Event::Response { id, .. } | Event::Timeout { id, .. } => self.m.ended(id)?,
                Event::Closed(reason) => {
                    if let CloseReason::HeartbeatTimeout(_) = reason {
                        let now = self.pair.now;
                        prop_assert!(
                            self.pings.values().any(|&deadline| deadline <= now),
                            "closed for heartbeat with no pong overdue"
                        );
                    }
                    self.m.close();
                }
                Event::Throttled { .. } => prop_assert!(false, "the manager is never throttled"),
                Event::Hello(_) => prop_assert!(false, "the pair's owner takes the hello"),
            }
        }
        for event in std::mem::take(&mut self.pair.peer_events) {
            prop_assert!(!self.p.closed, "plugin event after Closed");
            match event {
                Event::Request { id, message } => {
                    if let Message::UpdateAnalogControl(UpdateAnalogControl {
                        update_type: Some(UpdateType::Delta(d)),
                        ..
                    }) = &message
                    {
                        self.dial_received += *d as i64;
                    }
                    self.p.peer_pending.push(id);
                }
                Event::Response { id, .. } | Event::Timeout { id, .. } => self.p.ended(id)?,
                Event::Closed(_) => self.p.close(),
                Event::Connected(_) | Event::Notification { .. } | Event::Throttled { .. } => {}
                Event::Hello(_) => prop_assert!(false, "a plugin is handed no hello"),
            }
        }
        if let Some(connected_at) = self.connected_at {
            let elapsed = self.pair.now.duration_since(connected_at).as_nanos();
            let allowed = u128::from(BURST) + elapsed * u128::from(RATE) / 1_000_000_000;
            prop_assert!(
                u128::from(self.admitted) <= allowed,
                "admitted {} > allowed {}",
                self.admitted,
                allowed
            );
        }
        Ok(())
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let now = self.pair.now;
        match op {
            Op::ManagerTrigger => {
                if let Ok(id) = self.pair.manager.send_request(
                    now,
                    TriggerAction::default(),
                    Duration::from_secs(2),
                ) {
                    self.m.sent(id)?;
                }
            }
            Op::ManagerDial(delta) => {
                let update = UpdateAnalogControl {
                    analog_control_id: "volume".into(),
                    instance_id: "dial".into(),
                    configuration: None,
                    update_type: Some(UpdateType::Delta(f32::from(*delta))),
                };
                if let Ok(id) = self
                    .pair
                    .manager
                    .send_request(now, update, Duration::from_secs(30))
                {
                    self.m.sent(id)?;
                    self.dial_sent += i64::from(*delta);
                }
            }
            Op::PluginSetting => {
                if let Ok(id) =
                    self.pair
                        .peer
                        .send_request(now, Settings::default(), Duration::from_secs(2))
                {
                    self.p.sent(id)?;
                }
            }
            Op::PluginStatus(instance) => {
                let status = ActionCellStatus {
                    action_instance_id: instance.to_string(),
                    ..ActionCellStatus::default()
                };
                let _ = self.pair.peer.send_notification(now, status);
            }
            Op::PluginAnswer(pick) => {
                if !self.p.peer_pending.is_empty() {
                    let id = self
                        .p
                        .peer_pending
                        .remove(pick.index(self.p.peer_pending.len()));
                    let _ = self.pair.peer.respond(now, id, Reply::Ok);
                }
            }
            Op::ManagerAnswer(pick) => {
                if !self.m.peer_pending.is_empty() {
                    let id = self
                        .m
                        .peer_pending
                        .remove(pick.index(self.m.peer_pending.len()));
                    let _ = self.pair.manager.respond(now, id, Reply::Ok);
                }
            }
            Op::DeliverToManager(n) => self.deliver_to_manager(usize::from(*n)),
            Op::DeliverToPlugin(n) => {
                self.pair.release_to_peer(usize::from(*n));
            }
            Op::Advance(ms) => {
                return self.advance_to(now + Duration::from_millis(u64::from(*ms)));
            }
            Op::AdvanceToTimeout => {
                if let Some(next) = self.pair.next_timeout() {
                    return self.advance_to(next.max(now));
                }
            }
        }
        self.settle()
    }

    /// Delivers everything, answers everything, and lets time run until nothing is left due.
    fn flush(&mut self) -> Result<(), TestCaseError> {
        for _ in 0..200 {
            self.deliver_to_manager(usize::MAX);
            self.pair.release_to_peer(usize::MAX);
            for id in std::mem::take(&mut self.p.peer_pending) {
                let _ = self.pair.peer.respond(self.pair.now, id, Reply::Ok);
            }
            for id in std::mem::take(&mut self.m.peer_pending) {
                let _ = self.pair.manager.respond(self.pair.now, id, Reply::Ok);
            }
            self.settle()?;
            let quiet = self.pair.to_manager.held().is_empty()
                && self.pair.to_peer.held().is_empty()
                && self.m.open.is_empty()
                && self.p.open.is_empty();
            if quiet && self.p.peer_pending.is_empty() && self.m.peer_pending.is_empty() {
                return Ok(());
            }
            self.advance_to(self.pair.now + Duration::from_millis(250))?;
        }
        prop_assert!(false, "the sessions did not settle");
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_interleavings_keep_every_promise(ops in prop::collection::vec(op(), 1..250)) {
        let mut model = Model::new();
        model.settle()?;
        for op in &ops {
            model.apply(op)?;
        }
        model.flush()?;
        prop_assert_eq!(model.m.sent, model.m.ended, "every manager request ended exactly once");
        prop_assert_eq!(model.p.sent, model.p.ended, "every plugin request ended exactly once");
        if !model.m.closed && !model.p.closed {
            prop_assert_eq!(model.dial_received, model.dial_sent, "the dial's whole movement arrived");
        }
    }
}
