//! "Media keys", an example Logi plugin on the SDK's handler API
//! ([`logi_plugin_sdk::plugin`]): the showcase of a plugin as a plugin author writes it.
//!
//! - an action, [`ToggleMute`]: a press mutes the sound or brings it back, and the key shows
//!   which;
//! - an analog control, [`Volume`]: a dial that turns the volume, 0 to 100, its turns merged by
//!   the manager's throughput buffer; it shows the volume as text and as its value;
//! - typed settings: the [`Sound`] (muted, volume) is the plugin's, one for every key and dial;
//!   each dial's [`Dial`] (how many percent a notch turns) is that instance's own, set by its
//!   configuration form (`package/schema/volume.json`);
//! - two localizations (`package/localization/`), used for the manifest by the host and for
//!   the texts shown by the plugin, in the language the manager names.
//!
//! [`plugin`] assembles it; the executable runs it with [`Plugin::run`], a host runs it in its
//! own process (a CORE plugin) with [`run`], and its tests (`tests/media.rs`) on the SDK's mock
//! host. The package folder holds everything but the executable, which the packer adds at the
//! manifest's `programPath` ([`PROGRAM_PATH`]); [`package::packed`] packs it so, as the demo,
//! the tests and the benches install it.

pub mod package;

use std::path::PathBuf;
use std::sync::LazyLock;

use logi_plugin_manifest::localization::Localizations;
use logi_plugin_sdk::PluginClient;
use logi_plugin_sdk::plugin::{Action, AnalogControl, Buffer, Cx, Plugin, Refusal, Status, Turn};
use serde::{Deserialize, Serialize};

/// The plugin's id, as in its manifest.
pub const PLUGIN_ID: &str = "com.logi.example.media";

/// Its version, as in its manifest.
pub const VERSION: &str = "1.0.0";

/// Where the manifest puts the executable on this platform.
pub const PROGRAM_PATH: &str = if cfg!(windows) {
    "bin/media-plugin.exe"
} else {
    "bin/media-plugin"
};

/// The action's id.
pub const TOGGLE_MUTE: &str = "toggle_mute";

/// The analog control's id.
pub const VOLUME: &str = "volume";

/// The package folder: manifest, icons, localizations, schema; not the executable.
pub fn package_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("package")
}

/// The plugin: its action and its dial, with the [`Sound`] as its settings.
pub fn plugin() -> Plugin<Sound> {
    Plugin::new(PLUGIN_ID, VERSION)
        .action(ToggleMute)
        .control(Volume)
}

/// Serves the plugin on a client a host made: the plugin as a host's CORE plugin
/// (`host.add_core(manifest, logi_example_media::run)`).
pub async fn run(client: PluginClient) {
    plugin().serve_client(client).await;
}

/// The plugin's settings (the setting `plugin`): the sound, which every key and dial shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Sound {
    /// Whether the sound is off.
    pub muted: bool,
    /// The volume, 0 to 100.
    pub volume: f32,
}

impl Default for Sound {
    fn default() -> Self {
        Sound {
            muted: false,
            volume: 50.0,
        }
    }
}

/// A dial's own settings (the setting `instance/<its instance id>`), from its configuration
/// form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Dial {
    /// How many percent one notch turns: 1 to 10.
    pub step: u8,
}

impl Default for Dial {
    fn default() -> Self {
        Dial { step: 1 }
    }
}

/// The action `toggle_mute`.
pub struct ToggleMute;

impl Action<Sound> for ToggleMute {
    const ID: &'static str = TOGGLE_MUTE;

    // The toggle happens on the press; letting go of the key changes nothing (`key_up`'s
    // default). The SDK stores the changed `Sound` before the key shows it.
    fn key_down(&mut self, cx: &mut Cx<'_, Sound>) -> Status {
        cx.settings.muted = !cx.settings.muted;
        self.appeared(cx)
    }

    fn appeared(&mut self, cx: &mut Cx<'_, Sound>) -> Status {
        let text = if cx.settings.muted {
            "Muted"
        } else {
            "Sound on"
        };
        Status::text(translate(cx.language, text))
    }
}

/// The analog control `volume`.
pub struct Volume;

impl AnalogControl<Sound> for Volume {
    const ID: &'static str = VOLUME;
    // A flood of notches arrives as one turn: the volume follows the dial however slowly the
    // sound system answers.
    const BUFFER: Buffer = Buffer::Throughput;

    fn turned(&mut self, cx: &mut Cx<'_, Sound>, turn: Turn) -> Status {
        let step = f32::from(cx.instance::<Dial>().step);
        let volume = turn.value.unwrap_or(cx.settings.volume + turn.delta * step);
        cx.settings.volume = volume.clamp(0.0, 100.0);
        self.value(cx)
    }

    fn value(&mut self, cx: &mut Cx<'_, Sound>) -> Status {
        let volume = cx.settings.volume;
        Status::text(format!("{} {volume:.0}%", translate(cx.language, "Volume")))
            .with_value(volume)
            .with_range(0.0, 100.0)
    }

    fn appeared(&mut self, cx: &mut Cx<'_, Sound>) -> Status {
        self.value(cx)
    }

    fn configuration_scheme(&mut self, _: &mut Cx<'_, Sound>) -> Option<String> {
        Some(include_str!("../package/schema/volume.json").into())
    }

    // The form is checked here as well as by its schema: the manager passes on what the user
    // entered, and a form from another client need not have been checked at all.
    fn configured(
        &mut self,
        cx: &mut Cx<'_, Sound>,
        form: &serde_json::Value,
    ) -> Result<(), Refusal> {
        let step = form.get("step");
        match step.and_then(serde_json::Value::as_u64).map(u8::try_from) {
            Some(Ok(step @ 1..=10)) => {
                cx.instance::<Dial>().step = step;
                log::info!("dial {} now turns {step}% a notch", cx.instance_id);
                Ok(())
            }
            _ => Err(Refusal::from(format!(
                "`step` must be a whole number from 1 to 10, got {}",
                step.map_or("nothing".into(), ToString::to_string)
            ))),
        }
    }
}

/// `text` in `language`, or as it is when the plugin has no translation.
fn translate(language: &str, text: &str) -> String {
    static TEXTS: LazyLock<Localizations> = LazyLock::new(|| {
        let files = [
            ("en-US", include_str!("../package/localization/en-US.yaml")),
            ("de-DE", include_str!("../package/localization/de-DE.yaml")),
        ];
        Localizations::parse(files).expect("the bundled YAML is valid")
    });
    TEXTS
        .for_locale(language)
        .map_or(text, |texts| texts.translate(text))
        .to_string()
}
