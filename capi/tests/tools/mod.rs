//! The programs the C ABI's tests build and run with (compilers, cmake, pkg-config): found or
//! skipped, and run with their output checked; and the logi_plugin CMake package, installed
//! once for every test that builds C++ against it. The command-line tool's tests use this
//! module too (`cli/tests/counter_cpp.rs`), so its paths start from the workspace.
#![allow(dead_code)] // Each test file uses its own part.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace (this module's crates, `capi/` and `cli/`, are folders of it).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The command `variable` names (`CC`), or `default` (`cc`); `None`, saying so, when it does
/// not run, which fails under CI (`CI` set), where every test that needs it is required.
pub fn tool(default: &str, variable: Option<&str>) -> Option<String> {
    let command = variable
        .and_then(|variable| std::env::var(variable).ok())
        .unwrap_or_else(|| default.to_string());
    let found = Command::new(&command).arg("--version").output();
    if found.is_ok_and(|output| output.status.success()) {
        return Some(command);
    }
    let named = variable.map_or(String::new(), |variable| format!(" ({variable})"));
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must have {command}{named}: the tests that build with it are required there"
    );
    eprintln!("skipped: no {command}{named} here");
    None
}

/// Runs `command` and returns what it printed; panics with all its output when it fails.
pub fn run(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// This test's cargo target folder and profile (`debug`, `release`), from the test binary's
/// path: `<target>/<profile>/deps/<test>-<hash>`.
pub fn cargo_target() -> (PathBuf, String) {
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().and_then(Path::parent).unwrap();
    let name = profile.file_name().unwrap().to_str().unwrap().to_string();
    (profile.parent().unwrap().to_path_buf(), name)
}

/// The logi_plugin CMake package as a user installs it (configure `capi/`, build,
/// `cmake --install`), the C ABI built by cargo with this test's profile into its target
/// folder (nothing compiled twice), the protocol classes with the matching CMake build type:
/// its prefix, `target/tmp/logi_plugin-<profile>/prefix`. Installed once per test binary; the
/// build folder is kept between runs, so CMake redoes only what changed, and a lock keeps two
/// test binaries from building it at once. `None` without cmake, g++ or protoc (outside CI).
pub fn installed_package() -> Option<&'static Path> {
    static PREFIX: OnceLock<Option<PathBuf>> = OnceLock::new();
    PREFIX
        .get_or_init(|| {
            tool("cmake", None)?;
            tool("g++", Some("CXX"))?;
            tool("protoc", None)?;
            let (target, profile) = cargo_target();
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("logi_plugin-{profile}"));
            std::fs::create_dir_all(&dir).unwrap();
            let lock = std::fs::File::create(dir.join("lock")).unwrap();
            lock.lock().unwrap();
            let (build, prefix) = (dir.join("build"), dir.join("prefix"));
            let mut configure = Command::new("cmake");
            configure
                .arg(format!("-DLOGI_PLUGIN_CARGO={}", env!("CARGO")))
                .arg(format!("-DLOGI_PLUGIN_CARGO_PROFILE={profile}"))
                // Unoptimised protocol classes beside cargo's debug build: they compile faster.
                .arg(if profile == "release" {
                    "-DCMAKE_BUILD_TYPE=Release"
                } else {
                    "-DCMAKE_BUILD_TYPE=Debug"
                })
                .env("CARGO_TARGET_DIR", &target);
            cmake_install(configure, &workspace().join("capi"), &build, &prefix);
            Some(prefix)
        })
        .as_deref()
}

/// Configures the CMake project in `source` into `build` (`configure`: `cmake` with the
/// project's definitions), builds it and installs it into `prefix`, as a user does.
pub fn cmake_install(mut configure: Command, source: &Path, build: &Path, prefix: &Path) {
    run(configure.arg("-S").arg(source).arg("-B").arg(build));
    run(Command::new("cmake")
        .arg("--build")
        .arg(build)
        .args(["--parallel", "2"]));
    run(Command::new("cmake")
        .arg("--install")
        .arg(build)
        .arg("--prefix")
        .arg(prefix));
}

/// The static library, built for this test's profile into its target folder:
/// `target/<profile>/liblogi_plugin.a`. `cargo test -p logi-plugin-capi` makes it with the
/// library, but `cargo test --workspace` builds the library only as its tests' rlib, so the
/// test asks cargo for it (nothing to do when it is there and current).
pub fn static_library() -> PathBuf {
    let (target, profile) = cargo_target();
    let mut build = Command::new(env!("CARGO"));
    build
        .args(["build", "--lib", "-p", "logi-plugin-capi", "--target-dir"])
        .arg(&target);
    if profile == "release" {
        build.arg("--release");
    }
    run(&mut build);
    target.join(profile).join("liblogi_plugin.a")
}

/// What the Rust static library needs from the system, as `-l` flags: the list written down
/// once, in `cmake/logi_pluginLibraries.cmake`, which the CMake package and logi_plugin.pc use.
pub fn system_libraries() -> Vec<String> {
    let path = workspace().join("capi/cmake/logi_pluginLibraries.cmake");
    let text = std::fs::read_to_string(&path).unwrap();
    let start = "set(LOGI_PLUGIN_NATIVE_STATIC_LIBS ";
    let list = text
        .lines()
        .find_map(|line| line.strip_prefix(start)?.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{} has no line {start}...)", path.display()));
    list.split_whitespace()
        .map(|library| format!("-l{library}"))
        .collect()
}

/// Compiles the C++ test program `capi/tests/cpp/<name>.cpp` with g++ -std=c++17 against the
/// installed package ([`installed_package`]: the headers, the protocol's classes, the static
/// library) and the system's libprotobuf; the program's path, in `dir`. `None` when a tool is
/// missing (not in CI).
pub fn build_cpp(dir: &Path, name: &str) -> Option<PathBuf> {
    let prefix = installed_package()?;
    let pkg_config = tool("pkg-config", None)?;
    let flags = run(Command::new(pkg_config).args(["--cflags", "--libs", "protobuf"]));
    let program = dir.join(name);
    run(Command::new(tool("g++", Some("CXX"))?)
        .args(["-std=c++17", "-Wall", "-Wextra", "-Werror", "-pthread"])
        .arg("-I")
        .arg(prefix.join("include"))
        .arg(workspace().join(format!("capi/tests/cpp/{name}.cpp")))
        .arg(prefix.join("lib/liblogi_plugin_protocol.a"))
        .arg(prefix.join("lib/liblogi_plugin.a"))
        .args(flags.split_whitespace())
        .args(system_libraries())
        .arg("-o")
        .arg(&program));
    Some(program)
}
