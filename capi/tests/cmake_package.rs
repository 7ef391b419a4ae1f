//! The CMake package and the pkg-config file: `capi/CMakeLists.txt` is configured, built (the
//! C ABI with cargo's profile of this test, into this test's target folder, so nothing is
//! compiled twice) and installed into a prefix ([`tools::installed_package`]); then the
//! consumer project `tests/cmake_consumer/` finds it with `find_package` and a C program
//! builds with the flags of `pkg-config logi_plugin`, and each program runs. Without cmake, a C or C++ compiler, protoc
//! or pkg-config a test says so and passes, except under CI (`CI` set), where it fails.

#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

mod tools;
use tools::{installed_package, run, tool};

/// What the C++ consumer prints: the message it built and the C ABI's refusal of a null id.
const CPP_CONSUMER_PRINTS: &str = "logi.plugin.protocol.TriggerAction: 22 bytes\n\
    LOGI_INVALID_ARG: logi_plugin_client_new: plugin_id is null\n";

/// What the C consumer prints.
const C_CONSUMER_PRINTS: &str = "LOGI_INVALID_ARG: plugin_id is null\n";

fn crate_dir() -> PathBuf {
    tools::workspace().join("capi")
}

/// The consumer project configured against the installed package, its `target` built.
fn consumer(prefix: &Path, target: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let configured = run(Command::new("cmake")
        .arg("-S")
        .arg(crate_dir().join("tests/cmake_consumer"))
        .arg("-B")
        .arg(dir.path())
        .arg(format!("-DCMAKE_PREFIX_PATH={}", prefix.display())));
    let found = format!("found logi_plugin {}", env!("CARGO_PKG_VERSION"));
    assert!(
        configured.contains(&found),
        "the consumer's configure did not say {found:?}:\n{configured}"
    );
    run(Command::new("cmake")
        .arg("--build")
        .arg(dir.path())
        .args(["--target", target]));
    let program = dir.path().join(target);
    (dir, program)
}

#[test]
fn a_cpp17_project_links_the_plugin_framework_target_that_find_package_finds() {
    let Some(prefix) = installed_package() else {
        return;
    };
    let (_dir, program) = consumer(prefix, "consumer");
    assert_eq!(run(&mut Command::new(program)), CPP_CONSUMER_PRINTS);
}

#[test]
fn a_c_program_links_the_shared_library_target_by_its_name_not_its_build_path() {
    let Some(prefix) = installed_package() else {
        return;
    };
    let (_dir, program) = consumer(prefix, "consumer_c");
    // The cdylib has no soname: linked by its path, the program would need that path at run
    // time.
    let dynamic = run(Command::new("readelf").arg("--dynamic").arg(&program));
    let needed: Vec<&str> = dynamic
        .lines()
        .filter(|line| line.contains("(NEEDED)") && line.contains("logi_plugin"))
        .collect();
    assert!(
        needed.len() == 1 && needed[0].ends_with("[liblogi_plugin.so]"),
        "the program needs {needed:?}"
    );
    assert_eq!(run(&mut Command::new(program)), C_CONSUMER_PRINTS);
}

#[test]
fn a_c_program_builds_with_the_flags_of_pkg_config_and_runs() {
    let Some(prefix) = installed_package() else {
        return;
    };
    let (Some(pkg_config), Some(cc)) = (tool("pkg-config", None), tool("cc", Some("CC"))) else {
        return;
    };
    let lib = prefix.join("lib");
    let flags = run(Command::new(pkg_config)
        .args(["--cflags", "--libs", "logi_plugin"])
        .env("PKG_CONFIG_PATH", lib.join("pkgconfig")));
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("consumer_c");
    run(Command::new(cc)
        .args(["-std=c99", "-Wall", "-Werror"])
        .arg(crate_dir().join("tests/cmake_consumer/consumer.c"))
        .args(flags.split_whitespace())
        .arg("-o")
        .arg(&program));
    let printed = run(Command::new(&program).env("LD_LIBRARY_PATH", &lib));
    assert_eq!(printed, C_CONSUMER_PRINTS);
}
