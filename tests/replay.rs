//! Record and replay on the sans-IO core: a manager session's inputs and outputs recorded as a
//! driver records them, then fed into a fresh session built from the recording's header, which
//! must write the very same frames; a recording changed by one byte is caught where it diverges.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use logi_plugin_core::Message;
use logi_plugin_core::proto::plugin::{ActionCellStatus, TriggerAction};
use logi_plugin_core::session::record::{self, Header, Step};
use logi_plugin_core::session::{
    Event, Frame, ManagerConfig, ManagerSession, PluginConfig, PluginSession, Reply, Session,
};

const PLUGIN: &str = "com.example.media";
const CODE: &str = "per-launch-secret";
const SECOND: Duration = Duration::from_secs(1);

fn manager_config() -> ManagerConfig {
    let registry: HashMap<String, String> = [(PLUGIN.to_string(), CODE.to_string())].into();
    let mut config = ManagerConfig::new(Arc::new(registry), "0.1.0");
    config.language_code = "de-DE".into();
    config
}

/// A recording manager session, fed through [`Session`] the way a driver feeds it.
struct Recorded {
    manager: ManagerSession,
}

impl Recorded {
    fn feed(&mut self, now: Instant, step: Step) {
        let manager = &mut self.manager;
        match step {
            Step::Bytes(bytes) => Session::handle_bytes(manager, now, &bytes).unwrap(),
            Step::Timeout => Session::handle_timeout(manager, now),
            Step::Request(message, timeout) => {
                Session::send_request(manager, now, message, timeout).unwrap();
            }
            Step::Respond(id, reply) => Session::respond(manager, now, id, reply).unwrap(),
            Step::Close => Session::close(manager, now),
            other => panic!("not used here: {other:?}"),
        }
    }

    /// What the manager wrote.
    fn output(&mut self, _now: Instant) -> Vec<Frame> {
        std::iter::from_fn(|| Session::poll_transmit(&mut self.manager)).collect()
    }
}

/// A recorded session: hello, a trigger answered with a status, a minute of heartbeats, a
/// request of the plugin answered by the owner, then the owner closing.
fn recording() -> Vec<u8> {
    let start = Instant::now();
    let mut recorded = Recorded {
        manager: ManagerSession::new(start, manager_config()),
    };
    recorded.manager.start_recording(start);
    let mut plugin = PluginSession::new(start, PluginConfig::new(PLUGIN, CODE, "1.2.0"));
    let mut now = start;
    let pump = |recorded: &mut Recorded, plugin: &mut PluginSession, now: Instant| loop {
        let mut moved = false;
        while let Some(frame) = plugin.poll_transmit() {
            moved = true;
            recorded.feed(now, Step::Bytes(frame.as_bytes().to_vec().into()));
        }
        for frame in recorded.output(now) {
            moved = true;
            plugin.handle_bytes(now, frame.as_bytes()).unwrap();
        }
        while let Some(event) = plugin.poll_event() {
            if let Event::Request { id, .. } = event {
                let status = ActionCellStatus {
                    text: Some("Muted".into()),
                    ..ActionCellStatus::default()
                };
                plugin
                    .respond(now, id, Reply::Message(status.into()))
                    .unwrap();
                moved = true;
            }
        }
        while let Some(event) = recorded.manager.poll_event() {
            if let Event::Request { id, .. } = event {
                recorded.feed(now, Step::Respond(id, Reply::Ok));
                moved = true;
            }
        }
        if !moved {
            return;
        }
    };
    pump(&mut recorded, &mut plugin, now);
    let trigger = Message::from(TriggerAction {
        action_instance_id: "key".into(),
        action_id: "toggle_mute".into(),
        configuration: None,
    });
    recorded.feed(now, Step::Request(trigger, 5 * SECOND));
    pump(&mut recorded, &mut plugin, now);
    let settings = logi_plugin_core::proto::plugin::Settings {
        setting_name: "muted".into(),
        setting_value: "true".into(),
        ..Default::default()
    };
    plugin
        .send_request(now, Message::from(settings), 5 * SECOND)
        .unwrap();
    pump(&mut recorded, &mut plugin, now);
    while now < start + 60 * SECOND {
        let next = [recorded.manager.poll_timeout(), plugin.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .unwrap();
        now = next;
        plugin.handle_timeout(now);
        if recorded
            .manager
            .poll_timeout()
            .is_some_and(|due| due <= now)
        {
            recorded.feed(now, Step::Timeout);
        }
        pump(&mut recorded, &mut plugin, now);
    }
    recorded.feed(now, Step::Close);
    recorded.output(now);
    recorded.manager.take_recording()
}

fn replay(bytes: &[u8]) -> record::Replay {
    let (header, records) = record::read(bytes).unwrap();
    assert_eq!(header.side, "manager");
    let registry: HashMap<String, String> = [(PLUGIN.to_string(), CODE.to_string())].into();
    let config = header.manager_config(Arc::new(registry)).unwrap();
    let start = Instant::now();
    record::replay(ManagerSession::new(start, config), start, &records)
}

#[test]
fn a_replayed_session_writes_exactly_what_was_recorded() {
    let bytes = recording();
    let replay = replay(&bytes);
    assert_eq!(replay.divergence, None);
    let text = replay.lines.join("\n");
    assert!(
        text.contains("owner requests logi.plugin.protocol.TriggerAction"),
        "{text}"
    );
    assert!(
        text.contains("response 1: SUCCESS with logi.plugin.protocol.ActionCellStatus"),
        "{text}"
    );
    assert!(text.contains("request"), "{text}");
    assert!(text.contains("owner closes"), "{text}");
}

#[test]
fn the_header_keeps_the_configuration_the_session_had() {
    let config = manager_config();
    let header = Header::manager(&config);
    let registry: HashMap<String, String> = HashMap::new();
    let back = header.manager_config(Arc::new(registry)).unwrap();
    assert_eq!(back.language_code, "de-DE");
    assert_eq!(back.manager_version, "0.1.0");
    assert_eq!(back.heartbeat_interval, config.heartbeat_interval);
    assert_eq!(back.rate_limit, config.rate_limit);
    assert_eq!(Header::manager(&back), header);
}

#[test]
fn a_recording_changed_by_one_input_diverges_where_the_output_changes() {
    let bytes = recording();
    let (header, mut records) = record::read(&bytes).unwrap();
    // The owner's answer to the trigger's status request becomes a refusal.
    let respond = records
        .iter_mut()
        .find(|r| matches!(r.step, Step::Respond(..)))
        .unwrap();
    if let Step::Respond(id, _) = respond.step {
        respond.step = Step::Respond(
            id,
            Reply::Error(logi_plugin_core::ResponseCode::NotFound, "no".into()),
        );
    }
    let registry: HashMap<String, String> = [(PLUGIN.to_string(), CODE.to_string())].into();
    let start = Instant::now();
    let config = header.manager_config(Arc::new(registry)).unwrap();
    let replay = record::replay(ManagerSession::new(start, config), start, &records);
    let (index, expected, got) = replay.divergence.expect("the changed answer diverges");
    assert!(index > 0);
    assert_ne!(Some(expected), got);
}
