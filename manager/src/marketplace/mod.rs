//! The marketplace bridge (seed chapters 10-11): a loopback WebSocket that the marketplace web
//! view opens, speaking the `"MessageName <json>"` lines of [`line`](mod@line).
//!
//! Each open view gets `MPInstalledPlugins` whenever the plugin list changes or a plugin asks
//! for a login (seed 11.1), answers to its `MPGetInstalledPlugins`, and an `MPError` line for a
//! request that cannot be read or carried out; the connection stays open. The listener admits
//! browser pages only from the origins in
//! [`FrontEndConfig::marketplace_options`](crate::FrontEndConfig), as the plugin WebSocket does,
//! and only a client presenting the owner's credential (as the admin port asks it; a web view,
//! whose WebSocket cannot send a header, gets `?token=` in its address, and the console sends
//! its cookie). What a client can hold is bounded: [`MAX_VIEWS`] open views, [`MAX_UPGRADING`]
//! upgrades in progress (a newcomer drops the one waiting longest), each within
//! [`UPGRADE_TIMEOUT`](logi_plugin_transports::ws::UPGRADE_TIMEOUT).

pub mod line;

use std::net::TcpStream;

use async_io::Async;
use futures_lite::{StreamExt, future};
use logi_plugin_core::proto::manager::PluginInstallationEvent;
use logi_plugin_core::proto::marketplace::{PluginInfo, PluginInstallation};
use logi_plugin_core::proto::plugin::log_event::LogLevel;
use logi_plugin_transports::listener::MAX_UPGRADING;
use logi_plugin_transports::ws::{Admission, Refusal, WsIncoming, WsListener};
use tungstenite::Message as WsMessage;

use crate::bounds::{AcceptFailures, Crowd, Slot, Slots};
use crate::credential::Credential;
use crate::host::{Host, HostError, HostEvent};
use line::MarketRequest;

type View = async_tungstenite::WebSocketStream<Async<TcpStream>>;

/// How many marketplace views may be open at once; past that a new one is closed with an
/// `MPError` line saying why.
pub const MAX_VIEWS: usize = 16;

/// The marketplace listener's check of each upgrade: the owner's credential.
pub(crate) fn admission(credential: Credential) -> Admission {
    Admission::new(move |request| {
        credential
            .check(request.headers(), request.uri().query())
            .map_err(|reason| Refusal {
                status: 401,
                reason,
            })
    })
}

/// Accepts marketplace views until cancelled, each served in its own task.
pub(crate) async fn accept(host: Host, listener: WsListener) {
    let views = Slots::new(MAX_VIEWS);
    let mut upgrading = Crowd::new(MAX_UPGRADING);
    let mut failures = AcceptFailures::new("marketplace views");
    loop {
        let incoming = match listener.accept().await {
            Ok(incoming) => incoming,
            Err(error) => {
                failures.failed(&host.config().log, &error).await;
                continue;
            }
        };
        failures.succeeded(&host.config().log);
        let upgrade = smol::spawn(upgrade(host.clone(), incoming, views.clone()));
        if upgrading.join(upgrade) {
            let what = format!(
                "{MAX_UPGRADING} marketplace connections were waiting for their upgrade: the \
                 oldest was dropped"
            );
            host.log_host(LogLevel::Warning, &what);
        }
    }
}

/// Completes one view's upgrade (within its time limit,
/// [`UPGRADE_TIMEOUT`](logi_plugin_transports::ws::UPGRADE_TIMEOUT)), then serves it in a task
/// of its own (so that it no longer counts as waiting).
async fn upgrade(host: Host, incoming: WsIncoming, views: Slots) {
    match incoming.upgrade_stream().await {
        Ok(mut view) => match views.take() {
            Some(slot) => smol::spawn(async move { serve_view(&host, view, slot).await }).detach(),
            None => {
                let what = format!("{MAX_VIEWS} marketplace views are open already: close one");
                let _ = view.send(WsMessage::text(line::error("", &what))).await;
                let _ = view.close(None).await;
            }
        },
        Err(error) => host.log_host(
            LogLevel::Warning,
            &format!("marketplace view refused: {error}"),
        ),
    }
}

/// What woke a view's loop.
enum Next {
    Line(Option<Result<WsMessage, tungstenite::Error>>),
    Host(Option<HostEvent>),
    Reply(String),
}

/// Serves one view until it closes; its slot is free again then.
async fn serve_view(host: &Host, mut view: View, _slot: Slot) {
    let (_, events) = host.watch();
    // Requests that take time (installs) run on their own and send their error line here.
    let (reply_tx, replies) = async_channel::unbounded::<String>();
    loop {
        let next = future::or(
            async { Next::Line(view.next().await) },
            future::or(
                async {
                    let event = future::or(async { events.recv().await.ok() }, async {
                        host.closed().await;
                        None
                    });
                    Next::Host(event.await)
                },
                async { Next::Reply(replies.recv().await.expect("we hold a sender")) },
            ),
        )
        .await;
        let out = match next {
            Next::Line(None | Some(Err(_)) | Some(Ok(WsMessage::Close(_)))) => return,
            Next::Line(Some(Ok(WsMessage::Text(text)))) => {
                match line::parse_request(text.as_str()) {
                    Ok(MarketRequest::GetInstalledPlugins) => Some(installed(host)),
                    Ok(request) => {
                        let (host, reply) = (host.clone(), reply_tx.clone());
                        smol::spawn(async move {
                            if let Some(error) = carry_out(&host, request).await {
                                let _ = reply.send(error).await;
                            }
                        })
                        .detach();
                        None
                    }
                    Err(error) => Some(line::line_error(&error)),
                }
            }
            Next::Line(Some(Ok(WsMessage::Binary(_)))) => Some(line::error(
                "",
                "binary messages carry nothing here: send \"MessageName <json>\" as text",
            )),
            Next::Line(Some(Ok(_))) => None,
            // The host is shutting down: the view is closed.
            Next::Host(None) => {
                let _ = view.close(None).await;
                return;
            }
            Next::Host(Some(event)) => changes_list(&event).then(|| installed(host)),
            Next::Reply(line) => Some(line),
        };
        if let Some(out) = out
            && view.send(WsMessage::text(out)).await.is_err()
        {
            return;
        }
    }
}

/// Whether an event changes what `MPInstalledPlugins` says.
fn changes_list(event: &HostEvent) -> bool {
    match event {
        HostEvent::Installation(notice) => matches!(
            notice.event(),
            PluginInstallationEvent::InstallationCompleted
                | PluginInstallationEvent::UninstallationCompleted
                | PluginInstallationEvent::UninstallAllCompleted
        ),
        HostEvent::LoginRequired { .. } => true,
        _ => false,
    }
}

/// Installs, updates or logs in; the error line if it failed.
async fn carry_out(host: &Host, request: MarketRequest) -> Option<String> {
    let (name, result) = match request {
        MarketRequest::GetInstalledPlugins => return Some(installed(host)),
        MarketRequest::InstallPlugin(info) => (
            "MPInstallPlugin",
            host.install_from_source(&info.plugin_id, info.version.as_deref())
                .await
                .map(drop)
                .map_err(|error| error.to_string()),
        ),
        MarketRequest::UpdatePlugin(info) => (
            "MPUpdatePlugin",
            update(host, &info).await.map_err(|error| error.to_string()),
        ),
        MarketRequest::Login(info) => ("MPLogin", login(host, &info.plugin_id).await),
    };
    result.err().map(|error| line::error(name, &error))
}

/// Starts a plugin's login; a refusal by the plugin is an error too.
async fn login(host: &Host, plugin_id: &str) -> Result<(), String> {
    let answer = host.login(plugin_id).await.map_err(|e| e.to_string())?;
    if answer.response.is_ok() {
        return Ok(());
    }
    let code = answer.response.result().as_str_name();
    Err(format!(
        "plugin {plugin_id:?} refused the login: {code} {}",
        answer.response.what
    ))
}

/// Replaces an installed plugin from the package source.
async fn update(host: &Host, info: &PluginInfo) -> Result<(), HostError> {
    if host.plugin(&info.plugin_id).is_none() {
        return Err(HostError::UnknownPlugin(info.plugin_id.clone()));
    }
    host.install_from_source(&info.plugin_id, info.version.as_deref())
        .await
        .map(drop)
}

/// `MPInstalledPlugins` with every plugin the host knows.
fn installed(host: &Host) -> String {
    let installed_plugins = host
        .plugins()
        .into_iter()
        .map(|plugin| PluginInfo {
            plugin_id: plugin.manifest.plugin_id,
            version: Some(plugin.manifest.version.to_string()),
            login_required: Some(plugin.login_required),
            description: Some(plugin.manifest.description),
        })
        .collect();
    line::installed_plugins(&PluginInstallation { installed_plugins })
}
