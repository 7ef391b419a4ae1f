//! The programs the C ABI's tests build and run with (compilers, cmake, pkg-config): found or
//! skipped, and run with their output checked.
#![allow(dead_code)] // Each test file uses its own part.

use std::path::{Path, PathBuf};
use std::process::Command;

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

/// The static library, built for this test's profile into its target folder:
/// `target/<profile>/liblogi_plugin.a`. `cargo test -p logi-plugin-capi` makes it with the
/// library, but `cargo test --workspace` builds the library only as its tests' rlib, so the
/// test asks cargo for it (nothing to do when it is there and current).
pub fn static_library() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test>-<hash>
    let profile = exe.parent().and_then(Path::parent).unwrap();
    let target = profile.parent().unwrap();
    let mut build = Command::new(env!("CARGO"));
    build
        .args(["build", "--lib", "-p", "logi-plugin-capi", "--target-dir"])
        .arg(target);
    if profile.ends_with("release") {
        build.arg("--release");
    }
    run(&mut build);
    profile.join("liblogi_plugin.a")
}

/// What the Rust static library needs from the system, as `-l` flags: the list written down
/// once, in `cmake/logi_pluginLibraries.cmake`, which the CMake package and logi_plugin.pc use.
pub fn system_libraries() -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/cmake/logi_pluginLibraries.cmake"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let start = "set(LOGI_PLUGIN_NATIVE_STATIC_LIBS ";
    let list = text
        .lines()
        .find_map(|line| line.strip_prefix(start)?.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{path} has no line {start}...)"));
    list.split_whitespace()
        .map(|library| format!("-l{library}"))
        .collect()
}

/// Compiles the C++ test program `tests/cpp/<name>.cpp` with g++ -std=c++17 against protoc's
/// classes of `proto/` (generated into `dir`), the static library and the system's
/// libprotobuf; the program's path, in `dir`. `None` when a tool is missing (not in CI).
pub fn build_cpp(dir: &Path, name: &str) -> Option<PathBuf> {
    let cxx = tool("g++", Some("CXX"))?;
    let protoc = tool("protoc", None)?;
    let pkg_config = tool("pkg-config", None)?;
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let proto = crate_dir.join("../proto");
    run(Command::new(protoc)
        .arg("-I")
        .arg(&proto)
        .arg("--cpp_out")
        .arg(dir)
        .arg(proto.join("logi/plugin/protocol/protocol.proto")));
    let flags = run(Command::new(pkg_config).args(["--cflags", "--libs", "protobuf"]));
    let program = dir.join(name);
    run(Command::new(cxx)
        .args(["-std=c++17", "-Wall", "-Wextra", "-Werror", "-pthread"])
        .arg("-I")
        .arg(crate_dir.join("include"))
        .arg("-I")
        .arg(dir)
        .arg(crate_dir.join(format!("tests/cpp/{name}.cpp")))
        .arg(dir.join("logi/plugin/protocol/protocol.pb.cc"))
        .arg(static_library())
        .args(flags.split_whitespace())
        .args(system_libraries())
        .arg("-o")
        .arg(&program));
    Some(program)
}
