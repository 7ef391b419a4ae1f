//! The C++ examples (`examples/counter-cpp/`) as a user gets them: the logi_plugin CMake package
//! built from `capi/` and installed into a prefix (shared with the C ABI's tests), the
//! examples built against it with CMake and g++ (`find_package(logi_plugin)`), the counter
//! plugin's package folder packed by
//! `logi-plugin pack` and installed into a real `logi-plugin serve`, its key pressed and its
//! dial turned through `logi-plugin invoke` with the count kept across a restart, the `press`
//! client-library program run against the same `serve`, the conformance kit passing the plugin
//! over both its transports, and both programs run built with AddressSanitizer with no report.
//! Without cmake, g++ or protoc the tests are skipped, saying so, except under CI (`CI` set),
//! where they fail.

#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::counter::{Served, assert_conformant, assert_counts, pack, press};
use common::daemon::{Daemon, LOGI_PLUGIN, daemon, install_connected, tool, until_connected};
use common::kit::has_check;
use common::tools::{cmake_install, installed_package, workspace};

const PLUGIN_ID: &str = "com.logi.example.counter-cpp";

/// Where the examples' builds go: kept between runs, so that CMake rebuilds only what changed.
fn builds() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("counter-cpp")
}

fn path(path: &Path) -> String {
    path.to_str().unwrap().to_owned()
}

/// The examples built one way: the plugin's package folder (manifest, icon, `bin/counter-cpp`)
/// and the `press` program.
struct Examples {
    package: PathBuf,
    press: PathBuf,
}

/// The examples built against the installed logi_plugin package (its C ABI from this test
/// run's cargo profile, debug), plainly or with AddressSanitizer; once per test run each.
/// `None` without the tools.
fn examples(asan: bool) -> Option<&'static Examples> {
    static PLAIN: OnceLock<Option<Examples>> = OnceLock::new();
    static ASAN: OnceLock<Option<Examples>> = OnceLock::new();
    let (cell, name) = if asan {
        (&ASAN, "asan")
    } else {
        (&PLAIN, "plain")
    };
    cell.get_or_init(|| {
        let prefix = installed_package()?;
        let build = builds().join(name);
        let package = build.join("package");
        let mut configure = Command::new("cmake");
        configure
            .arg(format!("-DCMAKE_PREFIX_PATH={}", prefix.display()))
            // Unoptimised, as the C ABI beside it: it compiles faster.
            .arg("-DCMAKE_BUILD_TYPE=Debug");
        if asan {
            let flags = "-fsanitize=address -fno-omit-frame-pointer";
            configure.arg(format!("-DCMAKE_CXX_FLAGS={flags}"));
            configure.arg("-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address");
        }
        let source = workspace().join("examples/counter-cpp");
        cmake_install(configure, &source, &build, &package);
        Some(Examples {
            package,
            press: build.join("press"),
        })
    })
    .as_ref()
}

/// Runs the `press` program against the manager on `socket`.
fn run_press(press: &Path, socket: &Path) -> Output {
    Command::new(press)
        .env("LOGI_PLUGIN_ENDPOINT", socket)
        .output()
        .unwrap()
}

#[test]
fn pressed_and_turned_through_invoke_the_count_kept_across_a_restart() {
    let Some(examples) = examples(false) else {
        return;
    };
    let mut served = Served::installed(&examples.package, PLUGIN_ID);
    assert_counts(&served.socket, PLUGIN_ID);

    // The manager stopped and started again: the plugin is launched anew and finds its count.
    served.restart();
    until_connected(&served.socket, PLUGIN_ID);
    assert_eq!(press(&served.socket, PLUGIN_ID), "7");
}

#[test]
fn the_client_library_example_lists_the_plugins_and_presses_the_counter() {
    let Some(examples) = examples(false) else {
        return;
    };
    let served = Served::installed(&examples.package, PLUGIN_ID);
    let socket = &served.socket;
    assert_eq!(press(socket, PLUGIN_ID), "1");

    let output = run_press(&examples.press, socket);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout,
        "connected to the plugin manager\n\
         1 plugins\n  \
         com.logi.example.counter-cpp 1.0.0 CONTAINER_STATE_RUNNING connected\n\
         pressed count of com.logi.example.counter-cpp: 2\n"
    );
    // The plugin saw the press: the next one counts on from it.
    assert_eq!(press(socket, PLUGIN_ID), "3");
}

#[test]
fn the_client_library_example_says_why_when_the_plugin_is_not_installed() {
    let Some(examples) = examples(false) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (data, socket) = (dir.path().join("data"), dir.path().join("manager.sock"));
    let _serving = daemon(&data, &socket);
    let output = run_press(&examples.press, &socket);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("invoke failed: NOT_FOUND") && stderr.contains(PLUGIN_ID),
        "{stderr}"
    );
}

#[test]
fn the_plugin_passes_the_conformance_kit_over_the_local_socket() {
    let Some(examples) = examples(false) else {
        return;
    };
    let package = &examples.package;
    let checks = assert_conformant(
        &package.join("bin/counter-cpp"),
        &package.join("manifest.json"),
        "binary",
    );
    // The manifest's action and control let the rate limit and analog checks run too.
    for name in [
        "retry-after-holds",
        "retry-after-answers",
        "analog-flood",
        "analog-net-movement",
    ] {
        assert!(has_check(&checks, name), "{name}: {checks:#?}");
    }
}

#[test]
fn the_plugin_passes_the_conformance_kit_over_websocket_in_json_text() {
    let Some(examples) = examples(false) else {
        return;
    };
    let package = &examples.package;
    let program = package.join("bin/counter-cpp");
    let checks = assert_conformant(&program, &package.join("manifest.json"), "json");
    for name in logi_plugin_conformance::JSON_CHECKS {
        assert!(has_check(&checks, name), "{name}: {checks:#?}");
    }
}

/// Whether `program` was built with AddressSanitizer (its runtime's entry point is linked in).
fn instrumented(program: &Path) -> bool {
    let bytes = std::fs::read(program).unwrap();
    bytes.windows(11).any(|window| window == b"__asan_init")
}

/// Whether a process runs a program from under `dir` (the manager's data folder, where the
/// plugins it installed live).
fn running_from(dir: &Path) -> bool {
    let dir = path(dir);
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .any(|process| {
            let command = std::fs::read(process.path().join("cmdline")).unwrap_or_default();
            String::from_utf8_lossy(&command).starts_with(&dir)
        })
}

#[test]
fn both_examples_run_under_address_sanitizer_with_no_report() {
    let Some(examples) = examples(true) else {
        return;
    };
    let program = examples.package.join("bin/counter-cpp");
    assert!(instrumented(&program) && instrumented(&examples.press));
    let dir = tempfile::tempdir().unwrap();
    let (data, socket) = (dir.path().join("data"), dir.path().join("manager.sock"));
    let reports = dir.path().join("asan");
    std::fs::create_dir(&reports).unwrap();
    // The manager hands its environment to the plugins it launches: the plugin's reports (a
    // leak is reported when it exits) are files here, whatever becomes of its stderr.
    let asan_options = format!("log_path={}", path(&reports.join("report")));
    let archive = dir.path().join("counter-cpp.zip");
    pack(&examples.package, None, &archive);
    let (serving, _) = Daemon::start(
        Command::new(LOGI_PLUGIN)
            .args(["--json", "serve", "--development", "--data-dir"])
            .arg(&data)
            .arg("--endpoint")
            .arg(&socket)
            .env("ASAN_OPTIONS", &asan_options),
    );
    install_connected(&socket, &archive, PLUGIN_ID);
    assert_counts(&socket, PLUGIN_ID);
    let output = Command::new(&examples.press)
        .env("LOGI_PLUGIN_ENDPOINT", &socket)
        .env("ASAN_OPTIONS", &asan_options)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // Removed, the plugin is refused on its next hello and ends on its own: it exits, which
    // is when LeakSanitizer looks.
    assert!(tool(&socket, &["remove", PLUGIN_ID]).status.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while running_from(&data) {
        assert!(
            std::time::Instant::now() < deadline,
            "the plugin did not end"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(serving);
    let found: Vec<String> = std::fs::read_dir(&reports)
        .unwrap()
        .map(|report| std::fs::read_to_string(report.unwrap().path()).unwrap())
        .collect();
    assert!(
        found.is_empty(),
        "AddressSanitizer reported:\n{}",
        found.join("\n")
    );
}
