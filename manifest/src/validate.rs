//! Reading each part of a manifest and checking the rules that span fields: unique ids, known
//! groups, ranges.

use std::collections::HashMap;

use serde_json::Value;

use super::model::numeric_parts;
use super::read::{Object, Reader, join};
use super::*;

const TOP_LEVEL: &[&str] = &[
    "plugin_id",
    "name",
    "author",
    "description",
    "icon",
    "version",
    "URL",
    "OS",
    "platformVersion",
    "programPath",
    "programPathMac",
    "programPathWin",
    "multipleAccountsAllowed",
    "application",
    "groups",
    "actions",
    "controls",
    "requiredCapabilities",
    "installationCommands",
    "uninstallationCommands",
];

/// The names `OS[].platform` takes.
const OS_PLATFORMS: &[(&str, OsPlatform)] =
    &[("mac", OsPlatform::Mac), ("windows", OsPlatform::Windows)];

/// The names a command's `platform` takes.
const COMMAND_PLATFORMS: &[(&str, CommandPlatform)] =
    &[("win", CommandPlatform::Win), ("mac", CommandPlatform::Mac)];

/// The longest `plugin_id`: it names a folder and appears in log lines.
const MAX_PLUGIN_ID_LEN: usize = 128;

pub(super) fn manifest(value: &Value) -> Result<Manifest, ManifestErrors> {
    let mut r = Reader::default();
    let Some(top) = r.object(String::new(), value) else {
        return Err(ManifestErrors(r.errors));
    };
    r.note_unknown(&top, TOP_LEVEL);
    let plugin_id = r.required_string(&top, "plugin_id");
    if let Some(id) = &plugin_id {
        check_plugin_id(&mut r, id);
    }
    let name = r.required_string(&top, "name");
    let author = r.required_string(&top, "author");
    let description = r.required_string(&top, "description");
    let icon = package_path(&mut r, &top, "icon", true);
    let version = r
        .required_string(&top, "version")
        .and_then(|text| parsed(&mut r, "version", &text, text.parse::<Version>()));
    let url = r.optional_string(&top, "URL");
    let os = r
        .objects(&top, "OS", true)
        .iter()
        .filter_map(|entry| os_requirement(&mut r, entry))
        .collect::<Vec<_>>();
    if value
        .get("OS")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
    {
        r.error("OS", Problem::Empty);
    }
    check_unique_platforms(&mut r, &os);
    let platform_version = r.required_string(&top, "platformVersion").and_then(|text| {
        let version = Version::parse_lenient(&text);
        parsed(&mut r, "platformVersion", &text, version)
    });
    let program_path = package_path(&mut r, &top, "programPath", false);
    let program_path_mac = package_path(&mut r, &top, "programPathMac", false);
    let program_path_win = package_path(&mut r, &top, "programPathWin", false);
    let multiple_accounts_allowed = r
        .optional_bool(&top, "multipleAccountsAllowed")
        .unwrap_or(false);
    let application = r
        .optional_object(&top, "application")
        .and_then(|object| application(&mut r, &object));
    let groups: Vec<Group> = r
        .objects(&top, "groups", false)
        .iter()
        .filter_map(|object| group(&mut r, object))
        .collect();
    let action_objects = r.objects(&top, "actions", false);
    let actions: Vec<(String, Action)> = action_objects
        .iter()
        .filter_map(|object| Some((object.path.clone(), action(&mut r, object)?)))
        .collect();
    let control_objects = r.objects(&top, "controls", false);
    let controls: Vec<(String, Control)> = control_objects
        .iter()
        .filter_map(|object| Some((object.path.clone(), control(&mut r, object)?)))
        .collect();
    check_ids(&mut r, &groups, &actions, &controls);
    let required_capabilities = r.strings(&top, "requiredCapabilities", true);
    for (i, capability) in required_capabilities.iter().enumerate() {
        if capability != "base" {
            r.error(
                format!("requiredCapabilities[{i}]"),
                invalid(
                    capability,
                    "is not a capability this manager has (only \"base\")",
                ),
            );
        }
    }
    let installation_commands = commands(&mut r, &top, "installationCommands");
    let uninstallation_commands = commands(&mut r, &top, "uninstallationCommands");

    if !r.errors.is_empty() {
        return Err(ManifestErrors(r.errors));
    }
    // Every required field read without an error above.
    let (Some(plugin_id), Some(name), Some(author), Some(description), Some(icon)) =
        (plugin_id, name, author, description, icon)
    else {
        unreachable!("a missing required field is an error");
    };
    let (Some(version), Some(platform_version)) = (version, platform_version) else {
        unreachable!("a missing version is an error");
    };
    Ok(Manifest {
        plugin_id,
        name,
        author,
        description,
        icon,
        version,
        url,
        os,
        platform_version,
        program_path,
        program_path_mac,
        program_path_win,
        multiple_accounts_allowed,
        application,
        groups,
        actions: actions.into_iter().map(|(_, action)| action).collect(),
        controls: controls.into_iter().map(|(_, control)| control).collect(),
        required_capabilities,
        installation_commands,
        uninstallation_commands,
        unknown_fields: r.unknown,
    })
}

fn invalid(value: &str, reason: &str) -> Problem {
    Problem::Invalid {
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

/// `result`'s value, or an error at `path` naming `text`.
fn parsed<T>(r: &mut Reader, path: &str, text: &str, result: Result<T, String>) -> Option<T> {
    result
        .map_err(|reason| r.error(path, invalid(text, &reason)))
        .ok()
}

/// The value `choices` gives the field's name, or an error listing the names.
fn choice<T: Copy>(
    r: &mut Reader,
    object: &Object<'_>,
    key: &str,
    required: bool,
    choices: &[(&str, T)],
) -> Option<T> {
    let name = r.string(object, key, required)?;
    if let Some((_, value)) = choices.iter().find(|(known, _)| *known == name) {
        return Some(*value);
    }
    let names: Vec<String> = choices
        .iter()
        .map(|(known, _)| format!("{known:?}"))
        .collect();
    let reason = format!("must be {}", names.join(" or "));
    r.error(join(&object.path, key), invalid(&name, &reason));
    None
}

fn check_plugin_id(r: &mut Reader, id: &str) {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
    if id.len() > MAX_PLUGIN_ID_LEN {
        r.error("plugin_id", invalid(id, "is longer than 128 characters"));
    } else if !id.bytes().all(allowed) || !id.as_bytes()[0].is_ascii_alphanumeric() {
        let reason = "must start with a letter or digit and hold only letters, digits, '.', '_' \
                      and '-' (it names the plugin's folder)";
        r.error("plugin_id", invalid(id, reason));
    }
}

/// A path inside the package: relative, `/`-separated, never leaving the package.
fn package_path(r: &mut Reader, object: &Object<'_>, key: &str, required: bool) -> Option<String> {
    let path = r.string(object, key, required)?;
    if !crate::package_path::is_package_path(&path) {
        let reason = "must be a relative path inside the package, with '/' separators";
        r.error(join(&object.path, key), invalid(&path, reason));
        return None;
    }
    Some(path)
}

fn os_requirement(r: &mut Reader, entry: &Object<'_>) -> Option<OsRequirement> {
    r.note_unknown(entry, &["platform", "minimumVersion"]);
    let platform = choice(r, entry, "platform", true, OS_PLATFORMS);
    let minimum_version = r.required_string(entry, "minimumVersion");
    let minimum_version = minimum_version.and_then(|text| {
        let path = join(&entry.path, "minimumVersion");
        let checked = numeric_parts(&text, 4).map(|_| ());
        parsed(r, &path, &text, checked).map(|()| text)
    });
    Some(OsRequirement {
        platform: platform?,
        minimum_version: minimum_version?,
    })
}

fn check_unique_platforms(r: &mut Reader, os: &[OsRequirement]) {
    for (i, entry) in os.iter().enumerate() {
        if let Some(first) = os[..i].iter().position(|e| e.platform == entry.platform) {
            let name = OS_PLATFORMS
                .iter()
                .find(|(_, platform)| *platform == entry.platform)
                .map_or("", |(name, _)| name);
            r.error(
                format!("OS[{i}].platform"),
                invalid(name, &format!("is listed twice (also OS[{first}])")),
            );
        }
    }
}

fn application(r: &mut Reader, object: &Object<'_>) -> Option<Application> {
    r.note_unknown(object, &["name", "id", "detection"]);
    let name = r.optional_string(object, "name");
    let id = r.required_string(object, "id");
    let (detection_osx, detection_win) = match r.optional_object(object, "detection") {
        Some(detection) => {
            r.note_unknown(&detection, &["osx", "win"]);
            (
                r.strings(&detection, "osx", false),
                r.strings(&detection, "win", false),
            )
        }
        None => (Vec::new(), Vec::new()),
    };
    Some(Application {
        name,
        id: id?,
        detection_osx,
        detection_win,
    })
}

fn group(r: &mut Reader, object: &Object<'_>) -> Option<Group> {
    r.note_unknown(object, &["groupId", "name", "icon"]);
    let group_id = r.required_string(object, "groupId");
    let name = r.required_string(object, "name");
    let icon = package_path(r, object, "icon", false);
    Some(Group {
        group_id: group_id?,
        name: name?,
        icon,
    })
}

fn action(r: &mut Reader, object: &Object<'_>) -> Option<Action> {
    r.note_unknown(
        object,
        &["id", "icon", "tooltip", "name", "groupIds", "keystroke"],
    );
    let id = r.required_string(object, "id");
    let icon = package_path(r, object, "icon", false);
    let tooltip = r.required_string(object, "tooltip");
    let name = r.required_string(object, "name");
    let group_ids = r.strings(object, "groupIds", false);
    let keystroke = r
        .optional_object(object, "keystroke")
        .and_then(|object| keystroke(r, &object));
    Some(Action {
        id: id?,
        icon,
        tooltip: tooltip?,
        name: name?,
        group_ids,
        keystroke,
    })
}

fn keystroke(r: &mut Reader, object: &Object<'_>) -> Option<Keystroke> {
    r.note_unknown(object, &["osx", "win"]);
    let mut platform = |key: &str| -> Option<PlatformKeystroke> {
        let object = r.optional_object(object, key)?;
        r.note_unknown(&object, &["code", "modifiers"]);
        let code = r.required_u32(&object, "code");
        let mut modifiers = Vec::new();
        for (path, item) in r.array(&object, "modifiers", false) {
            let name = item.as_str().unwrap_or_default();
            match KeystrokeModifier::from_name(name) {
                Some(modifier) => modifiers.push(modifier),
                None => r.error(
                    path,
                    invalid(
                        &item.to_string(),
                        "is not a modifier (shift, control, alt, option, command, win, fn)",
                    ),
                ),
            }
        }
        Some(PlatformKeystroke {
            code: code?,
            modifiers,
        })
    };
    let osx = platform("osx");
    let win = platform("win");
    if !object.has("osx") && !object.has("win") {
        let reason = "needs an \"osx\" or a \"win\" key";
        r.error(object.path.clone(), invalid("{}", reason));
        return None;
    }
    Some(Keystroke { osx, win })
}

fn control(r: &mut Reader, object: &Object<'_>) -> Option<Control> {
    r.note_unknown(
        object,
        &[
            "id",
            "tooltip",
            "name",
            "groupIds",
            "minimum",
            "maximum",
            "defaultStep",
            "unitOfMeasurement",
            "gestureAxisInfoWin",
            "gestureAxisInfoMac",
        ],
    );
    let id = r.required_string(object, "id");
    let tooltip = r.required_string(object, "tooltip");
    let name = r.required_string(object, "name");
    let group_ids = r.strings(object, "groupIds", false);
    let minimum = r.number(object, "minimum", true);
    let maximum = r.number(object, "maximum", true);
    let default_step = r.number(object, "defaultStep", true);
    if let (Some(minimum), Some(maximum)) = (minimum, maximum)
        && minimum >= maximum
    {
        let reason = format!("must be less than maximum ({maximum})");
        r.error(
            join(&object.path, "minimum"),
            invalid(&minimum.to_string(), &reason),
        );
    }
    if let Some(step) = default_step
        && step <= 0.0
    {
        let path = join(&object.path, "defaultStep");
        r.error(path, invalid(&step.to_string(), "must be more than 0"));
    }
    let unit_of_measurement = r.optional_string(object, "unitOfMeasurement");
    let gesture_axis_info_win = r
        .optional_object(object, "gestureAxisInfoWin")
        .and_then(|object| gesture_axis_info(r, &object));
    let gesture_axis_info_mac = r
        .optional_object(object, "gestureAxisInfoMac")
        .and_then(|object| gesture_axis_info(r, &object));
    Some(Control {
        id: id?,
        tooltip: tooltip?,
        name: name?,
        group_ids,
        minimum: minimum?,
        maximum: maximum?,
        default_step: default_step?,
        unit_of_measurement,
        gesture_axis_info_win,
        gesture_axis_info_mac,
    })
}

fn gesture_axis_info(r: &mut Reader, object: &Object<'_>) -> Option<GestureAxisInfo> {
    r.note_unknown(
        object,
        &[
            "invertable",
            "speedControl",
            "speedFactor",
            "actionDuration",
            "actionThreshold",
        ],
    );
    let invertable = r.optional_bool(object, "invertable").unwrap_or(false);
    let speed_control = r.optional_bool(object, "speedControl").unwrap_or(false);
    let speed_factor = r.number(object, "speedFactor", false).unwrap_or(0.0);
    if !(-1.0..=1.0).contains(&speed_factor) {
        let path = join(&object.path, "speedFactor");
        r.error(
            path,
            invalid(&speed_factor.to_string(), "must be from -1.0 to 1.0"),
        );
    }
    let mut threshold = |key: &str| -> Option<Threshold> {
        let object = r.optional_object(object, key)?;
        let keys = ["minimumSensitivityThreshold", "maximumSensitivityThreshold"];
        r.note_unknown(&object, &keys);
        let minimum = r.required_u32(&object, keys[0]);
        let maximum = r.required_u32(&object, keys[1]);
        Some(Threshold {
            minimum_sensitivity_threshold: minimum?,
            maximum_sensitivity_threshold: maximum?,
        })
    };
    let action_duration = threshold("actionDuration");
    let action_threshold = threshold("actionThreshold");
    Some(GestureAxisInfo {
        invertable,
        speed_control,
        speed_factor,
        action_duration,
        action_threshold,
    })
}

/// Group ids unique and known; action and control ids unique across both lists.
fn check_ids(
    r: &mut Reader,
    groups: &[Group],
    actions: &[(String, Action)],
    controls: &[(String, Control)],
) {
    let mut group_ids: HashMap<&str, String> = HashMap::new();
    for (i, group) in groups.iter().enumerate() {
        let path = format!("groups[{i}].groupId");
        note_id(r, &mut group_ids, &group.group_id, path);
    }
    let members = actions
        .iter()
        .map(|(path, a)| (path, &a.id, &a.group_ids))
        .chain(controls.iter().map(|(path, c)| (path, &c.id, &c.group_ids)));
    let mut ids: HashMap<&str, String> = HashMap::new();
    for (path, id, member_groups) in members {
        note_id(r, &mut ids, id, join(path, "id"));
        for (i, group) in member_groups.iter().enumerate() {
            if !group_ids.contains_key(group.as_str()) {
                r.error(
                    format!("{path}.groupIds[{i}]"),
                    Problem::UnknownGroup(group.clone()),
                );
            }
        }
    }
}

/// Records `id` as used at `path`, or reports it as a duplicate of its first use.
fn note_id<'a>(r: &mut Reader, seen: &mut HashMap<&'a str, String>, id: &'a str, path: String) {
    match seen.get(id) {
        Some(first) => r.error(
            path,
            Problem::Duplicate {
                value: id.to_string(),
                first: first.clone(),
            },
        ),
        None => {
            seen.insert(id, path);
        }
    }
}

fn commands(r: &mut Reader, top: &Object<'_>, key: &str) -> Vec<Command> {
    r.objects(top, key, false)
        .iter()
        .filter_map(|object| {
            r.note_unknown(
                object,
                &[
                    "executable",
                    "parameters",
                    "silent",
                    "runAsAdmin",
                    "platform",
                ],
            );
            let executable = package_path(r, object, "executable", true);
            let parameters = r.strings(object, "parameters", false);
            let silent = r.optional_bool(object, "silent").unwrap_or(false);
            let run_as_admin = r.optional_bool(object, "runAsAdmin").unwrap_or(false);
            let platform = choice(r, object, "platform", false, COMMAND_PLATFORMS);
            Some(Command {
                executable: executable?,
                parameters,
                silent,
                run_as_admin,
                platform,
            })
        })
        .collect()
}
