//! The counter examples (Rust, TypeScript, C++: the same plugin on each SDK) as a user drives
//! them through the tool: packed, pressed and turned through `logi-plugin invoke`, and judged
//! by the conformance kit.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::daemon::{Daemon, LOGI_PLUGIN, daemon, install_connected, lines, tool};
use super::kit::all_passed_in;

/// Packs the folder `package` into `archive` with `logi-plugin pack`, `program` (if given)
/// packed as its program.
pub fn pack(package: &Path, program: Option<&Path>, archive: &Path) {
    let mut command = Command::new(LOGI_PLUGIN);
    command.args(["--json", "pack"]).arg(package);
    if let Some(program) = program {
        command.arg("--program").arg(program);
    }
    let packed = command.arg("--output").arg(archive).output().unwrap();
    let packed = lines(&packed);
    assert_eq!(packed[0]["ok"], true, "{packed:?}");
}

/// Presses the key `count` of `plugin` through `logi-plugin invoke`: the text it then shows.
pub fn press(socket: &Path, plugin: &str) -> Value {
    lines(&tool(socket, &["invoke", plugin, "count"]))[0]["text"].clone()
}

/// Turns the dial `step` of `plugin` by `delta` through `logi-plugin invoke`: the text it then
/// shows.
pub fn turn(socket: &Path, plugin: &str, delta: i32) -> Value {
    let delta = delta.to_string();
    let args = ["invoke", plugin, "step", "--delta", &delta];
    lines(&tool(socket, &args))[0]["text"].clone()
}

/// A fresh count: a press shows 1, a turn of 4 sets the step to 5, which the next press adds;
/// a turn far below the range leaves the step at 1.
pub fn assert_counts(socket: &Path, plugin: &str) {
    assert_eq!(press(socket, plugin), "1");
    assert_eq!(turn(socket, plugin, 4), "step 5");
    assert_eq!(press(socket, plugin), "6");
    assert_eq!(turn(socket, plugin, -500), "step 1");
}

/// Runs `logi-plugin --json conformance --plugin <program>` in `mode` (`binary` on a local
/// socket, `json` on a WebSocket, the program given `--json`), with the first action and
/// control of `manifest`, and asserts that every check ran and passed; their lines.
pub fn assert_conformant(program: &Path, manifest: &Path, mode: &str) -> Vec<Value> {
    let mut kit = Command::new(LOGI_PLUGIN);
    kit.args(["--json", "conformance", "--mode", mode, "--plugin"])
        .arg(program)
        .arg("--manifest")
        .arg(manifest);
    if mode == "json" {
        kit.args(["--", "--json"]);
    }
    all_passed_in(&kit.output().unwrap(), mode)
}

/// A `serve` on a temporary data folder and local socket, with a counter's package installed
/// and its plugin connected.
pub struct Served {
    pub socket: PathBuf,
    data: PathBuf,
    serving: Option<Daemon>,
    _dir: tempfile::TempDir,
}

impl Served {
    /// Packs the folder `package` (its program inside), starts `serve` and installs the
    /// archive, waiting until `plugin_id` has said hello.
    pub fn installed(package: &Path, plugin_id: &str) -> Served {
        let dir = tempfile::tempdir().unwrap();
        let (data, socket) = (dir.path().join("data"), dir.path().join("manager.sock"));
        let archive = dir.path().join("plugin.zip");
        pack(package, None, &archive);
        let serving = Some(daemon(&data, &socket));
        install_connected(&socket, &archive, plugin_id);
        Served {
            socket,
            data,
            serving,
            _dir: dir,
        }
    }

    /// Stops `serve` and starts it again on the same data folder and socket.
    pub fn restart(&mut self) {
        self.serving = None;
        self.serving = Some(daemon(&self.data, &self.socket));
    }
}
