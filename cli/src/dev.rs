//! `logi-plugin dev [FOLDER]`: the development loop. Builds the plugin, links its folder to the
//! running manager (nothing copied: the folder's files and the build's program are what runs),
//! streams its log lines (its own, its stderr, the manager's notes: a crash and its restart
//! among them), and on each change to the folder rebuilds and links again, which reloads it. A
//! build that fails leaves the last good version running. Ctrl-C unlinks it.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_lite::{StreamExt as _, future};
use logi_plugin_client::{LibraryEvent, PluginManagerClient};
use logi_plugin_manifest::{Manifest, Platform};
use serde_json::{Value, json};

use crate::files::Result;
use crate::output::Output;
use crate::remote::{self, ManagerArgs, answer};
use crate::serve::stop_signals;
use crate::watch::{POLL, Snapshot, Watch};

/// What `dev` is given.
#[derive(clap::Args)]
pub struct DevArgs {
    /// The plugin's folder: a Cargo project or an npm project (with a `build` script) with its
    /// package folder in `package/` (as `logi-plugin new` makes them), or a package folder
    /// whose program needs no build.
    #[arg(default_value = ".")]
    folder: PathBuf,
    /// Build with `cargo build --release` (a Cargo project).
    #[arg(long)]
    release: bool,
    #[command(flatten)]
    manager: ManagerArgs,
}

/// A plugin's folder, as `dev` finds it.
struct Project {
    /// What is watched, and where the build runs.
    root: PathBuf,
    /// The package folder, holding `manifest.json`.
    package: PathBuf,
    build: Build,
}

/// How a plugin's folder is built.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Build {
    /// `cargo build`: the program is what cargo reports it made.
    Cargo,
    /// `npm run build` (a JavaScript or TypeScript plugin): the program is the manifest's, in
    /// the package folder, which the build fills (a bundle beside a launcher).
    Npm,
    /// Nothing: the package folder holds its program.
    None,
}

impl Project {
    fn find(root: &Path) -> Result<Project> {
        let root = std::path::absolute(root)?;
        let package = [root.join("package"), root.clone()]
            .into_iter()
            .find(|dir| dir.join("manifest.json").is_file())
            .ok_or_else(|| {
                format!(
                    "{} holds no plugin: no manifest.json in it or in its package/ folder",
                    root.display()
                )
            })?;
        let build = if root.join("Cargo.toml").is_file() {
            Build::Cargo
        } else if has_build_script(&root.join("package.json")) {
            Build::Npm
        } else {
            Build::None
        };
        Ok(Project {
            root,
            package,
            build,
        })
    }

    /// The folders the build writes, inside the folder watched: not the author's changes.
    /// (Cargo's `target/` is left out of every snapshot.) An npm build compiles into `dist/`
    /// and bundles into the package's `bin/`, beside the launcher.
    fn outputs(&self) -> Vec<PathBuf> {
        match self.build {
            Build::Npm => vec![self.root.join("dist"), self.package.join("bin")],
            Build::Cargo | Build::None => Vec::new(),
        }
    }

    /// The manifest as the folder holds it now.
    fn manifest(&self) -> Result<Manifest> {
        let path = self.package.join("manifest.json");
        let text = std::fs::read_to_string(&path)?;
        Manifest::parse(&text).map_err(|errors| format!("{}: {errors}", path.display()).into())
    }

    /// Builds the program: the compiler's output goes to the terminal. For a Cargo project
    /// the program built is found in cargo's report of what it made; `None` when the package
    /// folder holds its program (built there by npm, or needing no build).
    async fn build(&self, release: bool) -> Result<Option<PathBuf>> {
        match self.build {
            Build::Cargo => self.cargo_build(release).await.map(Some),
            Build::Npm => self.npm_build().await.map(|()| None),
            Build::None => Ok(None),
        }
    }

    /// `npm run build`, its output (both streams) on the terminal's stderr, where the
    /// compiler's goes for cargo: stdout is this command's reports.
    async fn npm_build(&self) -> Result<()> {
        let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
        let mut child = smol::process::Command::new(npm)
            .args(["run", "build"])
            .current_dir(&self.root)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .map_err(|error| format!("running npm in {}: {error}", self.root.display()))?;
        if let Some(stdout) = child.stdout.take() {
            let mut stderr = futures_lite::io::AssertAsync::new(std::io::stderr());
            futures_lite::io::copy(stdout, &mut stderr).await?;
        }
        let status = child.status().await?;
        if !status.success() {
            return Err(format!("the build failed (npm run build: {status})").into());
        }
        Ok(())
    }

    async fn cargo_build(&self, release: bool) -> Result<PathBuf> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = smol::process::Command::new(cargo);
        command
            .arg("build")
            .arg("--message-format=json-render-diagnostics")
            .current_dir(&self.root)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit());
        if release {
            command.arg("--release");
        }
        let output = command
            .output()
            .await
            .map_err(|error| format!("running cargo in {}: {error}", self.root.display()))?;
        if !output.status.success() {
            return Err(format!("the build failed ({})", output.status).into());
        }
        let built = executables(&String::from_utf8_lossy(&output.stdout));
        let manifest = self.manifest()?;
        choose(&built, &manifest)
    }
}

/// Whether `package_json` is an npm project's with a `build` script.
fn has_build_script(package_json: &Path) -> bool {
    std::fs::read(package_json)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .is_some_and(|package| package["scripts"]["build"].is_string())
}

/// The executables a cargo build reports (`--message-format=json`): its artifacts that have one.
fn executables(messages: &str) -> Vec<PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter_map(|message| message["executable"].as_str().map(PathBuf::from))
        .collect()
}

/// The program among `built`: the one named as the manifest's program for this platform, or
/// the only one.
fn choose(built: &[PathBuf], manifest: &Manifest) -> Result<PathBuf> {
    let wanted = manifest
        .program_on(Platform::current())
        .and_then(|(_, path)| Path::new(path).file_stem().map(|stem| stem.to_os_string()));
    let named = built
        .iter()
        .find(|path| path.file_stem().map(|stem| stem.to_os_string()) == wanted);
    match (named, built) {
        (Some(program), _) => Ok(program.clone()),
        (None, [only]) => Ok(only.clone()),
        (None, []) => Err("the build made no program: the project needs a binary target".into()),
        (None, several) => {
            let names: Vec<String> = several.iter().map(|p| p.display().to_string()).collect();
            let what = format!(
                "the build made several programs and none is named as the manifest's: {}",
                names.join(", ")
            );
            Err(what.into())
        }
    }
}

/// Runs the loop until Ctrl-C (or SIGTERM), then unlinks the plugin.
pub fn run(args: &DevArgs, out: Output) -> Result<()> {
    let project = Project::find(&args.folder)?;
    let plugin_id = project.manifest()?.plugin_id;
    // Caught from the start: a Ctrl-C during the first build must still unlink.
    let mut signals = stop_signals()?;
    let client = remote::connect(&args.manager)?;
    let program = smol::block_on(project.build(args.release))?;
    answer(client.link_plugin(&project.package, program.as_deref()))?;
    let linked = Owed::new(
        json!({ "ok": true, "linked": plugin_id, "folder": project.package,
                "program": program }),
        format!(
            "linked {plugin_id} from {}; watching {} (Ctrl-C unlinks it)",
            project.package.display(),
            project.root.display()
        ),
    );
    let recent = answer(client.plugin_log(&plugin_id, true))?;
    for line in &recent {
        out.log_line(line);
    }
    // A line logged while the answer was made may come again as a notification.
    let printed: HashSet<u32> = recent.iter().map(|line| line.seq).collect();
    let stop = async {
        signals.next().await;
    };
    let watching = Watching {
        project: &project,
        plugin_id: &plugin_id,
        release: args.release,
        client: &client,
        printed,
        out,
    };
    let outcome = smol::block_on(watching.run(linked, stop));
    // Unlinked whatever ended the loop, unless the manager is gone.
    let unlinked = answer(client.remove_plugin(&plugin_id));
    client.disconnect();
    outcome?;
    unlinked?;
    out.report(
        json!({ "ok": true, "unlinked": plugin_id }),
        &format!("unlinked {plugin_id}; its settings are kept"),
    );
    Ok(())
}

/// How long a linked plugin has to say hello before `dev` says it has not.
const HELLO_WAIT: Duration = Duration::from_secs(10);

/// A report owed once the plugin linked has said hello: "linked", or "rebuilt and reloaded".
/// What is pressed right after it is answered by the new version.
struct Owed {
    json: Value,
    text: String,
    by: Instant,
}

impl Owed {
    fn new(json: Value, text: String) -> Owed {
        let by = Instant::now() + HELLO_WAIT;
        Owed { json, text, by }
    }
}

/// The development loop's state.
struct Watching<'a> {
    project: &'a Project,
    plugin_id: &'a str,
    release: bool,
    client: &'a PluginManagerClient,
    /// The log lines already printed (a line may come in the answer and as a notification).
    printed: HashSet<u32>,
    out: Output,
}

impl Watching<'_> {
    /// Streams the plugin's log and rebuilds on changes, until `stop` resolves; `owed` is
    /// printed once the plugin says hello.
    async fn run(&self, owed: Owed, stop: impl Future<Output = ()>) -> Result<()> {
        let plugin_id = self.plugin_id;
        let mut owed = Some(owed);
        let outputs = self.project.outputs();
        let mut watch = Watch::new(Snapshot::of(&self.project.root, &outputs));
        let mut stop = std::pin::pin!(stop);
        loop {
            enum Next {
                Stop,
                Event(Option<Box<LibraryEvent>>),
                Tick,
            }
            let next = future::or(
                async {
                    (&mut stop).await;
                    Next::Stop
                },
                future::or(
                    async { Next::Event(self.client.next_event().await.map(Box::new)) },
                    async {
                        async_io::Timer::after(POLL).await;
                        Next::Tick
                    },
                ),
            )
            .await;
            match next {
                Next::Stop => return Ok(()),
                Next::Event(event) => match event.map(|event| *event) {
                    Some(LibraryEvent::PluginLog(line)) => {
                        if line.plugin_id == plugin_id && !self.printed.contains(&line.seq) {
                            self.out.log_line(&line);
                        }
                    }
                    Some(LibraryEvent::PluginAvailable(details))
                        if details.plugin_id == plugin_id && details.connected =>
                    {
                        if let Some(owed) = owed.take() {
                            self.out.report(owed.json, &owed.text);
                        }
                    }
                    Some(LibraryEvent::Disconnected(_) | LibraryEvent::Stopped(_)) | None => {
                        let what = "the plugin manager closed the connection; the link is \
                                    kept, and `logi-plugin dev` again takes it up";
                        return Err(what.into());
                    }
                    Some(_) => {}
                },
                Next::Tick => {
                    if owed.as_ref().is_some_and(|owed| Instant::now() >= owed.by) {
                        owed = None;
                        let why = format!(
                            "{plugin_id} has not said hello within {HELLO_WAIT:?}: its log \
                             above says why"
                        );
                        self.out.problem(json!({ "ok": false, "error": why }), &why);
                    }
                    if watch.poll(Instant::now(), Snapshot::of(&self.project.root, &outputs)) {
                        owed = self.rebuild().await.or(owed);
                    }
                }
            }
        }
    }

    /// Builds again and links again: the report owed once the new version says hello. A
    /// failure leaves the last good version running.
    async fn rebuild(&self) -> Option<Owed> {
        self.out.note("changed: building");
        match self.relink().await {
            Ok(()) => Some(Owed::new(
                json!({ "ok": true, "reloaded": self.project.package }),
                "rebuilt and reloaded".into(),
            )),
            Err(error) => {
                let why = format!("{error}; the last good version keeps running");
                self.out.problem(json!({ "ok": false, "error": why }), &why);
                None
            }
        }
    }

    async fn relink(&self) -> Result<()> {
        let program = self.project.build(self.release).await?;
        let link = self
            .client
            .link_plugin(&self.project.package, program.as_deref());
        link.await?.result().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(program: &str) -> Manifest {
        let text = json!({
            "plugin_id": "com.example.hello", "name": "Hello", "author": "Me",
            "description": "Hello", "icon": "icon.png", "version": "1.0.0",
            "platformVersion": "0.1", "programPath": program,
            "OS": [{ "platform": "mac", "minimumVersion": "10.15" }],
            "requiredCapabilities": ["base"],
        });
        Manifest::parse(&text.to_string()).unwrap()
    }

    #[test]
    fn the_program_is_found_in_cargos_report() {
        let messages = [
            json!({ "reason": "compiler-artifact", "executable": null }),
            json!({ "reason": "compiler-artifact", "executable": "/t/debug/hello" }),
            json!({ "reason": "build-finished", "success": true }),
        ];
        let text: Vec<String> = messages.iter().map(Value::to_string).collect();
        assert_eq!(
            executables(&text.join("\n")),
            [PathBuf::from("/t/debug/hello")]
        );
    }

    #[test]
    fn of_several_programs_the_manifests_is_chosen() {
        let built = [
            PathBuf::from("/t/debug/tool"),
            PathBuf::from("/t/debug/hello"),
        ];
        let chosen = choose(&built, &manifest("bin/hello")).unwrap();
        assert_eq!(chosen, PathBuf::from("/t/debug/hello"));
    }

    #[test]
    fn several_programs_none_named_is_an_error_naming_them() {
        let built = [PathBuf::from("/t/debug/a"), PathBuf::from("/t/debug/b")];
        let error = choose(&built, &manifest("bin/hello")).unwrap_err();
        assert!(
            error.to_string().contains("/t/debug/a, /t/debug/b"),
            "{error}"
        );
    }

    #[test]
    fn a_folder_without_a_manifest_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let error = Project::find(dir.path()).err().unwrap();
        assert!(error.to_string().contains("no manifest.json"), "{error}");
    }

    #[test]
    fn an_npm_project_is_built_by_its_build_script_and_its_outputs_not_watched() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("package")).unwrap();
        std::fs::write(dir.path().join("package/manifest.json"), "{}").unwrap();
        let scripts = json!({ "scripts": { "build": "tsc" } });
        std::fs::write(dir.path().join("package.json"), scripts.to_string()).unwrap();
        let project = Project::find(dir.path()).unwrap();
        assert_eq!(project.build, Build::Npm);
        let root = std::path::absolute(dir.path()).unwrap();
        assert_eq!(
            project.outputs(),
            [root.join("dist"), root.join("package/bin")]
        );
    }

    #[test]
    fn an_npm_project_without_a_build_script_is_run_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("manifest.json"), "{}").unwrap();
        std::fs::write(dir.path().join("package.json"), r#"{"scripts":{}}"#).unwrap();
        let project = Project::find(dir.path()).unwrap();
        assert_eq!(project.build, Build::None);
        assert!(project.outputs().is_empty());
    }
}
