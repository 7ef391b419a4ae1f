//! `logi-plugin new ID`: a plugin folder that works at once: its manifest and icon, and a
//! project on an SDK's handler API (one action that counts its presses, kept in settings) with
//! tests on the mock host and the conformance kit. In Rust (`--lang rust`, the default) it is a
//! Cargo project where `cargo test` passes as generated; in TypeScript (`--lang ts`, [`ts`]) an
//! npm package where `npm install`, `npm test` and `npm run conformance` do.

mod file;
mod ts;

use std::path::{Path, PathBuf};

use logi_plugin_manifest::Manifest;
use serde_json::json;

use crate::files::{Result, write};
use file::File;

/// The icon the manifest names, until the author draws one.
const ICON: &[u8] = include_bytes!("../../examples/counter/package/icons/counter.png");

/// The language of the new plugin's project.
#[derive(Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Lang {
    /// A Cargo project on the Rust SDK (sdk/).
    #[default]
    Rust,
    /// An npm package on the JavaScript SDK (sdk-js/), in TypeScript.
    Ts,
}

impl Lang {
    /// The file of the sources that shows their SDK for this language is there.
    fn sdk_file(self) -> &'static str {
        match self {
            Lang::Rust => "sdk/Cargo.toml",
            Lang::Ts => "sdk-js/package.json",
        }
    }

    /// What to run in the new folder, said once it is made.
    pub(crate) fn next_steps(self) -> &'static str {
        match self {
            Lang::Rust => {
                "`cargo test` there runs its tests; `cargo build` and `logi-plugin pack` make its \
                 package"
            }
            Lang::Ts => ts::NEXT_STEPS,
        }
    }
}

/// Where this tool's own sources are: the SDK and the conformance kit the new project builds on
/// (the crates are not published; `--sdk` points elsewhere).
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ is in the workspace")
        .to_path_buf()
}

/// Writes the plugin `plugin_id`'s folder at `dir` (`./<plugin_id>` by default), its project in
/// `lang` on the SDK of the sources at `sources` (this tool's own by default).
pub(crate) fn new(
    plugin_id: &str,
    lang: Lang,
    dir: Option<&Path>,
    sources: Option<&Path>,
) -> Result<PathBuf> {
    let manifest = manifest(plugin_id, lang);
    // The manifest's own check says what is wrong with the id, as `validate` would.
    Manifest::parse(&manifest)
        .map_err(|errors| format!("{plugin_id:?} cannot name a plugin: {errors}"))?;
    let dir = dir.map_or_else(|| PathBuf::from(plugin_id), Path::to_path_buf);
    if dir.exists() {
        return Err(format!("{} exists: choose another folder (--dir)", dir.display()).into());
    }
    let sources = match sources {
        Some(sources) => sources.to_path_buf(),
        None => workspace(),
    };
    let sources = std::path::absolute(&sources)?;
    if !sources.join(lang.sdk_file()).is_file() {
        let what = format!(
            "{} holds no {}: give --sdk the folder of the logi-plugin sources",
            sources.display(),
            lang.sdk_file()
        );
        return Err(what.into());
    }
    let program = program(plugin_id);
    let mut files = vec![
        File::new("package/manifest.json", manifest),
        File::new("package/icons/icon.png", ICON),
    ];
    match lang {
        Lang::Rust => files.extend([
            File::new("Cargo.toml", cargo_toml(&program, &sources)),
            File::new("src/main.rs", main_rs(plugin_id)),
            File::new("tests/plugin.rs", test_rs(plugin_id, &program)),
            File::new(".gitignore", "/target\n"),
        ]),
        Lang::Ts => files.extend(ts::files(plugin_id, &program, &sources.join("sdk-js"))?),
    }
    for file in files {
        let path = dir.join(&file.path);
        std::fs::create_dir_all(path.parent().expect("every file is in the folder"))?;
        write(&path, &file.bytes)?;
        #[cfg(unix)]
        if file.executable {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .map_err(|error| format!("{}: {error}", path.display()))?;
        }
    }
    Ok(dir)
}

/// The plugin's program and package name (Cargo's or npm's): its id in lower case, `.` as `-`.
fn program(plugin_id: &str) -> String {
    plugin_id.to_ascii_lowercase().replace('.', "-")
}

fn manifest(plugin_id: &str, lang: Lang) -> String {
    let program = program(plugin_id);
    let mut manifest = json!({
        "plugin_id": plugin_id,
        "name": plugin_id.rsplit('.').next().unwrap_or(plugin_id),
        "author": "Me",
        "description": "Counts the presses of a key",
        "icon": "icons/icon.png",
        "version": "0.1.0",
        "OS": [
            { "platform": "mac", "minimumVersion": "10.15" },
            { "platform": "windows", "minimumVersion": "10" }
        ],
        "platformVersion": "0.1",
        "programPath": format!("bin/{program}"),
        "actions": [
            { "id": "press", "name": "Press", "tooltip": "Counts its presses" }
        ],
        "requiredCapabilities": ["base"]
    });
    // A TypeScript plugin's program is a shell script: there is no Windows program to name.
    if lang == Lang::Rust {
        manifest["programPathWin"] = format!("bin/{program}.exe").into();
    }
    serde_json::to_string_pretty(&manifest).expect("a JSON value prints") + "\n"
}

fn cargo_toml(crate_name: &str, sources: &Path) -> String {
    let sources = sources.display();
    format!(
        r#"[package]
name = "{crate_name}"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
logi-plugin-sdk = {{ path = "{sources}/sdk" }}
serde = {{ version = "1", features = ["derive"] }}
log = "0.4"

[dev-dependencies]
logi-plugin-sdk = {{ path = "{sources}/sdk", features = ["mock"] }}
logi-plugin-conformance = {{ path = "{sources}/conformance" }}

# A project of its own, wherever the folder is.
[workspace]
"#
    )
}

fn main_rs(plugin_id: &str) -> String {
    format!(
        r#"//! The plugin: its one action, `press`, counts its presses and shows the count; the count
//! is kept in the plugin's settings, so it survives restarts. `package/manifest.json` lists
//! what the plugin has.

use logi_plugin_sdk::plugin::{{Action, Cx, Plugin, Status}};

/// What the plugin keeps with the manager.
#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Settings {{
    pub presses: u64,
}}

/// The action `press`.
pub struct Press;

impl Action<Settings> for Press {{
    const ID: &'static str = "press";

    fn key_down(&mut self, cx: &mut Cx<'_, Settings>) -> Status {{
        cx.settings.presses += 1;
        log::info!("pressed {{}} times", cx.settings.presses);
        Status::text(cx.settings.presses.to_string())
    }}
}}

/// The plugin with its handlers.
pub fn plugin() -> Plugin<Settings> {{
    Plugin::new("{plugin_id}", "0.1.0").action(Press)
}}

fn main() -> std::process::ExitCode {{
    plugin().run()
}}
"#
    )
}

fn test_rs(plugin_id: &str, crate_name: &str) -> String {
    let binary = crate_name;
    format!(
        r#"//! The plugin on the mock host (an in-process manager: no daemon, no device), and its
//! program judged by the conformance kit as a host would launch it.

#[allow(dead_code)] // its `main` runs in the conformance test, as the program
#[path = "../src/main.rs"]
mod plugin;

use logi_plugin_sdk::mock::MockHost;

#[test]
fn each_press_is_counted_and_kept() {{
    let host = MockHost::start(plugin::plugin());
    assert_eq!(host.press("press", "key-1").text.as_deref(), Some("1"));
    assert_eq!(host.press("press", "key-1").text.as_deref(), Some("2"));
    assert_eq!(host.settings::<plugin::Settings>().presses, 2);
    assert!(host.logs().contains(&"INFO: pressed 2 times".to_string()));
}}

#[cfg(unix)]
#[test]
fn the_program_passes_the_conformance_kit() {{
    let options = logi_plugin_conformance::PluginOptions::new(env!("CARGO_BIN_EXE_{binary}"));
    let report = logi_plugin_conformance::check_plugin(&options).unwrap();
    let failed: Vec<_> = report.failed().map(|check| check.name).collect();
    assert!(report.passed(), "{plugin_id} failed: {{failed:?}}");
}}
"#
    )
}
