//! `logi-plugin conformance`: runs the conformance kit (`logi_plugin_conformance`)
//! against a plugin program (`--plugin PROGRAM [-- ARGS...]`, the kit plays the manager) or a
//! running manager (`--manager ENDPOINT`, the kit plays a plugin), once per mode (`--mode`:
//! binary protobuf, JSON text, or both in turn), prints one line per check and mode, and fails
//! when any check failed.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use logi_plugin_conformance::{
    Check, Format, Level, ManagerOptions, Outcome, PluginOptions, Report, check_manager,
    check_plugin,
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
    /// What fails the run: `profile`, every failed check; `seed`, only the checks of the seed's
    /// own rules (a failed check of this project's decisions is reported, not counted).
    #[arg(long, default_value = "profile", value_parser = parse_level)]
    level: Level,
    /// How many requests to send: --manager, the most sent to reach the manager's rate limit
    /// [default: 2000]; --plugin, the UpdateAnalogControl requests of the analog flood, an even
    /// number [default: 200].
    #[arg(long)]
    flood: Option<u32>,
    /// How long to wait for the manager's Pings, the first after the hello and the next after
    /// it, in milliseconds: at least its heartbeat interval (--manager).
    #[arg(long, default_value_t = 30_000)]
    ping_wait_ms: u64,
    /// How long the manager has to close a plugin that left a Ping unanswered, in
    /// milliseconds: at least its Pong deadline (--manager).
    #[arg(long, default_value_t = 30_000)]
    silent_wait_ms: u64,
    /// The manager's frame limit in bytes: the oversized frame is one byte longer (--manager)
    /// [default: 8 MiB].
    #[arg(long)]
    frame_limit: Option<usize>,
    /// The modes to check in: binary protobuf frames, JSON text frames, or both in turn
    /// [default: both for a ws:// manager; binary for a local socket and for --plugin, whose
    /// program chooses its mode itself: json gives it a ws:// endpoint and expects JSON text].
    #[arg(long, value_enum)]
    mode: Option<Mode>,
}

fn parse_level(text: &str) -> std::result::Result<Level, String> {
    text.parse()
        .map_err(|error: logi_plugin_conformance::ConformanceError| error.to_string())
}

/// The `--mode` values.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    /// Binary protobuf frames.
    Binary,
    /// JSON text frames (WebSocket only).
    Json,
    /// Binary, then JSON.
    Both,
}

impl Mode {
    fn formats(self) -> Vec<Format> {
        match self {
            Mode::Binary => vec![Format::Binary],
            Mode::Json => vec![Format::Json],
            Mode::Both => vec![Format::Binary, Format::Json],
        }
    }
}

/// How a mode is named in the table.
fn mode_name(format: Format) -> &'static str {
    match format {
        Format::Json => "json",
        _ => "binary",
    }
}

/// Runs the kit; an error if it could not run or a check failed.
pub fn run(args: &ConformanceArgs, out: Output) -> Result<()> {
    let manifest = args.manifest.as_deref().map(read_manifest).transpose()?;
    let plugin_id = args
        .plugin_id
        .clone()
        .or_else(|| manifest.as_ref().map(|m| m.plugin_id.clone()));
    let reply_timeout = Duration::from_millis(args.reply_timeout_ms);
    let mut reports = Vec::new();
    match (&args.plugin, &args.manager) {
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
            options.level = args.level;
            options.flood = args.flood.unwrap_or(options.flood);
            for format in args.mode.unwrap_or(Mode::Binary).formats() {
                options.format = format;
                reports.push((format, check_plugin(&options)?));
            }
        }
        (None, Some(endpoint)) => {
            let plugin_id = plugin_id.ok_or("--manager needs the plugin id: give --plugin-id")?;
            let code = match &args.code {
                Some(code) => code.clone(),
                None => std::env::var(TOKEN_ENV).map_err(|_| {
                    format!("--manager needs the plugin's code: give --code or set `{TOKEN_ENV}`")
                })?,
            };
            let endpoint = Endpoint::parse(endpoint);
            let mode = args.mode.unwrap_or(match endpoint {
                Endpoint::WebSocket(_) => Mode::Both,
                Endpoint::Local(_) => Mode::Binary,
            });
            if let (Endpoint::Local(path), true) = (&endpoint, mode != Mode::Binary) {
                return Err(format!(
                    "--mode json needs a ws:// manager: {} is a local socket, which carries \
                     binary frames only",
                    path.display()
                )
                .into());
            }
            let mut options = ManagerOptions::new(endpoint, plugin_id, code);
            options.reply_timeout = reply_timeout;
            options.level = args.level;
            options.flood = args.flood.unwrap_or(options.flood);
            options.ping_wait = Duration::from_millis(args.ping_wait_ms);
            options.silent_wait = Duration::from_millis(args.silent_wait_ms);
            options.frame_limit = args.frame_limit.unwrap_or(options.frame_limit);
            for format in mode.formats() {
                options.format = format;
                reports.push((format, check_manager(&options)?));
            }
        }
        (None, None) => unreachable!("clap requires --plugin or --manager"),
    };
    print(&reports, args.level, out)
}

fn read_manifest(path: &Path) -> Result<Manifest> {
    let text =
        std::fs::read_to_string(path).map_err(|error| format!("{}: {error}", path.display()))?;
    Ok(Manifest::parse(&text).map_err(|errors| format!("{}: {errors}", path.display()))?)
}

/// The table, then the verdict: an error naming the failed checks that count at the run's
/// level (with their mode when there was more than one run).
fn print(reports: &[(Format, Report)], level: Level, out: Output) -> Result<()> {
    let checks = || {
        reports
            .iter()
            .flat_map(|(format, report)| report.checks.iter().map(move |c| (*format, c)))
    };
    for (format, check) in checks() {
        out.check(mode_name(format), check);
    }
    let count = |outcome| checks().filter(|(_, c)| c.outcome == outcome).count();
    let (passed, skipped) = (count(Outcome::Passed), count(Outcome::Skipped));
    let named = |failures: &mut dyn Iterator<Item = (Format, &Check)>| -> Vec<String> {
        failures
            .map(|(format, c)| match reports.len() {
                1 => c.name.to_string(),
                _ => format!("{} ({})", c.name, mode_name(format)),
            })
            .collect()
    };
    let failed = named(
        &mut reports
            .iter()
            .flat_map(|(format, report)| report.failed().map(move |c| (*format, c))),
    );
    let level = level.label();
    if !failed.is_empty() {
        return Err(format!(
            "{} of {} checks failed at --level {level}: {}",
            failed.len(),
            checks().count(),
            failed.join(", ")
        )
        .into());
    }
    // At the seed level, a failed check of this project's decisions is told, not counted.
    let uncounted = named(
        &mut reports
            .iter()
            .flat_map(|(format, report)| report.failures().map(move |c| (*format, c))),
    );
    let also = match uncounted.is_empty() {
        true => String::new(),
        false => format!(
            "; failed but not counted at --level {level}: {}",
            uncounted.join(", ")
        ),
    };
    out.report(
        json!({
            "ok": true, "level": level, "passed": passed, "failed": 0, "skipped": skipped,
            "not_counted": uncounted,
        }),
        &format!("all {passed} checks run passed at --level {level} ({skipped} skipped){also}"),
    );
    Ok(())
}
