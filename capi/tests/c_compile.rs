//! The header is valid C99 (and C++) and the static library links into a C program, which
//! calls the ABI with bad inputs and checks each code and message (`tests/c/bad_inputs.c`).
//! Without a C compiler the test says so and passes, except under CI (`CI` set), where it
//! fails.

#![cfg(target_os = "linux")]

use std::path::Path;
use std::process::Command;

mod tools;
use tools::{run, static_library, tool};

#[test]
fn a_c_program_compiles_against_the_header_links_the_static_library_and_sees_bad_inputs_refused() {
    let Some(cc) = tool("cc", Some("CC")) else {
        return;
    };
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let include = crate_dir.join("include");
    let library = static_library();
    assert!(library.exists(), "{} was not built", library.display());
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("bad_inputs");
    run(Command::new(&cc)
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"])
        .arg("-I")
        .arg(&include)
        .arg(crate_dir.join("tests/c/bad_inputs.c"))
        .arg(&library)
        .args(tools::system_libraries())
        .arg("-o")
        .arg(&program));
    let printed = run(&mut Command::new(&program));
    assert_eq!(printed, "all bad inputs refused\n");
}

#[test]
fn the_header_is_valid_cpp() {
    let Some(cxx) = tool("c++", Some("CXX")) else {
        return;
    };
    let header = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/logi_plugin.h");
    run(Command::new(cxx)
        .args([
            "-std=c++17",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-fsyntax-only",
            "-x",
            "c++",
        ])
        .arg(header));
}
