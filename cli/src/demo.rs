//! The demo: a host on a temporary data directory and its own local socket, running the example
//! plugin (`examples/media-plugin`) as a child process, end to end.
//!
//! It packs the plugin's folder with its executable, signs the archive with a fresh publisher
//! key that the host trusts, installs it, waits for the plugin to connect, presses its action,
//! turns its dial, submits its configuration form, shows the typed settings it stored (as the
//! manager keeps them, JSON), uninstalls it and shuts down, printing each step and every event
//! the host reports.

use std::error::Error;
use std::path::Path;
use std::time::Duration;

use futures_lite::future;
use logi_example_media::{PLUGIN_ID, TOGGLE_MUTE, VOLUME};
use logi_plugin_core::Message;
use logi_plugin_core::proto::manager::{ContainerState, PluginInstallationEvent};
use logi_plugin_core::proto::plugin::{
    PluginActionConfigurationResponse, PluginActionConfigurationSchemeRequest,
};

use logi_plugin_manager::{Host, HostConfig, HostEvent};
use logi_plugin_package::Package;
use logi_plugin_package::signature::{SecretKey, TrustStore};

/// Runs the demo. `plugin_exe` is the executable to pack as the plugin's program.
pub fn run(plugin_exe: &Path) -> Result<(), Box<dyn Error>> {
    let data = tempfile::Builder::new()
        .prefix("logi-plugin-demo-")
        .tempdir()?;
    println!("data directory: {}", data.path().display());

    let mut package = logi_example_media::package::packed(plugin_exe)?;
    let key = SecretKey::generate()?;
    package.sign("Logi plugin engine examples", &key);
    let archive = package.to_zip()?;
    println!(
        "packed {PLUGIN_ID} {}: {} files, {} bytes, signed by key {}",
        package.manifest().version,
        package.files().len(),
        archive.len(),
        key.public_key()
    );

    let mut config = HostConfig::new(data.path());
    config.endpoint = data.path().join("manager.sock");
    config.trust = TrustStore::default();
    config
        .trust
        .add(key.public_key(), "Logi plugin engine examples");
    let host = Host::start(config)?;
    println!("host listening on {}", host.endpoint().display());
    let printer = smol::spawn(print_events(host.subscribe()));
    let events = host.subscribe();

    let result = smol::block_on(drive(&host, &package, &archive, &events));
    smol::block_on(host.shutdown());
    smol::block_on(async {
        // Let the printer show the last events before the demo ends.
        async_io::Timer::after(Duration::from_millis(100)).await;
        printer.cancel().await;
    });
    result?;
    println!("done");
    Ok(())
}

async fn drive(
    host: &Host,
    package: &Package,
    archive: &[u8],
    events: &async_channel::Receiver<HostEvent>,
) -> Result<(), Box<dyn Error>> {
    let manifest = host.install(archive).await?;
    let german = package.localizations().localize(&manifest, "de-AT");
    println!(
        "installed {} ({}); in German: {:?}, action {:?}",
        manifest.name, manifest.plugin_id, german.name, german.actions[0].name
    );
    wait_for(events, |event| {
        matches!(
            event,
            HostEvent::State {
                state: ContainerState::Running,
                ..
            }
        )
    })
    .await?;

    for press in 1..=2 {
        let answer = host.trigger(PLUGIN_ID, TOGGLE_MUTE, "key-1").await?;
        if let Some(Message::ActionCellStatus(status)) = answer.message {
            println!(
                "press {press} of {TOGGLE_MUTE}: the cell now reads {:?}",
                status.text()
            );
        }
    }
    for delta in [5.0, -2.0] {
        let answer = host.turn(PLUGIN_ID, VOLUME, "dial-1", delta).await?;
        if let Some(Message::AnalogControlStatus(status)) = answer.message {
            println!("dial turned {delta:+}: {:?}", status.text());
        }
    }

    let scheme = PluginActionConfigurationSchemeRequest {
        analog_control_id: VOLUME.into(),
        action_instance_id: "dial-1".into(),
        ..Default::default()
    };
    if let Some(Message::PluginActionConfigurationSchemeResponse(response)) =
        host.request(PLUGIN_ID, scheme).await?.message
    {
        let schema = response.json_schema.unwrap_or_default();
        let schema: serde_json::Value = serde_json::from_str(&schema)?;
        println!("configuration form for {VOLUME}: {}", schema["title"]);
    }
    let form = PluginActionConfigurationResponse {
        action_instance_id: "dial-1".into(),
        action_id: VOLUME.into(),
        form_result: r#"{"step": 5}"#.into(),
    };
    let answer = host.request(PLUGIN_ID, form).await?;
    println!("submitted step = 5: {:?}", answer.response.result());
    let answer = host.turn(PLUGIN_ID, VOLUME, "dial-1", 1.0).await?;
    if let Some(Message::AnalogControlStatus(status)) = answer.message {
        println!("dial turned +1 at 5% a notch: {:?}", status.text());
    }

    // The plugin stored its settings before answering: its `Sound` under `plugin`, the dial's
    // form under `instance/dial-1`, each as JSON.
    for (name, stored) in host.settings().all(PLUGIN_ID)? {
        println!(
            "stored setting {name} = {} (version {})",
            stored.value, stored.version
        );
    }

    host.uninstall(PLUGIN_ID).await?;
    wait_for(events, |event| match event {
        HostEvent::Installation(notice) => {
            notice.event() == PluginInstallationEvent::UninstallationCompleted
        }
        _ => false,
    })
    .await?;
    println!("uninstalled {PLUGIN_ID}");
    Ok(())
}

/// Waits (at most 10 s) for an event that `wanted` accepts.
async fn wait_for(
    events: &async_channel::Receiver<HostEvent>,
    wanted: impl Fn(&HostEvent) -> bool,
) -> Result<(), Box<dyn Error>> {
    let found = async {
        while let Ok(event) = events.recv().await {
            if wanted(&event) {
                return Ok(());
            }
        }
        Err("the host stopped reporting events".into())
    };
    future::or(found, async {
        async_io::Timer::after(Duration::from_secs(10)).await;
        Err("timed out after 10 s waiting for the plugin".into())
    })
    .await
}

async fn print_events(events: async_channel::Receiver<HostEvent>) {
    while let Ok(event) = events.recv().await {
        println!("  event: {event}");
    }
}
