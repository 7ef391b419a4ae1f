//! The manifest (seed chapter 2) and its localization (chapter 3), read as a host reads them.

use logi_plugin_manifest::localization::Localizations;
use logi_plugin_manifest::{
    CommandPlatform, KeystrokeModifier, Manifest, ManifestError, OsPlatform, Platform, Problem,
    Version,
};
use serde_json::{Value, json};

fn complete() -> Value {
    json!({
        "plugin_id": "com.example.volume",
        "name": "Volume",
        "author": "Example Ltd",
        "description": "Turns the volume up and down",
        "icon": "icons/volume.png",
        "version": "1.2.30",
        "URL": "https://example.com/volume",
        "OS": [
            { "platform": "mac", "minimumVersion": "10.11" },
            { "platform": "windows", "minimumVersion": "10" }
        ],
        "platformVersion": "0.1",
        "programPath": "bin/volume",
        "programPathWin": "bin/volume.exe",
        "application": { "id": "music", "detection": { "osx": ["com.apple.Music"] } },
        "groups": [ { "groupId": "audio", "name": "Audio", "icon": "icons/audio.png" } ],
        "actions": [
            { "id": "mute", "name": "Mute", "tooltip": "Mutes the sound", "groupIds": ["audio"],
              "icon": "icons/mute.png",
              "keystroke": { "osx": { "code": 74, "modifiers": ["command", "option"] } } }
        ],
        "controls": [
            { "id": "level", "name": "Level", "tooltip": "Sets the volume", "groupIds": ["audio"],
              "minimum": 0, "maximum": 100, "defaultStep": 1, "unitOfMeasurement": "%",
              "gestureAxisInfoWin": { "invertable": true, "speedFactor": -0.5,
                  "actionDuration": { "minimumSensitivityThreshold": 1,
                                      "maximumSensitivityThreshold": 5 } } }
        ],
        "requiredCapabilities": ["base"],
        "installationCommands": [
            { "executable": "bin/setup.exe", "parameters": ["--install"], "silent": true,
              "platform": "win" }
        ]
    })
}

fn parse(value: &Value) -> Result<Manifest, Vec<ManifestError>> {
    Manifest::parse(&value.to_string()).map_err(|errors| errors.0)
}

fn errors(value: &Value) -> Vec<ManifestError> {
    parse(value).expect_err("the manifest should be refused")
}

fn paths(value: &Value) -> Vec<String> {
    errors(value).into_iter().map(|e| e.path).collect()
}

fn with(mut value: Value, pointer: &str, replacement: Value) -> Value {
    *value.pointer_mut(pointer).expect("the field exists") = replacement;
    value
}

#[test]
fn a_complete_manifest_is_read_field_by_field() {
    let manifest = parse(&complete()).unwrap();
    assert_eq!(manifest.plugin_id, "com.example.volume");
    assert_eq!(manifest.version, "1.2.30".parse::<Version>().unwrap());
    assert_eq!(manifest.platform_version.to_string(), "0.1.0");
    assert_eq!(manifest.os[1].platform, OsPlatform::Windows);
    assert_eq!(
        manifest.program_for(OsPlatform::Windows),
        Some("bin/volume.exe")
    );
    assert_eq!(manifest.program_for(OsPlatform::Mac), Some("bin/volume"));
    let keystroke = manifest.actions[0].keystroke.as_ref().unwrap();
    let osx = keystroke.osx.as_ref().unwrap();
    assert_eq!(osx.code, 74);
    assert_eq!(
        osx.modifiers,
        [KeystrokeModifier::Command, KeystrokeModifier::Alt]
    );
    let gesture = manifest.controls[0].gesture_axis_info_win.as_ref().unwrap();
    assert!(gesture.invertable);
    assert_eq!(gesture.speed_factor, -0.5);
    assert_eq!(
        gesture
            .action_duration
            .unwrap()
            .maximum_sensitivity_threshold,
        5
    );
    assert_eq!(
        manifest.installation_commands[0].platform,
        Some(CommandPlatform::Win)
    );
    assert!(manifest.unknown_fields.is_empty());
}

#[test]
fn every_problem_is_reported_at_once_with_its_path() {
    let mut bad = complete();
    bad.as_object_mut().unwrap().remove("name");
    let bad = with(bad, "/version", json!("1.2"));
    let bad = with(bad, "/OS/0/platform", json!("linux"));
    let bad = with(bad, "/controls/0/id", json!("mute"));
    let bad = with(bad, "/actions/0/groupIds/0", json!("video"));
    let bad = with(bad, "/requiredCapabilities/0", json!("fancy"));
    let bad = with(
        bad,
        "/controls/0/gestureAxisInfoWin/speedFactor",
        json!(2.0),
    );
    let bad = with(bad, "/controls/0/minimum", json!(100));
    assert_eq!(
        paths(&bad),
        [
            "name",
            "version",
            "OS[0].platform",
            "controls[0].minimum",
            "controls[0].gestureAxisInfoWin.speedFactor",
            "actions[0].groupIds[0]",
            "controls[0].id",
            "requiredCapabilities[0]",
        ]
    );
}

#[test]
fn each_error_names_its_field_and_value() {
    let bad = with(complete(), "/controls/0/id", json!("mute"));
    let text = errors(&bad)[0].to_string();
    assert_eq!(
        text,
        r#"controls[0].id: id "mute" is already used by actions[0].id"#
    );
    let bad = with(complete(), "/version", json!("1.x.3"));
    let text = errors(&bad)[0].to_string();
    assert_eq!(text, r#"version: "1.x.3" has "x", which is not a number"#);
    let bad = with(complete(), "/name", json!(5));
    assert_eq!(
        errors(&bad)[0].to_string(),
        "name: must be a string, found a number"
    );
}

#[test]
fn the_version_must_be_three_numbers() {
    for bad in [
        "1",
        "1.2",
        "1.2.3.4",
        "1.2.-3",
        "v1.2.3",
        "1..3",
        "1.2.99999999999",
    ] {
        let refused = with(complete(), "/version", json!(bad));
        assert_eq!(paths(&refused), ["version"], "{bad}");
    }
    let accepted = with(complete(), "/version", json!("0.0.7"));
    assert_eq!(parse(&accepted).unwrap().version.build, 7);
}

#[test]
fn the_platform_version_may_leave_out_minor_and_build() {
    for (text, expected) in [("2", "2.0.0"), ("2.1", "2.1.0"), ("2.1.5", "2.1.5")] {
        let manifest = parse(&with(complete(), "/platformVersion", json!(text))).unwrap();
        assert_eq!(manifest.platform_version.to_string(), expected);
    }
    let refused = with(complete(), "/platformVersion", json!("2.1.5.0"));
    assert_eq!(paths(&refused), ["platformVersion"]);
}

#[test]
fn action_and_control_ids_are_unique_across_both_lists() {
    let mut value = complete();
    value["actions"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "id": "level", "name": "Again", "tooltip": "Again" }));
    let found = errors(&value);
    assert_eq!(
        found[0].problem,
        Problem::Duplicate {
            value: "level".into(),
            first: "actions[1].id".into()
        }
    );
    assert_eq!(found[0].path, "controls[0].id");
}

#[test]
fn group_ids_are_unique_and_every_member_names_a_declared_group() {
    let mut value = complete();
    value["groups"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "groupId": "audio", "name": "Audio again" }));
    let value = with(value, "/controls/0/groupIds/0", json!("lights"));
    let found = errors(&value);
    assert_eq!(found[0].path, "groups[1].groupId");
    assert_eq!(found[1].path, "controls[0].groupIds[0]");
    assert_eq!(found[1].problem, Problem::UnknownGroup("lights".into()));
}

#[test]
fn a_path_that_leaves_the_package_is_refused() {
    for bad in [
        "../icon.png",
        "/etc/icon.png",
        "icons\\icon.png",
        "C:/icon.png",
        "a//b.png",
    ] {
        let refused = with(complete(), "/icon", json!(bad));
        assert_eq!(paths(&refused), ["icon"], "{bad}");
    }
    let refused = with(
        complete(),
        "/installationCommands/0/executable",
        json!("../x"),
    );
    assert_eq!(paths(&refused), ["installationCommands[0].executable"]);
}

#[test]
fn a_plugin_id_that_cannot_name_a_folder_is_refused() {
    for bad in ["../evil", "a/b", ".hidden", "with space", &"x".repeat(129)] {
        let refused = with(complete(), "/plugin_id", json!(bad));
        assert_eq!(paths(&refused), ["plugin_id"], "{bad}");
    }
}

#[test]
fn required_fields_missing_are_each_named() {
    let value = json!({ "version": "1.0.0" });
    assert_eq!(
        paths(&value),
        [
            "plugin_id",
            "name",
            "author",
            "description",
            "icon",
            "OS",
            "platformVersion",
            "requiredCapabilities",
        ]
    );
}

#[test]
fn a_control_needs_a_range_and_a_positive_step() {
    let value = with(complete(), "/controls/0/defaultStep", json!(0));
    let value = with(value, "/controls/0/maximum", json!("100"));
    assert_eq!(
        paths(&value),
        ["controls[0].maximum", "controls[0].defaultStep"]
    );
}

#[test]
fn keystroke_modifiers_are_checked() {
    let value = with(
        complete(),
        "/actions/0/keystroke/osx/modifiers/1",
        json!("hyper"),
    );
    assert_eq!(paths(&value), ["actions[0].keystroke.osx.modifiers[1]"]);
    let value = with(complete(), "/actions/0/keystroke", json!({}));
    assert_eq!(paths(&value), ["actions[0].keystroke"]);
}

#[test]
fn unknown_fields_are_warnings_not_errors() {
    let mut value = complete();
    value["homepage"] = json!("x");
    value["actions"][0]["colour"] = json!("red");
    let manifest = parse(&value).unwrap();
    assert_eq!(manifest.unknown_fields, ["homepage", "actions[0].colour"]);
}

#[test]
fn text_that_is_not_json_is_one_syntax_error() {
    let found = Manifest::parse("{ \"plugin_id\": ").unwrap_err().0;
    assert_eq!(found.len(), 1);
    assert!(matches!(found[0].problem, Problem::Syntax(_)));
}

#[test]
fn files_the_manifest_names_must_be_in_the_package() {
    let manifest = parse(&complete()).unwrap();
    let present = ["icons/volume.png", "bin/volume", "bin/volume.exe"];
    let missing = manifest.check_files(|file| present.contains(&file));
    assert_eq!(missing.warnings, []);
    let missing: Vec<_> = missing.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        missing,
        [
            r#"groups[0].icon: file "icons/audio.png" is not in the package"#,
            r#"actions[0].icon: file "icons/mute.png" is not in the package"#,
            r#"installationCommands[0].executable: file "bin/setup.exe" is not in the package"#,
        ]
    );
}

/// What `check_files` says of the complete manifest's package holding `present` (and its
/// icons), as text: errors and warnings.
fn missing_with(present: &[&str]) -> (Vec<String>, Vec<String>) {
    let manifest = parse(&complete()).unwrap();
    let icons = ["icons/volume.png", "icons/audio.png", "icons/mute.png"];
    let missing = manifest.check_files(|file| present.contains(&file) || icons.contains(&file));
    let text = |list: Vec<ManifestError>| list.iter().map(|e| e.to_string()).collect();
    (text(missing.errors), text(missing.warnings))
}

#[test]
fn a_package_with_one_platforms_program_only_warns_of_the_others() {
    let (errors, warnings) = missing_with(&["bin/volume"]);
    assert_eq!(errors, Vec::<String>::new());
    assert_eq!(
        warnings,
        [
            r#"programPathWin: file "bin/volume.exe" is not in the package, so it does not run on Windows"#,
            r#"installationCommands[0].executable: file "bin/setup.exe" is not in the package, so it does not run on Windows"#,
        ]
    );
}

#[test]
fn a_windows_only_package_warns_that_it_does_not_run_on_macos_or_linux() {
    let (errors, warnings) = missing_with(&["bin/volume.exe", "bin/setup.exe"]);
    assert_eq!(errors, Vec::<String>::new());
    assert_eq!(
        warnings,
        [
            r#"programPath: file "bin/volume" is not in the package, so it does not run on macOS or Linux"#
        ]
    );
}

#[test]
fn a_command_for_a_platform_the_package_runs_on_must_be_there() {
    let (errors, _) = missing_with(&["bin/volume.exe"]);
    assert_eq!(
        errors,
        [r#"installationCommands[0].executable: file "bin/setup.exe" is not in the package"#]
    );
}

#[test]
fn a_package_with_no_platforms_program_lacks_them_all() {
    let (errors, warnings) = missing_with(&[]);
    assert_eq!(warnings, Vec::<String>::new());
    assert_eq!(
        errors,
        [
            r#"programPath: file "bin/volume" is not in the package"#,
            r#"programPathWin: file "bin/volume.exe" is not in the package"#,
            r#"installationCommands[0].executable: file "bin/setup.exe" is not in the package"#,
        ]
    );
}

#[test]
fn the_files_a_platform_needs_are_its_program_its_commands_and_the_icons() {
    let manifest = parse(&complete()).unwrap();
    let present = |file: &str| file == "bin/volume.exe";
    let missing = |platform| -> Vec<String> {
        let found = manifest.check_files_on(platform, present);
        found.into_iter().map(|e| e.path).collect()
    };
    let icons = ["icon", "groups[0].icon", "actions[0].icon"];
    let with_setup = [&icons[..], &["installationCommands[0].executable"]].concat();
    assert_eq!(missing(Platform::Windows), with_setup);
    let with_program = [&icons[..], &["programPath"]].concat();
    assert_eq!(missing(Platform::Mac), with_program);
    assert_eq!(missing(Platform::Other), with_program);
}

#[test]
fn each_platform_runs_its_override_or_program_path() {
    let manifest = parse(&complete()).unwrap();
    assert_eq!(
        manifest.program_on(Platform::Windows),
        Some(("programPathWin", "bin/volume.exe"))
    );
    assert_eq!(
        manifest.program_on(Platform::Mac),
        Some(("programPath", "bin/volume"))
    );
    assert_eq!(
        manifest.program_on(Platform::Other),
        Some(("programPath", "bin/volume"))
    );
}

fn localizations() -> Localizations {
    Localizations::parse([
        ("en-US", "Volume: Volume\nMute: Mute\n"),
        (
            "de",
            "Volume: Lautstärke\nMute: Stummschalten\n\"Mutes the sound\": Schaltet stumm\n",
        ),
        ("de-AT", "Mute: Leise\n"),
    ])
    .unwrap()
}

#[test]
fn the_locale_file_is_used_for_its_locale() {
    let manifest = parse(&complete()).unwrap();
    let localized = localizations().localize(&manifest, "de-AT");
    assert_eq!(localized.actions[0].name, "Leise");
    // A string de-AT does not translate stays as written: files are not merged.
    assert_eq!(localized.name, "Volume");
}

#[test]
fn the_manifest_file_is_localized_as_the_manifest_is() {
    let manifest = parse(&complete()).unwrap();
    for locale in ["de-AT", "de-CH", "fr-FR"] {
        let mut json = complete();
        localizations().localize_json(&mut json, locale);
        let from_json = parse(&json).unwrap();
        assert_eq!(
            from_json,
            localizations().localize(&manifest, locale),
            "{locale}"
        );
    }
}

#[test]
fn a_locale_without_its_file_uses_its_language() {
    let manifest = parse(&complete()).unwrap();
    let localized = localizations().localize(&manifest, "de-CH");
    assert_eq!(localized.name, "Lautstärke");
    assert_eq!(localized.actions[0].tooltip, "Schaltet stumm");
}

#[test]
fn a_locale_without_its_file_or_its_languages_uses_another_region_of_the_language() {
    let regions = Localizations::parse([
        ("en-US", "Volume: Volume\n"),
        ("de-DE", "Volume: Lautstärke\n"),
        ("pt-PT", "Volume: Volume (PT)\n"),
    ])
    .unwrap();
    let manifest = parse(&complete()).unwrap();
    assert_eq!(regions.localize(&manifest, "de-AT").name, "Lautstärke");
    assert_eq!(regions.localize(&manifest, "pt_BR").name, "Volume (PT)");
}

#[test]
fn a_locale_with_no_file_falls_back_to_en_us() {
    let only_en = Localizations::parse([("en-US", "Volume: Sound volume\n")]).unwrap();
    let manifest = parse(&complete()).unwrap();
    assert_eq!(only_en.localize(&manifest, "fr-FR").name, "Sound volume");
}

#[test]
fn without_en_us_nothing_is_translated() {
    let only_de = Localizations::parse([("de", "Volume: Lautstärke\n")]).unwrap();
    let manifest = parse(&complete()).unwrap();
    assert_eq!(only_de.localize(&manifest, "fr-FR"), manifest);
}

#[test]
fn a_bad_localization_file_is_named() {
    let errors =
        Localizations::parse([("en-US", "ok: fine\n"), ("fr", "- a\n- list\n")]).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].to_string().starts_with("localization/fr.yaml: "),
        "{}",
        errors[0]
    );
}
