//! Build script: compiles `proto/` with a pure-Rust protobuf compiler (protox, so no `protoc` is
//! needed), generates the prost types, and from the same descriptors generates the typed
//! `Message` enum, the canonical proto3 JSON code and the wire check's tables. The `.proto`
//! files stay the one source of truth for every message, field name, number and enum value.

mod gen_check;
mod gen_json;
mod gen_message;
mod schema;

use std::path::PathBuf;
use std::{env, fs};

use prost::Message as _;

/// The protocol files, relative to `proto/`.
const PROTO_FILES: &[&str] = &[
    "logi/plugin/protocol/protocol.proto",
    "logi/protocol/plugin_manager/lifecycle.proto",
    "logi/protocol/plugin_manager/client.proto",
    "logi/plugin/marketplace/marketplace.proto",
];

fn main() {
    let root = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let proto_dir = root.join("proto");
    println!("cargo:rerun-if-changed=proto");
    println!("cargo:rerun-if-changed=build");

    let mut compiler = protox::Compiler::new([&proto_dir]).unwrap_or_else(|e| fail(&e));
    compiler.include_imports(true);
    compiler
        .open_files(PROTO_FILES)
        .unwrap_or_else(|e| fail(&e));
    let all = compiler.file_descriptor_set();
    // The full set (with google/protobuf/any.proto) is embedded for reflection-based tools.
    write(&out.join("descriptor_set.binpb"), &all.encode_to_vec());

    let ours: Vec<_> = all
        .file
        .iter()
        .filter(|f| !f.name().starts_with("google/"))
        .cloned()
        .collect();
    let schema = schema::Schema::from_files(&ours).unwrap_or_else(|e| fail(&e));
    write(
        &out.join("messages.rs"),
        gen_message::generate(&schema).as_bytes(),
    );
    write(
        &out.join("checks.rs"),
        gen_check::generate(&schema).as_bytes(),
    );
    write(
        &out.join("json_impls.rs"),
        gen_json::generate(&schema).as_bytes(),
    );

    prost_build::Config::new()
        // Kept out of line: it would make `PluginDetails`, and so every `Message`, larger.
        .boxed(".logi.protocol.plugin_manager.PluginDetails.last_stop")
        .enable_type_names()
        .type_name_domain(["."], "type.googleapis.com")
        .include_file("protos.rs")
        .compile_fds(all)
        .unwrap_or_else(|e| fail(&e));
}

fn write(path: &std::path::Path, contents: &[u8]) {
    fs::write(path, contents).unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
}

fn fail(error: &dyn std::fmt::Display) -> ! {
    panic!("building the protocol from proto/ failed: {error}")
}
