//! `logi-plugin conformance`: runs the conformance kit (`logi_plugin_conformance`)
//! against a plugin program (`--plugin PROGRAM [-- ARGS...]`, the kit plays the manager) or a
//! running manager (`--manager ENDPOINT`, the kit plays a plugin), prints one line per check,
//! and fails when any check failed.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use logi_plugin_conformance::{
    ManagerOptions, Outcome, PluginOptions, Report, check_manager, check_plugin,
};
use logi_plugin_manifest::Manifest;
use logi_plugin_transports::{Endpoint, TOKEN_ENV};
use serde_json::json;

use crate::files::Result;
use crate::output::Output;

/// What to check, and with what.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("side").required(true).args(["plugin", "manager"])))]
pub struct ConformanceArgs {
    /// Launch this plugin program (its arguments after `--`) and play the manager.
    #[arg(long, value_name = "PROGRAM")]
    plugin: Option<PathBuf>,
    /// The plugin program's arguments.
    #[arg(last = true, requires = "plugin")]
    args: Vec<OsString>,
    /// Connect to the running manager at this local-socket path or ws:// URL and play a plugin.
    #[arg(long, value_name = "ENDPOINT")]
    manager: Option<String>,
    /// The plugin's manifest.json: its plugin id, first action and first control, where the
    /// options below do not say.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// The plugin id: the one the plugin's hello must carry (--plugin; any if not given), or
    /// the one to present to the manager (--manager).
    #[arg(long)]
    plugin_id: Option<String>,
    /// The plugin's code, for --manager [default: the `token` environment variable].
    #[arg(long)]
    code: Option<String>,
    /// An action of the plugin, triggered to make it send something of its own (--plugin).
    #[arg(long)]
    action: Option<String>,
    /// An analog control of the plugin, flooded with updates (--plugin).
    #[arg(long)]
    control: Option<String>,
    /// How long the peer has to answer a request, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    reply_timeout_ms: u64,
}

/// Runs the kit; an error if it could not run or a check failed.
pub fn run(args: &ConformanceArgs, out: Output) -> Result<()> {
    let manifest = args.manifest.as_deref().map(read_manifest).transpose()?;
    let plugin_id = args
        .plugin_id
        .clone()
        .or_else(|| manifest.as_ref().map(|m| m.plugin_id.clone()));
    let reply_timeout = Duration::from_millis(args.reply_timeout_ms);
    let report = match (&args.plugin, &args.manager) {
        (Some(program), _) => {
            let mut options = PluginOptions::new(program);
            options.args.clone_from(&args.args);
            options.plugin_id = plugin_id;
            options.action = args.action.clone().or_else(|| {
                let actions = manifest.as_ref().map(|m| &m.actions);
                actions.and_then(|a| a.first()).map(|a| a.id.clone())
            });
            options.control = args.control.clone().or_else(|| {
                let controls = manifest.as_ref().map(|m| &m.controls);
                controls.and_then(|c| c.first()).map(|c| c.id.clone())
            });
            options.reply_timeout = reply_timeout;
            check_plugin(&options)?
        }
        (None, Some(endpoint)) => {
            let plugin_id = plugin_id.ok_or("--manager needs the plugin id: give --plugin-id")?;
            let code = match &args.code {
                Some(code) => code.clone(),
                None => std::env::var(TOKEN_ENV).map_err(|_| {
                    format!("--manager needs the plugin's code: give --code or set `{TOKEN_ENV}`")
                })?,
            };
            let mut options = ManagerOptions::new(Endpoint::parse(endpoint), plugin_id, code);
            options.reply_timeout = reply_timeout;
            check_manager(&options)?
        }
        (None, None) => unreachable!("clap requires --plugin or --manager"),
    };
    print(&report, out)
}

fn read_manifest(path: &Path) -> Result<Manifest> {
    let text =
        std::fs::read_to_string(path).map_err(|error| format!("{}: {error}", path.display()))?;
    Ok(Manifest::parse(&text).map_err(|errors| format!("{}: {errors}", path.display()))?)
}

/// The table, then the verdict: an error naming the failed checks.
fn print(report: &Report, out: Output) -> Result<()> {
    for check in &report.checks {
        out.check(check.outcome.label(), check.name, check.what, &check.detail);
    }
    let count = |outcome| {
        report
            .checks
            .iter()
            .filter(|c| c.outcome == outcome)
            .count()
    };
    let (passed, skipped) = (count(Outcome::Passed), count(Outcome::Skipped));
    let failed: Vec<&str> = report.failed().map(|c| c.name).collect();
    if !failed.is_empty() {
        return Err(format!(
            "{} of {} checks failed: {}",
            failed.len(),
            report.checks.len(),
            failed.join(", ")
        )
        .into());
    }
    out.report(
        json!({ "ok": true, "passed": passed, "failed": 0, "skipped": skipped }),
        &format!("all {passed} checks run passed ({skipped} skipped)"),
    );
    Ok(())
}
