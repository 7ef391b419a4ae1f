//! The host's side of each plugin session: settings (seed 5.2-5.3), logs (5.4) and the statuses
//! a plugin sends on its own. The session itself (hello, heartbeat, limits) is the core's; a
//! session whose peer turns out to be the client library is served by [`super::library`].

use std::sync::Arc;

use futures_lite::future;
use logi_plugin_core::proto::manager::{ContainerState, InstallationType, LogSource};
use logi_plugin_core::proto::plugin::PluginHello;
use logi_plugin_core::proto::plugin::log_event::LogLevel;
use logi_plugin_core::proto::plugin::{SavedData, Settings};
use logi_plugin_core::session::{Event, Peer, Reply};
use logi_plugin_core::{Message, ResponseCode};
use logi_plugin_transports::lock::lock;
use logi_plugin_transports::{ManagerConnection, ManagerListener};

use super::shared::Shared;
use crate::bounds::AcceptFailures;
use crate::settings::{Conflict, Stored};

/// Accepts connections for as long as the host runs; sessions accepted after a language change
/// announce the new language. A failing listening socket (out of descriptors, say) is retried
/// by the listener after a growing pause; the log says so once when a run of failures starts
/// and once when it ends.
pub(super) async fn accept(
    shared: Arc<Shared>,
    mut listener: ManagerListener,
    languages: async_channel::Receiver<String>,
) {
    let mut recorded: u64 = 0;
    let mut failures = AcceptFailures::new("plugins");
    loop {
        // A language change is taken first, so that no session accepted after it announces the
        // old language; `accept` keeps its progress in the listener, so losing the race to it
        // loses no connection.
        let language = async { Err(languages.recv().await) };
        let accepted = match future::or(language, async { Ok(listener.accept().await) }).await {
            Ok(accepted) => accepted,
            Err(Ok(language)) => {
                listener.config_mut().language_code = language;
                continue;
            }
            // The host is gone; its shutdown cancels this task.
            Err(Err(_)) => listener.accept().await,
        };
        match accepted {
            Ok((connection, driver)) => {
                failures.succeeded(&shared.config.log);
                recorded += 1;
                match record_to(&shared, recorded) {
                    Some(sink) => smol::spawn(driver.record(sink)).detach(),
                    None => smol::spawn(driver).detach(),
                }
                smol::spawn(serve(shared.clone(), connection)).detach();
            }
            // The listener pauses before it tries the failing socket again.
            Err(error) => failures.note(&shared.config.log, &error),
        }
    }
}

/// The file the `n`th session is recorded in, when the host records sessions; a folder that
/// cannot be written is reported and the session runs unrecorded.
fn record_to(shared: &Shared, n: u64) -> Option<std::io::BufWriter<std::fs::File>> {
    let dir = shared.config.record_dir.as_ref()?;
    let path = dir.join(format!("session-{n}.logirec"));
    let opened = std::fs::create_dir_all(dir).and_then(|()| std::fs::File::create(&path));
    match opened {
        Ok(file) => Some(std::io::BufWriter::new(file)),
        Err(error) => {
            let message = format!("cannot record into {}: {error}", path.display());
            shared.config.log.write(None, LogLevel::Warning, &message);
            None
        }
    }
}

/// Serves one session, a plugin's or the client library's, until it closes.
async fn serve(shared: Arc<Shared>, connection: ManagerConnection) {
    match connection.next_event().await {
        Some(Event::Connected(Peer::Plugin(hello))) => {
            serve_plugin(shared, connection, hello).await
        }
        Some(Event::Connected(Peer::Client(hello))) => {
            super::library::serve(shared, connection, hello).await;
        }
        _ => {}
    }
}

/// Serves one plugin's session until it closes.
async fn serve_plugin(shared: Arc<Shared>, connection: ManagerConnection, hello: PluginHello) {
    let plugin_id = hello.plugin_id;
    let connected = connection.clone();
    let version = hello.plugin_version;
    // Each (re)connection in the plugin's log, with the language its texts are now in: a change
    // of language reconnects it.
    let note = format!(
        "connected: version {version}, language {}",
        lock(&shared.language)
    );
    let Some(installation) = shared.core(|core| core.connected(&plugin_id, connected, version))
    else {
        return;
    };
    shared.log(&plugin_id, LogLevel::Info, note);
    // The host runs no container for an EXTERNAL plugin: its state stays `NOT_APPLICABLE`.
    if installation != InstallationType::External {
        shared.set_state(&plugin_id, ContainerState::Running);
        shared.install_done(&plugin_id, None);
    }
    match shared.settings.all(&plugin_id) {
        Ok(settings) => {
            let settings = settings
                .into_iter()
                .map(|(name, stored)| stored_setting(name, stored))
                .collect();
            let _ = connection.notify(SavedData { settings }).await;
        }
        Err(error) => shared.log(&plugin_id, LogLevel::Error, error.to_string()),
    }
    // Its own task: the plugin may send requests of its own before it answers.
    let resync = super::views::resync(shared.clone(), plugin_id.clone(), connection.clone());
    smol::spawn(resync).detach();
    while let Some(event) = connection.next_event().await {
        if let Event::Request { message, .. } | Event::Notification { message } = &event {
            shared.core(|core| {
                if let Some(plugin) = core.plugin_mut(&plugin_id) {
                    plugin.diagnostics.heard(message.full_name());
                }
            });
        }
        match event {
            Event::Request { id, message } => {
                let reply = answer(&shared, &plugin_id, message);
                let _ = connection.respond(id, reply).await;
            }
            Event::Notification { message } => notice(&shared, &plugin_id, message),
            Event::Closed(reason) => {
                let level = LogLevel::Info;
                shared.log(&plugin_id, level, format!("session closed: {reason}"));
                // Marked before it is told, so that a subscriber asking finds it gone; not told
                // at all when a newer session has already taken this one's place.
                shared.core(|core| core.disconnected(&plugin_id, reason.to_string()));
            }
            _ => {}
        }
    }
    // The session may end without a `Closed` (its driver gone).
    shared.core(|core| core.forget_session(&plugin_id));
}

/// The host's answer to a plugin's request.
fn answer(shared: &Shared, plugin_id: &str, message: Message) -> Reply {
    match message {
        Message::Settings(setting) => write_setting(shared, plugin_id, setting),
        Message::SettingsRequest(request) => {
            match shared.settings.get(plugin_id, &request.setting_name) {
                Ok(Some(stored)) => {
                    Reply::Message(stored_setting(request.setting_name, stored).into())
                }
                Ok(None) => Reply::Error(
                    ResponseCode::NotFound,
                    format!("no setting {:?} was ever stored", request.setting_name),
                ),
                Err(error) => Reply::Error(ResponseCode::Faulted, error.to_string()),
            }
        }
        Message::LogEvent(_) => {
            notice(shared, plugin_id, message);
            Reply::Ok
        }
        other => Reply::Error(
            ResponseCode::NotImplemented,
            format!(
                "the host does not handle {}",
                other.message_type().full_name()
            ),
        ),
    }
}

/// Stores a plugin's setting: whatever its version (a plugin written for the seed), or only if
/// it is still at the version the plugin names (`CONFLICT` otherwise). The answer carries the
/// new version.
fn write_setting(shared: &Shared, plugin_id: &str, setting: Settings) -> Reply {
    let Settings {
        setting_name: name,
        setting_value: value,
        if_version,
        ..
    } = setting;
    let written = match if_version {
        None => shared.settings.set(plugin_id, &name, &value).map(Ok),
        Some(expected) => shared.settings.set_if(plugin_id, &name, &value, expected),
    };
    match written {
        Ok(Ok(version)) => {
            let stored = Stored { value, version };
            Reply::Message(stored_setting(name, stored).into())
        }
        Ok(Err(Conflict { current })) => {
            let found = current.map_or(0, |stored| stored.version);
            let what = format!(
                "setting {name:?} is at version {found}, not {}: read it again before writing",
                if_version.unwrap_or_default()
            );
            Reply::Error(ResponseCode::Conflict, what)
        }
        Err(error) => Reply::Error(ResponseCode::Faulted, error.to_string()),
    }
}

/// A stored setting as the manager sends it, with its version.
fn stored_setting(setting_name: String, stored: Stored) -> Settings {
    Settings {
        setting_name,
        setting_value: stored.value,
        version: Some(stored.version),
        if_version: None,
    }
}

/// A message from a plugin that needs no answer.
fn notice(shared: &Shared, plugin_id: &str, message: Message) {
    match message {
        Message::LogEvent(log) => {
            let level = log.log_level();
            shared.log_from(plugin_id, LogSource::Plugin, level, log.message);
        }
        message @ (Message::ActionCellStatus(_) | Message::AnalogControlStatus(_)) => {
            shared.core(|core| core.status_reported(plugin_id, message));
        }
        message => shared.core(|core| core.remember_login(plugin_id, &message)),
    }
}
