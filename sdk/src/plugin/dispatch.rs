//! The manager's requests turned into calls of the plugin's handlers, and their statuses into
//! answers; pure (no IO, no clock), so the run loop and the mock host share it. A call works on
//! a copy of the settings; what it changed becomes the writes of its [`Outcome`], and the copy
//! is kept ([`Dispatch::commit`]) only once the manager has stored them.

use std::collections::HashMap;

use logi_plugin_core::proto::plugin::update_analog_control::UpdateType;
use logi_plugin_core::proto::plugin::{
    ActionCellStatus, AnalogControlStatus, AnalogControlStatusList, ManagerHello,
    PluginActionConfigurationSchemeResponse, SavedData, Settings, UserInfo, UserInfoList,
    VisibilityChanged, action_cell_status, analog_control_status,
};
use logi_plugin_core::session::Reply;
use logi_plugin_core::{Message, MessageType, ResponseCode};

use super::handler::{Action, AnalogControl, Cx, Image, Login, Refusal, Status, Turn};
use super::settings::{Instances, PLUGIN_SETTING, Stored, decode, encode, instance_setting};

/// What the plugin's settings must be: read from and written to JSON, with a default for a
/// plugin that has none stored yet.
pub trait PluginSettings:
    serde::Serialize + serde::de::DeserializeOwned + Default + Clone + Send + 'static
{
}

impl<T> PluginSettings for T where
    T: serde::Serialize + serde::de::DeserializeOwned + Default + Clone + Send + 'static
{
}

/// The plugin's handlers, and what it knows of the manager.
pub(super) struct Dispatch<S> {
    stored: Stored,
    settings: S,
    language: String,
    actions: HashMap<&'static str, Box<dyn ActionHandler<S>>>,
    controls: HashMap<&'static str, Box<dyn ControlHandler<S>>>,
    login: Option<Box<dyn Login<S>>>,
}

/// A request handled: its answer, the settings to store before the answer leaves, and the
/// plugin's settings as the call left them.
pub(super) struct Outcome<S> {
    pub(super) reply: Reply,
    pub(super) writes: Vec<Settings>,
    pub(super) settings: S,
}

impl<S: PluginSettings> Dispatch<S> {
    pub(super) fn new() -> Dispatch<S> {
        Dispatch {
            stored: Stored::default(),
            settings: S::default(),
            language: "en-US".into(),
            actions: HashMap::new(),
            controls: HashMap::new(),
            login: None,
        }
    }

    pub(super) fn set_login<L: Login<S>>(&mut self, login: L) {
        self.login = Some(Box::new(login));
    }

    pub(super) fn add_action<A: Action<S>>(&mut self, action: A) {
        self.actions.insert(A::ID, Box::new(action));
    }

    pub(super) fn add_control<C: AnalogControl<S>>(&mut self, control: C) {
        self.controls.insert(C::ID, Box::new(control));
    }

    /// The controls and their buffers' keys, for the session's control buffering.
    pub(super) fn buffering(&self) -> Vec<(String, String)> {
        self.controls
            .iter()
            .filter_map(|(id, control)| Some((id.to_string(), control.buffer()?.to_string())))
            .collect()
    }

    /// The requests the plugin answers; the session answers any other `NOT_IMPLEMENTED`.
    pub(super) fn handles(&self) -> Vec<MessageType> {
        let mut handles = vec![
            MessageType::VisibilityChanged,
            MessageType::VisibilityChangedList,
            MessageType::PluginActionConfigurationSchemeRequest,
            MessageType::PluginActionConfigurationResponse,
        ];
        if !self.actions.is_empty() {
            handles.extend([MessageType::TriggerAction, MessageType::ReleaseAction]);
        }
        if !self.controls.is_empty() {
            handles.extend([
                MessageType::UpdateAnalogControl,
                MessageType::GetAnalogControlValue,
            ]);
        }
        if self.login.is_some() {
            handles.extend([
                MessageType::InitLogin,
                MessageType::OauthResponse,
                MessageType::Logout,
                MessageType::GetUserInfoList,
            ]);
        }
        handles
    }

    /// The manager said hello: its language from now on.
    pub(super) fn connected(&mut self, hello: &ManagerHello) {
        if !hello.language_code.is_empty() {
            self.language.clone_from(&hello.language_code);
        }
    }

    /// Everything the manager holds for the plugin (after each hello).
    pub(super) fn saved(&mut self, saved: &SavedData) {
        self.stored.replace(saved);
        self.settings = decode(self.stored.value(PLUGIN_SETTING));
    }

    /// One setting as the manager now holds it.
    pub(super) fn stored(&mut self, setting: &Settings) {
        self.stored.set(setting);
        if setting.setting_name == PLUGIN_SETTING {
            self.settings = decode(Some(&setting.setting_value));
        }
    }

    /// Keeps the settings a call left, once the manager has stored its writes.
    pub(super) fn commit(&mut self, settings: S) {
        self.settings = settings;
    }

    /// Answers a request of the manager.
    pub(super) fn handle(&mut self, message: &Message) -> Outcome<S> {
        let mut call = Call {
            stored: &self.stored,
            settings: self.settings.clone(),
            language: &self.language,
            writes: Vec::new(),
        };
        let reply = match message {
            Message::TriggerAction(m) => match self.actions.get_mut(m.action_id.as_str()) {
                Some(a) => call.action(a, &m.action_instance_id, |a, cx| a.key_down(cx)),
                None => unknown("action", &m.action_id),
            },
            Message::ReleaseAction(m) => match self.actions.get_mut(m.action_id.as_str()) {
                Some(a) => call.action(a, &m.action_instance_id, |a, cx| a.key_up(cx)),
                None => unknown("action", &m.action_id),
            },
            Message::UpdateAnalogControl(m) => {
                let turn = match m.update_type {
                    Some(UpdateType::Delta(delta)) => Turn { delta, value: None },
                    Some(UpdateType::Value(value)) => Turn {
                        delta: 0.0,
                        value: Some(value),
                    },
                    None => Turn {
                        delta: 0.0,
                        value: None,
                    },
                };
                match self.controls.get_mut(m.analog_control_id.as_str()) {
                    Some(c) => call.control(c, &m.instance_id, |c, cx| c.turned(cx, turn)),
                    None => unknown("control", &m.analog_control_id),
                }
            }
            Message::GetAnalogControlValue(m) => {
                match self.controls.get_mut(m.analog_control_id.as_str()) {
                    Some(c) => call.control(c, &m.instance_id, |c, cx| c.value(cx)),
                    None => unknown("control", &m.analog_control_id),
                }
            }
            Message::VisibilityChanged(change) => {
                match shown(&mut self.actions, &mut self.controls, &mut call, change) {
                    Some(Shown::Action(status)) => Reply::Message(status.into()),
                    Some(Shown::Control(status)) => Reply::Message(status.into()),
                    Some(Shown::Refused(refusal)) => Reply::Error(refusal.code, refusal.why),
                    None => Reply::Ok,
                }
            }
            Message::VisibilityChangedList(list) => {
                let mut answer = AnalogControlStatusList::default();
                for change in &list.visibility {
                    match shown(&mut self.actions, &mut self.controls, &mut call, change) {
                        Some(Shown::Action(status)) => answer.action_statuses.push(status),
                        Some(Shown::Control(status)) => answer.statuses.push(status),
                        Some(Shown::Refused(_)) | None => {}
                    }
                }
                Reply::Message(answer.into())
            }
            Message::PluginActionConfigurationSchemeRequest(request) => {
                let instance = request.action_instance_id.as_str();
                let schema = if let Some(a) = self.actions.get_mut(request.action_id.as_str()) {
                    call.with(instance, |cx| a.configuration_scheme(cx))
                } else if let Some(c) = self.controls.get_mut(request.analog_control_id.as_str()) {
                    call.with(instance, |cx| c.configuration_scheme(cx))
                } else {
                    None
                };
                match schema {
                    Some(schema) => {
                        Reply::Message(Message::from(PluginActionConfigurationSchemeResponse {
                            action_id: request.action_id.clone(),
                            analog_control_id: request.analog_control_id.clone(),
                            action_instance_id: request.action_instance_id.clone(),
                            json_schema: Some(schema),
                            ..PluginActionConfigurationSchemeResponse::default()
                        }))
                    }
                    None => refused(Refusal::not_implemented("a configuration form")),
                }
            }
            Message::PluginActionConfigurationResponse(form) => {
                // Seed 5.15 has one id field: an action's or a control's.
                let id = form.action_id.as_str();
                let instance = form.action_instance_id.as_str();
                match serde_json::from_str::<serde_json::Value>(&form.form_result) {
                    Err(error) => refused(Refusal::from(format!("the form is not JSON: {error}"))),
                    Ok(value) => {
                        let configured = if let Some(a) = self.actions.get_mut(id) {
                            call.with(instance, |cx| a.configured(cx, &value))
                        } else if let Some(c) = self.controls.get_mut(id) {
                            call.with(instance, |cx| c.configured(cx, &value))
                        } else {
                            Err(Refusal::new(
                                ResponseCode::NotFound,
                                format!("this plugin has no action or control {id:?}"),
                            ))
                        };
                        done(configured)
                    }
                }
            }
            Message::InitLogin(m) => match &mut self.login {
                Some(login) => done(call.with("", |cx| login.login(cx, &m.redirect_url))),
                None => refused(Refusal::not_implemented("a login (InitLogin)")),
            },
            Message::OauthResponse(m) => match &mut self.login {
                Some(login) => done(call.with("", |cx| login.token(cx, &m.state, &m.token))),
                None => refused(Refusal::not_implemented("a token (OauthResponse)")),
            },
            Message::Logout(m) => match &mut self.login {
                Some(login) => done(call.with("", |cx| login.logout(cx, &m.username))),
                None => refused(Refusal::not_implemented("a logout (Logout)")),
            },
            Message::GetUserInfoList(_) => match &mut self.login {
                Some(login) => {
                    let users = call.with("", |cx| login.users(cx));
                    let users = users
                        .into_iter()
                        .map(|(username, printed_name)| UserInfo {
                            username,
                            printed_name,
                            icon: None,
                        })
                        .collect();
                    Reply::Message(UserInfoList { user_info: users }.into())
                }
                None => refused(Refusal::not_implemented("a user list (GetUserInfoList)")),
            },
            other => refused(Refusal::not_implemented(other.message_type().full_name())),
        };
        Outcome {
            reply,
            writes: call.writes,
            settings: call.settings,
        }
    }
}

/// Tells the handler of a shown or hidden instance; the status of one shown.
fn shown<S: PluginSettings>(
    actions: &mut HashMap<&'static str, Box<dyn ActionHandler<S>>>,
    controls: &mut HashMap<&'static str, Box<dyn ControlHandler<S>>>,
    call: &mut Call<'_, S>,
    change: &VisibilityChanged,
) -> Option<Shown> {
    let id = change.control_id.as_str();
    let instance = change.action_instance_id.as_str();
    if let Some(action) = actions.get_mut(id) {
        if !change.visible {
            call.with(instance, |cx| action.disappeared(cx));
            return None;
        }
        let status = call.with(instance, |cx| action.appeared(cx));
        return match status.refusal {
            Some(refusal) => Some(Shown::Refused(refusal)),
            None => Some(Shown::Action(action_status(status, id, instance))),
        };
    }
    let control = controls.get_mut(id)?;
    if !change.visible {
        call.with(instance, |cx| control.disappeared(cx));
        return None;
    }
    let status = call.with(instance, |cx| control.appeared(cx));
    match status.refusal {
        Some(refusal) => Some(Shown::Refused(refusal)),
        None => Some(Shown::Control(control_status(status, id, instance))),
    }
}

/// The status of an instance just shown.
enum Shown {
    Action(ActionCellStatus),
    Control(AnalogControlStatus),
    Refused(Refusal),
}

/// One request's calls: a copy of the settings they change, and the writes they need.
struct Call<'a, S> {
    stored: &'a Stored,
    settings: S,
    language: &'a str,
    writes: Vec<Settings>,
}

impl<S: PluginSettings> Call<'_, S> {
    /// Runs `hook` for `instance_id`, noting the writes of what it changed.
    fn with<R>(&mut self, instance_id: &str, hook: impl FnOnce(&mut Cx<'_, S>) -> R) -> R {
        let name = instance_setting(instance_id);
        let mut instances = Instances {
            held: self.stored.value(&name).map(str::to_string),
            value: None,
        };
        let before = encode(&self.settings);
        let result = hook(&mut Cx {
            settings: &mut self.settings,
            instance_id,
            language: self.language,
            instances: &mut instances,
        });
        if let Some(changed) = instances.changed() {
            self.note(name, changed);
        }
        let after = encode(&self.settings);
        if after != before {
            self.note(PLUGIN_SETTING.into(), after);
        }
        result
    }

    /// Notes a write of `value` under `name` (the latest one, when a request writes twice).
    fn note(&mut self, name: String, value: String) {
        self.writes.retain(|write| write.setting_name != name);
        self.writes.extend(self.stored.write(&name, value));
    }

    fn action(
        &mut self,
        action: &mut Box<dyn ActionHandler<S>>,
        instance_id: &str,
        hook: impl FnOnce(&mut dyn ActionHandler<S>, &mut Cx<'_, S>) -> Status,
    ) -> Reply {
        let id = action.id();
        let status = self.with(instance_id, |cx| hook(action.as_mut(), cx));
        match status.refusal {
            Some(refusal) => refused(refusal),
            None if status == Status::none() => Reply::Ok,
            None => Reply::Message(action_status(status, id, instance_id).into()),
        }
    }

    fn control(
        &mut self,
        control: &mut Box<dyn ControlHandler<S>>,
        instance_id: &str,
        hook: impl FnOnce(&mut dyn ControlHandler<S>, &mut Cx<'_, S>) -> Status,
    ) -> Reply {
        let id = control.id();
        let status = self.with(instance_id, |cx| hook(control.as_mut(), cx));
        match status.refusal {
            Some(refusal) => refused(refusal),
            None if status == Status::none() => Reply::Ok,
            None => Reply::Message(control_status(status, id, instance_id).into()),
        }
    }
}

/// `SUCCESS`, or the refusal.
fn done(result: Result<(), Refusal>) -> Reply {
    match result {
        Ok(()) => Reply::Ok,
        Err(refusal) => refused(refusal),
    }
}

fn refused(refusal: Refusal) -> Reply {
    Reply::Error(refusal.code, refusal.why)
}

fn unknown(kind: &str, id: &str) -> Reply {
    let why = format!("this plugin has no {kind} {id:?}");
    Reply::Error(ResponseCode::NotFound, why)
}

fn action_status(status: Status, action_id: &str, instance_id: &str) -> ActionCellStatus {
    let (image, image_type) = match status.image {
        Some(Image::Base64(image)) => (Some(image), Some(action_cell_status::ImageType::Base64)),
        Some(Image::File(image)) => (Some(image), Some(action_cell_status::ImageType::File)),
        None => (None, None),
    };
    ActionCellStatus {
        action_instance_id: instance_id.into(),
        action_id: action_id.into(),
        text: status.text,
        image,
        image_type: image_type.map(Into::into),
        ..ActionCellStatus::default()
    }
}

fn control_status(status: Status, control_id: &str, instance_id: &str) -> AnalogControlStatus {
    let (image, image_type) = match status.image {
        Some(Image::Base64(image)) => (Some(image), Some(analog_control_status::ImageType::Base64)),
        Some(Image::File(image)) => (Some(image), Some(analog_control_status::ImageType::File)),
        None => (None, None),
    };
    AnalogControlStatus {
        analog_control_id: control_id.into(),
        analog_control_instance_id: instance_id.into(),
        min_value: status.range.map(|(minimum, _)| minimum),
        max_value: status.range.map(|(_, maximum)| maximum),
        current_value: status.value,
        text: status.text,
        image,
        image_type: image_type.map(Into::into),
        ..AnalogControlStatus::default()
    }
}

/// An [`Action`] as the dispatcher holds it.
trait ActionHandler<S>: Send {
    fn id(&self) -> &'static str;
    fn key_down(&mut self, cx: &mut Cx<'_, S>) -> Status;
    fn key_up(&mut self, cx: &mut Cx<'_, S>) -> Status;
    fn appeared(&mut self, cx: &mut Cx<'_, S>) -> Status;
    fn disappeared(&mut self, cx: &mut Cx<'_, S>);
    fn configuration_scheme(&mut self, cx: &mut Cx<'_, S>) -> Option<String>;
    fn configured(&mut self, cx: &mut Cx<'_, S>, form: &serde_json::Value) -> Result<(), Refusal>;
}

impl<S, A: Action<S>> ActionHandler<S> for A {
    fn id(&self) -> &'static str {
        A::ID
    }
    fn key_down(&mut self, cx: &mut Cx<'_, S>) -> Status {
        Action::key_down(self, cx)
    }
    fn key_up(&mut self, cx: &mut Cx<'_, S>) -> Status {
        Action::key_up(self, cx)
    }
    fn appeared(&mut self, cx: &mut Cx<'_, S>) -> Status {
        Action::appeared(self, cx)
    }
    fn disappeared(&mut self, cx: &mut Cx<'_, S>) {
        Action::disappeared(self, cx);
    }
    fn configuration_scheme(&mut self, cx: &mut Cx<'_, S>) -> Option<String> {
        Action::configuration_scheme(self, cx)
    }
    fn configured(&mut self, cx: &mut Cx<'_, S>, form: &serde_json::Value) -> Result<(), Refusal> {
        Action::configured(self, cx, form)
    }
}

/// An [`AnalogControl`] as the dispatcher holds it.
trait ControlHandler<S>: Send {
    fn id(&self) -> &'static str;
    fn buffer(&self) -> Option<&'static str>;
    fn turned(&mut self, cx: &mut Cx<'_, S>, turn: Turn) -> Status;
    fn value(&mut self, cx: &mut Cx<'_, S>) -> Status;
    fn appeared(&mut self, cx: &mut Cx<'_, S>) -> Status;
    fn disappeared(&mut self, cx: &mut Cx<'_, S>);
    fn configuration_scheme(&mut self, cx: &mut Cx<'_, S>) -> Option<String>;
    fn configured(&mut self, cx: &mut Cx<'_, S>, form: &serde_json::Value) -> Result<(), Refusal>;
}

impl<S, C: AnalogControl<S>> ControlHandler<S> for C {
    fn id(&self) -> &'static str {
        C::ID
    }
    fn buffer(&self) -> Option<&'static str> {
        C::BUFFER.key()
    }
    fn turned(&mut self, cx: &mut Cx<'_, S>, turn: Turn) -> Status {
        AnalogControl::turned(self, cx, turn)
    }
    fn value(&mut self, cx: &mut Cx<'_, S>) -> Status {
        AnalogControl::value(self, cx)
    }
    fn appeared(&mut self, cx: &mut Cx<'_, S>) -> Status {
        AnalogControl::appeared(self, cx)
    }
    fn disappeared(&mut self, cx: &mut Cx<'_, S>) {
        AnalogControl::disappeared(self, cx);
    }
    fn configuration_scheme(&mut self, cx: &mut Cx<'_, S>) -> Option<String> {
        AnalogControl::configuration_scheme(self, cx)
    }
    fn configured(&mut self, cx: &mut Cx<'_, S>, form: &serde_json::Value) -> Result<(), Refusal> {
        AnalogControl::configured(self, cx, form)
    }
}
