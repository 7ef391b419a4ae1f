//! What each plugin is shown (seed 5.13, 9.5.9), kept across its sessions: when a plugin
//! connects again (a missed heartbeat, a host restart, a machine back from sleep), it is sent
//! one `VisibilityChangedList` that brings it to the instances its client wants visible, with
//! their configuration, as if the connection had never dropped.
//!
//! The host keeps two views per plugin, in memory and in the settings database: `shown`, what
//! the client library asked for, and `told`, what the plugin may hold as visible (every instance
//! ever sent to it as visible, until it acknowledges a hide). The resync hides what is in `told`
//! but not in `shown`, then shows all of `shown` ([`View::resync`]).
//!
//! A change is kept even when the plugin is not connected, so that it gets it when it connects.
//! Changes and resyncs to one plugin take turns, so that the plugin gets them in the order they
//! were made.

use std::sync::Arc;

use logi_plugin_core::proto::plugin::log_event::LogLevel;
use logi_plugin_core::proto::plugin::{VisibilityChanged, VisibilityChangedList};
use logi_plugin_core::view::View;
use logi_plugin_transports::{Answer, ManagerConnection};

use super::HostError;
use super::core::Views;
use super::shared::Shared;

/// Changes what `plugin_id` is shown and tells it, with the plugin's answer. A plugin that is
/// not connected gets the change when it connects; the call is then `NotConnected`.
pub(super) async fn change(
    shared: &Shared,
    plugin_id: &str,
    change: VisibilityChanged,
) -> Result<Answer, HostError> {
    let turn = turn(shared, plugin_id)?;
    let _turn = turn.lock().await;
    let connection = update(shared, plugin_id, |views| {
        views.shown.apply(&change);
        if change.visible {
            views.told.apply(&change);
        }
    })?
    .1
    .ok_or_else(|| HostError::NotConnected(plugin_id.into()))?;
    let hide = (!change.visible).then(|| change.clone());
    let answer = shared.ask(plugin_id, &connection, change).await?;
    if let Some(hide) = hide
        && answer.response.is_ok()
    {
        update(shared, plugin_id, |views| views.told.apply(&hide))?;
    }
    Ok(answer)
}

/// Brings a plugin that has just connected on `connection` to what it is shown; nothing is sent
/// when it is shown nothing and holds nothing.
pub(super) async fn resync(shared: Arc<Shared>, plugin_id: String, connection: ManagerConnection) {
    let Ok(turn) = turn(&shared, &plugin_id) else {
        return;
    };
    let _turn = turn.lock().await;
    let prepared = update(&shared, &plugin_id, |views| {
        let list = views.shown.resync(&views.told);
        for show in views.shown.shown() {
            views.told.apply(&show);
        }
        (list, views.shown.clone())
    });
    let Ok(((list, sent), _)) = prepared else {
        return;
    };
    if list.visibility.is_empty() {
        return;
    }
    let (level, what) = match shared.ask(&plugin_id, &connection, list.clone()).await {
        Ok(answer) if answer.response.is_ok() => {
            // Hides the plugin acknowledged leave `told`; shows made meanwhile waited their turn.
            let _ = update(&shared, &plugin_id, |views| views.told = sent);
            (LogLevel::Info, format!("resynced: {}", summary(&list)))
        }
        Ok(answer) => (
            LogLevel::Warning,
            format!(
                "the plugin refused the resync ({}): {}",
                answer.response.result().as_str_name(),
                answer.response.what
            ),
        ),
        // Its session is gone; the next one resyncs.
        Err(error) => (LogLevel::Info, format!("resync not answered: {error}")),
    };
    shared.log(&plugin_id, level, what);
}

/// "2 shown, 1 hidden".
fn summary(list: &VisibilityChangedList) -> String {
    let shown = list
        .visibility
        .iter()
        .filter(|change| change.visible)
        .count();
    let hidden = list.visibility.len() - shown;
    format!("{shown} shown, {hidden} hidden")
}

/// The plugin's turn, for changes and resyncs to take one at a time.
fn turn(shared: &Shared, plugin_id: &str) -> Result<Arc<smol::lock::Mutex<()>>, HostError> {
    shared.with_plugin(plugin_id, |plugin| plugin.views.turn.clone())
}

/// What the client asked `plugin_id` to be shown.
pub(super) fn shown(shared: &Shared, plugin_id: &str) -> Result<View, HostError> {
    load(shared, plugin_id)?;
    shared.with_plugin(plugin_id, |plugin| plugin.views.shown.clone())
}

/// Reads the plugin's views from the database, the first time.
fn load(shared: &Shared, plugin_id: &str) -> Result<(), HostError> {
    if shared.with_plugin(plugin_id, |plugin| plugin.views.loaded)? {
        return Ok(());
    }
    let (shown, told) = shared.settings.views(plugin_id)?;
    shared.with_plugin(plugin_id, |plugin| {
        // Another reader may have loaded them meanwhile, and a change followed.
        let views = &mut plugin.views;
        if !views.loaded {
            (views.shown, views.told, views.loaded) = (shown, told, true);
        }
    })
}

/// Applies `edit` to the plugin's views and saves them; what `edit` returned, and the plugin's
/// connection if it has one. Only the holder of the plugin's turn calls this, so saves land in
/// the order the edits were made.
fn update<R>(
    shared: &Shared,
    plugin_id: &str,
    edit: impl FnOnce(&mut Views) -> R,
) -> Result<(R, Option<ManagerConnection>), HostError> {
    load(shared, plugin_id)?;
    let (result, connection, shown, told) = shared.with_plugin(plugin_id, |plugin| {
        let result = edit(&mut plugin.views);
        let views = &plugin.views;
        let connection = plugin.connection.clone();
        (result, connection, views.shown.clone(), views.told.clone())
    })?;
    if let Err(error) = shared.settings.save_views(plugin_id, &shown, &told) {
        // The views in memory still serve this host's life; a restart would lose the change.
        let what = format!("what the plugin is shown was not saved: {error}");
        shared.log(plugin_id, LogLevel::Error, what);
    }
    Ok((result, connection))
}
