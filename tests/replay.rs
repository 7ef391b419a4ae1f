//! Record and replay on the sans-IO core: a manager session's inputs and outputs recorded as a
//! driver records them, then fed into a fresh session built from the recording's header, which
//! must write the very same frames; a recording changed by one byte is caught where it diverges.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use logi_plugin_core::proto::plugin::{ActionCellStatus, TriggerAction};
use logi_plugin_core::session::record::{self, Header, Recorded, Step};
use logi_plugin_core::session::{
    Admission, Event, Format, Limits, ManagerConfig, ManagerSession, Peer, PeerProcess,
    PluginConfig, PluginSession, RateLimit, Reply, Session, Verdict, Wire,
};
use logi_plugin_core::{Message, MessageType};
use serde_json::json;

mod common;

const PLUGIN: &str = "com.example.media";
const CODE: &str = "per-launch-secret";
const SECOND: Duration = Duration::from_secs(1);

fn manager_config() -> ManagerConfig {
    let mut config = ManagerConfig::new("0.1.0");
    config.language_code = "de-DE".into();
    config
}

/// The manager's owner: admits the one registered plugin.
fn admission() -> Admission {
    let registry: HashMap<String, String> = [(PLUGIN.to_string(), CODE.to_string())].into();
    Admission::new(Arc::new(registry))
}

/// A recording manager session (fed through [`Session`], as a driver feeds it) and a plugin.
type Pair = common::pair::Pair<Recorded<ManagerSession>, PluginSession>;

/// Drives the pair until nothing moves, the plugin answering each of the manager's requests
/// with a status and the manager's owner each of the plugin's with OK.
fn answer_everything(pair: &mut Pair) {
    loop {
        pair.drive();
        let mut answered = false;
        for event in std::mem::take(&mut pair.peer_events) {
            if let Event::Request { id, .. } = event {
                let status = ActionCellStatus {
                    text: Some("Muted".into()),
                    ..ActionCellStatus::default()
                };
                pair.peer
                    .respond(pair.now, id, Reply::Message(status.into()))
                    .unwrap();
                answered = true;
            }
        }
        for event in std::mem::take(&mut pair.manager_events) {
            if let Event::Request { id, .. } = event {
                pair.manager.respond(pair.now, id, Reply::Ok).unwrap();
                answered = true;
            }
        }
        if !answered {
            return;
        }
    }
}

/// A recorded session: hello, a trigger answered with a status, a minute of heartbeats, a
/// request of the plugin answered by the owner, then the owner closing.
fn recording() -> Vec<u8> {
    let start = Instant::now();
    let mut manager = Recorded::new(ManagerSession::new(start, manager_config()));
    manager.start_recording(start);
    let plugin = PluginSession::new(start, PluginConfig::new(PLUGIN, CODE, "1.2.0"));
    let mut pair = Pair::new(start, manager, plugin, admission());
    answer_everything(&mut pair);
    let trigger = Message::from(TriggerAction {
        action_instance_id: "key".into(),
        action_id: "toggle_mute".into(),
        configuration: None,
    });
    pair.manager
        .send_request(pair.now, trigger, 5 * SECOND)
        .unwrap();
    answer_everything(&mut pair);
    let settings = logi_plugin_core::proto::plugin::Settings {
        setting_name: "muted".into(),
        setting_value: "true".into(),
        ..Default::default()
    };
    pair.peer
        .send_request(pair.now, Message::from(settings), 5 * SECOND)
        .unwrap();
    answer_everything(&mut pair);
    while pair.now < start + 60 * SECOND {
        pair.step();
        answer_everything(&mut pair);
    }
    pair.manager.close(pair.now);
    pair.drive();
    pair.manager.take_recording()
}

fn replay(bytes: &[u8]) -> record::Replay {
    let (header, records) = record::read(bytes).unwrap();
    assert_eq!(header.side, "manager");
    let config = header.manager_config().unwrap();
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
    let back = header.manager_config().unwrap();
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
    let start = Instant::now();
    let config = header.manager_config().unwrap();
    let replay = record::replay(ManagerSession::new(start, config), start, &records);
    let (index, expected, got) = replay.divergence.expect("the changed answer diverges");
    assert!(index > 0);
    assert_ne!(Some(expected), got);
}

/// A manager configuration with every field away from its default.
fn every_manager_field_changed() -> ManagerConfig {
    let mut config = ManagerConfig::new("2.3.4");
    config.options_version = Some("1.80.1".into());
    config.ghub_version = Some("2024.9".into());
    config.language_code = "fr-FR".into();
    config.protocol_versions = 1..=3;
    config.wire = Wire::Messages {
        format: Format::FollowPeer,
    };
    config.peer_process = Some(PeerProcess {
        pid: 41,
        uid: 1000,
        ancestors: vec![40, 1],
    });
    config.limits = Limits {
        max_in_flight: 7,
        max_peer_pending: 9,
    };
    config.hello_timeout = Duration::from_millis(1234);
    config.heartbeat_interval = 3 * SECOND;
    config.heartbeat_timeout = Duration::from_millis(1500);
    config.rate_limit = Some(RateLimit::new(5, 8).unwrap());
    config.max_rate_violations = 4;
    config.handles = Some(vec![MessageType::TriggerAction, MessageType::Settings]);
    config.accept_clients = true;
    config
}

#[test]
fn a_manager_header_gives_back_every_field_of_the_configuration() {
    let config = every_manager_field_changed();
    let back = Header::manager(&config).manager_config().unwrap();
    assert_eq!(back, config);
    // Destructured without `..`: a field added to the configuration must be added here too.
    let ManagerConfig {
        manager_version,
        options_version,
        ghub_version,
        language_code,
        protocol_versions,
        wire,
        peer_process,
        limits,
        hello_timeout,
        heartbeat_interval,
        heartbeat_timeout,
        rate_limit,
        max_rate_violations,
        handles,
        accept_clients,
    } = back;
    assert_eq!(manager_version, config.manager_version);
    assert_eq!(options_version, config.options_version);
    assert_eq!(ghub_version, config.ghub_version);
    assert_eq!(language_code, config.language_code);
    assert_eq!(protocol_versions, config.protocol_versions);
    assert_eq!(wire, config.wire);
    assert_eq!(peer_process, config.peer_process);
    assert_eq!(limits, config.limits);
    assert_eq!(hello_timeout, config.hello_timeout);
    assert_eq!(heartbeat_interval, config.heartbeat_interval);
    assert_eq!(heartbeat_timeout, config.heartbeat_timeout);
    assert_eq!(rate_limit, config.rate_limit);
    assert_eq!(max_rate_violations, config.max_rate_violations);
    assert_eq!(handles, config.handles);
    assert_eq!(accept_clients, config.accept_clients);
}

#[test]
fn a_plugin_header_gives_back_every_field_of_the_configuration_but_the_secret() {
    let mut config = PluginConfig::new(PLUGIN, CODE, "1.2.0");
    config.protocol_version = 2;
    config.wire = Wire::Messages {
        format: Format::Json,
    };
    config.limits = Limits {
        max_in_flight: 3,
        max_peer_pending: 4,
    };
    config.hello_timeout = Duration::from_millis(2500);
    config.heartbeat_interval = 7 * SECOND;
    config.missed_heartbeats = 5;
    config.handles = Some(vec![MessageType::TriggerAction]);
    config.max_held = 17;
    let header = Header::plugin(&config);
    assert!(
        !header.config.to_string().contains(CODE),
        "the secret is in the header: {}",
        header.config
    );
    assert_eq!(header.plugin_config(CODE).unwrap(), config);
}

#[test]
fn a_header_written_before_limits_handles_and_the_peer_reads_with_their_defaults() {
    // Headers as the first recordings wrote them.
    let manager = Header {
        side: "manager".into(),
        config: json!({
            "manager_version": "0.1.0", "options_version": null, "ghub_version": null,
            "language_code": "de-DE", "protocol_versions": [1, 1], "wire": { "stream": 8388608 },
            "hello_timeout_ms": 10000, "heartbeat_interval_ms": 10000,
            "heartbeat_timeout_ms": 5000, "rate_limit": { "per_second": 100, "burst": 200 },
            "max_rate_violations": 100, "accept_clients": false,
        }),
    };
    let back = manager.manager_config().unwrap();
    let defaults = manager_config();
    assert_eq!(back.language_code, "de-DE");
    assert_eq!(back.limits, defaults.limits);
    assert_eq!(back.handles, defaults.handles);
    assert_eq!(back.peer_process, defaults.peer_process);
    let plugin = Header {
        side: "plugin".into(),
        config: json!({
            "plugin_id": PLUGIN, "plugin_version": "1.2.0", "protocol_version": 1,
            "wire": { "messages": "Json" }, "hello_timeout_ms": 10000,
            "heartbeat_interval_ms": 10000, "missed_heartbeats": 3,
        }),
    };
    let mut expected = PluginConfig::new(PLUGIN, CODE, "1.2.0");
    expected.wire = Wire::Messages {
        format: Format::Json,
    };
    assert_eq!(plugin.plugin_config(CODE).unwrap(), expected);
}

#[test]
fn a_malformed_header_field_is_named_with_its_value() {
    let mut header = Header::manager(&manager_config());
    header.config["limits"] = json!("lots");
    let error = header.manager_config().unwrap_err().to_string();
    assert!(
        error.contains("limits") && error.contains("lots"),
        "{error}"
    );
}

/// A recorded manager session whose owner refuses the plugin's hello: `code` is the code the
/// plugin presents, and `live` whether the plugin id has a live session already.
fn refused_recording(code: &str, live: bool) -> Vec<u8> {
    let start = Instant::now();
    let mut manager = Recorded::new(ManagerSession::new(start, manager_config()));
    manager.start_recording(start);
    let plugin = PluginSession::new(start, PluginConfig::new(PLUGIN, code, "1.2.0"));
    let admission = admission();
    let hello = logi_plugin_core::proto::plugin::PluginHello {
        plugin_id: PLUGIN.into(),
        plugin_code: CODE.into(),
        ..Default::default()
    };
    let (_, elsewhere) = admission.judge(&Peer::Plugin(hello), None);
    if !live {
        drop(elsewhere);
    }
    let mut pair = Pair::new(start, manager, plugin, admission);
    pair.drive();
    assert!(
        pair.manager.close_reason().is_some(),
        "the hello is refused"
    );
    pair.manager.take_recording()
}

/// Replays a manager recording into a session that knows no plugin at all.
fn replay_refused(bytes: &[u8]) -> String {
    let replay = replay(bytes);
    assert_eq!(replay.divergence, None);
    assert!(replay.compared > 0, "the refusal's answer is compared");
    replay.lines.join("\n")
}

#[test]
fn a_replay_reproduces_a_hello_refused_for_a_wrong_code_from_the_recorded_verdict() {
    let text = replay_refused(&refused_recording("stolen", false));
    assert!(
        text.contains("owner refuses the hello: UNAUTHORIZED"),
        "{text}"
    );
    assert!(text.contains("HelloRefused"), "{text}");
}

#[test]
fn a_replay_reproduces_a_hello_refused_for_a_live_plugin_id() {
    let text = replay_refused(&refused_recording(CODE, true));
    assert!(
        text.contains("owner refuses the hello: DUPLICATE_NAME"),
        "{text}"
    );
}

#[test]
fn a_recorded_verdict_is_an_input_a_changed_one_diverges() {
    let bytes = refused_recording("stolen", false);
    let (header, mut records) = record::read(&bytes).unwrap();
    let verdict = records
        .iter_mut()
        .find(|r| matches!(r.step, Step::Admit(_)))
        .expect("the verdict is recorded");
    verdict.step = Step::Admit(Verdict::Accept);
    let start = Instant::now();
    let config = header.manager_config().unwrap();
    let replay = record::replay(ManagerSession::new(start, config), start, &records);
    assert!(
        replay.divergence.is_some(),
        "accepted, it answers ManagerHello"
    );
}
