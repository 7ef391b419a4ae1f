//! The transports under tokio: the driver is a plain future, so tokio can spawn it, and a tokio
//! socket becomes a transport through tokio-util's compat layer (tokio's `AsyncRead` / `AsyncWrite`
//! to the `futures-io` ones the transports are built on).
//!
//! A manager listens on a Unix domain socket; a plugin connects with `tokio::net::UnixStream`;
//! the manager triggers an action and prints the plugin's status answer.
//!
//! Run: `cargo run -p logi-plugin-transports --example tokio_plugin`

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use logi_plugin_core::Message;
use logi_plugin_core::proto::plugin::{ActionCellStatus, TriggerAction};
use logi_plugin_core::session::{
    Admission, Event, ManagerConfig, Peer, PluginConfig, PluginSession, Reply,
};
use logi_plugin_transports::local::LocalListener;
use logi_plugin_transports::{ManagerListener, StreamTransport, Transport, connect};
use tokio_util::compat::TokioAsyncReadCompatExt;

#[cfg(unix)]
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::temp_dir().join(format!("logi-tokio-{}.sock", std::process::id()));
    let registry: HashMap<String, String> =
        [("com.example.tokio".to_string(), "secret".to_string())].into();
    let admission = Admission::new(Arc::new(registry));
    let mut listener = ManagerListener::new(ManagerConfig::new("1.0.0"), admission)
        .with_local(LocalListener::bind(&path)?);

    // The plugin: a tokio socket, made a futures-io stream by the compat layer.
    let socket = tokio::net::UnixStream::connect(&path).await?.compat();
    let transport = StreamTransport::new(socket);
    let mut config = PluginConfig::new("com.example.tokio", "secret", "1.0.0");
    config.wire = transport.wire();
    let (plugin, driver) = connect(PluginSession::new(Instant::now(), config), transport);
    let plugin_driver = tokio::spawn(driver);
    tokio::spawn(async move {
        while let Some(event) = plugin.next_event().await {
            if let Event::Request { id, .. } = event {
                let status = ActionCellStatus {
                    text: Some("answered under tokio".into()),
                    ..Default::default()
                };
                let _ = plugin.respond(id, Reply::Message(status.into())).await;
            }
        }
    });

    // The manager: the same listener and driver it uses under smol.
    let (manager, driver) = listener.accept().await?;
    let manager_driver = tokio::spawn(driver);
    if let Some(Event::Connected(Peer::Plugin(hello))) = manager.next_event().await {
        println!("manager: {} said hello", hello.plugin_id);
    }
    let answer = manager
        .request(TriggerAction::default(), Duration::from_secs(5))
        .await?;
    if let Some(Message::ActionCellStatus(status)) = answer.message {
        println!(
            "manager: the plugin answered {:?}",
            status.text.unwrap_or_default()
        );
    }
    manager.close();
    println!("manager closed: {}", manager_driver.await?);
    println!("plugin closed: {}", plugin_driver.await?);
    Ok(())
}

#[cfg(not(unix))]
fn main() {
    eprintln!("this example uses a Unix domain socket");
}
