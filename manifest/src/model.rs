//! The manifest's fields, as read and checked: what the host and the tools use.

use std::fmt;
use std::str::FromStr;

/// A plugin manifest (seed chapter 2).
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    /// `plugin_id`: unique id of the plugin; also its folder name, so letters, digits, `.`, `_`
    /// and `-` only.
    pub plugin_id: String,
    /// `name`.
    pub name: String,
    /// `author`.
    pub author: String,
    /// `description`.
    pub description: String,
    /// `icon`: a file in the package.
    pub icon: String,
    /// `version`: `Major.Minor.Build`.
    pub version: Version,
    /// `URL`: the plugin's home page.
    pub url: Option<String>,
    /// `OS`: the platforms it runs on, with their minimum versions.
    pub os: Vec<OsRequirement>,
    /// `platformVersion`: the oldest plugin manager it runs on.
    pub platform_version: Version,
    /// `programPath`: the executable, unless overridden for the platform.
    pub program_path: Option<String>,
    /// `programPathMac`.
    pub program_path_mac: Option<String>,
    /// `programPathWin`.
    pub program_path_win: Option<String>,
    /// `multipleAccountsAllowed` (read, not supported).
    pub multiple_accounts_allowed: bool,
    /// `application`: for detecting the application the plugin is for.
    pub application: Option<Application>,
    /// `groups`.
    pub groups: Vec<Group>,
    /// `actions`.
    pub actions: Vec<Action>,
    /// `controls`: analog controls.
    pub controls: Vec<Control>,
    /// `requiredCapabilities`: API levels; only `base` exists.
    pub required_capabilities: Vec<String>,
    /// `installationCommands`: run after the files are in place, before the plugin starts.
    pub installation_commands: Vec<Command>,
    /// `uninstallationCommands`: run after the plugin stops, before its files go.
    pub uninstallation_commands: Vec<Command>,
    /// Paths of fields the manifest has that this reader does not know (warnings, not errors).
    pub unknown_fields: Vec<String>,
}

impl Manifest {
    /// The executable to run on `platform`: its override, else `programPath`.
    pub fn program_for(&self, platform: OsPlatform) -> Option<&str> {
        self.program_on(platform.into()).map(|(_, path)| path)
    }

    /// The executable a host on `platform` runs, with the field naming it: `programPathMac` on
    /// macOS and `programPathWin` on Windows when given, else `programPath` (the only one on
    /// [`Platform::Other`]).
    pub fn program_on(&self, platform: Platform) -> Option<(&'static str, &str)> {
        let specific = match platform {
            Platform::Mac => Some(("programPathMac", &self.program_path_mac)),
            Platform::Windows => Some(("programPathWin", &self.program_path_win)),
            Platform::Other => None,
        };
        specific
            .and_then(|(field, path)| Some((field, path.as_deref()?)))
            .or_else(|| Some(("programPath", self.program_path.as_deref()?)))
    }
}

/// A system a host runs on, as the manifest tells programs and commands apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Platform {
    /// macOS: `programPathMac`, commands for `mac`.
    Mac,
    /// Windows: `programPathWin`, commands for `win`.
    Windows,
    /// Any other system (Linux): `programPath`, and only the commands for every platform.
    Other,
}

impl Platform {
    /// Every platform.
    pub const ALL: [Platform; 3] = [Platform::Mac, Platform::Windows, Platform::Other];

    /// The platform this code was built for.
    pub fn current() -> Platform {
        if cfg!(target_os = "macos") {
            Platform::Mac
        } else if cfg!(windows) {
            Platform::Windows
        } else {
            Platform::Other
        }
    }
}

impl From<OsPlatform> for Platform {
    fn from(platform: OsPlatform) -> Platform {
        match platform {
            OsPlatform::Mac => Platform::Mac,
            OsPlatform::Windows => Platform::Windows,
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Platform::Mac => "macOS",
            Platform::Windows => "Windows",
            Platform::Other => "Linux",
        })
    }
}

/// A `Major.Minor.Build` version; ordered as numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Major.
    pub major: u32,
    /// Minor.
    pub minor: u32,
    /// Build.
    pub build: u32,
}

impl Version {
    /// Reads `1`, `1.2` or `1.2.3` (missing parts are 0), as `platformVersion` allows.
    pub fn parse_lenient(text: &str) -> Result<Version, String> {
        let parts = numeric_parts(text, 3)?;
        Ok(Version {
            major: parts[0],
            minor: parts.get(1).copied().unwrap_or(0),
            build: parts.get(2).copied().unwrap_or(0),
        })
    }
}

/// The numbers of a dotted version with 1 to `max` parts, or why it is not one.
pub(super) fn numeric_parts(text: &str, max: usize) -> Result<Vec<u32>, String> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() > max {
        return Err(format!("has more than {max} parts"));
    }
    parts
        .iter()
        .map(|part| {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("has {part:?}, which is not a number"));
            }
            part.parse::<u32>()
                .map_err(|_| format!("has {part}, which is too large"))
        })
        .collect()
}

impl FromStr for Version {
    type Err = String;

    /// Reads exactly `Major.Minor.Build`.
    fn from_str(text: &str) -> Result<Version, String> {
        match numeric_parts(text, 3)?.as_slice() {
            &[major, minor, build] => Ok(Version {
                major,
                minor,
                build,
            }),
            _ => Err("must be Major.Minor.Build, three numbers".into()),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.build)
    }
}

/// An `OS` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OsRequirement {
    /// `platform`.
    pub platform: OsPlatform,
    /// `minimumVersion`, dotted numbers (`10.11`, `10`).
    pub minimum_version: String,
}

/// A platform of `OS` (`mac`, `windows`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OsPlatform {
    /// `mac`.
    Mac,
    /// `windows`.
    Windows,
}

/// `application`: what the configuration software looks for to detect the application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Application {
    /// `name` (optional).
    pub name: Option<String>,
    /// `id`.
    pub id: String,
    /// `detection.osx`: bundle ids or process names on macOS.
    pub detection_osx: Vec<String>,
    /// `detection.win`: executable names on Windows.
    pub detection_win: Vec<String>,
}

/// A `groups` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// `groupId`.
    pub group_id: String,
    /// `name`.
    pub name: String,
    /// `icon` (optional): a file in the package.
    pub icon: Option<String>,
}

/// An `actions` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    /// `id`: unique among actions and controls.
    pub id: String,
    /// `icon` (optional): a file in the package.
    pub icon: Option<String>,
    /// `tooltip`.
    pub tooltip: String,
    /// `name`.
    pub name: String,
    /// `groupIds`: groups it belongs to, each declared in `groups`.
    pub group_ids: Vec<String>,
    /// `keystroke`: the action is a key press.
    pub keystroke: Option<Keystroke>,
}

/// `keystroke`: the key each platform presses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keystroke {
    /// `osx`.
    pub osx: Option<PlatformKeystroke>,
    /// `win`.
    pub win: Option<PlatformKeystroke>,
}

/// A key and its modifiers on one platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformKeystroke {
    /// `code`: the platform's virtual key code.
    pub code: u32,
    /// `modifiers`.
    pub modifiers: Vec<KeystrokeModifier>,
}

/// A keystroke modifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeystrokeModifier {
    /// `shift`.
    Shift,
    /// `control`.
    Control,
    /// `alt` (also written `option`).
    Alt,
    /// `command` (macOS).
    Command,
    /// `win` (Windows).
    Win,
    /// `fn`.
    Fn,
}

impl KeystrokeModifier {
    /// The modifier a manifest names, if any.
    pub fn from_name(name: &str) -> Option<KeystrokeModifier> {
        Some(match name {
            "shift" => KeystrokeModifier::Shift,
            "control" | "ctrl" => KeystrokeModifier::Control,
            "alt" | "option" => KeystrokeModifier::Alt,
            "command" | "cmd" => KeystrokeModifier::Command,
            "win" => KeystrokeModifier::Win,
            "fn" => KeystrokeModifier::Fn,
            _ => return None,
        })
    }
}

/// A `controls` entry: an analog control (seed 2.1).
#[derive(Clone, Debug, PartialEq)]
pub struct Control {
    /// `id`: unique among actions and controls.
    pub id: String,
    /// `tooltip`.
    pub tooltip: String,
    /// `name`.
    pub name: String,
    /// `groupIds`.
    pub group_ids: Vec<String>,
    /// `minimum` (the plugin may change it at run time).
    pub minimum: f64,
    /// `maximum`.
    pub maximum: f64,
    /// `defaultStep`.
    pub default_step: f64,
    /// `unitOfMeasurement`.
    pub unit_of_measurement: Option<String>,
    /// `gestureAxisInfoWin`.
    pub gesture_axis_info_win: Option<GestureAxisInfo>,
    /// `gestureAxisInfoMac`.
    pub gesture_axis_info_mac: Option<GestureAxisInfo>,
}

/// `GestureAxisInfo` (seed 2.2).
#[derive(Clone, Debug, PartialEq)]
pub struct GestureAxisInfo {
    /// `invertable`: follow the mouse's inverted-scrolling setting.
    pub invertable: bool,
    /// `speedControl`: the thumbwheel speed setting applies.
    pub speed_control: bool,
    /// `speedFactor`: from -1.0 to 1.0, default 0.0.
    pub speed_factor: f64,
    /// `actionDuration`.
    pub action_duration: Option<Threshold>,
    /// `actionThreshold`.
    pub action_threshold: Option<Threshold>,
}

/// `Threshold` / `ActionDurationMs`: one value for the lowest and one for the highest speed
/// setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Threshold {
    /// `minimumSensitivityThreshold`.
    pub minimum_sensitivity_threshold: u32,
    /// `maximumSensitivityThreshold`.
    pub maximum_sensitivity_threshold: u32,
}

/// An installation or uninstallation command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// `executable`: a file in the package.
    pub executable: String,
    /// `parameters`.
    pub parameters: Vec<String>,
    /// `silent`: no console shown.
    pub silent: bool,
    /// `runAsAdmin`: run elevated, with the user's consent.
    pub run_as_admin: bool,
    /// `platform`: run only there.
    pub platform: Option<CommandPlatform>,
}

/// A command's `platform` (`win`, `mac`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandPlatform {
    /// `win`.
    Win,
    /// `mac`.
    Mac,
}

impl Command {
    /// Whether a host on `platform` runs this command: one without `platform` runs everywhere.
    pub fn runs_on(&self, platform: Platform) -> bool {
        match self.platform {
            None => true,
            Some(CommandPlatform::Win) => platform == Platform::Windows,
            Some(CommandPlatform::Mac) => platform == Platform::Mac,
        }
    }
}
