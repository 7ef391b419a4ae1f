//! Plugins a host application registers rather than installs (Kortex `InstallationType`): a
//! CORE plugin run in-process over the memory transport, an EXTERNAL plugin connecting by itself
//! over the WebSocket, and uninstalling everything but what is built in.

mod common;

use common::{host_with, media_manifest, script_archive, states, until, until_state};
use logi_example_media::{PLUGIN_ID, TOGGLE_MUTE, VERSION};
use logi_plugin_core::Message;
use logi_plugin_core::proto::manager::{ContainerState, InstallationType, PluginInstallationEvent};
use logi_plugin_manager::{HostError, HostEvent};
use logi_plugin_sdk::plugin::{Plugin, Status};
use logi_plugin_sdk::{ClientConfig, Endpoint, PluginClient};

fn cell_text(answer: logi_plugin_transports::Answer) -> String {
    match answer.message {
        Some(Message::ActionCellStatus(status)) => status.text().to_string(),
        other => panic!("expected a cell status, got {other:?}"),
    }
}

#[test]
fn a_core_plugin_runs_in_process_and_answers_its_action() {
    let (host, _data) = host_with(|_| {});
    let events = host.subscribe();
    host.add_core(media_manifest(), logi_example_media::run)
        .unwrap();
    until_state(&events, PLUGIN_ID, ContainerState::Running);
    let answer = smol::block_on(host.trigger(PLUGIN_ID, TOGGLE_MUTE, "key-1")).unwrap();
    assert_eq!(cell_text(answer), "Muted");
    let info = &host.plugins()[0];
    assert_eq!(info.installation, InstallationType::Core);
    assert!(info.connected);
    smol::block_on(host.shutdown());
    assert_eq!(host.plugins()[0].state, ContainerState::Stopped);
}

/// The media manifest's action, written on the SDK's handler API: it counts its presses.
struct Presses;

impl logi_plugin_sdk::plugin::Action<u32> for Presses {
    const ID: &'static str = TOGGLE_MUTE;

    fn key_down(&mut self, cx: &mut logi_plugin_sdk::plugin::Cx<'_, u32>) -> Status {
        *cx.settings += 1;
        Status::text(format!("pressed {}", cx.settings))
    }
}

#[test]
fn a_core_plugin_on_the_handler_api_answers_and_keeps_its_settings_with_the_host() {
    let (host, _data) = host_with(|_| {});
    let events = host.subscribe();
    let run = |client| {
        Plugin::<u32>::new(PLUGIN_ID, VERSION)
            .action(Presses)
            .serve_client(client)
    };
    host.add_core(media_manifest(), run).unwrap();
    until_state(&events, PLUGIN_ID, ContainerState::Running);
    for _ in 0..2 {
        smol::block_on(host.trigger(PLUGIN_ID, TOGGLE_MUTE, "key-1")).unwrap();
    }
    let answer = smol::block_on(host.trigger(PLUGIN_ID, TOGGLE_MUTE, "key-1")).unwrap();
    assert_eq!(cell_text(answer), "pressed 3");
    let stored = host.settings().get(PLUGIN_ID, "plugin").unwrap().unwrap();
    assert_eq!(stored.value, "3");
    smol::block_on(host.shutdown());
}

#[test]
fn a_core_plugin_cannot_be_uninstalled_or_registered_twice() {
    let (host, _data) = host_with(|_| {});
    host.add_core(media_manifest(), logi_example_media::run)
        .unwrap();
    let result = smol::block_on(host.uninstall(PLUGIN_ID));
    assert!(matches!(result, Err(HostError::CorePlugin(id)) if id == PLUGIN_ID));
    let again = host.add_core(media_manifest(), logi_example_media::run);
    assert!(matches!(
        again,
        Err(HostError::Taken {
            installation: InstallationType::Core,
            ..
        })
    ));
    smol::block_on(host.shutdown());
}

#[cfg(unix)]
#[test]
fn a_package_cannot_replace_a_core_plugin() {
    let (host, _data) = host_with(|config| config.development = true);
    let mut manifest = media_manifest();
    manifest.plugin_id = "com.example.script".into();
    host.add_core(manifest, logi_example_media::run).unwrap();
    let result = smol::block_on(host.install(&script_archive("#!/bin/sh\nexit 0\n")));
    assert!(matches!(result, Err(HostError::CorePlugin(id)) if id == "com.example.script"));
    assert_eq!(host.plugins()[0].installation, InstallationType::Core);
    smol::block_on(host.shutdown());
}

#[test]
fn a_core_plugin_that_panics_is_restarted() {
    let (host, _data) = host_with(|_| {});
    let events = host.subscribe();
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    host.add_core(media_manifest(), move |client| {
        let run = runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // The first run panics making its future, the second running it.
        assert!(run != 0, "the first run fails at once");
        async move {
            assert!(run != 1, "the second run fails on its way");
            logi_example_media::run(client).await;
        }
    })
    .unwrap();
    use ContainerState::{Crashed, Launching, Running};
    assert_eq!(
        states(&events, 6),
        [Launching, Crashed, Launching, Crashed, Launching, Running]
    );
    let answer = smol::block_on(host.trigger(PLUGIN_ID, TOGGLE_MUTE, "key-1")).unwrap();
    assert_eq!(cell_text(answer), "Muted");
    smol::block_on(host.shutdown());
}

#[test]
fn an_external_plugin_connects_over_the_websocket_with_its_code() {
    let (host, _data) = host_with(|config| config.websocket = Some("127.0.0.1:0".parse().unwrap()));
    let events = host.subscribe();
    host.add_external(media_manifest(), "the external code")
        .unwrap();
    let mut config = ClientConfig::new(PLUGIN_ID, VERSION, "the external code");
    config.endpoint = Endpoint::WebSocket(format!("ws://{}", host.websocket_addr().unwrap()));
    let (client, runner) = PluginClient::new(config);
    let runner = smol::spawn(runner);
    let plugin = smol::spawn(logi_example_media::run(client.clone()));
    until(&events, |event| {
        matches!(event, HostEvent::Connected { .. })
    });
    let answer = smol::block_on(host.trigger(PLUGIN_ID, TOGGLE_MUTE, "key-1")).unwrap();
    assert_eq!(cell_text(answer), "Muted");
    let info = &host.plugins()[0];
    assert_eq!(
        (info.installation, info.state),
        (InstallationType::External, ContainerState::NotApplicable)
    );

    smol::block_on(host.uninstall(PLUGIN_ID)).unwrap();
    assert!(host.plugins().is_empty());
    // Its code is withdrawn with it: the client's reconnects are refused, and it stops.
    smol::block_on(async {
        plugin.await;
        runner.await;
    });
    assert!(!client.is_connected());
}

#[test]
fn uninstall_all_removes_every_plugin_but_the_core_ones_and_says_so() {
    let (host, _data) = host_with(|_| {});
    let events = host.subscribe();
    let mut core = media_manifest();
    core.plugin_id = "com.example.core".into();
    host.add_core(core, logi_example_media::run).unwrap();
    for id in ["com.example.one", "com.example.two"] {
        let mut external = media_manifest();
        external.plugin_id = id.into();
        host.add_external(external, "code").unwrap();
    }
    smol::block_on(host.uninstall_all()).unwrap();
    let mut seen = Vec::new();
    loop {
        match until(&events, |event| matches!(event, HostEvent::Installation(_))) {
            HostEvent::Installation(notice) => {
                seen.push((notice.event(), notice.plugin_id.clone()));
                if notice.event() == PluginInstallationEvent::UninstallAllCompleted {
                    break;
                }
            }
            _ => unreachable!("only installation events are accepted"),
        }
    }
    use PluginInstallationEvent::{UninstallAllCompleted, UninstallationCompleted};
    assert_eq!(
        seen,
        [
            (UninstallationCompleted, "com.example.one".to_string()),
            (UninstallationCompleted, "com.example.two".to_string()),
            (UninstallAllCompleted, String::new()),
        ]
    );
    let left: Vec<_> = host
        .plugins()
        .into_iter()
        .map(|p| p.manifest.plugin_id)
        .collect();
    assert_eq!(left, ["com.example.core"]);
    smol::block_on(host.shutdown());
}

#[test]
fn watch_gives_the_plugins_as_they_are_then_what_happens_to_them() {
    let (host, _data) = host_with(|_| {});
    host.add_external(media_manifest(), "code").unwrap();
    let (plugins, events) = host.watch();
    let states: Vec<_> = plugins.iter().map(|p| (p.state, p.connected)).collect();
    assert_eq!(states, [(ContainerState::NotApplicable, false)]);
    smol::block_on(host.uninstall(PLUGIN_ID)).unwrap();
    let event = until(&events, |event| matches!(event, HostEvent::Installation(_)));
    assert!(
        matches!(event, HostEvent::Installation(notice) if notice.event() == PluginInstallationEvent::UninstallationCompleted)
    );
}
