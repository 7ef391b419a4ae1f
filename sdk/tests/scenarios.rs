//! One scenario suite, run over every transport: in-memory pipes, a Unix domain socket, and
//! WebSocket carrying binary protobuf or JSON text. The manager side is a [`ManagerListener`];
//! the plugin side is the SDK's [`PluginClient`] (or a raw session where a scenario needs a
//! misbehaving plugin).

mod client_harness;
#[path = "../../transports/tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::Duration;

use client_harness::{ClientHarness, next_client_event};
use logi_plugin_core::proto::plugin::update_analog_control::UpdateType;
use logi_plugin_core::proto::plugin::{
    ActionCellStatus, ReleaseAction, Settings, SettingsRequest, TriggerAction, UpdateAnalogControl,
};
use logi_plugin_core::session::{CloseReason, Event, Peer, PluginRegistry, Reply};
use logi_plugin_core::{Message, ResponseCode};
use logi_plugin_sdk::{ClientError, ClientEvent};
use logi_plugin_transports::ws::WsListenError;
use support::{Harness, Kind, within};

/// Defines one test per transport for a scenario `async fn(Kind)`.
macro_rules! over_every_transport {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            use super::*;
            #[test]
            fn memory() { smol::block_on(super::$scenario(Kind::Memory)) }
            #[cfg(unix)]
            #[test]
            fn unix_socket() { smol::block_on(super::$scenario(Kind::Local)) }
            #[test]
            fn websocket_binary() { smol::block_on(super::$scenario(Kind::WsBinary)) }
            #[test]
            fn websocket_json() { smol::block_on(super::$scenario(Kind::WsJson)) }
        }
    )*};
}

over_every_transport!(
    the_handshake_connects_both_sides,
    a_trigger_and_release_are_answered_with_status,
    an_answer_many_reads_long_arrives_whole,
    an_analog_flood_arrives_merged_through_a_throughput_buffer,
    settings_make_the_round_trip,
    a_frozen_plugin_is_closed_when_its_pong_is_late,
    a_rate_limited_plugin_honours_retry_after_and_loses_no_status,
    the_plugin_reconnects_after_the_manager_restarts,
    a_bad_secret_is_refused_and_the_client_stops,
    an_oversized_frame_closes_that_connection_and_the_manager_serves_others,
    dropping_the_last_client_handle_closes_the_connection,
    a_second_plugin_with_a_live_id_is_refused_and_takes_over_once_the_first_is_gone,
    a_plugin_the_manager_withdraws_stops_saying_the_host_stopped_it,
    every_send_of_the_handle_fails_with_the_one_client_error,
);

async fn the_handshake_connects_both_sides(kind: Kind) {
    let harness = Harness::start(kind, |_| {}).await;
    let client = harness.client("code", |_| {});
    let manager = harness.next_connection().await;
    let hello = match within(manager.next_event()).await {
        Some(Event::Connected(Peer::Plugin(hello))) => hello,
        other => panic!("{other:?}"),
    };
    assert_eq!(hello.plugin_id, support::PLUGIN);
    match next_client_event(&client).await {
        ClientEvent::Connected(hello) => assert_eq!(hello.language_code, "en-US"),
        other => panic!("{other:?}"),
    }
    assert!(client.is_connected() && manager.is_connected());
    assert_eq!(client.language().as_deref(), Some("en-US"));
}

async fn a_trigger_and_release_are_answered_with_status(kind: Kind) {
    let harness = Harness::start(kind, |_| {}).await;
    let client = harness.client("code", |_| {});
    let manager = harness.connected_manager(&client).await;
    let plugin = client.clone();
    let app = smol::spawn(async move {
        while let Some(event) = plugin.next_event().await {
            if let ClientEvent::Request { id, message } = event {
                let text = match message {
                    Message::TriggerAction(_) => "pressed",
                    Message::ReleaseAction(_) => "released",
                    _ => "?",
                };
                let status = ActionCellStatus {
                    action_instance_id: "cell-1".into(),
                    text: Some(text.into()),
                    ..Default::default()
                };
                plugin
                    .send_response(id, Reply::Message(status.into()))
                    .await
                    .unwrap();
            }
        }
    });
    for (message, expected) in [
        (Message::from(TriggerAction::default()), "pressed"),
        (Message::from(ReleaseAction::default()), "released"),
    ] {
        let answer = within(manager.request(message, Duration::from_secs(5)))
            .await
            .unwrap();
        assert!(answer.response.is_ok());
        match answer.message {
            Some(Message::ActionCellStatus(status)) => {
                assert_eq!(status.text.as_deref(), Some(expected))
            }
            other => panic!("{other:?}"),
        }
    }
    client.disconnect();
    drop(app);
}

/// An image just under the harness's WebSocket limit takes several of every transport's reads
/// (a WebSocket reads 16 KiB at a time; a local socket starts at 4 KiB).
async fn an_answer_many_reads_long_arrives_whole(kind: Kind) {
    let image: String = (0..support::WS_MAX_MESSAGE - 1024)
        .map(|i| char::from(b'A' + (i % 26) as u8))
        .collect();
    let harness = Harness::start(kind, |_| {}).await;
    let client = harness.client("code", |_| {});
    let manager = harness.connected_manager(&client).await;
    let plugin = client.clone();
    let sent = image.clone();
    let app = smol::spawn(async move {
        while let Some(event) = plugin.next_event().await {
            if let ClientEvent::Request { id, .. } = event {
                let status = ActionCellStatus {
                    action_instance_id: "cell-1".into(),
                    image: Some(sent.clone()),
                    ..Default::default()
                };
                let _ = plugin
                    .send_response(id, Reply::Message(status.into()))
                    .await;
            }
        }
    });
    let answer = within(manager.request(
        Message::from(TriggerAction::default()),
        Duration::from_secs(5),
    ))
    .await
    .unwrap();
    match answer.message {
        Some(Message::ActionCellStatus(status)) => assert!(status.image == Some(image)),
        other => panic!("{other:?}"),
    }
    client.disconnect();
    drop(app);
}

async fn an_analog_flood_arrives_merged_through_a_throughput_buffer(kind: Kind) {
    const DELTAS: usize = 2_000;
    let harness = Harness::start(kind, |config| {
        config.rate_limit = None;
        config.limits.max_in_flight = DELTAS + 16;
    })
    .await;
    let client = harness.client("code", |config| {
        config
            .control_buffering
            .push(("volume".into(), "throughput".into()))
    });
    let manager = harness.connected_manager(&client).await;
    let plugin = client.clone();
    let app = smol::spawn(async move {
        let mut total = 0.0f64;
        let mut deliveries = 0usize;
        while total < DELTAS as f64 {
            match plugin.next_event().await {
                Some(ClientEvent::Request {
                    id,
                    message: Message::UpdateAnalogControl(update),
                }) => {
                    if let Some(UpdateType::Delta(delta)) = update.update_type {
                        total += f64::from(delta);
                    }
                    deliveries += 1;
                    // A slow application: the buffer merges what arrives meanwhile.
                    async_io::Timer::after(Duration::from_millis(1)).await;
                    plugin.send_ok_response(id).await.unwrap();
                }
                Some(_) => {}
                None => break,
            }
        }
        (total, deliveries)
    });
    let mut answers = Vec::new();
    for _ in 0..DELTAS {
        let update = UpdateAnalogControl {
            analog_control_id: "volume".into(),
            instance_id: "dial-1".into(),
            configuration: None,
            update_type: Some(UpdateType::Delta(1.0)),
        };
        let manager = manager.clone();
        answers.push(smol::spawn(async move {
            manager.request(update, Duration::from_secs(30)).await
        }));
    }
    for answer in answers {
        assert!(within(answer).await.unwrap().response.is_ok());
    }
    let (total, deliveries) = within(app).await;
    assert_eq!(total, DELTAS as f64, "the whole movement arrived");
    assert!(deliveries < DELTAS, "merged: {deliveries} deliveries");
}

async fn settings_make_the_round_trip(kind: Kind) {
    let harness = Harness::start(kind, |_| {}).await;
    let client = harness.client("code", |_| {});
    let manager = harness.connected_manager(&client).await;
    let manager_side = manager.clone();
    let host = smol::spawn(async move {
        let mut stored = None;
        while let Some(event) = manager_side.next_event().await {
            if let Event::Request { id, message } = event {
                let reply = match message {
                    Message::Settings(settings) => {
                        stored = Some(settings);
                        Reply::Ok
                    }
                    Message::SettingsRequest(_) => match &stored {
                        Some(settings) => Reply::Message(settings.clone().into()),
                        None => Reply::Error(ResponseCode::NotFound, "no settings".into()),
                    },
                    _ => Reply::Error(ResponseCode::NotImplemented, String::new()),
                };
                manager_side.respond(id, reply).await.unwrap();
            }
        }
    });
    let settings = Settings {
        setting_name: "theme".into(),
        setting_value: "dark ünïcode ✓".into(),
        ..Settings::default()
    };
    let saved = within(client.send_message_with_callback(settings.clone(), Duration::from_secs(5)))
        .await
        .unwrap();
    assert!(saved.response.is_ok());
    let read = within(client.send_message_with_callback(
        SettingsRequest {
            setting_name: "theme".into(),
        },
        Duration::from_secs(5),
    ))
    .await
    .unwrap();
    assert_eq!(read.message, Some(settings.into()));
    client.disconnect();
    drop(host);
}

async fn every_send_of_the_handle_fails_with_the_one_client_error(kind: Kind) {
    let harness = Harness::start(kind, |_| {}).await;
    let client = harness.client("code", |_| {});
    let manager = harness.connected_manager(&client).await;
    let ask = || SettingsRequest {
        setting_name: "theme".into(),
    };
    // A request the manager leaves unanswered past its timeout.
    let unanswered = within(client.send_message_with_callback(ask(), Duration::from_millis(50)));
    assert_eq!(unanswered.await.unwrap_err(), ClientError::TimedOut);
    // One still waiting when the connection closes.
    let closes = async {
        while !matches!(
            manager.next_event().await,
            Some(Event::Request {
                message: Message::SettingsRequest(_),
                ..
            })
        ) {}
        manager.close();
    };
    let (waiting, ()) = within(futures_lite::future::zip(
        client.send_message_with_callback(ask(), Duration::from_secs(5)),
        closes,
    ))
    .await;
    assert!(
        matches!(waiting, Err(ClientError::Closed(_))),
        "{waiting:?}"
    );
    // Stopped: a message and a request are refused the same way.
    client.disconnect();
    while !matches!(next_client_event(&client).await, ClientEvent::Stopped(_)) {}
    let status = ActionCellStatus::default();
    assert_eq!(
        client.send_message(status).await.unwrap_err(),
        ClientError::NotConnected
    );
    let request = client.send_message_with_callback(ask(), Duration::from_secs(5));
    assert_eq!(request.await.unwrap_err(), ClientError::NotConnected);
}

async fn a_frozen_plugin_is_closed_when_its_pong_is_late(kind: Kind) {
    let harness = Harness::start(kind, |config| {
        config.heartbeat_interval = Duration::from_millis(100);
        config.heartbeat_timeout = Duration::from_millis(200);
    })
    .await;
    // A plugin that says hello, then never reads again (its driver is not polled).
    let frozen = harness.frozen_plugin().await;
    let manager = harness.next_connection().await;
    assert!(matches!(
        within(manager.next_event()).await,
        Some(Event::Connected(_))
    ));
    let reason = within(manager.closed()).await;
    assert_eq!(
        reason,
        CloseReason::HeartbeatTimeout(Duration::from_millis(200))
    );
    drop(frozen);
}

async fn a_rate_limited_plugin_honours_retry_after_and_loses_no_status(kind: Kind) {
    let harness = Harness::start(kind, |config| {
        // The default violation allowance (100) covers the burst that leaves before the
        // plugin hears the RetryAfter.
        config.rate_limit = Some(logi_plugin_core::session::RateLimit::new(20, 2).unwrap());
    })
    .await;
    let client = harness.client("code", |_| {});
    let manager = harness.connected_manager(&client).await;
    for round in 0..30 {
        for cell in ["cell-1", "cell-2", "cell-3"] {
            let status = ActionCellStatus {
                action_instance_id: cell.into(),
                text: Some(format!("{round}")),
                ..Default::default()
            };
            match client.send_message(status).await {
                Ok(()) | Err(logi_plugin_sdk::ClientError::Send(_)) => {}
                Err(other) => panic!("{other:?}"),
            }
        }
    }
    // Every cell ends showing its last status, and the plugin was throttled, not closed.
    let mut last = std::collections::HashMap::new();
    while last.values().filter(|text| *text == "29").count() < 3 {
        match within(manager.next_event()).await {
            Some(Event::Notification {
                message: Message::ActionCellStatus(status),
            }) => {
                last.insert(status.action_instance_id, status.text.unwrap_or_default());
            }
            Some(Event::Closed(reason)) => panic!("closed: {reason}"),
            _ => {}
        }
    }
    let throttled = loop {
        match within(client.next_event()).await {
            Some(ClientEvent::Throttled { .. }) => break true,
            Some(ClientEvent::Connected(_)) => {}
            other => panic!("{other:?}"),
        }
    };
    assert!(throttled);
    assert!(manager.is_connected());
}

async fn the_plugin_reconnects_after_the_manager_restarts(kind: Kind) {
    let mut harness = Harness::start(kind, |_| {}).await;
    let client = harness.client("code", |_| {});
    // Kept, so that it is the restart that ends this session, not the last handle's drop.
    let _before_restart = harness.connected_manager(&client).await;
    harness.restart().await;
    match next_client_event(&client).await {
        ClientEvent::Disconnected(_) => {}
        other => panic!("{other:?}"),
    }
    let manager = harness.next_connection().await;
    assert!(matches!(
        within(manager.next_event()).await,
        Some(Event::Connected(_))
    ));
    assert!(matches!(
        next_client_event(&client).await,
        ClientEvent::Connected(_)
    ));
    assert!(client.is_connected());
}

async fn a_second_plugin_with_a_live_id_is_refused_and_takes_over_once_the_first_is_gone(
    kind: Kind,
) {
    let harness = Harness::start(kind, |_| {}).await;
    let first = harness.client("code", |_| {});
    let _first_session = harness.connected_manager(&first).await;
    let second = harness.client("code", |_| {});
    match next_client_event(&second).await {
        ClientEvent::Disconnected(CloseReason::HelloRefusedByPeer { code, .. }) => {
            assert_eq!(code, ResponseCode::DuplicateName)
        }
        other => panic!("{other:?}"),
    }
    assert!(first.is_connected(), "the live session was replaced");
    // The refusal is not final: once the first plugin has gone, the second gets in.
    first.disconnect();
    within(first.wait_for_disconnect()).await;
    loop {
        match next_client_event(&second).await {
            ClientEvent::Connected(_) => break,
            ClientEvent::Disconnected(CloseReason::HelloRefusedByPeer { code, .. }) => {
                assert_eq!(code, ResponseCode::DuplicateName)
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(second.is_connected());
}

async fn a_bad_secret_is_refused_and_the_client_stops(kind: Kind) {
    let harness = Harness::start(kind, |_| {}).await;
    let client = harness.client("wrong", |_| {});
    match next_client_event(&client).await {
        ClientEvent::Disconnected(CloseReason::HelloRefusedByPeer { code, .. }) => {
            assert_eq!(code, ResponseCode::Unauthorized)
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        next_client_event(&client).await,
        ClientEvent::Stopped(CloseReason::HelloRefusedByPeer { .. })
    ));
    within(client.wait_for_disconnect()).await;
}

/// A registry whose codes the test withdraws, as a host does when it stops a plugin.
#[derive(Default)]
struct Withdrawable(std::sync::Mutex<Option<String>>);

impl PluginRegistry for Withdrawable {
    fn plugin_code(&self, plugin_id: &str) -> Option<String> {
        let code = self.0.lock().unwrap().clone();
        code.filter(|_| plugin_id == support::PLUGIN)
    }
}

async fn a_plugin_the_manager_withdraws_stops_saying_the_host_stopped_it(kind: Kind) {
    let registry = Arc::new(Withdrawable(Some("code".to_string()).into()));
    let harness = Harness::start_admitting(kind, registry.clone()).await;
    let client = harness.client("code", |_| {});
    let manager = harness.connected_manager(&client).await;
    // The host stops the plugin: its code withdrawn, its session closed.
    *registry.0.lock().unwrap() = None;
    manager.close();
    let stopped = loop {
        match next_client_event(&client).await {
            ClientEvent::Stopped(reason) => break reason,
            ClientEvent::Connected(_) => panic!("admitted after its code was withdrawn"),
            _ => {}
        }
    };
    assert!(
        matches!(&stopped, CloseReason::StoppedByHost(what) if what.contains("not registered")),
        "{stopped:?}"
    );
    within(client.wait_for_disconnect()).await;
}

async fn an_oversized_frame_closes_that_connection_and_the_manager_serves_others(kind: Kind) {
    let mut harness = Harness::start(kind, |_| {}).await;
    harness.send_oversized_frame().await;
    let offender = harness.next_connection().await;
    let reason = within(offender.closed()).await;
    assert!(
        matches!(
            reason,
            CloseReason::MalformedStream(_) | CloseReason::TransportFailed(_)
        ),
        "{reason:?}"
    );
    // The next plugin is served as usual. Its manager handle is kept: dropping the last one
    // closes the session.
    let client = harness.client("code", |_| {});
    let _manager = harness.connected_manager(&client).await;
    assert!(client.is_connected());
}

async fn dropping_the_last_client_handle_closes_the_connection(kind: Kind) {
    let harness = Harness::start(kind, |_| {}).await;
    let client = harness.client("code", |_| {});
    let manager = harness.connected_manager(&client).await;
    drop(client);
    assert_eq!(within(manager.closed()).await, CloseReason::PeerClosed);
}

#[test]
fn a_browser_origin_is_refused_on_websocket() {
    smol::block_on(async {
        let harness = Harness::start(Kind::WsBinary, |_| {}).await;
        assert_forbidden(harness.connect_ws_with_origin("https://evil.example").await);
        let allowed = harness
            .connect_ws_with_origin(support::ALLOWED_ORIGIN)
            .await;
        assert!(allowed.is_ok());
        // Once the allowed upgrade is handed over, the listener has counted the refused one.
        harness.next_connection().await;
        assert_eq!(harness.refused_origins(), 1);
    })
}

/// What a refused upgrade looks like to the client: HTTP 403.
fn assert_forbidden(refused: Result<logi_plugin_transports::BoxTransport, WsListenError>) {
    match refused {
        Err(WsListenError::Handshake(tungstenite::Error::Http(response))) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("{other:?}"),
    }
}

/// `Origin: null` is what a sandboxed frame, a `file://` page or a `data:` URL sends: it is
/// refused even when someone put it on the allow-list.
#[test]
fn origin_null_is_refused_on_websocket_even_when_listed() {
    smol::block_on(async {
        let harness = Harness::start_with_origins(Kind::WsBinary, &["null"]).await;
        assert_forbidden(harness.connect_ws_with_origin("null").await);
        let allowed = harness
            .connect_ws_with_origin(support::ALLOWED_ORIGIN)
            .await;
        assert!(allowed.is_ok());
        harness.next_connection().await;
        assert_eq!(harness.refused_origins(), 1);
    })
}

/// A page whose own name resolves to 127.0.0.1 (DNS rebinding) reaches the listener with its
/// name in `Host`: refused, whatever the `Origin`.
#[test]
fn a_host_that_is_not_a_loopback_name_is_refused_on_websocket() {
    smol::block_on(async {
        let harness = Harness::start(Kind::WsBinary, |_| {}).await;
        let port = harness.ws_port();
        let rebound = format!("rebind.example:{port}");
        assert_forbidden(harness.connect_ws_with(&[("host", &rebound)]).await);
        let other_port = format!("localhost:{}", port.wrapping_add(1));
        assert_forbidden(harness.connect_ws_with(&[("host", &other_port)]).await);
        let loopback = format!("localhost:{port}");
        assert!(
            harness
                .connect_ws_with(&[("host", &loopback)])
                .await
                .is_ok()
        );
        harness.next_connection().await;
        assert_eq!(harness.refused_hosts(), 2);
    })
}
