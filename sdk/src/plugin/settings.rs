//! Typed settings kept with the manager: the plugin's as one JSON document under the setting
//! name [`PLUGIN_SETTING`], each instance's under `instance/<instance id>`. The SDK keeps what
//! the manager sent (its `SavedData` after each hello, and each write's answer) with its
//! version, and writes a change with that version (`if_version`), so a write made from a stale
//! copy is refused `CONFLICT` instead of clobbering a newer one.

use std::any::Any;
use std::collections::HashMap;

use logi_plugin_core::proto::plugin::{SavedData, Settings};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The setting name the plugin's own settings are kept under.
pub const PLUGIN_SETTING: &str = "plugin";

/// The setting name of an instance's settings.
pub(super) fn instance_setting(instance_id: &str) -> String {
    format!("instance/{instance_id}")
}

/// What the manager holds, as last heard: each setting's value and version.
#[derive(Debug, Default)]
pub(super) struct Stored {
    settings: HashMap<String, (String, u32)>,
}

impl Stored {
    /// Everything the manager holds, as its `SavedData` says.
    pub(super) fn replace(&mut self, saved: &SavedData) {
        self.settings = saved
            .settings
            .iter()
            .map(|s| {
                (
                    s.setting_name.clone(),
                    (s.setting_value.clone(), s.version()),
                )
            })
            .collect();
    }

    /// One setting as the manager now holds it (a write's answer, a fresh read).
    pub(super) fn set(&mut self, setting: &Settings) {
        let value = (setting.setting_value.clone(), setting.version());
        self.settings.insert(setting.setting_name.clone(), value);
    }

    pub(super) fn value(&self, name: &str) -> Option<&str> {
        self.settings.get(name).map(|(value, _)| value.as_str())
    }

    /// The write of `value` under `name` if it differs from what is held: made with the version
    /// held (0: never set), so that it is refused if the manager holds a newer one.
    pub(super) fn write(&self, name: &str, value: String) -> Option<Settings> {
        let (held, version) = match self.settings.get(name) {
            Some((held, version)) => (Some(held.as_str()), *version),
            None => (None, 0),
        };
        (held != Some(value.as_str())).then(|| Settings {
            setting_name: name.into(),
            setting_value: value,
            version: None,
            if_version: Some(version),
        })
    }
}

/// Reads a typed value from a setting's JSON; what is absent or no longer reads (an older
/// shape) is the type's default.
pub(super) fn decode<T: DeserializeOwned + Default>(json: Option<&str>) -> T {
    json.and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default()
}

/// A typed value as JSON.
pub(super) fn encode<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("settings types serialize to JSON")
}

/// The one instance a call is about, its settings decoded on first use.
#[derive(Default)]
pub(super) struct Instances {
    /// Its settings as the manager holds them.
    pub(super) held: Option<String>,
    /// Its settings as the call left them, once it asked for them, and their JSON when read.
    pub(super) value: Option<(Box<dyn Erased>, String)>,
}

impl Instances {
    pub(super) fn get<T>(&mut self) -> &mut T
    where
        T: Serialize + DeserializeOwned + Default + Send + 'static,
    {
        let reusable = self
            .value
            .as_mut()
            .is_some_and(|(value, _)| value.as_any_mut().is::<T>());
        if !reusable {
            let value: T = decode(self.held.as_deref());
            let read = encode(&value);
            self.value = Some((Box::new(value), read));
        }
        let (value, _) = self.value.as_mut().expect("set just above");
        value
            .as_any_mut()
            .downcast_mut::<T>()
            .expect("the value is a T")
    }

    /// The instance's settings to write, when the call changed them.
    pub(super) fn changed(self) -> Option<String> {
        let (value, read) = self.value?;
        let now = value.to_json();
        (now != read).then_some(now)
    }
}

/// A typed value that can be written back as JSON, whatever its type.
pub(super) trait Erased: Send {
    fn to_json(&self) -> String;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Serialize + Send + 'static> Erased for T {
    fn to_json(&self) -> String {
        encode(self)
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
