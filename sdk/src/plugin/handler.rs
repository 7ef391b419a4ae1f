//! What a plugin author implements: an [`Action`] for each action of the manifest and an
//! [`AnalogControl`] for each control, each hook given a [`Cx`] (the plugin's typed settings,
//! the instance, the language) and returning what to show, so that no request can go
//! unanswered. Hooks left out answer `NOT_IMPLEMENTED`, except a key's release, which changes
//! nothing by default (most actions act on the press).

use logi_plugin_core::ResponseCode;
use logi_plugin_core::buffer::{THROUGHPUT, TIMER};

use super::settings::Instances;

/// One call's view of the plugin: its settings, the instance it is about, the language.
pub struct Cx<'a, S> {
    /// The plugin's settings as last read from the manager. Changes are stored with the
    /// manager before the answer that shows them leaves.
    pub settings: &'a mut S,
    /// The instance of the action or control this call is about.
    pub instance_id: &'a str,
    /// The language the manager uses (its hello's), e.g. `en-US`.
    pub language: &'a str,
    pub(super) instances: &'a mut Instances,
}

impl<S> Cx<'_, S> {
    /// This instance's own settings (each instance of an action or control has its own), as a
    /// `T`; stored with the manager, like the plugin's, before the answer leaves.
    pub fn instance<T>(&mut self) -> &mut T
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Default + Send + 'static,
    {
        self.instances.get()
    }
}

/// What an instance shows: its text, image, and (for a control) its value and range. A status
/// may instead refuse the request with a code of seed chapter 6.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Status {
    /// The text shown on the device.
    pub text: Option<String>,
    /// The image shown on the device.
    pub image: Option<Image>,
    /// A control's current value.
    pub value: Option<f32>,
    /// A control's range, `(minimum, maximum)`; the manifest's when absent.
    pub range: Option<(f32, f32)>,
    pub(super) refusal: Option<Refusal>,
}

/// An image to show.
#[derive(Clone, Debug, PartialEq)]
pub enum Image {
    /// Inline, base64-encoded.
    Base64(String),
    /// A file path, as the manager reads it.
    File(String),
}

impl Status {
    /// Nothing new to show: the request is answered `SUCCESS` with no status.
    pub fn none() -> Status {
        Status::default()
    }

    /// Shows `text`.
    pub fn text(text: impl Into<String>) -> Status {
        Status {
            text: Some(text.into()),
            ..Status::default()
        }
    }

    /// Refuses the request with `code` (seed chapter 6) and says why.
    pub fn refused(code: ResponseCode, why: impl Into<String>) -> Status {
        Status {
            refusal: Some(Refusal::new(code, why)),
            ..Status::default()
        }
    }

    /// Also shows `value` (a control's).
    pub fn with_value(mut self, value: f32) -> Status {
        self.value = Some(value);
        self
    }

    /// Also gives the control's range.
    pub fn with_range(mut self, minimum: f32, maximum: f32) -> Status {
        self.range = Some((minimum, maximum));
        self
    }

    /// Also shows `image`.
    pub fn with_image(mut self, image: Image) -> Status {
        self.image = Some(image);
        self
    }

    pub(super) fn not_implemented(what: &str) -> Status {
        Status {
            refusal: Some(Refusal::not_implemented(what)),
            ..Status::default()
        }
    }
}

/// Why a request is refused: a code of seed chapter 6 and a description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The code.
    pub code: ResponseCode,
    /// What was wrong.
    pub why: String,
}

impl Refusal {
    /// A refusal with `code`.
    pub fn new(code: ResponseCode, why: impl Into<String>) -> Refusal {
        Refusal {
            code,
            why: why.into(),
        }
    }

    pub(super) fn not_implemented(what: &str) -> Refusal {
        Refusal::new(
            ResponseCode::NotImplemented,
            format!("this plugin does not handle {what}"),
        )
    }
}

/// What the user entered is not accepted: `INVALID_ARG`, saying why.
impl From<String> for Refusal {
    fn from(why: String) -> Refusal {
        Refusal::new(ResponseCode::InvalidArg, why)
    }
}

impl From<&str> for Refusal {
    fn from(why: &str) -> Refusal {
        Refusal::from(why.to_string())
    }
}

/// A control turned: by how much, merged by its [`Buffer`], or to which value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Turn {
    /// The steps turned since the last call (the buffer merges a flood into one), or 0 when
    /// the control was set to a [`value`](Self::value).
    pub delta: f32,
    /// The value the control was set to, when it was set rather than turned.
    pub value: Option<f32>,
}

/// How the manager's updates of a control are merged before they reach it (seed 7.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Buffer {
    /// Every update, one call each.
    None,
    /// As fast as the plugin answers: what arrives meanwhile is merged into the next call.
    Throughput,
    /// Merged over a fixed period.
    Timer,
}

impl Buffer {
    /// The buffer's key in the session's buffer manager, when there is one.
    pub(super) fn key(self) -> Option<&'static str> {
        match self {
            Buffer::None => None,
            Buffer::Throughput => Some(THROUGHPUT),
            Buffer::Timer => Some(TIMER),
        }
    }
}

/// An action of the manifest (a key, a button): what it shows when pressed, released, shown.
pub trait Action<S>: Send + 'static {
    /// Its id, as in the manifest.
    const ID: &'static str;

    /// The key went down: what the instance shows now.
    fn key_down(&mut self, cx: &mut Cx<'_, S>) -> Status {
        let _ = cx;
        Status::not_implemented("a key press (TriggerAction)")
    }

    /// The key went up. Changes nothing unless implemented.
    fn key_up(&mut self, cx: &mut Cx<'_, S>) -> Status {
        let _ = cx;
        Status::none()
    }

    /// An instance is shown: what it shows first.
    fn appeared(&mut self, cx: &mut Cx<'_, S>) -> Status {
        let _ = cx;
        Status::none()
    }

    /// An instance is hidden.
    fn disappeared(&mut self, cx: &mut Cx<'_, S>) {
        let _ = cx;
    }

    /// The JSON schema of the instance's configuration form, if it has one.
    fn configuration_scheme(&mut self, cx: &mut Cx<'_, S>) -> Option<String> {
        let _ = cx;
        None
    }

    /// The form was submitted (its JSON): keep what it says, or refuse it saying why.
    fn configured(&mut self, cx: &mut Cx<'_, S>, form: &serde_json::Value) -> Result<(), Refusal> {
        let _ = (cx, form);
        Err(Refusal::not_implemented("a configuration form"))
    }
}

/// An analog control of the manifest (a dial, a roller): what it shows when turned or shown.
pub trait AnalogControl<S>: Send + 'static {
    /// Its id, as in the manifest.
    const ID: &'static str;
    /// How a flood of turns is merged before [`turned`](Self::turned).
    const BUFFER: Buffer = Buffer::Throughput;

    /// The control was turned or set: what the instance shows now.
    fn turned(&mut self, cx: &mut Cx<'_, S>, turn: Turn) -> Status {
        let _ = (cx, turn);
        Status::not_implemented("a control's update (UpdateAnalogControl)")
    }

    /// The manager asks for the control's value.
    fn value(&mut self, cx: &mut Cx<'_, S>) -> Status {
        let _ = cx;
        Status::not_implemented("a control's value (GetAnalogControlValue)")
    }

    /// An instance is shown: what it shows first.
    fn appeared(&mut self, cx: &mut Cx<'_, S>) -> Status {
        let _ = cx;
        Status::none()
    }

    /// An instance is hidden.
    fn disappeared(&mut self, cx: &mut Cx<'_, S>) {
        let _ = cx;
    }

    /// The JSON schema of the instance's configuration form, if it has one.
    fn configuration_scheme(&mut self, cx: &mut Cx<'_, S>) -> Option<String> {
        let _ = cx;
        None
    }

    /// The form was submitted (its JSON): keep what it says, or refuse it saying why.
    fn configured(&mut self, cx: &mut Cx<'_, S>, form: &serde_json::Value) -> Result<(), Refusal> {
        let _ = (cx, form);
        Err(Refusal::not_implemented("a configuration form"))
    }
}

/// The plugin's account hooks (seed 5.16-5.20): the manager asks it to log in (an OAuth2 flow
/// the plugin runs), hands it the token, logs a user out, lists the users. The hooks' `Cx` has
/// no instance (`instance_id` is empty).
pub trait Login<S>: Send + 'static {
    /// Start logging in (`InitLogin`): open the provider's page, with `redirect_url` as the
    /// flow's redirection.
    fn login(&mut self, cx: &mut Cx<'_, S>, redirect_url: &str) -> Result<(), Refusal> {
        let _ = (cx, redirect_url);
        Err(Refusal::not_implemented("a login (InitLogin)"))
    }

    /// The flow's token arrived (`OauthResponse`).
    fn token(&mut self, cx: &mut Cx<'_, S>, state: &str, token: &str) -> Result<(), Refusal> {
        let _ = (cx, state, token);
        Err(Refusal::not_implemented("a token (OauthResponse)"))
    }

    /// Log `username` out (`Logout`).
    fn logout(&mut self, cx: &mut Cx<'_, S>, username: &str) -> Result<(), Refusal> {
        let _ = (cx, username);
        Err(Refusal::not_implemented("a logout (Logout)"))
    }

    /// The users logged in (`GetUserInfoList`): `(username, printed name)`.
    fn users(&mut self, cx: &mut Cx<'_, S>) -> Vec<(String, Option<String>)> {
        let _ = cx;
        Vec::new()
    }
}
