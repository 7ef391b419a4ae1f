//! Replays the checked-in fuzz corpus (`fuzz/corpus/<target>/`) through the same checks the fuzz
//! targets run, so a regression on any input the fuzzer once found is caught by `cargo test`
//! without the fuzzer.

#[path = "../fuzz/checks.rs"]
mod checks;

use std::fs;
use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut inputs = 0;
    for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("corpus entry").path();
        let data = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        check(&data);
        inputs += 1;
    }
    assert!(inputs > 0, "the {target} corpus is empty");
}

#[test]
fn framer_corpus_replays_cleanly() {
    replay("framer", checks::framer);
}

#[test]
fn binary_decode_corpus_replays_cleanly() {
    replay("binary_decode", checks::binary_decode);
}

#[test]
fn json_decode_corpus_replays_cleanly() {
    replay("json_decode", checks::json_decode);
}

#[test]
fn manager_session_corpus_replays_cleanly() {
    replay("manager_session", checks::manager_session);
}

#[test]
fn plugin_session_corpus_replays_cleanly() {
    replay("plugin_session", checks::plugin_session);
}

#[test]
fn manifest_corpus_replays_cleanly() {
    replay("manifest", checks::manifest);
}
