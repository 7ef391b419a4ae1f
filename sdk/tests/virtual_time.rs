//! The mock host's virtual clock: a control's timer buffer and the heartbeat follow the time
//! the test advances, and nothing moves while it does not.

use std::time::{Duration, Instant};

use logi_plugin_core::buffer::DEFAULT_TIMER_INTERVAL;
use logi_plugin_sdk::mock::MockHost;
use logi_plugin_sdk::plugin::{
    Action, AnalogControl, Buffer, Cx, Plugin, ResponseCode, Status, Turn,
};

/// A dial whose turns are merged over the timer buffer's period; it shows the delta it got.
struct Knob;

impl AnalogControl<()> for Knob {
    const ID: &'static str = "knob";
    const BUFFER: Buffer = Buffer::Timer;

    fn turned(&mut self, _: &mut Cx<'_, ()>, turn: Turn) -> Status {
        log::info!("turned by {}", turn.delta);
        Status::text("turned").with_value(turn.delta)
    }
}

/// A key that logs its presses.
struct Key;

impl Action<()> for Key {
    const ID: &'static str = "key";

    fn key_down(&mut self, cx: &mut Cx<'_, ()>) -> Status {
        log::info!("pressed {}", cx.instance_id);
        Status::text("down")
    }
}

fn host() -> MockHost {
    MockHost::start(
        Plugin::<()>::new("com.example.clock", "1.0.0")
            .control(Knob)
            .action(Key),
    )
}

#[test]
fn a_timer_buffered_dial_merges_its_turns_until_time_is_advanced_past_its_period() {
    let host = host();
    // The first turn opens the window and goes through at once.
    assert_eq!(host.turn("knob", "knob-1", 1.0).value, Some(1.0));
    let second = host.send_turn("knob", "knob-1", 2.0);
    let third = host.send_turn("knob", "knob-1", 3.0);
    let merged = second
        .answer()
        .expect("merged into the third: answered at once");
    assert_eq!((merged.code, merged.message), (ResponseCode::Success, None));
    assert_eq!(third.answer(), None, "held until the window ends");
    host.advance(DEFAULT_TIMER_INTERVAL - Duration::from_millis(1));
    assert_eq!(third.answer(), None, "delivered before the window ended");
    host.advance(Duration::from_millis(1));
    assert_eq!(third.answer().expect("delivered").value, Some(5.0));
    assert_eq!(host.logs(), ["INFO: turned by 1", "INFO: turned by 5"]);
}

#[test]
fn a_held_turn_stays_held_while_real_time_passes_and_time_is_not_advanced() {
    let host = host();
    host.turn("knob", "knob-1", 1.0);
    let held = host.send_turn("knob", "knob-1", 2.0);
    std::thread::sleep(DEFAULT_TIMER_INTERVAL * 2);
    host.press("key", "key-1");
    assert_eq!(held.answer(), None);
    assert_eq!(host.logs(), ["INFO: turned by 1", "INFO: pressed key-1"]);
}

#[test]
fn an_hour_of_virtual_time_keeps_the_plugin_connected_while_the_host_answers() {
    let host = host();
    let start = host.now();
    host.advance(Duration::from_secs(3600));
    assert_eq!(host.now() - start, Duration::from_secs(3600));
    assert_eq!(host.press("key", "key-1").text.as_deref(), Some("down"));
    let stats = host.stats();
    // A ping every 10 s, each answered in time: no request timed out, no deadline was found
    // long past as after a machine's sleep.
    assert!(stats.frames_out >= 360, "pinged {} times", stats.frames_out);
    assert_eq!((stats.timeouts, stats.reprobes), (0, 0), "{stats:?}");
}

#[test]
fn reading_the_logs_waits_for_no_timer() {
    let host = host();
    host.press("key", "key-1");
    let start = Instant::now();
    for _ in 0..50 {
        assert_eq!(host.logs(), ["INFO: pressed key-1"]);
    }
    // A fixed 20 ms wait per read would take a second.
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
}
