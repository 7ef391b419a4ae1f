//! `include/logi_plugin.h` is what cbindgen makes of the sources now: the header a C or C++
//! program compiles against never lags the library it links.

use std::path::Path;

/// The command that rewrites the header.
const BLESS: &str = "LOGI_PLUGIN_BLESS=1 cargo test -p logi-plugin-capi --test header";

/// The header from the sources: cbindgen's output, opened by the crate's documentation (the
/// contract: results, threads, ownership) as a comment.
fn generate(crate_dir: &Path) -> String {
    let lib = std::fs::read_to_string(crate_dir.join("src/lib.rs")).unwrap();
    let contract: Vec<String> = lib
        .lines()
        .filter_map(|line| line.strip_prefix("//!"))
        .map(|line| format!(" *{line}").trim_end().to_string())
        .collect();
    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).unwrap();
    config.header = Some(format!("/*\n{}\n */", contract.join("\n")));
    let mut header = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen reads the sources")
        .write(&mut header);
    String::from_utf8(header).unwrap()
}

#[test]
fn the_checked_in_header_is_what_cbindgen_makes_of_the_sources() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = crate_dir.join("include/logi_plugin.h");
    let generated = generate(crate_dir);
    if std::env::var_os("LOGI_PLUGIN_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{} is not what cbindgen makes of capi/src now: rewrite it with `{BLESS}`",
        path.display()
    );
}
