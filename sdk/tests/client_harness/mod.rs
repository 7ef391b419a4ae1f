//! The SDK's side of the scenario harness (`transports/tests/support`): plugin clients connected
//! to the harness's manager.
#![allow(dead_code)]

use std::time::Duration;

use logi_plugin_core::session::Event;
use logi_plugin_sdk::{Backoff, ClientConfig, ClientEvent, PluginClient};
use logi_plugin_transports::ManagerConnection;

use crate::support::{Harness, Kind, PLUGIN, within};

/// The next event the client reports, failing the test after 10 seconds.
pub async fn next_client_event(client: &PluginClient) -> ClientEvent {
    within(client.next_event()).await.expect("an event")
}

/// Plugin clients for a [`Harness`].
pub trait ClientHarness {
    /// A plugin client with `secret`, started.
    fn client(&self, secret: &str, tweak: impl FnOnce(&mut ClientConfig)) -> PluginClient;

    /// A connection the plugin has said hello on, with the client's `Connected` taken.
    async fn connected_manager(&self, client: &PluginClient) -> ManagerConnection;
}

impl ClientHarness for Harness {
    fn client(&self, secret: &str, tweak: impl FnOnce(&mut ClientConfig)) -> PluginClient {
        let mut config = ClientConfig::new(PLUGIN, "1.0.0", secret);
        config.endpoint = self.endpoint();
        config.use_text_format = self.kind() == Kind::WsJson;
        config.reconnect = Backoff {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(200),
        };
        config.connector = self.connector();
        tweak(&mut config);
        let (client, runner) = PluginClient::new(config);
        smol::spawn(runner).detach();
        client
    }

    async fn connected_manager(&self, client: &PluginClient) -> ManagerConnection {
        let manager = self.next_connection().await;
        assert!(matches!(
            within(manager.next_event()).await,
            Some(Event::Connected(_))
        ));
        assert!(matches!(
            next_client_event(client).await,
            ClientEvent::Connected(_)
        ));
        manager
    }
}
