//! `logi-plugin`: the plugin manager's command-line tool.
//!
//! Run under the name `media-plugin` (as the demo packs it), the same executable is the example
//! plugin: one binary carries the demo and the plugin it hosts, so `cargo run` builds both.

mod conformance;
mod demo;
mod dev;
mod files;
mod output;
mod remote;
mod replay;
mod scaffold;
mod serve;
mod watch;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use logi_plugin_package::signature::{SecretKey, Trust};
use serde_json::json;

use crate::files::{Result, read, read_key, read_trust, write, write_secret};
use crate::output::{ColorMode, Output};

#[derive(Parser)]
#[command(
    name = "logi-plugin",
    version,
    about = "The Logi plugin manager's tool"
)]
struct Cli {
    /// Print results as JSON, one object per line, for scripts.
    #[arg(long, global = true)]
    json: bool,
    /// When to colour the output.
    #[arg(long, global = true, value_enum, default_value_t)]
    color: ColorMode,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a host with the example plugin, end to end, on a temporary data directory.
    Demo,
    /// Run the manager daemon until SIGINT or SIGTERM: the installed plugins, on the local
    /// socket.
    Serve(serve::ServeArgs),
    /// Make a new plugin's folder: manifest and icon, a project on the SDK with one action, and
    /// tests on the mock host and the conformance kit, which pass in it at once (a Cargo
    /// project, or with `--lang ts` an npm package in TypeScript).
    New {
        /// The plugin's id, e.g. com.example.hello.
        plugin_id: String,
        /// The language of its project.
        #[arg(long, value_enum, default_value_t)]
        lang: scaffold::Lang,
        /// Where to make it [default: ./<plugin id>]; it must not exist.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The folder of the logi-plugin sources whose sdk/ and conformance/ (sdk-js/ for
        /// `--lang ts`) the project builds on [default: the ones this tool was built from].
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Develop a plugin against the running manager (`serve --development`): build it, link
    /// its folder (nothing copied), stream its log, and rebuild and reload it on every change;
    /// a failed build keeps the last good version running. Ctrl-C unlinks it.
    Dev(dev::DevArgs),
    /// Check a package (a folder or a .zip): manifest, files, localizations, signature. A
    /// package may carry one platform's program: the other platform's, missing, is a warning.
    Validate {
        /// The package.
        package: PathBuf,
        /// A folder's program, built elsewhere: checked as if at the path its manifest names
        /// for this platform.
        #[arg(long, value_name = "BINARY")]
        program: Option<PathBuf>,
    },
    /// Pack a folder into a .zip package, signed if a key is given.
    Pack {
        /// The folder.
        dir: PathBuf,
        /// The program, built elsewhere (`target/release/my-plugin`): packed at the path the
        /// manifest names for this platform (`programPath`, or its `programPathMac` /
        /// `programPathWin` override), nothing copied by hand.
        #[arg(long, value_name = "BINARY")]
        program: Option<PathBuf>,
        /// Where to write the archive (default: `<plugin_id>-<version>.zip`).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Sign with this secret key file.
        #[arg(long)]
        key: Option<PathBuf>,
        /// The publisher name the signature carries.
        #[arg(long, default_value = "unnamed publisher")]
        publisher: String,
    },
    /// Make a publisher key pair: `<name>.key` (secret, owner-only) and `<name>.pub`.
    Keygen {
        /// The files' name, without extension.
        name: PathBuf,
    },
    /// Sign a .zip package in place.
    Sign {
        /// The package.
        package: PathBuf,
        /// The secret key file.
        #[arg(long)]
        key: PathBuf,
        /// The publisher name the signature carries.
        #[arg(long)]
        publisher: String,
    },
    /// Check a .zip package's signature against a trust store.
    Verify {
        /// The package.
        package: PathBuf,
        /// The trust store: one `<hex key> <publisher>` per line.
        #[arg(long)]
        trust: PathBuf,
    },
    /// Install a .zip package into the running manager (`serve`).
    Install {
        /// The package.
        package: PathBuf,
        #[command(flatten)]
        manager: remote::ManagerArgs,
    },
    /// Uninstall a plugin from the running manager. The manager keeps its settings, as package
    /// managers keep configuration on remove: installing it again finds them. `--purge` deletes
    /// them too.
    Remove {
        /// The plugin.
        plugin_id: String,
        /// Delete the plugin's settings as well.
        #[arg(long)]
        purge: bool,
        #[command(flatten)]
        manager: remote::ManagerArgs,
    },
    /// List the running manager's plugins: installation type, state, and why one is not run.
    List {
        #[command(flatten)]
        manager: remote::ManagerArgs,
    },
    /// One plugin of the running manager: its state, and why its last run ended (exit code or
    /// signal, how far its handshake got, the last message it sent, its last log lines).
    Status {
        /// The plugin.
        plugin_id: String,
        #[command(flatten)]
        manager: remote::ManagerArgs,
    },
    /// A plugin's recent log lines in the running manager (its own log events, what its
    /// program wrote to stderr, the manager's notes about it): time, level, source, message.
    Logs {
        /// The plugin.
        plugin_id: String,
        /// Then print each new line as it comes, until Ctrl-C or the manager stops.
        #[arg(short, long)]
        follow: bool,
        #[command(flatten)]
        manager: remote::ManagerArgs,
    },
    /// Replay a session recording (`serve --record DIR`) into a fresh session with no sockets,
    /// printing each step and event, and check it writes what the recorded session wrote.
    Replay {
        /// The recording (`.logirec`).
        recording: PathBuf,
    },
    /// Check a plugin program (launched here) or a running manager against the protocol, on
    /// the wire: prints a pass/fail table and fails when any check fails.
    Conformance(conformance::ConformanceArgs),
    /// Press (or release) a plugin's action, or turn its analog control, in the running manager.
    Invoke {
        #[command(flatten)]
        what: remote::InvokeArgs,
        #[command(flatten)]
        manager: remote::ManagerArgs,
    },
}

fn main() -> ExitCode {
    let exe = std::env::current_exe().unwrap_or_default();
    let stem = exe.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    if stem == "media-plugin" {
        return logi_example_media::plugin().run();
    }
    let cli = Cli::parse();
    let out = Output::new(cli.json, cli.color);
    match run(&cli, out, &exe) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => out.fail(&error.to_string()),
    }
}

/// Prints the package's warnings (the files only other platforms need), and gives them for
/// the JSON result.
fn warn_of(package: &logi_plugin_package::Package, out: Output) -> Vec<String> {
    let warnings: Vec<String> = package.warnings().iter().map(|w| w.to_string()).collect();
    for warning in &warnings {
        out.warn(&format!("manifest.json: {warning}"));
    }
    warnings
}

fn run(cli: &Cli, out: Output, exe: &Path) -> Result<()> {
    match &cli.command {
        Command::Demo => demo::run(exe),
        Command::Serve(args) => serve::run(args, out),
        Command::Dev(args) => dev::run(args, out),
        Command::Validate { package, program } => {
            let package = read(package, program.as_deref())?;
            let manifest = package.manifest();
            let warnings = &manifest.unknown_fields;
            let missing = warn_of(&package, out);
            out.report(
                json!({ "ok": true, "plugin_id": manifest.plugin_id,
                        "version": manifest.version.to_string(),
                        "files": package.files().len(), "unknown_fields": warnings,
                        "warnings": missing }),
                &format!(
                    "{} {} is valid: {} files{}",
                    manifest.plugin_id,
                    manifest.version,
                    package.files().len(),
                    if warnings.is_empty() {
                        String::new()
                    } else {
                        format!("; fields not known here: {}", warnings.join(", "))
                    }
                ),
            );
            Ok(())
        }
        Command::Pack {
            dir,
            program,
            output,
            key,
            publisher,
        } => {
            let mut package = files::read_dir(dir, program.as_deref())?;
            let missing = warn_of(&package, out);
            if let Some(key) = key {
                package.sign(publisher, &read_key(key)?);
            }
            let manifest = package.manifest();
            let output = output.clone().unwrap_or_else(|| {
                PathBuf::from(format!("{}-{}.zip", manifest.plugin_id, manifest.version))
            });
            let progress = out.progress("packing");
            let archive = package.to_zip_with_progress(|done, total| {
                progress.set_length(total);
                progress.set_position(done);
            })?;
            progress.finish_and_clear();
            write(&output, &archive)?;
            out.report(
                json!({ "ok": true, "archive": output, "bytes": archive.len(),
                        "signed": key.is_some(), "warnings": missing }),
                &format!("wrote {} ({} bytes)", output.display(), archive.len()),
            );
            Ok(())
        }
        Command::New {
            plugin_id,
            lang,
            dir,
            sdk,
        } => {
            let dir = scaffold::new(plugin_id, *lang, dir.as_deref(), sdk.as_deref())?;
            out.report(
                json!({ "ok": true, "plugin_id": plugin_id, "dir": dir }),
                &format!(
                    "made {plugin_id} in {}: {}",
                    dir.display(),
                    lang.next_steps()
                ),
            );
            Ok(())
        }
        Command::Keygen { name } => {
            let key = SecretKey::generate()?;
            let secret = name.with_extension("key");
            let public = name.with_extension("pub");
            write_secret(&secret, &key.to_text())?;
            write(&public, format!("{}\n", key.public_key()).as_bytes())?;
            out.report(
                json!({ "ok": true, "secret": secret, "public": public,
                        "key": key.public_key().to_string() }),
                &format!(
                    "wrote {} (keep it secret) and {}: public key {}",
                    secret.display(),
                    public.display(),
                    key.public_key()
                ),
            );
            Ok(())
        }
        Command::Sign {
            package: path,
            key,
            publisher,
        } => {
            let mut package = read(path, None)?;
            package.sign(publisher, &read_key(key)?);
            write(path, &package.to_zip()?)?;
            out.report(
                json!({ "ok": true, "archive": path, "publisher": publisher }),
                &format!("signed {} as {publisher}", path.display()),
            );
            Ok(())
        }
        Command::Verify {
            package: path,
            trust,
        } => {
            let trust = read_trust(trust)?;
            match read(path, None)?.verify(&trust, false)? {
                Trust::Publisher { name, key } => {
                    out.report(
                        json!({ "ok": true, "publisher": name, "key": key.to_string() }),
                        &format!("{}: signed by {name} (key {key})", path.display()),
                    );
                    Ok(())
                }
                Trust::Development(_) => unreachable!("verified outside development mode"),
            }
        }
        Command::Install { package, manager } => remote::install(package, manager, out),
        Command::Remove {
            plugin_id,
            purge,
            manager,
        } => remote::remove(plugin_id, *purge, manager, out),
        Command::List { manager } => remote::list(manager, out),
        Command::Status { plugin_id, manager } => remote::status(plugin_id, manager, out),
        Command::Logs {
            plugin_id,
            follow,
            manager,
        } => remote::logs(plugin_id, *follow, manager, out),
        Command::Replay { recording } => replay::run(recording, out),
        Command::Invoke { what, manager } => remote::invoke(what, manager, out),
        Command::Conformance(args) => conformance::run(args, out),
    }
}
