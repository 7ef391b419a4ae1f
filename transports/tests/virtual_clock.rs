//! Drivers on a virtual clock: the heartbeat's deadlines pass when the test advances time, at
//! the virtual instant they name, and never by themselves. Each side runs on an executor of its
//! own, so that a test can stop running one (a frozen process) and keep its pipe open.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use logi_plugin_core::session::{
    Admission, CloseReason, ManagerConfig, ManagerSession, PluginConfig, PluginSession, Session,
};
use logi_plugin_transports::{
    Admitting, Clock, Connection, StreamTransport, VirtualClock, connect, memory,
};
use smol::{Executor, Task};

const PLUGIN: &str = "com.example.clock";

/// A manager and a plugin connected over memory pipes, both driven on one virtual clock.
struct Pair {
    clock: VirtualClock,
    manager: Connection<ManagerSession>,
    plugin: Connection<PluginSession>,
    manager_side: Executor<'static>,
    plugin_side: Executor<'static>,
    _drivers: [Task<CloseReason>; 2],
}

impl Pair {
    /// Connected with the default settings.
    fn connected() -> Pair {
        Pair::connected_with(manager_config())
    }

    /// Connected, the manager with `config`: both sides have run until the handshake is done.
    fn connected_with(config: ManagerConfig) -> Pair {
        let clock = VirtualClock::new();
        let (manager_end, plugin_end) = memory::pair();
        let (manager, manager_driver) = connect(
            ManagerSession::new(clock.now(), config),
            StreamTransport::new(manager_end),
        );
        let manager_driver = manager_driver.with_judge(Admitting::new(admission()));
        let (plugin, plugin_driver) = connect(
            PluginSession::new(clock.now(), PluginConfig::new(PLUGIN, "code", "1.0.0")),
            StreamTransport::new(plugin_end),
        );
        let (manager_side, plugin_side) = (Executor::new(), Executor::new());
        let on_clock = Clock::Virtual(clock.clone());
        let drivers = [
            manager_side.spawn(manager_driver.with_clock(on_clock.clone())),
            plugin_side.spawn(plugin_driver.with_clock(on_clock)),
        ];
        let pair = Pair {
            clock,
            manager,
            plugin,
            manager_side,
            plugin_side,
            _drivers: drivers,
        };
        pair.settle_both();
        assert!(pair.manager.is_connected() && pair.plugin.is_connected());
        pair
    }

    fn settle_both(&self) {
        while self.manager_side.try_tick() | self.plugin_side.try_tick() {}
    }

    /// Advances time with only the plugin running: the manager's process is frozen.
    fn advance_with_the_manager_frozen(&self, duration: Duration) {
        self.clock
            .advance(duration, || while self.plugin_side.try_tick() {});
    }

    /// Advances time with only the manager running: the plugin's process is frozen.
    fn advance_with_the_plugin_frozen(&self, duration: Duration) {
        self.clock
            .advance(duration, || while self.manager_side.try_tick() {});
    }
}

/// The manager's settings.
fn manager_config() -> ManagerConfig {
    ManagerConfig::new("1.0.0")
}

/// The manager's owner, admitting the one plugin.
fn admission() -> Admission {
    let registry: HashMap<String, String> = [(PLUGIN.to_string(), "code".to_string())].into();
    Admission::new(Arc::new(registry))
}

#[test]
fn a_plugin_that_hears_nothing_gives_up_when_virtual_time_passes_its_missed_heartbeats() {
    let pair = Pair::connected();
    let silence = PluginConfig::new(PLUGIN, "code", "1.0.0");
    let limit = silence.heartbeat_interval * silence.missed_heartbeats;
    pair.advance_with_the_manager_frozen(limit - Duration::from_millis(1));
    assert_eq!(pair.plugin.close_reason(), None);
    pair.advance_with_the_manager_frozen(Duration::from_millis(1));
    assert_eq!(
        pair.plugin.close_reason(),
        Some(CloseReason::ManagerSilent(limit))
    );
}

#[test]
fn a_plugin_that_does_not_answer_the_ping_is_closed_when_virtual_time_passes_its_deadline() {
    let pair = Pair::connected();
    let config = manager_config();
    // The ping leaves at the first interval; its Pong is due a timeout later.
    let deadline = config.heartbeat_interval + config.heartbeat_timeout;
    pair.advance_with_the_plugin_frozen(deadline - Duration::from_millis(1));
    assert_eq!(pair.manager.close_reason(), None);
    pair.advance_with_the_plugin_frozen(Duration::from_millis(1));
    assert_eq!(
        pair.manager.close_reason(),
        Some(CloseReason::HeartbeatTimeout(config.heartbeat_timeout))
    );
}

#[test]
fn sessions_that_answer_each_other_stay_connected_through_a_day_of_virtual_time() {
    let pair = Pair::connected();
    pair.clock
        .advance(Duration::from_secs(24 * 3600), || pair.settle_both());
    assert!(pair.manager.is_connected() && pair.plugin.is_connected());
}

#[test]
fn nothing_fires_while_virtual_time_stands_still() {
    let mut config = manager_config();
    config.heartbeat_interval = Duration::from_millis(10);
    let pair = Pair::connected_with(config);
    // Five intervals of the machine's time.
    std::thread::sleep(Duration::from_millis(50));
    pair.settle_both();
    let manager = pair.manager.clone();
    let frames = pair
        .manager_side
        .spawn(async move { manager.with(|session, _| session.stats().frames_out).await });
    pair.settle_both();
    // The manager's hello only: no ping left without time advancing.
    assert_eq!(smol::block_on(frames), Ok(1));
}
