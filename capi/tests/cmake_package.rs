//! The CMake package and the pkg-config file: `capi/CMakeLists.txt` is configured, built (the
//! C ABI with cargo's profile of this test, into this test's target folder, so nothing is
//! compiled twice) and installed into a temporary prefix; then the consumer project
//! `tests/cmake_consumer/` finds it with `find_package` and a C program builds with the flags of
//! `pkg-config logi_plugin`, and each program runs. Without cmake, a C or C++ compiler, protoc
//! or pkg-config a test says so and passes, except under CI (`CI` set), where it fails.

#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use tempfile::TempDir;

mod tools;
use tools::{run, tool};

/// What the C++ consumer prints: the message it built and the C ABI's refusal of a null id.
const CPP_CONSUMER_PRINTS: &str = "logi.plugin.protocol.TriggerAction: 22 bytes\n\
    LOGI_INVALID_ARG: logi_plugin_client_new: plugin_id is null\n";

/// What the C consumer prints.
const C_CONSUMER_PRINTS: &str = "LOGI_INVALID_ARG: plugin_id is null\n";

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// This test's target folder and cargo profile folder (`debug`, `release`), from the test
/// binary's path: `<target>/<profile>/deps/cmake_package-<hash>`.
fn cargo_target() -> (PathBuf, String) {
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().and_then(Path::parent).unwrap();
    let name = profile.file_name().unwrap().to_str().unwrap().to_string();
    (profile.parent().unwrap().to_path_buf(), name)
}

/// The package installed into a temporary prefix, removed with the last test that uses it.
struct Installed {
    dir: TempDir,
}

impl Installed {
    fn prefix(&self) -> PathBuf {
        self.dir.path().join("prefix")
    }
}

/// The installed package, built once for the tests that run at the same time; `None` when a
/// tool is missing (outside CI).
fn installed() -> Option<Arc<Installed>> {
    tool("cmake", None)?;
    tool("c++", Some("CXX"))?;
    tool("protoc", None)?;
    static SHARED: Mutex<Weak<Installed>> = Mutex::new(Weak::new());
    // A test that panicked while installing leaves nothing behind: the next one tries again.
    let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(installed) = shared.upgrade() {
        return Some(installed);
    }
    let installed = Arc::new(install());
    *shared = Arc::downgrade(&installed);
    Some(installed)
}

/// What a user runs: configure (cargo's target folder from `CARGO_TARGET_DIR`), build,
/// `cmake --install`.
fn install() -> Installed {
    let installed = Installed {
        dir: tempfile::tempdir().unwrap(),
    };
    let build = installed.dir.path().join("build");
    let (target, profile) = cargo_target();
    run(Command::new("cmake")
        .arg("-S")
        .arg(crate_dir())
        .arg("-B")
        .arg(&build)
        .arg(format!("-DLOGI_PLUGIN_CARGO={}", env!("CARGO")))
        .arg(format!("-DLOGI_PLUGIN_CARGO_PROFILE={profile}"))
        // Unoptimised protocol classes beside cargo's debug build: they compile faster.
        .arg(if profile == "release" {
            "-DCMAKE_BUILD_TYPE=Release"
        } else {
            "-DCMAKE_BUILD_TYPE=Debug"
        })
        .env("CARGO_TARGET_DIR", &target));
    run(Command::new("cmake")
        .arg("--build")
        .arg(&build)
        .args(["--parallel", "2"]));
    run(Command::new("cmake")
        .arg("--install")
        .arg(&build)
        .arg("--prefix")
        .arg(installed.prefix()));
    installed
}

/// The consumer project configured against the installed package, its `target` built.
fn consumer(installed: &Installed, target: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let configured = run(Command::new("cmake")
        .arg("-S")
        .arg(crate_dir().join("tests/cmake_consumer"))
        .arg("-B")
        .arg(dir.path())
        .arg(format!(
            "-DCMAKE_PREFIX_PATH={}",
            installed.prefix().display()
        )));
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
    let Some(installed) = installed() else {
        return;
    };
    let (_dir, program) = consumer(&installed, "consumer");
    assert_eq!(run(&mut Command::new(program)), CPP_CONSUMER_PRINTS);
}

#[test]
fn a_c_program_links_the_shared_library_target_by_its_name_not_its_build_path() {
    let Some(installed) = installed() else {
        return;
    };
    let (_dir, program) = consumer(&installed, "consumer_c");
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
    let Some(installed) = installed() else {
        return;
    };
    let (Some(pkg_config), Some(cc)) = (tool("pkg-config", None), tool("cc", Some("CC"))) else {
        return;
    };
    let lib = installed.prefix().join("lib");
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
