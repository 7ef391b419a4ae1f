//! Liveness with state resync: a plugin that connects again (its session closed, the host
//! restarted) is brought back to the instances it is shown, with their configuration, and ends
//! with the same view as the host, even when it was lost in the middle of a visibility change.

mod common;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{host_config, until};
use logi_example_media::{PLUGIN_ID, TOGGLE_MUTE, VERSION, VOLUME};
use logi_plugin_core::proto::plugin::{
    ActionCellStatus, AnalogControlStatus, AnalogControlStatusList, VisibilityChanged,
};
use logi_plugin_core::session::{Format, Reply};
use logi_plugin_core::view::View;
use logi_plugin_core::{Message, ResponseCode};
use logi_plugin_manager::{Host, HostError, HostEvent};
use logi_plugin_sdk::{Backoff, ClientConfig, ClientEvent, Connector, Endpoint, PluginClient};

const CODE: &str = "the external code";

/// An instance whose first change the plugin receives and never answers.
const STALLED: &str = "stalled-cell";

/// The example plugin, registered EXTERNAL, as a raw client over the local socket: the test
/// needs a plugin that leaves a request unanswered, which the handler API cannot express. It
/// answers what it is shown as the example does, with the status of each instance shown; the
/// test reads the view its SDK keeps.
struct Plugin {
    client: PluginClient,
    /// Held by the test while the plugin must stay away: each connection waits for it.
    gate: Arc<smol::lock::Mutex<()>>,
    /// A message for each change of [`STALLED`] received and left unanswered.
    stalled: async_channel::Receiver<()>,
    /// Every visibility change received, in order.
    heard: Arc<Mutex<Vec<Message>>>,
    _tasks: (smol::Task<()>, smol::Task<()>),
}

impl Plugin {
    fn start(endpoint: PathBuf) -> Plugin {
        let gate = Arc::new(smol::lock::Mutex::new(()));
        let mut config = ClientConfig::new(PLUGIN_ID, VERSION, CODE);
        let connect_gate = gate.clone();
        config.connector = Some(Connector::new(move || {
            let (gate, endpoint) = (connect_gate.clone(), Endpoint::Local(endpoint.clone()));
            async move {
                drop(gate.lock().await);
                endpoint.connect(Format::Binary).await
            }
        }));
        config.reconnect = Backoff {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(200),
        };
        let (client, runner) = PluginClient::new(config);
        let (stall, stalled) = async_channel::unbounded();
        let heard = Arc::default();
        let serving = smol::spawn(serve(client.clone(), stall, Arc::clone(&heard)));
        Plugin {
            client,
            gate,
            stalled,
            heard,
            _tasks: (smol::spawn(runner), serving),
        }
    }

    fn view(&self) -> View {
        self.client.view()
    }
}

/// Answers the manager's visibility changes, leaving the first change of [`STALLED`]
/// unanswered.
async fn serve(
    client: PluginClient,
    stall: async_channel::Sender<()>,
    heard: Arc<Mutex<Vec<Message>>>,
) {
    let mut stalled_once = false;
    while let Some(event) = client.next_event().await {
        match event {
            ClientEvent::Request { id, message } => {
                if matches!(
                    message,
                    Message::VisibilityChanged(_) | Message::VisibilityChangedList(_)
                ) {
                    heard.lock().unwrap().push(message.clone());
                }
                if let Message::VisibilityChanged(change) = &message
                    && change.action_instance_id == STALLED
                    && !std::mem::replace(&mut stalled_once, true)
                {
                    let _ = stall.try_send(());
                    continue;
                }
                let _ = client.send_response(id, answer(&message)).await;
            }
            ClientEvent::Stopped(_) => break,
            _ => {}
        }
    }
}

/// A visibility change answered with the status of each instance it shows.
fn answer(message: &Message) -> Reply {
    let changes = match message {
        Message::VisibilityChanged(change) => std::slice::from_ref(change),
        Message::VisibilityChangedList(list) => &list.visibility[..],
        other => {
            let why = format!("not handled: {}", other.message_type().full_name());
            return Reply::Error(ResponseCode::NotImplemented, why);
        }
    };
    let mut statuses = AnalogControlStatusList::default();
    for shown in changes.iter().filter(|change| change.visible) {
        let instance_id = shown.action_instance_id.clone();
        if shown.control_id == VOLUME {
            statuses.statuses.push(AnalogControlStatus {
                analog_control_id: VOLUME.into(),
                analog_control_instance_id: instance_id,
                ..AnalogControlStatus::default()
            });
        } else {
            statuses.action_statuses.push(ActionCellStatus {
                action_id: shown.control_id.clone(),
                action_instance_id: instance_id,
                ..ActionCellStatus::default()
            });
        }
    }
    Reply::Message(statuses.into())
}

fn change(control_id: &str, instance_id: &str, configuration: Option<&str>) -> VisibilityChanged {
    VisibilityChanged {
        control_id: control_id.into(),
        action_instance_id: instance_id.into(),
        visible: true,
        configuration: configuration.map(String::from),
    }
}

fn hide(control_id: &str, instance_id: &str) -> VisibilityChanged {
    VisibilityChanged {
        visible: false,
        ..change(control_id, instance_id, None)
    }
}

/// A host with the example plugin registered as EXTERNAL, and the events from before it was.
fn host_in(data: &std::path::Path) -> (Host, async_channel::Receiver<HostEvent>) {
    let host = Host::start(host_config(data)).unwrap();
    let events = host.subscribe();
    host.add_external(common::media_manifest(), CODE).unwrap();
    (host, events)
}

fn connected(events: &async_channel::Receiver<HostEvent>) {
    until(events, |event| matches!(event, HostEvent::Connected { .. }));
}

/// Waits (at most 10 s) until the plugin's view is the host's.
fn until_views_match(plugin: &Plugin, host: &Host) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let host_view = || host.view(PLUGIN_ID).unwrap();
    while plugin.view() != host_view() {
        assert!(
            Instant::now() < deadline,
            "the plugin's view {:?} never became the host's {:?}",
            plugin.view(),
            host_view()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A host in a fresh data folder, the plugin connected to it, and `changes` made and answered.
fn showing(
    changes: &[VisibilityChanged],
) -> (
    tempfile::TempDir,
    Host,
    async_channel::Receiver<HostEvent>,
    Plugin,
) {
    let data = tempfile::tempdir().unwrap();
    let (host, events) = host_in(data.path());
    let plugin = Plugin::start(host.endpoint().to_path_buf());
    connected(&events);
    for change in changes {
        let answer = smol::block_on(host.set_visibility(PLUGIN_ID, change.clone())).unwrap();
        assert!(answer.response.is_ok(), "{change:?}: {:?}", answer.response);
    }
    (data, host, events, plugin)
}

#[test]
fn a_plugin_that_connects_again_is_brought_back_to_what_it_is_shown() {
    let (_data, host, events, plugin) = showing(&[
        change(TOGGLE_MUTE, "cell-1", Some(r#"{"page":1}"#)),
        change(TOGGLE_MUTE, "cell-2", None),
    ]);
    assert_eq!(plugin.view(), host.view(PLUGIN_ID).unwrap());

    // The session drops, and the plugin stays away while its client changes what it shows.
    let away = plugin.gate.lock_blocking();
    smol::block_on(host.reload(PLUGIN_ID)).unwrap();
    until(&events, |event| {
        matches!(event, HostEvent::Disconnected { .. })
    });
    for change in [
        hide(TOGGLE_MUTE, "cell-2"),
        change(TOGGLE_MUTE, "cell-1", Some(r#"{"page":2}"#)),
        change(VOLUME, "dial-1", None),
    ] {
        let kept = smol::block_on(host.set_visibility(PLUGIN_ID, change));
        assert!(matches!(kept, Err(HostError::NotConnected(_))), "{kept:?}");
    }
    assert_ne!(plugin.view(), host.view(PLUGIN_ID).unwrap());
    let before = plugin.heard.lock().unwrap().len();

    drop(away);
    connected(&events);
    until_views_match(&plugin, &host);
    // One list: the hide first, then every visible instance in a stable order.
    let resync = plugin.heard.lock().unwrap()[before..].to_vec();
    let [Message::VisibilityChangedList(list)] = &resync[..] else {
        panic!("expected one list, got {resync:?}");
    };
    assert_eq!(
        list.visibility,
        [
            hide(TOGGLE_MUTE, "cell-2"),
            change(TOGGLE_MUTE, "cell-1", Some(r#"{"page":2}"#)),
            change(VOLUME, "dial-1", None),
        ]
    );
    let view = plugin.view();
    assert_eq!(view.len(), 2);
    assert_eq!(
        view.configuration(TOGGLE_MUTE, "cell-1"),
        Some(r#"{"page":2}"#)
    );
    assert!(view.is_visible(VOLUME, "dial-1"));
    // The statuses the plugin answered the resync with are the host's latest.
    assert!(host.status(PLUGIN_ID, "dial-1").is_some());
    smol::block_on(host.shutdown());
}

#[test]
fn a_host_restarted_in_the_middle_of_a_visibility_change_brings_the_plugin_to_its_view() {
    let (data, host, _, plugin) = showing(&[
        change(TOGGLE_MUTE, "cell-1", Some(r#"{"page":1}"#)),
        change(TOGGLE_MUTE, "cell-2", None),
        hide(TOGGLE_MUTE, "cell-2"),
    ]);
    // The client shows one more cell; the plugin receives the change, and the host stops before
    // it is answered.
    let pending = {
        let host = host.clone();
        smol::spawn(async move {
            let change = change(TOGGLE_MUTE, STALLED, Some(r#"{"page":3}"#));
            host.set_visibility(PLUGIN_ID, change).await
        })
    };
    smol::block_on(plugin.stalled.recv()).unwrap();
    smol::block_on(host.shutdown());
    assert!(smol::block_on(pending).is_err());
    // The plugin took the change; the host never saw it answered.
    assert!(plugin.view().is_visible(TOGGLE_MUTE, STALLED));
    drop(host);

    let (host, events) = host_in(data.path());
    connected(&events);
    until_views_match(&plugin, &host);
    let view = plugin.view();
    assert_eq!(view.len(), 2);
    assert_eq!(
        view.configuration(TOGGLE_MUTE, "cell-1"),
        Some(r#"{"page":1}"#)
    );
    assert_eq!(
        view.configuration(TOGGLE_MUTE, STALLED),
        Some(r#"{"page":3}"#)
    );
    smol::block_on(host.shutdown());
}
