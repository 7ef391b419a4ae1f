//! Transactional settings over a real local socket: a plugin writes "only if the setting is
//! still at version n" and gets `CONFLICT` when it is not, so that a stale cache never wipes a
//! newer value; a plugin that knows only the seed's `Settings` keeps last-writer-wins. A
//! removed plugin's settings are kept for its next install; a purged one's are deleted.

mod common;

use std::time::Duration;

use common::{host_with, media_manifest};
use futures_lite::future;
use logi_example_media::{PLUGIN_ID, VERSION};
use logi_plugin_core::proto::plugin::{Settings, SettingsRequest};
use logi_plugin_core::{Message, ResponseCode};
use logi_plugin_manager::Host;
use logi_plugin_sdk::{ClientConfig, ClientEvent, Endpoint, PluginClient};
use logi_plugin_transports::Answer;

const CODE: &str = "the external code";

/// A host with the media manifest registered as an EXTERNAL plugin, and a plugin connected to
/// it over the local socket.
fn host_and_plugin() -> (Host, tempfile::TempDir, PluginClient) {
    let (host, data) = host_with(|_| {});
    host.add_external(media_manifest(), CODE).unwrap();
    let plugin = connect(&host);
    (host, data, plugin)
}

fn connect(host: &Host) -> PluginClient {
    let mut config = ClientConfig::new(PLUGIN_ID, VERSION, CODE);
    config.endpoint = Endpoint::Local(host.endpoint().to_path_buf());
    let (plugin, runner) = PluginClient::new(config);
    smol::spawn(runner).detach();
    within(async {
        loop {
            match plugin.next_event().await {
                Some(ClientEvent::Connected(_)) => break,
                Some(_) => {}
                None => panic!("the plugin stopped before connecting"),
            }
        }
    });
    plugin
}

fn within<T>(future: impl Future<Output = T>) -> T {
    smol::block_on(future::or(future, async {
        async_io::Timer::after(Duration::from_secs(10)).await;
        panic!("not done within 10 s");
    }))
}

fn write(plugin: &PluginClient, value: &str, if_version: Option<u32>) -> Answer {
    let setting = Settings {
        setting_name: "theme".into(),
        setting_value: value.into(),
        if_version,
        ..Settings::default()
    };
    within(plugin.send_message_with_callback(setting, Duration::from_secs(5))).unwrap()
}

/// The setting an answer carries: its value and version.
fn setting(answer: &Answer) -> (String, u32) {
    assert_eq!(
        answer.response.result(),
        ResponseCode::Success,
        "{answer:?}"
    );
    match &answer.message {
        Some(Message::Settings(setting)) => {
            (setting.setting_value.clone(), setting.version.unwrap())
        }
        other => panic!("expected Settings, got {other:?}"),
    }
}

fn read(plugin: &PluginClient) -> (String, u32) {
    let request = SettingsRequest {
        setting_name: "theme".into(),
    };
    let answer = within(plugin.send_message_with_callback(request, Duration::from_secs(5)));
    setting(&answer.unwrap())
}

#[test]
fn a_write_at_the_version_read_is_stored_with_the_next_version() {
    let (_host, _data, plugin) = host_and_plugin();
    assert_eq!(
        setting(&write(&plugin, "dark", Some(0))),
        ("dark".into(), 1)
    );
    assert_eq!(
        setting(&write(&plugin, "light", Some(1))),
        ("light".into(), 2)
    );
    assert_eq!(read(&plugin), ("light".into(), 2));
}

#[test]
fn a_write_from_a_stale_cache_is_refused_conflict_and_changes_nothing() {
    let (_host, _data, plugin) = host_and_plugin();
    write(&plugin, "dark", Some(0));
    // Another writer (another instance of the plugin, say) moves the setting on.
    write(&plugin, "newer", Some(1));
    let stale = write(&plugin, "stale", Some(1));
    assert_eq!(stale.response.result(), ResponseCode::Conflict);
    assert!(
        stale.response.what.contains("version 2, not 1"),
        "{}",
        stale.response.what
    );
    assert_eq!(read(&plugin), ("newer".into(), 2));
    // "Only if never set" is refused too once it is set.
    assert_eq!(
        write(&plugin, "x", Some(0)).response.result(),
        ResponseCode::Conflict
    );
}

#[test]
fn a_plugin_that_knows_only_the_seed_keeps_last_writer_wins() {
    let (_host, _data, plugin) = host_and_plugin();
    write(&plugin, "dark", Some(0));
    assert_eq!(setting(&write(&plugin, "seed", None)), ("seed".into(), 2));
    assert_eq!(
        setting(&write(&plugin, "seed again", None)),
        ("seed again".into(), 3)
    );
}

#[test]
fn saved_data_after_a_reconnect_carries_each_version() {
    let (host, _data, plugin) = host_and_plugin();
    write(&plugin, "dark", None);
    write(&plugin, "darker", None);
    plugin.disconnect();
    within(plugin.wait_for_disconnect());
    let again = connect(&host);
    // SavedData follows the hello.
    let saved = within(async {
        loop {
            match again.next_event().await {
                Some(ClientEvent::Notification(Message::SavedData(saved))) => return saved,
                Some(_) => continue,
                None => panic!("the plugin stopped"),
            }
        }
    });
    assert_eq!(saved.settings.len(), 1);
    assert_eq!(saved.settings[0].setting_value, "darker");
    assert_eq!(saved.settings[0].version, Some(2));
}

/// Removing a plugin keeps its settings, as package managers keep configuration on remove: a
/// later install of the same id finds them.
#[test]
fn a_removed_plugin_finds_its_settings_when_installed_again() {
    let (host, _data, plugin) = host_and_plugin();
    write(&plugin, "dark", Some(0));
    smol::block_on(host.uninstall(PLUGIN_ID)).unwrap();
    host.add_external(media_manifest(), CODE).unwrap();
    let again = connect(&host);
    assert_eq!(read(&again), ("dark".into(), 1));
}

#[test]
fn a_purged_plugin_leaves_no_settings_behind() {
    let (host, _data, plugin) = host_and_plugin();
    write(&plugin, "dark", Some(0));
    smol::block_on(host.purge(PLUGIN_ID)).unwrap();
    assert!(host.plugins().is_empty());
    assert_eq!(host.settings().get(PLUGIN_ID, "theme").unwrap(), None);
}
