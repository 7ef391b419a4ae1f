//! A plugin's own analog buffer (seed 7.3.3) registered on the SDK's client: each connection
//! gets a fresh one from its factory, before the controls are registered to it, so buffering
//! goes on after a reconnect; a name already taken is refused at once.

mod client_harness;
#[path = "../../transports/tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use client_harness::{ClientHarness, next_client_event};
use logi_plugin_core::Message;
use logi_plugin_core::buffer::{Admission, AnalogBuffer, BufferError, PendingUpdate};
use logi_plugin_core::proto::plugin::UpdateAnalogControl;
use logi_plugin_core::proto::plugin::update_analog_control::UpdateType;
use logi_plugin_sdk::{ClientError, ClientEvent, PluginClient};
use logi_plugin_transports::ManagerConnection;
use support::{Harness, Kind, within};

/// Holds every turn until three have come, then releases their sum as one update.
#[derive(Default)]
struct SumOfThree {
    pending: Option<PendingUpdate>,
    held: usize,
    now: Option<Instant>,
}

impl AnalogBuffer for SumOfThree {
    fn pending_len(&self) -> usize {
        usize::from(self.pending.is_some())
    }

    fn on_update(
        &mut self,
        now: Instant,
        request_id: u32,
        update: UpdateAnalogControl,
    ) -> Admission {
        self.now = Some(now);
        self.held += 1;
        let superseded = match &mut self.pending {
            Some(pending) => Some(pending.merge(request_id, update)),
            None => {
                self.pending = Some(PendingUpdate::new(request_id, update));
                None
            }
        };
        Admission::Held { superseded }
    }

    fn on_response(&mut self, _: Instant, _: u32) {}

    fn handle_timeout(&mut self, _: Instant) {}

    fn poll_ready(&mut self, _: Instant) -> Option<(u32, UpdateAnalogControl)> {
        if self.held < 3 {
            return None;
        }
        self.held = 0;
        self.pending.take().map(PendingUpdate::into_update)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        // Three held: ready now.
        if self.held >= 3 { self.now } else { None }
    }
}

fn turn(delta: f32) -> UpdateAnalogControl {
    UpdateAnalogControl {
        analog_control_id: "volume".into(),
        instance_id: "dial-1".into(),
        configuration: None,
        update_type: Some(UpdateType::Delta(delta)),
    }
}

/// The manager turns the dial by 1, 2 and 3; the plugin answers whatever reaches it. Every
/// turn must be answered ok; the movements the plugin saw.
async fn three_turns(manager: &ManagerConnection, client: &PluginClient) -> Vec<f32> {
    let turns: Vec<_> = [1.0, 2.0, 3.0]
        .into_iter()
        .map(|delta| {
            let manager = manager.clone();
            smol::spawn(async move { manager.request(turn(delta), Duration::from_secs(5)).await })
        })
        .collect();
    let plugin = client.clone();
    let app = smol::spawn(async move {
        let mut seen = Vec::new();
        while let Some(event) = plugin.next_event().await {
            if let ClientEvent::Request {
                id,
                message: Message::UpdateAnalogControl(update),
            } = event
            {
                if let Some(UpdateType::Delta(delta)) = update.update_type {
                    seen.push(delta);
                }
                plugin.send_ok_response(id).await.unwrap();
                if seen.iter().sum::<f32>() >= 6.0 {
                    break;
                }
            }
        }
        seen
    });
    for answer in turns {
        let answer = within(answer).await.unwrap();
        assert!(answer.response.is_ok(), "{:?}", answer.response);
    }
    within(app).await
}

#[test]
fn a_custom_buffer_merges_turns_and_a_fresh_one_does_again_after_a_reconnect() {
    smol::block_on(async {
        let mut harness = Harness::start(Kind::Memory, |_| {}).await;
        let client = harness.client("code", |_| {});
        let before_restart = harness.connected_manager(&client).await;
        let made = Arc::new(AtomicUsize::new(0));
        let factory = {
            let made = made.clone();
            move || -> Box<dyn AnalogBuffer> {
                made.fetch_add(1, Ordering::SeqCst);
                Box::new(SumOfThree::default())
            }
        };
        client
            .register_custom_buffer("sum-of-three", factory)
            .await
            .unwrap();
        client
            .enable_control_buffering([("volume", "sum-of-three")])
            .await
            .unwrap();
        assert_eq!(
            made.load(Ordering::SeqCst),
            1,
            "one for the live connection"
        );
        assert_eq!(three_turns(&before_restart, &client).await, [6.0]);

        harness.restart().await;
        assert!(matches!(
            next_client_event(&client).await,
            ClientEvent::Disconnected(_)
        ));
        let after_restart = harness.connected_manager(&client).await;
        assert_eq!(
            made.load(Ordering::SeqCst),
            2,
            "a fresh one for the new connection"
        );
        assert_eq!(three_turns(&after_restart, &client).await, [6.0]);
        drop(before_restart);
    });
}

#[test]
fn a_custom_buffer_registered_before_connecting_serves_the_first_connection() {
    smol::block_on(async {
        let harness = Harness::start(Kind::Memory, |_| {}).await;
        let client = harness.client("code", |config| {
            config
                .register_custom_buffer("sum-of-three", || Box::new(SumOfThree::default()))
                .unwrap();
            config
                .enable_control_buffering([("volume", "sum-of-three")])
                .unwrap();
        });
        let manager = harness.connected_manager(&client).await;
        assert_eq!(three_turns(&manager, &client).await, [6.0]);
    });
}

#[test]
fn a_custom_buffer_under_a_built_in_or_taken_name_is_refused_at_once() {
    smol::block_on(async {
        let harness = Harness::start(Kind::Memory, |_| {}).await;
        let client = harness.client("code", |_| {});
        let refused = client
            .register_custom_buffer("throughput", || Box::new(SumOfThree::default()))
            .await;
        assert!(
            matches!(
                &refused,
                Err(ClientError::Buffering(BufferError::BufferKeyTaken { buffer_key })) if buffer_key == "throughput"
            ),
            "{refused:?}"
        );
        client
            .register_custom_buffer("mine", || Box::new(SumOfThree::default()))
            .await
            .unwrap();
        let again = client
            .register_custom_buffer("mine", || Box::new(SumOfThree::default()))
            .await;
        assert_eq!(
            again.unwrap_err().to_string(),
            "a buffer is already registered under the key \"mine\""
        );
    });
}

#[test]
fn a_control_registered_to_an_unknown_buffer_key_is_refused_before_connecting() {
    let mut config = logi_plugin_sdk::ClientConfig::new("com.example.p", "1.0.0", "code");
    let refused = config.enable_control_buffering([("volume", "sum-of-three")]);
    assert_eq!(
        refused,
        Err(BufferError::UnknownBufferKey {
            control_id: "volume".into(),
            buffer_key: "sum-of-three".into()
        })
    );
    assert!(config.control_buffering.is_empty(), "nothing registered");
}
