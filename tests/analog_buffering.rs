//! Analog-control buffering: the merge rule, the throughput and timer buffers, the slot cap, the
//! buffer manager's routing, and the properties that no movement and no request is ever lost.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use logi_plugin_core::buffer::{
    Admission, AnalogBuffer, BufferConfig, BufferError, BufferManager, DEFAULT_MAX_SLOTS,
    DEFAULT_TIMER_INTERVAL, PendingUpdate, THROUGHPUT, TIMER, ThroughputBuffer, TimerBuffer,
};
use logi_plugin_core::proto::plugin::{UpdateAnalogControl, update_analog_control::UpdateType};
use proptest::prelude::*;

const MS: Duration = Duration::from_millis(1);

/// A fake clock: an instant that only moves when told to.
struct Clock(Instant);

impl Clock {
    fn new() -> Clock {
        Clock(Instant::now())
    }

    fn now(&self) -> Instant {
        self.0
    }

    fn advance(&mut self, by: Duration) -> Instant {
        self.0 += by;
        self.0
    }
}

fn update(control: &str, instance: &str, update_type: Option<UpdateType>) -> UpdateAnalogControl {
    UpdateAnalogControl {
        analog_control_id: control.into(),
        instance_id: instance.into(),
        configuration: None,
        update_type,
    }
}

fn delta(control: &str, instance: &str, delta: f32) -> UpdateAnalogControl {
    update(control, instance, Some(UpdateType::Delta(delta)))
}

fn value(control: &str, instance: &str, value: f32) -> UpdateAnalogControl {
    update(control, instance, Some(UpdateType::Value(value)))
}

fn configured(mut update: UpdateAnalogControl, configuration: &str) -> UpdateAnalogControl {
    update.configuration = Some(configuration.into());
    update
}

#[track_caller]
fn dispatched(admission: Admission) -> UpdateAnalogControl {
    match admission {
        Admission::Dispatch(update) => update,
        other => panic!("expected Dispatch, got {other:?}"),
    }
}

#[track_caller]
fn held(admission: Admission) -> Option<u32> {
    match admission {
        Admission::Held { superseded } => superseded,
        other => panic!("expected Held, got {other:?}"),
    }
}

/// A manager with control "dial" registered to `key`.
fn manager_with_dial(key: &str) -> BufferManager {
    let mut manager = BufferManager::new();
    manager.register_controls([("dial", key)]).unwrap();
    manager
}

#[test]
fn the_defaults_are_1024_slots_and_a_50_ms_timer() {
    assert_eq!(DEFAULT_MAX_SLOTS, 1024);
    assert_eq!(DEFAULT_TIMER_INTERVAL, Duration::from_millis(50));
    assert_eq!(BufferConfig::default().max_slots, 1024);
    assert_eq!(TimerBuffer::default().interval(), Duration::from_millis(50));
    assert_eq!(ThroughputBuffer::default().max_slots(), 1024);
    let keys: Vec<_> = BufferManager::new()
        .buffer_keys()
        .map(String::from)
        .collect();
    assert_eq!(keys, [THROUGHPUT, TIMER]);
}

#[test]
fn unregistered_controls_pass_through() {
    let clock = Clock::new();
    let mut manager = manager_with_dial(THROUGHPUT);
    for id in 1..=3 {
        let sent = delta("other", "i", 1.0);
        assert_eq!(
            dispatched(manager.on_update(clock.now(), id, sent.clone())),
            sent
        );
    }
    assert_eq!(manager.pending_len(), 0);
    assert_eq!(manager.poll_ready(clock.now()), None);
}

#[test]
fn buffering_is_enabled_once_a_control_is_registered() {
    let mut manager = BufferManager::new();
    assert!(!manager.is_buffering_enabled());
    manager.register_controls([("dial", TIMER)]).unwrap();
    assert!(manager.is_buffering_enabled());
    assert_eq!(manager.buffer_key("dial"), Some(TIMER));
    assert_eq!(manager.buffer_key("other"), None);
}

#[test]
fn throughput_dispatches_the_first_and_merges_the_rest_until_answered() {
    let clock = Clock::new();
    let mut manager = manager_with_dial(THROUGHPUT);
    let now = clock.now();
    assert_eq!(
        dispatched(manager.on_update(now, 1, delta("dial", "i", 1.0))),
        delta("dial", "i", 1.0)
    );
    assert_eq!(
        held(manager.on_update(now, 2, delta("dial", "i", 2.0))),
        None
    );
    assert_eq!(
        held(manager.on_update(now, 3, delta("dial", "i", 4.0))),
        Some(2)
    );
    assert_eq!(manager.poll_ready(now), None, "nothing before the answer");
    assert_eq!(manager.pending_len(), 1);

    manager.on_response(now, 1);
    assert_eq!(manager.poll_ready(now), Some((3, delta("dial", "i", 6.0))));
    assert_eq!(manager.poll_ready(now), None);

    // The merged update is now the one in flight: the next update waits for its answer.
    assert_eq!(
        held(manager.on_update(now, 4, delta("dial", "i", 1.0))),
        None
    );
    manager.on_response(now, 3);
    assert_eq!(manager.poll_ready(now), Some((4, delta("dial", "i", 1.0))));

    // Answered with nothing pending, the slot is idle: the next update goes at once.
    manager.on_response(now, 4);
    assert_eq!(manager.poll_ready(now), None);
    dispatched(manager.on_update(now, 5, delta("dial", "i", 1.0)));
}

/// Sends `updates` after a first dispatched update to a throughput buffer, answers the first,
/// and returns the merged update delivered.
fn merge_through_throughput(updates: Vec<UpdateAnalogControl>) -> UpdateAnalogControl {
    let now = Clock::new().now();
    let mut buffer = ThroughputBuffer::default();
    dispatched(buffer.on_update(now, 1, delta("dial", "i", 0.0)));
    let last = updates.len() as u32 + 1;
    for (id, update) in (2..).zip(updates) {
        let _ = buffer.on_update(now, id, update);
    }
    buffer.on_response(now, 1);
    let (id, merged) = buffer.poll_ready(now).expect("a merged update");
    assert_eq!(id, last);
    merged
}

#[test]
fn merged_deltas_sum() {
    let merged = merge_through_throughput(vec![
        delta("dial", "i", 1.5),
        delta("dial", "i", -0.5),
        delta("dial", "i", 3.0),
    ]);
    assert_eq!(merged, delta("dial", "i", 4.0));
}

#[test]
fn a_value_then_deltas_gives_the_value_plus_their_sum() {
    let merged = merge_through_throughput(vec![
        value("dial", "i", 10.0),
        delta("dial", "i", 1.0),
        delta("dial", "i", 2.0),
    ]);
    assert_eq!(merged, value("dial", "i", 13.0));
}

#[test]
fn deltas_then_a_value_gives_the_value() {
    let merged = merge_through_throughput(vec![
        delta("dial", "i", 1.0),
        delta("dial", "i", 2.0),
        value("dial", "i", 7.0),
    ]);
    assert_eq!(merged, value("dial", "i", 7.0));
}

#[test]
fn the_newest_configuration_wins_and_a_missing_one_keeps_the_older() {
    let merged = merge_through_throughput(vec![
        configured(delta("dial", "i", 1.0), "old"),
        configured(delta("dial", "i", 1.0), "new"),
        delta("dial", "i", 1.0),
    ]);
    assert_eq!(merged, configured(delta("dial", "i", 3.0), "new"));
}

#[test]
fn an_update_without_a_type_changes_nothing_but_its_configuration() {
    let merged = merge_through_throughput(vec![
        delta("dial", "i", 2.0),
        configured(update("dial", "i", None), "c"),
    ]);
    assert_eq!(merged, configured(delta("dial", "i", 2.0), "c"));
    let merged = merge_through_throughput(vec![update("dial", "i", None), delta("dial", "i", 2.0)]);
    assert_eq!(merged, delta("dial", "i", 2.0));
}

#[test]
fn the_merge_rule_returns_the_id_it_supersedes() {
    let mut pending = PendingUpdate::new(1, delta("dial", "i", 1.0));
    assert_eq!(pending.merge(2, delta("dial", "i", 1.0)), 1);
    assert_eq!(pending.merge(3, value("dial", "i", 5.0)), 2);
    assert_eq!(pending.request_id(), 3);
    assert_eq!(
        (pending.analog_control_id(), pending.instance_id()),
        ("dial", "i")
    );
    assert_eq!(pending.into_update(), (3, value("dial", "i", 5.0)));
}

#[test]
fn a_long_flood_of_small_deltas_does_not_drift() {
    let mut pending = PendingUpdate::new(0, delta("dial", "i", 0.1));
    let mut naive = 0.1f32;
    for id in 1..100_000 {
        let _ = pending.merge(id, delta("dial", "i", 0.1));
        naive += 0.1;
    }
    let exact = f64::from(0.1f32) * 100_000.0;
    let Some(UpdateType::Delta(sum)) = pending.into_update().1.update_type else {
        panic!("expected a delta");
    };
    assert_eq!(sum, exact as f32);
    assert!((f64::from(sum) - 10_000.0).abs() < 0.01, "{sum}");
    // What an f32 running sum would have delivered instead.
    assert!((f64::from(naive) - 10_000.0).abs() > 1.0, "{naive}");
}

#[test]
fn superseded_ids_are_reported_once_each_and_never_the_delivered_id() {
    let now = Clock::new().now();
    let mut manager = manager_with_dial(THROUGHPUT);
    dispatched(manager.on_update(now, 1, delta("dial", "i", 1.0)));
    let superseded: Vec<u32> = (2..=10)
        .filter_map(|id| held(manager.on_update(now, id, delta("dial", "i", 1.0))))
        .collect();
    assert_eq!(superseded, (2..=9).collect::<Vec<_>>());
    manager.on_response(now, 1);
    let (delivered, merged) = manager.poll_ready(now).unwrap();
    assert_eq!(delivered, 10);
    assert!(!superseded.contains(&delivered));
    assert_eq!(merged, delta("dial", "i", 9.0));
    let stats = manager.stats();
    assert_eq!(
        (
            stats.received,
            stats.dispatched,
            stats.superseded,
            stats.delivered
        ),
        (10, 1, 8, 1)
    );
}

#[test]
fn two_instances_of_one_control_have_separate_slots() {
    let now = Clock::new().now();
    let mut manager = manager_with_dial(THROUGHPUT);
    dispatched(manager.on_update(now, 1, delta("dial", "a", 1.0)));
    dispatched(manager.on_update(now, 2, delta("dial", "b", 10.0)));
    assert_eq!(
        held(manager.on_update(now, 3, delta("dial", "a", 2.0))),
        None
    );
    assert_eq!(
        held(manager.on_update(now, 4, delta("dial", "b", 20.0))),
        None
    );
    manager.on_response(now, 2);
    assert_eq!(manager.poll_ready(now), Some((4, delta("dial", "b", 20.0))));
    assert_eq!(
        manager.poll_ready(now),
        None,
        "instance a is still in flight"
    );
    manager.on_response(now, 1);
    assert_eq!(manager.poll_ready(now), Some((3, delta("dial", "a", 2.0))));
}

#[test]
fn controls_on_one_key_share_a_buffer_but_not_a_slot() {
    let now = Clock::new().now();
    let mut manager = BufferManager::with_config({
        let mut config = BufferConfig::default();
        config.max_slots = 2;
        config
    });
    manager
        .register_controls([("volume", THROUGHPUT), ("pan", THROUGHPUT)])
        .unwrap();
    dispatched(manager.on_update(now, 1, delta("volume", "i", 1.0)));
    dispatched(manager.on_update(now, 2, delta("pan", "i", 1.0)));
    assert_eq!(
        held(manager.on_update(now, 3, delta("pan", "i", 1.0))),
        None
    );
    // The two controls fill the one buffer's two slots: a third slot passes through.
    dispatched(manager.on_update(now, 4, delta("volume", "j", 1.0)));
}

#[test]
fn a_new_slot_beyond_the_cap_passes_through() {
    let now = Clock::new().now();
    let mut buffer = ThroughputBuffer::new(2);
    dispatched(buffer.on_update(now, 1, delta("dial", "a", 1.0)));
    dispatched(buffer.on_update(now, 2, delta("dial", "b", 1.0)));
    let overflow = delta("dial", "c", 5.0);
    assert_eq!(
        dispatched(buffer.on_update(now, 3, overflow.clone())),
        overflow
    );
    assert_eq!(
        dispatched(buffer.on_update(now, 4, overflow.clone())),
        overflow
    );
    assert_eq!(buffer.slot_len(), 2);
    // Its answers are not the buffer's: they change nothing.
    buffer.on_response(now, 3);
    assert_eq!(
        held(buffer.on_update(now, 5, delta("dial", "a", 1.0))),
        None
    );
    // An answered slot frees its place for the next new slot.
    buffer.on_response(now, 2);
    dispatched(buffer.on_update(now, 6, delta("dial", "c", 1.0)));
    assert_eq!(
        held(buffer.on_update(now, 7, delta("dial", "c", 1.0))),
        None
    );
}

#[test]
fn the_timer_cap_makes_the_overflowing_slot_pass_through() {
    let mut clock = Clock::new();
    let mut buffer = TimerBuffer::new(50 * MS, 1);
    dispatched(buffer.on_update(clock.now(), 1, delta("dial", "a", 1.0)));
    dispatched(buffer.on_update(clock.now(), 2, delta("dial", "b", 1.0)));
    dispatched(buffer.on_update(clock.now(), 3, delta("dial", "b", 1.0)));
    // Once a's window ends empty, b may take the slot.
    clock.advance(50 * MS);
    dispatched(buffer.on_update(clock.now(), 4, delta("dial", "b", 1.0)));
    assert_eq!(
        held(buffer.on_update(clock.now(), 5, delta("dial", "b", 1.0))),
        None
    );
}

#[test]
fn the_timer_delivers_at_the_window_end_and_not_before() {
    let mut clock = Clock::new();
    let mut manager = manager_with_dial(TIMER);
    let start = clock.now();
    dispatched(manager.on_update(start, 1, delta("dial", "i", 1.0)));
    assert_eq!(manager.poll_timeout(), Some(start + 50 * MS));
    clock.advance(10 * MS);
    assert_eq!(
        held(manager.on_update(clock.now(), 2, delta("dial", "i", 2.0))),
        None
    );
    clock.advance(30 * MS);
    assert_eq!(
        held(manager.on_update(clock.now(), 3, delta("dial", "i", 3.0))),
        Some(2)
    );
    // Answers do not matter to the timer.
    manager.on_response(clock.now(), 1);
    assert_eq!(manager.poll_ready(clock.now()), None);

    let just_before = start + 50 * MS - Duration::from_nanos(1);
    manager.handle_timeout(just_before);
    assert_eq!(manager.poll_ready(just_before), None);

    let end = clock.advance(10 * MS);
    assert_eq!(end, start + 50 * MS);
    manager.handle_timeout(end);
    assert_eq!(manager.poll_ready(end), Some((3, delta("dial", "i", 5.0))));
    // The delivery opened the next window.
    assert_eq!(manager.poll_timeout(), Some(end + 50 * MS));
    assert_eq!(
        held(manager.on_update(end, 4, delta("dial", "i", 1.0))),
        None
    );
}

#[test]
fn a_timer_window_that_ends_empty_leaves_the_slot_idle() {
    let mut clock = Clock::new();
    let mut buffer = TimerBuffer::new(50 * MS, 8);
    dispatched(buffer.on_update(clock.now(), 1, delta("dial", "i", 1.0)));
    let end = clock.advance(50 * MS);
    buffer.handle_timeout(end);
    assert_eq!(buffer.poll_ready(end), None);
    assert_eq!(buffer.poll_timeout(), None);
    assert_eq!(buffer.slot_len(), 0);
    dispatched(buffer.on_update(clock.advance(MS), 2, delta("dial", "i", 1.0)));
}

#[test]
fn handle_timeout_early_or_twice_does_nothing() {
    let mut clock = Clock::new();
    let mut buffer = TimerBuffer::new(50 * MS, 8);
    dispatched(buffer.on_update(clock.now(), 1, delta("dial", "i", 1.0)));
    let _ = buffer.on_update(clock.now(), 2, delta("dial", "i", 1.0));
    let deadline = buffer.poll_timeout().unwrap();

    buffer.handle_timeout(clock.advance(20 * MS));
    buffer.handle_timeout(clock.now());
    assert_eq!(buffer.poll_timeout(), Some(deadline));
    assert_eq!(buffer.pending_len(), 1);

    buffer.handle_timeout(deadline);
    buffer.handle_timeout(deadline);
    assert_eq!(
        buffer.poll_ready(deadline),
        Some((2, delta("dial", "i", 1.0)))
    );
    assert_eq!(buffer.poll_ready(deadline), None);
}

#[test]
fn time_going_backwards_is_clamped() {
    let mut clock = Clock::new();
    let early = clock.now();
    let mut buffer = TimerBuffer::new(50 * MS, 8);
    let late = clock.advance(100 * MS);
    dispatched(buffer.on_update(late, 1, delta("dial", "i", 1.0)));
    // An earlier instant counts as the latest one seen: the window still runs from `late`.
    assert_eq!(
        held(buffer.on_update(early, 2, delta("dial", "i", 1.0))),
        None
    );
    buffer.handle_timeout(early);
    assert_eq!(buffer.poll_ready(early), None);
    assert_eq!(buffer.poll_timeout(), Some(late + 50 * MS));
    assert_eq!(
        buffer.poll_ready(late + 50 * MS),
        Some((2, delta("dial", "i", 1.0)))
    );
}

#[test]
fn a_window_past_the_end_of_time_never_ends() {
    let now = Clock::new().now();
    let mut buffer = TimerBuffer::new(Duration::MAX, 8);
    dispatched(buffer.on_update(now, 1, delta("dial", "i", 1.0)));
    assert_eq!(
        held(buffer.on_update(now, 2, delta("dial", "i", 1.0))),
        None
    );
    assert_eq!(buffer.poll_timeout(), None);
    assert_eq!(buffer.poll_ready(now), None);
}

#[test]
fn a_named_timer_buffer_uses_its_own_interval() {
    let mut clock = Clock::new();
    let mut manager = BufferManager::new();
    manager
        .register_timer_buffer("slow", Duration::from_millis(200))
        .unwrap();
    manager.register_controls([("dial", "slow")]).unwrap();
    let start = clock.now();
    dispatched(manager.on_update(start, 1, delta("dial", "i", 1.0)));
    let _ = manager.on_update(start, 2, delta("dial", "i", 1.0));
    assert_eq!(manager.poll_ready(clock.advance(50 * MS)), None);
    assert_eq!(manager.poll_timeout(), Some(start + 200 * MS));
    assert_eq!(
        manager.poll_ready(clock.advance(150 * MS)),
        Some((2, delta("dial", "i", 1.0)))
    );
}

#[test]
fn registering_to_an_unknown_key_errors_with_both_names() {
    let mut manager = BufferManager::new();
    let error = manager
        .register_controls([("volume", THROUGHPUT), ("pan", "fast")])
        .unwrap_err();
    assert_eq!(
        error,
        BufferError::UnknownBufferKey {
            control_id: "pan".into(),
            buffer_key: "fast".into()
        }
    );
    assert_eq!(
        error.to_string(),
        r#"control "pan" is registered to buffer "fast", which does not exist"#
    );
    // Nothing was registered.
    assert!(!manager.is_buffering_enabled());
}

#[test]
fn registering_a_taken_buffer_key_is_an_error() {
    let mut manager = BufferManager::new();
    let error = manager
        .register_custom_buffer(TIMER, Box::new(ThroughputBuffer::default()))
        .unwrap_err();
    assert_eq!(
        error,
        BufferError::BufferKeyTaken {
            buffer_key: TIMER.into()
        }
    );
    assert_eq!(
        error.to_string(),
        r#"a buffer is already registered under the key "timer""#
    );
    manager.register_timer_buffer("t", 10 * MS).unwrap();
    assert!(manager.register_timer_buffer("t", 10 * MS).is_err());
}

#[test]
fn controls_are_registered_from_a_map() {
    let mut manager = BufferManager::new();
    let controls: BTreeMap<String, String> = [
        ("volume".to_string(), THROUGHPUT.to_string()),
        ("zoom".to_string(), TIMER.to_string()),
    ]
    .into();
    manager.register_controls(controls).unwrap();
    assert_eq!(manager.buffer_key("volume"), Some(THROUGHPUT));
    assert_eq!(manager.buffer_key("zoom"), Some(TIMER));
    // Registering again moves a control.
    manager.register_controls([("zoom", THROUGHPUT)]).unwrap();
    assert_eq!(manager.buffer_key("zoom"), Some(THROUGHPUT));
}

/// What a custom buffer was told.
#[derive(Debug, PartialEq)]
enum Seen {
    Update(u32, UpdateAnalogControl),
    Response(u32),
}

/// A custom buffer that holds every update and releases them all on a timeout.
struct HoldAll {
    seen: Arc<Mutex<Vec<Seen>>>,
    held: Vec<(u32, UpdateAnalogControl)>,
    release: bool,
}

impl AnalogBuffer for HoldAll {
    fn pending_len(&self) -> usize {
        self.held.len()
    }

    fn on_update(&mut self, _: Instant, request_id: u32, update: UpdateAnalogControl) -> Admission {
        self.seen
            .lock()
            .unwrap()
            .push(Seen::Update(request_id, update.clone()));
        self.held.push((request_id, update));
        Admission::Held { superseded: None }
    }

    fn on_response(&mut self, _: Instant, request_id: u32) {
        self.seen.lock().unwrap().push(Seen::Response(request_id));
    }

    fn handle_timeout(&mut self, _: Instant) {
        self.release = true;
    }

    fn poll_ready(&mut self, _: Instant) -> Option<(u32, UpdateAnalogControl)> {
        if self.release && !self.held.is_empty() {
            Some(self.held.remove(0))
        } else {
            None
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}

#[test]
fn a_custom_buffer_receives_the_updates_routed_to_it() {
    let now = Clock::new().now();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut manager = BufferManager::new();
    let custom = HoldAll {
        seen: Arc::clone(&seen),
        held: Vec::new(),
        release: false,
    };
    manager
        .register_custom_buffer("hold-all", Box::new(custom))
        .unwrap();
    manager
        .register_controls([("dial", "hold-all"), ("slider", THROUGHPUT)])
        .unwrap();

    assert_eq!(
        held(manager.on_update(now, 1, delta("dial", "i", 1.0))),
        None
    );
    dispatched(manager.on_update(now, 2, delta("slider", "i", 1.0)));
    assert_eq!(
        held(manager.on_update(now, 3, delta("dial", "i", 2.0))),
        None
    );
    manager.on_response(now, 2);
    assert_eq!(manager.pending_len(), 2);
    assert_eq!(manager.poll_ready(now), None);

    manager.handle_timeout(now);
    assert_eq!(manager.poll_ready(now), Some((1, delta("dial", "i", 1.0))));
    assert_eq!(manager.poll_ready(now), Some((3, delta("dial", "i", 2.0))));
    assert_eq!(manager.poll_ready(now), None);
    assert_eq!(
        *seen.lock().unwrap(),
        [
            Seen::Update(1, delta("dial", "i", 1.0)),
            Seen::Update(3, delta("dial", "i", 2.0)),
            Seen::Response(2),
        ]
    );
}

#[test]
fn an_answer_to_an_unknown_id_is_ignored() {
    let now = Clock::new().now();
    let mut manager = manager_with_dial(THROUGHPUT);
    manager.on_response(now, 99);
    dispatched(manager.on_update(now, 1, delta("dial", "i", 1.0)));
    let _ = manager.on_update(now, 2, delta("dial", "i", 1.0));
    manager.on_response(now, 2); // held, not in flight: not the app's to answer
    assert_eq!(manager.poll_ready(now), None);
    manager.on_response(now, 1);
    assert_eq!(manager.poll_ready(now), Some((2, delta("dial", "i", 1.0))));
}

#[test]
fn a_reused_in_flight_id_releases_the_slot_that_held_it() {
    let now = Clock::new().now();
    let mut buffer = ThroughputBuffer::default();
    dispatched(buffer.on_update(now, 7, delta("dial", "a", 1.0)));
    let _ = buffer.on_update(now, 8, delta("dial", "a", 1.0));
    // The peer reuses 7 for another slot while the app still works on the first 7.
    dispatched(buffer.on_update(now, 7, delta("dial", "b", 1.0)));
    assert_eq!(buffer.poll_ready(now), Some((8, delta("dial", "a", 1.0))));
    buffer.on_response(now, 7);
    assert_eq!(buffer.slot_len(), 1, "b answered, a still in flight as 8");
}

#[test]
fn a_flood_into_one_slot_holds_one_update_and_delivers_the_whole_sum() {
    const FLOOD: u32 = 1_000_000;
    let now = Clock::new().now();
    let mut manager = manager_with_dial(THROUGHPUT);
    dispatched(manager.on_update(now, 1, delta("dial", "i", 1.0)));
    let mut superseded = 0u32;
    for id in 2..=FLOOD {
        if let Admission::Held {
            superseded: Some(old),
        } = manager.on_update(now, id, delta("dial", "i", 1.0))
        {
            assert_eq!(old, id - 1);
            superseded += 1;
        }
        assert_eq!(manager.pending_len(), 1);
    }
    assert_eq!(superseded, FLOOD - 2);
    assert_eq!(manager.poll_ready(now), None);

    manager.on_response(now, 1);
    assert_eq!(
        manager.poll_ready(now),
        Some((FLOOD, delta("dial", "i", (FLOOD - 1) as f32)))
    );
    assert_eq!(manager.poll_ready(now), None);
    assert_eq!(manager.pending_len(), 0);
}

// --- The model properties -------------------------------------------------------------------

/// One step of a random run.
#[derive(Clone, Debug)]
enum Step {
    /// An update for slot (control, instance) moving it by `delta`.
    Update {
        control: u8,
        instance: u8,
        delta: i8,
    },
    /// The app answers the `pick`-th request it has not answered yet.
    Answer { pick: usize },
    /// The owner drains `poll_ready`.
    Drain,
    /// Time moves on.
    Advance { ms: u64 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u8..2, 0u8..2, -5i8..=5).prop_map(|(control, instance, delta)| Step::Update {
            control,
            instance,
            delta
        }),
        2 => any::<usize>().prop_map(|pick| Step::Answer { pick }),
        2 => Just(Step::Drain),
        1 => (0u64..80).prop_map(|ms| Step::Advance { ms }),
    ]
}

type Slot = (String, String);

/// The app's side of a run, checking each answer from the buffer against a model.
#[derive(Default)]
struct Model {
    next_id: u32,
    /// Per slot: the sum of deltas sent and the sum delivered to the app.
    sent: HashMap<Slot, i64>,
    delivered: HashMap<Slot, i64>,
    /// Per slot: the request id the buffer holds, if any.
    held: HashMap<Slot, u32>,
    /// How many times each id was delivered to the app, and superseded.
    delivered_ids: HashMap<u32, u32>,
    superseded_ids: HashMap<u32, u32>,
    /// Ids delivered to the app and not answered yet.
    unanswered: Vec<u32>,
    /// Which slot each id was sent for.
    slot_of: HashMap<u32, Slot>,
}

impl Model {
    fn deliver(&mut self, id: u32, update: &UpdateAnalogControl) {
        let slot = (update.analog_control_id.clone(), update.instance_id.clone());
        assert_eq!(
            self.slot_of.get(&id),
            Some(&slot),
            "id {id} delivered for another slot"
        );
        let Some(UpdateType::Delta(delta)) = update.update_type else {
            panic!("only deltas were sent: {update:?}");
        };
        assert_eq!(delta.fract(), 0.0, "sums of small integers are exact");
        *self.delivered.entry(slot).or_default() += delta as i64;
        *self.delivered_ids.entry(id).or_default() += 1;
        self.unanswered.push(id);
    }

    fn drain(&mut self, buffer: &mut dyn AnalogBuffer, now: Instant) {
        while let Some((id, update)) = buffer.poll_ready(now) {
            let slot = (update.analog_control_id.clone(), update.instance_id.clone());
            assert_eq!(
                self.held.remove(&slot),
                Some(id),
                "delivered id is the held one"
            );
            self.deliver(id, &update);
        }
    }

    fn run(&mut self, buffer: &mut dyn AnalogBuffer, clock: &mut Clock, step: &Step) {
        match *step {
            Step::Update {
                control,
                instance,
                delta: d,
            } => {
                self.next_id += 1;
                let id = self.next_id;
                let slot = (format!("c{control}"), format!("i{instance}"));
                self.slot_of.insert(id, slot.clone());
                *self.sent.entry(slot.clone()).or_default() += i64::from(d);
                let sent = delta(&slot.0, &slot.1, f32::from(d));
                match buffer.on_update(clock.now(), id, sent.clone()) {
                    Admission::Dispatch(update) => {
                        assert_eq!(update, sent);
                        assert_eq!(self.held.get(&slot), None, "dispatched past a held update");
                        self.deliver(id, &update);
                    }
                    Admission::Held { superseded } => {
                        // At most one id per slot: the one replaced is exactly the one held.
                        assert_eq!(superseded, self.held.insert(slot, id));
                        if let Some(old) = superseded {
                            *self.superseded_ids.entry(old).or_default() += 1;
                        }
                    }
                }
            }
            Step::Answer { pick } => {
                if !self.unanswered.is_empty() {
                    let id = self.unanswered.remove(pick % self.unanswered.len());
                    buffer.on_response(clock.now(), id);
                }
            }
            Step::Drain => self.drain(buffer, clock.now()),
            Step::Advance { ms } => {
                // Called whether or not a deadline passed: early calls must do nothing.
                buffer.handle_timeout(clock.advance(Duration::from_millis(ms)));
            }
        }
        // Pending state never exceeds one update per slot.
        assert_eq!(buffer.pending_len(), self.held.len());
    }

    /// Answers everything and lets time run until nothing is held, then checks the properties.
    fn flush_and_check(&mut self, buffer: &mut dyn AnalogBuffer, clock: &mut Clock) {
        for _ in 0..1000 {
            self.drain(buffer, clock.now());
            if self.held.is_empty() {
                break;
            }
            for id in std::mem::take(&mut self.unanswered) {
                buffer.on_response(clock.now(), id);
            }
            if let Some(at) = buffer.poll_timeout() {
                let now = clock.now().max(at);
                clock.0 = now;
                buffer.handle_timeout(now);
            }
        }
        assert!(
            self.held.is_empty(),
            "still held after flushing: {:?}",
            self.held
        );
        assert_eq!(buffer.pending_len(), 0);

        // (1) The net movement of every slot reached the app.
        for (slot, sum) in &self.sent {
            assert_eq!(
                self.delivered.get(slot).copied().unwrap_or(0),
                *sum,
                "slot {slot:?}"
            );
        }
        // (2) Every id was delivered exactly once or superseded exactly once.
        for id in 1..=self.next_id {
            let delivered = self.delivered_ids.get(&id).copied().unwrap_or(0);
            let superseded = self.superseded_ids.get(&id).copied().unwrap_or(0);
            assert_eq!(
                (delivered, superseded),
                if delivered > 0 { (1, 0) } else { (0, 1) },
                "request {id}"
            );
        }
    }
}

fn check_run(buffer: &mut dyn AnalogBuffer, steps: &[Step]) {
    let mut clock = Clock::new();
    let mut model = Model::default();
    for step in steps {
        model.run(buffer, &mut clock, step);
    }
    model.flush_and_check(buffer, &mut clock);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_throughput_buffer_loses_no_movement_and_no_request(
        steps in prop::collection::vec(step(), 0..200),
        max_slots in 1usize..5,
    ) {
        check_run(&mut ThroughputBuffer::new(max_slots), &steps);
    }

    #[test]
    fn a_timer_buffer_loses_no_movement_and_no_request(
        steps in prop::collection::vec(step(), 0..200),
        max_slots in 1usize..5,
        interval_ms in 0u64..100,
    ) {
        check_run(&mut TimerBuffer::new(Duration::from_millis(interval_ms), max_slots), &steps);
    }

    #[test]
    fn the_manager_routes_without_losing_movement_or_requests(
        steps in prop::collection::vec(step(), 0..200),
    ) {
        // c0 to the throughput buffer, c1 to the timer buffer: one manager, both strategies.
        let mut manager = BufferManager::new();
        manager.register_controls([("c0", THROUGHPUT), ("c1", TIMER)]).unwrap();
        let mut adapter = ManagerAsBuffer(manager);
        check_run(&mut adapter, &steps);
        let stats = adapter.0.stats();
        prop_assert_eq!(
            stats.received,
            stats.dispatched + stats.superseded + stats.delivered
        );
    }
}

/// Lets the model drive a whole manager.
struct ManagerAsBuffer(BufferManager);

impl AnalogBuffer for ManagerAsBuffer {
    fn pending_len(&self) -> usize {
        self.0.pending_len()
    }
    fn on_update(&mut self, now: Instant, id: u32, update: UpdateAnalogControl) -> Admission {
        self.0.on_update(now, id, update)
    }
    fn on_response(&mut self, now: Instant, id: u32) {
        self.0.on_response(now, id)
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.0.handle_timeout(now)
    }
    fn poll_ready(&mut self, now: Instant) -> Option<(u32, UpdateAnalogControl)> {
        self.0.poll_ready(now)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.0.poll_timeout()
    }
}
