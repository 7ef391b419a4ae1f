//! `logi-plugin new ID --lang ts`: a TypeScript plugin folder in the layout of
//! examples/counter-js (package.json on the sources' sdk-js/, tsconfig, the plugin on the handler
//! API, its test on the mock host, the manifest, the launcher), the names, folders, sources and
//! languages it refuses, and, where npm is, the folder built, tested and judged by the
//! conformance kit as generated.

#![cfg(unix)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::daemon::LOGI_PLUGIN;
use common::npm;
use logi_plugin_package::{Limits, Package};
use serde_json::Value;

/// The program the generated manifest names for `com.example.hello`.
const PROGRAM: &str = "bin/com-example-hello";

fn new(args: &[&str]) -> Output {
    Command::new(LOGI_PLUGIN)
        .arg("new")
        .args(args)
        .output()
        .unwrap()
}

/// `com.example.hello` made in TypeScript in a temporary folder, with `args` added: the folder
/// and what the command printed.
fn made(args: &[&str]) -> (tempfile::TempDir, PathBuf, String) {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("hello");
    let mut all = vec![
        "com.example.hello",
        "--lang",
        "ts",
        "--dir",
        dir.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let output = new(&all);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (work, dir, stdout)
}

/// `new ARGS --dir <a folder not there>` refused: what it said; the folder is not made.
fn refused(args: &[&str]) -> String {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("hello");
    let output = new(&[args, &["--dir", dir.to_str().unwrap()]].concat());
    assert!(!output.status.success());
    assert!(!dir.exists());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn a_typescript_plugin_has_the_layout_of_the_javascript_example() {
    let (_work, dir, _) = made(&[]);
    let launcher = format!("package/{PROGRAM}");
    for file in [
        "package.json",
        "tsconfig.json",
        "src/plugin.ts",
        "src/main.ts",
        "test/plugin.test.ts",
        "package/manifest.json",
        "package/icons/icon.png",
        &launcher,
        ".gitignore",
    ] {
        assert!(dir.join(file).is_file(), "no {file}");
    }
    let ignored = std::fs::read_to_string(dir.join(".gitignore")).unwrap();
    for line in ["node_modules/", "dist/", "package/bin/*.mjs"] {
        assert!(ignored.lines().any(|l| l == line), "{line} in {ignored}");
    }
    let manifest = json(&dir.join("package/manifest.json"));
    assert_eq!(manifest["plugin_id"], "com.example.hello");
    assert_eq!(manifest["programPath"], PROGRAM);
    // The launcher is a shell script: no Windows program to name.
    assert_eq!(manifest.get("programPathWin"), None);
    let plugin = std::fs::read_to_string(dir.join("src/plugin.ts")).unwrap();
    assert!(
        plugin.contains(r#"pluginId: "com.example.hello""#),
        "{plugin}"
    );
}

#[test]
fn the_launcher_is_executable_and_runs_the_bundle_with_node() {
    let (_work, dir, _) = made(&[]);
    let launcher = dir.join("package").join(PROGRAM);
    let mode = std::fs::metadata(&launcher).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o755, "{mode:o}");
    let text = std::fs::read_to_string(&launcher).unwrap();
    assert!(text.starts_with("#!/bin/sh\n"), "{text}");
    assert!(
        text.contains(r#"exec node "$(dirname "$0")/com-example-hello.mjs" "$@""#),
        "{text}"
    );
}

#[test]
fn package_json_depends_on_the_sources_sdk_js_by_path_with_its_pinned_tools() {
    let (_work, dir, _) = made(&[]);
    let package = json(&dir.join("package.json"));
    let sdk_js = workspace().join("sdk-js");
    let sdk_js = std::path::absolute(sdk_js).unwrap();
    assert_eq!(
        package["dependencies"]["@logi-plugin/sdk"],
        format!("file:{}", sdk_js.display())
    );
    assert_eq!(package["private"], true);
    assert_eq!(package["type"], "module");
    // The same tools as the SDK's, at the same exact versions.
    let sdk = json(&sdk_js.join("package.json"));
    for tool in ["typescript", "@types/node"] {
        assert_eq!(
            package["devDependencies"][tool], sdk["devDependencies"][tool],
            "{tool}"
        );
    }
    let esbuild = package["devDependencies"]["esbuild"].as_str().unwrap();
    assert!(
        esbuild.chars().all(|c| c.is_ascii_digit() || c == '.'),
        "{esbuild}"
    );
    let scripts = &package["scripts"];
    let build = scripts["build"].as_str().unwrap();
    assert!(build.starts_with("tsc "), "{build}");
    assert!(
        build.contains("esbuild dist/src/main.js --bundle"),
        "{build}"
    );
    assert!(
        build.contains("--outfile=package/bin/com-example-hello.mjs"),
        "{build}"
    );
    assert_eq!(
        scripts["test"],
        "npm run build && node --test dist/test/*.test.js"
    );
    let conformance = scripts["conformance"].as_str().unwrap();
    assert!(
        conformance.contains(
            r#""${LOGI_PLUGIN_BIN:-logi-plugin}" conformance --plugin package/bin/com-example-hello"#
        ),
        "{conformance}"
    );
}

#[test]
fn the_sdk_option_points_the_dependency_at_other_sources() {
    let sources = tempfile::tempdir().unwrap();
    std::fs::create_dir(sources.path().join("sdk-js")).unwrap();
    std::fs::copy(
        workspace().join("sdk-js/package.json"),
        sources.path().join("sdk-js/package.json"),
    )
    .unwrap();
    let (_work, dir, _) = made(&["--sdk", sources.path().to_str().unwrap()]);
    let package = json(&dir.join("package.json"));
    assert_eq!(
        package["dependencies"]["@logi-plugin/sdk"],
        format!("file:{}", sources.path().join("sdk-js").display())
    );
}

#[test]
fn sources_without_sdk_js_are_refused_naming_what_is_missing() {
    let sources = tempfile::tempdir().unwrap();
    let sources = sources.path().to_str().unwrap();
    let stderr = refused(&["com.example.hello", "--lang", "ts", "--sdk", sources]);
    assert!(stderr.contains("sdk-js/package.json"), "{stderr}");
    assert!(stderr.contains(sources), "{stderr}");
}

#[test]
fn a_name_that_is_no_plugin_id_is_refused_in_typescript_too() {
    let stderr = refused(&["not a plugin id!", "--lang", "ts"]);
    assert!(stderr.contains("plugin_id"), "{stderr}");
}

#[test]
fn a_folder_that_exists_is_refused_and_left_alone_in_typescript_too() {
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("mine.txt"), "keep").unwrap();
    let folder = work.path().to_str().unwrap();
    let refused = new(&["com.example.hello", "--lang", "ts", "--dir", folder]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("exists"), "{stderr}");
    assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 1);
}

#[test]
fn a_language_it_does_not_know_is_refused_naming_the_choices() {
    let stderr = refused(&["com.example.hello", "--lang", "py"]);
    assert!(stderr.contains("'py'"), "{stderr}");
    assert!(stderr.contains("rust, ts"), "{stderr}");
}

#[test]
fn what_to_run_next_is_printed() {
    let (_work, _dir, stdout) = made(&[]);
    for step in [
        "npm install",
        "npm test",
        "npm run conformance",
        "logi-plugin pack package",
    ] {
        assert!(stdout.contains(step), "{step} in {stdout}");
    }
}

/// `logi-plugin pack package` in `dir`: the archive written beside the folder.
fn pack(dir: &Path) -> PathBuf {
    let archive = dir.with_extension("zip");
    let packed = Command::new(LOGI_PLUGIN)
        .args(["pack", "package", "-o", archive.to_str().unwrap()])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        packed.status.success(),
        "{}",
        String::from_utf8_lossy(&packed.stderr)
    );
    archive
}

#[test]
fn the_package_folder_packs_with_its_launcher_executable() {
    let (_work, dir, _) = made(&[]);
    let package = Package::from_zip_file(&pack(&dir), Limits::default()).unwrap();
    assert!(package.files()[PROGRAM].executable);
}

#[test]
fn a_new_typescript_plugin_builds_passes_its_tests_and_the_conformance_kit_as_generated() {
    if !npm::present("a TypeScript plugin") {
        return;
    }
    // The SDK is not published: the new folder links the sources' sdk-js/, built here.
    let sdk_js = workspace().join("sdk-js");
    npm::ci(&sdk_js);
    npm::run(&sdk_js, &["run", "build"]);
    let (_work, dir, _) = made(&[]);
    npm::run(&dir, &["install", "--no-audit", "--no-fund"]);
    let tested = npm::run(&dir, &["test"]);
    assert!(tested.contains("\n# fail 0\n"), "{tested}");
    assert!(tested.contains("\n# skipped 0\n"), "{tested}");
    let bundle_path = dir.join("package/bin/com-example-hello.mjs");
    assert!(
        bundle_path.is_file(),
        "npm test built no {}",
        bundle_path.display()
    );
    let judged = npm::run(&dir, &["run", "conformance"]);
    assert!(judged.contains("checks run passed"), "{judged}");
    let package = Package::from_zip_file(&pack(&dir), Limits::default()).unwrap();
    assert!(package.files()[PROGRAM].executable);
    let bundle = &package.files()["bin/com-example-hello.mjs"];
    assert!(bundle.bytes == std::fs::read(bundle_path).unwrap());
}
