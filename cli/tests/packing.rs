//! `logi-plugin pack` and `validate` as a plugin author runs them: the program is a build's
//! output, given with `--program`, never copied into the package folder by hand; a package
//! carries this platform's program, and the other platform's, missing, is a warning.

use std::path::Path;
use std::process::{Command, Output};

use logi_example_media::PROGRAM_PATH;
use logi_plugin_package::{Limits, Package};
use serde_json::Value;

const LOGI_PLUGIN: &str = env!("CARGO_BIN_EXE_logi-plugin");

/// Runs `logi-plugin --json <args>`.
fn tool(args: &[&str]) -> Output {
    Command::new(LOGI_PLUGIN)
        .arg("--json")
        .args(args)
        .output()
        .unwrap()
}

/// The one JSON line a run printed.
fn result(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|_| panic!("not one JSON line: {stdout}"))
}

/// The example's package folder, as it is in the repository (no program in it).
fn example() -> String {
    logi_example_media::package_dir()
        .to_str()
        .unwrap()
        .to_string()
}

/// What the package lacks only for Windows, as `validate --json` lists it (on Linux and macOS).
fn lacks_the_windows_program() -> Value {
    serde_json::json!([
        "programPathWin: file \"bin/media-plugin.exe\" is not in the package, so it does not run on Windows"
    ])
}

#[test]
fn the_example_package_validates_as_it_is_in_the_repository_with_its_built_program() {
    let output = tool(&["validate", &example(), "--program", LOGI_PLUGIN]);
    assert!(output.status.success(), "{output:?}");
    let validated = result(&output);
    assert_eq!(validated["ok"], true);
    assert_eq!(validated["plugin_id"], logi_example_media::PLUGIN_ID);
    if cfg!(unix) {
        assert_eq!(validated["warnings"], lacks_the_windows_program());
    }
}

#[test]
fn a_folder_without_its_program_fails_validation_saying_how_to_give_it() {
    let output = tool(&["validate", &example()]);
    assert!(!output.status.success());
    let error = result(&output)["error"].as_str().unwrap().to_string();
    assert!(
        error.contains(r#"programPath: file "bin/media-plugin" is not in the package"#),
        "{error}"
    );
    assert!(error.contains("--program BINARY"), "{error}");
}

/// The example packed with the built program by `pack`, in a temporary folder, and its path.
fn packed_example() -> (tempfile::TempDir, String) {
    let out = tempfile::tempdir().unwrap();
    let archive = out.path().join("media.zip").to_str().unwrap().to_string();
    let args = ["pack", &example(), "--program", LOGI_PLUGIN, "-o", &archive];
    let packed = tool(&args);
    assert!(packed.status.success(), "{packed:?}");
    (out, archive)
}

#[test]
fn pack_puts_the_built_program_at_the_manifests_program_path_for_this_platform() {
    let (_out, archive) = packed_example();
    let package = Package::from_zip_file(Path::new(&archive), Limits::default()).unwrap();
    let program = &package.files()[PROGRAM_PATH];
    assert!(program.bytes == std::fs::read(LOGI_PLUGIN).unwrap());
    assert!(program.executable);
    let folder_program = logi_example_media::package_dir().join(PROGRAM_PATH);
    assert!(!folder_program.exists(), "pack wrote into the folder");
}

#[test]
fn a_package_packed_for_one_platform_validates_with_the_others_program_as_a_warning() {
    let (_out, archive) = packed_example();
    let output = tool(&["validate", &archive]);
    assert!(output.status.success(), "{output:?}");
    if cfg!(unix) {
        assert_eq!(result(&output)["warnings"], lacks_the_windows_program());
    }
}

#[test]
fn a_program_given_for_an_archive_is_refused_saying_it_is_for_a_folder() {
    let (_out, archive) = packed_example();
    let output = tool(&["validate", &archive, "--program", LOGI_PLUGIN]);
    assert!(!output.status.success());
    let error = result(&output)["error"].as_str().unwrap().to_string();
    assert!(
        error.contains("--program is for a package folder"),
        "{error}"
    );
}
