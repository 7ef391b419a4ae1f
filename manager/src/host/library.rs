//! The host's side of a client library session (seed chapter 9): each call of the configuration
//! software becomes the [`Host`] operation it names, and the host's events go out to it as they
//! happen (installation events, plugins available and removed, action states).
//!
//! Calls are answered each in its own task, so a long install never holds up a `plugin_list`.
//! A call the host cannot carry out is answered with the seed's error code and the reason; a
//! plugin's own answer (its status, or its refusal) comes back inside `PluginUpdateResult`.
//!
//! Beyond the seed, a session may ask for a plugin's recent log and follow it
//! (`GetPluginLog`): the session then also gets each new line of that plugin as a
//! `PluginLogLine`, and no other session does.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use futures_lite::future;
use logi_plugin_core::proto::manager::{
    ActionConfiguration, ActionConfigurationRequest, AnalogControlId, ClientHello, DevelopmentMode,
    InstallPlugin, Invoke, PluginInstallationEvent, PluginList, PluginLog, PluginRemoved,
    PluginUpdateResult, PluginUpdateResultList, SetActionConfiguration, VisibilityUpdate, invoke,
    plugin_update_result,
};
use logi_plugin_core::proto::plugin::log_event::LogLevel;
use logi_plugin_core::proto::plugin::update_analog_control::UpdateType;
use logi_plugin_core::proto::plugin::{
    GetAnalogControlValue, Logout, PluginActionConfigurationResponse,
    PluginActionConfigurationSchemeRequest, ReleaseAction, TriggerAction, UpdateAnalogControl,
    VisibilityChanged,
};
use logi_plugin_core::session::{Event, Reply};
use logi_plugin_core::{Message, ResponseCode, ResponseInfo};
use logi_plugin_transports::{Answer, ManagerConnection};

use super::install::Unpacked;
use super::shared::Shared;
use super::{Host, HostError, HostEvent};
use logi_plugin_package::PackageError;
use logi_plugin_transports::lock::lock;

/// Serves one client library session until it closes.
pub(super) async fn serve(shared: Arc<Shared>, connection: ManagerConnection, hello: ClientHello) {
    let host = Host { shared };
    let who = format!(
        "client library {} {}",
        hello.client_name, hello.client_version
    );
    let log = |message: String| host.shared.config.log.write(None, LogLevel::Info, &message);
    log(format!("{who} connected"));
    lock(&host.shared.clients).push(connection.clone());
    let events = host.subscribe();
    // The plugins whose log this session follows.
    let follows = Mutex::new(HashSet::new());
    let forward = async {
        while let Ok(event) = events.recv().await {
            for message in notices(&host, event, &follows) {
                if connection.notify(message).await.is_err() {
                    return;
                }
            }
        }
    };
    let calls = async {
        while let Some(event) = connection.next_event().await {
            match event {
                Event::Request { id, message } => {
                    // Followed before the call reads the recent lines, so that no line falls
                    // between the answer and the notifications.
                    if let Message::GetPluginLog(ask) = &message
                        && ask.follow
                        && host.plugin(&ask.plugin_id).is_some()
                    {
                        lock(&follows).insert(ask.plugin_id.clone());
                    }
                    let (host, connection) = (host.clone(), connection.clone());
                    smol::spawn(async move {
                        let reply = host.call(message).await;
                        let _ = connection.respond(id, reply).await;
                    })
                    .detach();
                }
                Event::Closed(reason) => log(format!("{who} disconnected: {reason}")),
                _ => {}
            }
        }
    };
    future::or(calls, forward).await;
    lock(&host.shared.clients).retain(|client| client.close_reason().is_none());
}

/// What the client library hears of a host event (seed 9.4.2 and the Kortex events; the log
/// lines of the plugins in `follows`).
fn notices(host: &Host, event: HostEvent, follows: &Mutex<HashSet<String>>) -> Vec<Message> {
    match event {
        HostEvent::Log { ref plugin_id, .. } if lock(follows).contains(plugin_id) => {
            let line = event.log_line().map(|line| line.to_proto(plugin_id));
            line.into_iter().map(Message::from).collect()
        }
        HostEvent::Installation(notice) => {
            let mut messages = Vec::new();
            match notice.event() {
                PluginInstallationEvent::InstallationCompleted => {
                    messages.extend(available(host, &notice.plugin_id));
                }
                PluginInstallationEvent::UninstallationCompleted => {
                    let plugin_id = notice.plugin_id.clone();
                    messages.push(PluginRemoved { plugin_id }.into());
                }
                _ => {}
            }
            messages.insert(0, Message::from(notice));
            messages
        }
        // A plugin that said hello has started: it is available.
        HostEvent::Connected { plugin_id, .. } => available(host, &plugin_id).into_iter().collect(),
        HostEvent::Status { plugin_id, message } => {
            vec![update_result(plugin_id, Some(message)).into()]
        }
        _ => Vec::new(),
    }
}

/// `on_plugin_available`: the plugin's details, if the host still has it.
fn available(host: &Host, plugin_id: &str) -> Option<Message> {
    let plugin = host.plugin(plugin_id)?;
    Some(plugin.details(&host.language()).into())
}

impl Host {
    /// Carries out one call of the client library (seed chapter 9), as the manager answers it
    /// over the local socket: its answer, or the seed's error code and why. The admin port's
    /// `/logi/call` carries the same calls as JSON.
    pub async fn call(&self, message: Message) -> Reply {
        match call(self, message).await {
            Ok(Some(message)) => Reply::Message(message),
            Ok(None) => Reply::Ok,
            Err((code, what)) => Reply::Error(code, what),
        }
    }
}

impl HostError {
    /// The seed's result code (chapter 6) for this failure.
    pub fn code(&self) -> ResponseCode {
        match self {
            HostError::UnknownPlugin(_) | HostError::NotInSource { .. } => ResponseCode::NotFound,
            HostError::NoPackageSource(_) => ResponseCode::InvalidArg,
            HostError::NotConnected(_) => ResponseCode::NotReady,
            HostError::CorePlugin(_) | HostError::LinkNeedsDevelopment(_) => {
                ResponseCode::Unauthorized
            }
            HostError::Taken { .. }
            | HostError::Linked { .. }
            | HostError::InstalledNotLinked(_) => ResponseCode::DuplicateName,
            HostError::Signature(_) => ResponseCode::Unauthorized,
            HostError::Package(PackageError::Io { .. }) => ResponseCode::NoSuchPath,
            HostError::Package(_) | HostError::Language(_) | HostError::IdChanged { .. } => {
                ResponseCode::InvalidArg
            }
            HostError::Request { .. } => ResponseCode::Unreachable,
            _ => ResponseCode::Faulted,
        }
    }
}

type Refusal = (ResponseCode, String);

async fn call(host: &Host, message: Message) -> Result<Option<Message>, Refusal> {
    let answer = match message {
        Message::GetPluginList(_) => {
            let language = host.language();
            let plugins = host
                .plugins()
                .iter()
                .map(|plugin| plugin.details(&language))
                .collect();
            PluginList { plugins }.into()
        }
        Message::InstallPlugin(install) => {
            install_plugin(host, install).await?;
            return Ok(None);
        }
        Message::LinkPlugin(link) => {
            let program = link.program_path.map(PathBuf::from);
            host.link(Path::new(&link.folder), program.as_deref())
                .await
                .map_err(refusal)?;
            return Ok(None);
        }
        Message::RemovePlugin(remove) => {
            let removed = if remove.purge {
                host.purge(&remove.plugin_id).await
            } else {
                host.uninstall(&remove.plugin_id).await
            };
            removed.map_err(refusal)?;
            return Ok(None);
        }
        Message::Invoke(invoke) => invoke_plugin(host, *invoke).await?.into(),
        Message::AnalogControlId(id) => action_status(host, id).await?.into(),
        Message::ActionConfigurationRequest(request) => configuration(host, *request).await?.into(),
        Message::SetActionConfiguration(form) => {
            return set_configuration(host, *form)
                .await
                .map(|c| c.map(Message::from));
        }
        Message::InvokeLogin(login) => {
            plugin_ok(host.login(&login.plugin_id).await)?;
            return Ok(None);
        }
        Message::InvokeLogout(logout) => {
            let request = Logout {
                username: logout.username,
            };
            plugin_ok(host.request(&logout.plugin_id, request).await)?;
            return Ok(None);
        }
        Message::GetDevelopmentMode(_) => DevelopmentMode {
            enabled: host.development_mode(),
        }
        .into(),
        Message::DevelopmentMode(mode) => {
            host.set_development_mode(mode.enabled);
            return Ok(None);
        }
        Message::LanguageChanged(language) => {
            host.set_language(&language.language_code)
                .map_err(refusal)?;
            return Ok(None);
        }
        Message::VisibilityUpdate(update) => set_visibility(host, update).await.into(),
        // `follow` is the session's business (`serve`); here, the lines as they are now.
        Message::GetPluginLog(ask) => {
            let lines = host.logs(&ask.plugin_id).map_err(refusal)?;
            PluginLog {
                lines: lines
                    .iter()
                    .map(|line| line.to_proto(&ask.plugin_id))
                    .collect(),
                plugin_id: ask.plugin_id,
            }
            .into()
        }
        other => {
            let what = format!("the manager does not handle {}", other.full_name());
            return Err((ResponseCode::NotImplemented, what));
        }
    };
    Ok(Some(answer))
}

/// 9.3.1: installs the package at `package_path`, which must hold `plugin_id`.
async fn install_plugin(host: &Host, install: InstallPlugin) -> Result<(), Refusal> {
    let Some(path) = install.package_path.map(PathBuf::from) else {
        host.install_from_source(&install.plugin_id, None)
            .await
            .map_err(refusal)?;
        return Ok(());
    };
    // Read and unpacked once: the plugin id is checked on the package that is installed.
    let unpacked = host.unpack_file(&path).await.map_err(refusal)?;
    let package = unpacked.package.map_err(|error| refusal(error.into()))?;
    let found = &package.manifest().plugin_id;
    if !install.plugin_id.is_empty() && *found != install.plugin_id {
        let what = format!(
            "plugin_id is {:?} but {} holds {found:?}",
            install.plugin_id,
            path.display()
        );
        return Err((ResponseCode::InvalidArg, what));
    }
    let unpacked = Unpacked {
        package: Ok(package),
        ..unpacked
    };
    host.install_unpacked(unpacked).await.map_err(refusal)?;
    Ok(())
}

/// 9.4.1: a press, a release or a turn, answered with the state the plugin reports.
async fn invoke_plugin(host: &Host, invoke: Invoke) -> Result<PluginUpdateResult, Refusal> {
    let Invoke {
        plugin_id,
        action_id,
        instance_id,
        button_state,
        rotation,
        configuration,
    } = invoke;
    let request: Message = match (invoke::ButtonState::try_from(button_state), rotation) {
        (Ok(invoke::ButtonState::Down), _) => TriggerAction {
            action_instance_id: instance_id,
            action_id,
            configuration,
        }
        .into(),
        (Ok(invoke::ButtonState::Up), _) => ReleaseAction {
            action_instance_id: instance_id,
            action_id,
            configuration,
        }
        .into(),
        (Ok(invoke::ButtonState::None), Some(rotation)) => UpdateAnalogControl {
            analog_control_id: action_id,
            instance_id,
            configuration,
            update_type: Some(match rotation {
                invoke::Rotation::Absolute(value) => UpdateType::Value(value),
                invoke::Rotation::Delta(delta) => UpdateType::Delta(delta),
            }),
        }
        .into(),
        (Ok(invoke::ButtonState::None), None) => {
            let what = "an invoke with no button state needs a rotation (absolute or delta)";
            return Err((ResponseCode::InvalidArg, what.into()));
        }
        (Err(_), _) => {
            let what = format!("button_state {button_state} is not a ButtonState");
            return Err((ResponseCode::InvalidArg, what));
        }
    };
    let answer = host.request(&plugin_id, request).await;
    plugin_result(plugin_id, answer)
}

/// 9.5.3: the latest state of an action or control instance; for a control never reported,
/// the plugin is asked.
async fn action_status(host: &Host, id: AnalogControlId) -> Result<PluginUpdateResult, Refusal> {
    if let Some(status) = host.status(&id.plugin_id, &id.instance_id) {
        return Ok(update_result(id.plugin_id, Some(status)));
    }
    let request = GetAnalogControlValue {
        analog_control_id: id.control_id,
        instance_id: id.instance_id,
        configuration: None,
    };
    let answer = host.request(&id.plugin_id, request).await;
    plugin_result(id.plugin_id, answer)
}

/// 9.5.1: the configuration form the plugin offers for an action.
async fn configuration(
    host: &Host,
    request: ActionConfigurationRequest,
) -> Result<ActionConfiguration, Refusal> {
    let ask = PluginActionConfigurationSchemeRequest {
        action_id: request.action_id,
        analog_control_id: request.analog_control_id,
        action_instance_id: request.action_instance_id,
        username: request.username,
    };
    let answer = plugin_ok(host.request(&request.plugin_id, ask).await)?;
    match answer.message {
        Some(Message::PluginActionConfigurationSchemeResponse(scheme)) => Ok(ActionConfiguration {
            plugin_id: request.plugin_id,
            scheme: Some(*scheme),
        }),
        other => Err(unexpected(&request.plugin_id, other)),
    }
}

/// 9.5.2: submits a filled form; the plugin may answer with a new form to show.
async fn set_configuration(
    host: &Host,
    form: SetActionConfiguration,
) -> Result<Option<ActionConfiguration>, Refusal> {
    let submit = PluginActionConfigurationResponse {
        action_instance_id: form.action_instance_id,
        action_id: form.action_id,
        form_result: form.form_result,
    };
    let answer = plugin_ok(host.request(&form.plugin_id, submit).await)?;
    match answer.message {
        None => Ok(None),
        Some(Message::PluginActionConfigurationSchemeResponse(scheme)) => {
            Ok(Some(ActionConfiguration {
                plugin_id: form.plugin_id,
                scheme: Some(*scheme),
            }))
        }
        other => Err(unexpected(&form.plugin_id, other)),
    }
}

/// 9.5.9: each visibility change kept and sent to its plugin, each answered in order.
async fn set_visibility(host: &Host, update: VisibilityUpdate) -> PluginUpdateResultList {
    let mut results = Vec::with_capacity(update.items.len());
    for item in update.items {
        let change = VisibilityChanged {
            control_id: item.control_id,
            action_instance_id: item.instance_id,
            visible: item.visible,
            configuration: item.configuration,
        };
        let answer = host.set_visibility(&item.plugin_id, change).await;
        let result = plugin_result(item.plugin_id.clone(), answer)
            .unwrap_or_else(|(code, what)| failed(item.plugin_id, code, what));
        results.push(result);
    }
    PluginUpdateResultList { results }
}

/// A plugin's answer as the client library sees it: its status, or why it has none. The host
/// failing to reach the plugin at all refuses the call.
fn plugin_result(
    plugin_id: String,
    answer: Result<Answer, HostError>,
) -> Result<PluginUpdateResult, Refusal> {
    let answer = answer.map_err(refusal)?;
    if !answer.response.is_ok() {
        let code = answer.response.result();
        return Ok(failed(plugin_id, code, answer.response.what));
    }
    Ok(update_result(plugin_id, answer.message))
}

/// A plugin's answer that must be a success.
fn plugin_ok(answer: Result<Answer, HostError>) -> Result<Answer, Refusal> {
    let answer = answer.map_err(refusal)?;
    if answer.response.is_ok() {
        Ok(answer)
    } else {
        Err((answer.response.result(), answer.response.what))
    }
}

/// A successful result, with the status if the answer carried one.
fn update_result(plugin_id: String, status: Option<Message>) -> PluginUpdateResult {
    let status = match status {
        Some(Message::ActionCellStatus(status)) => {
            Some(plugin_update_result::Status::ActionStatus(*status))
        }
        Some(Message::AnalogControlStatus(status)) => {
            Some(plugin_update_result::Status::AnalogControlStatus(*status))
        }
        _ => None,
    };
    PluginUpdateResult {
        plugin_id,
        result: Some(ResponseInfo::ok()),
        status,
    }
}

fn failed(plugin_id: String, code: ResponseCode, what: String) -> PluginUpdateResult {
    PluginUpdateResult {
        plugin_id,
        result: Some(ResponseInfo::error(code, what)),
        status: None,
    }
}

fn unexpected(plugin_id: &str, message: Option<Message>) -> Refusal {
    let what = match message {
        Some(message) => format!("plugin {plugin_id:?} answered {}", message.full_name()),
        None => format!("plugin {plugin_id:?} answered with no message"),
    };
    (ResponseCode::Faulted, what)
}

/// The seed's error code for a host error, with its message.
fn refusal(error: HostError) -> Refusal {
    (error.code(), error.to_string())
}
