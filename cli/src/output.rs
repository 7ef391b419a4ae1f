//! How the tool prints: text for people (coloured when the terminal takes it, plain otherwise
//! or on request), one JSON object per line for scripts (`--json`), and progress bars on stderr
//! for long work, hidden when stderr is not a terminal or output is JSON.

use std::process::ExitCode;

use anstream::{eprintln, println};
use anstyle::{AnsiColor, Style};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use logi_plugin_conformance::Check;
use logi_plugin_core::proto::manager::{ContainerState, PluginDetails, PluginLogLine};
use logi_plugin_core::proto::plugin::log_event::LogLevel;
use logi_plugin_manager::HostEvent;
use logi_plugin_manager::host::{log_line_json, source_name};
use serde_json::{Value, json};

/// When to colour text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorMode {
    /// When the output is a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never: plain text.
    Never,
}

const GOOD: Style = AnsiColor::Green.on_default();
const BAD: Style = AnsiColor::Red.on_default().bold();
const WARN: Style = AnsiColor::Yellow.on_default();
const DIM: Style = Style::new().dimmed();

/// Where results go.
#[derive(Clone, Copy, Debug)]
pub struct Output {
    json: bool,
    color: ColorMode,
}

impl Output {
    /// Output as JSON or text, coloured as `color` says.
    pub fn new(json: bool, color: ColorMode) -> Output {
        let choice = match color {
            ColorMode::Auto => anstream::ColorChoice::Auto,
            ColorMode::Always => anstream::ColorChoice::Always,
            ColorMode::Never => anstream::ColorChoice::Never,
        };
        choice.write_global();
        Output { json, color }
    }

    /// A command's result: `json` for scripts, `text` for people.
    pub fn report(&self, json: Value, text: &str) {
        if self.json {
            println!("{json}");
        } else {
            println!("{GOOD}{text}{GOOD:#}");
        }
    }

    /// A line for people that scripts do not need (what a long command is doing).
    pub fn note(&self, text: &str) {
        if !self.json {
            println!("{DIM}{text}{DIM:#}");
        }
    }

    /// A warning for people, on stderr; scripts find it in the result's JSON instead.
    pub fn warn(&self, text: &str) {
        if !self.json {
            eprintln!("{WARN}warning: {text}{WARN:#}");
        }
    }

    /// Something that went wrong and is not the end of the command: a warning for people, and
    /// a line of JSON for scripts.
    pub fn problem(&self, json: Value, text: &str) {
        if self.json {
            println!("{json}");
        } else {
            self.warn(text);
        }
    }

    /// One row of a pass/fail table: its outcome (PASS, FAIL, SKIP), the `mode` the check ran
    /// in (`binary`, `json`), the check's level (`seed`, `profile`), its name, what it asks,
    /// its detail (for a failure, what was expected and what was seen) and the rule it
    /// enforces (where that is written).
    pub fn check(&self, mode: &str, check: &Check) {
        let (label, level) = (check.outcome.label(), check.level.label());
        let (name, what, detail, rule) = (check.name, check.what, &check.detail, check.rule);
        if self.json {
            let outcome = label.to_ascii_lowercase();
            return println!(
                "{}",
                json!({
                    "check": name, "mode": mode, "outcome": outcome, "level": level,
                    "what": what, "detail": detail, "rule": rule,
                })
            );
        }
        let style = match label {
            "PASS" => GOOD,
            "FAIL" => BAD,
            _ => WARN,
        };
        println!("{style}{label}{style:#}  {mode:<6} {level:<7} {name:<20} {what}");
        println!("{DIM}      {:<35} {detail} [{rule}]{DIM:#}", "");
    }

    /// A command's failure.
    pub fn fail(&self, error: &str) -> ExitCode {
        if self.json {
            println!("{}", json!({ "ok": false, "error": error }));
        } else {
            eprintln!("{BAD}logi-plugin: {error}{BAD:#}");
        }
        ExitCode::FAILURE
    }

    /// Something the host reported.
    pub fn event(&self, event: &HostEvent) {
        if self.json {
            return println!("{}", event.to_json());
        }
        let style = match event {
            HostEvent::State {
                state: ContainerState::Running,
                ..
            } => GOOD,
            HostEvent::State {
                state: ContainerState::Crashed,
                ..
            } => BAD,
            HostEvent::Log { level, .. } if *level >= LogLevel::Error => BAD,
            HostEvent::Log {
                level: LogLevel::Warning,
                ..
            } => WARN,
            _ => Style::new(),
        };
        println!("{style}{event}{style:#}");
    }

    /// One plugin as the manager describes it.
    pub fn plugin(&self, info: &PluginDetails) {
        let installation = info.installation_type().as_str_name();
        let state = info.container_state().as_str_name();
        if self.json {
            return println!(
                "{}",
                json!({
                    "plugin_id": info.plugin_id, "version": info.version,
                    "installation": installation, "state": state,
                    "connected": info.connected, "problem": info.problem,
                    "linked": info.linked_folder,
                })
            );
        }
        let style = if info.problem.is_some() {
            BAD
        } else {
            Style::new()
        };
        let problem = info
            .problem
            .as_ref()
            .map(|problem| format!(": {problem}"))
            .unwrap_or_default();
        let linked = info
            .linked_folder
            .as_ref()
            .map(|folder| format!(", linked to {folder}"))
            .unwrap_or_default();
        println!(
            "{style}{} {} ({installation}{linked}) {state}{problem}{style:#}",
            info.plugin_id, info.version,
        );
    }

    /// A plugin and why its last run ended.
    pub fn status(&self, info: &PluginDetails) {
        let stop = info.last_stop.as_ref();
        if self.json {
            let last_stop = stop.map(|stop| {
                json!({
                    "how": stop.how, "exit_code": stop.exit_code, "signal": stop.signal,
                    "stage": stop.stage, "last_message": stop.last_message,
                    "last_log": stop.last_log, "quarantined": stop.quarantined,
                })
            });
            return println!(
                "{}",
                json!({
                    "plugin_id": info.plugin_id, "version": info.version,
                    "state": info.container_state().as_str_name(),
                    "connected": info.connected, "problem": info.problem,
                    "linked": info.linked_folder, "last_stop": last_stop,
                })
            );
        }
        self.plugin(info);
        let Some(stop) = stop else {
            return println!("  has not stopped since the manager started");
        };
        println!("  last stop: {}", stop.how);
        if let Some(code) = stop.exit_code {
            println!("  exit code: {code}");
        }
        if let Some(signal) = stop.signal {
            println!("  signal: {signal}");
        }
        println!("  got as far as: {}", stop.stage);
        if let Some(message) = &stop.last_message {
            println!("  last message from it: {message}");
        }
        if stop.quarantined {
            println!("  {BAD}quarantined: not restarted until reloaded or reinstalled{BAD:#}");
        }
        if !stop.last_log.is_empty() {
            println!("  last log lines:");
            for line in &stop.last_log {
                println!("    {line}");
            }
        }
    }

    /// One line of a plugin's log: `time LEVEL source message`, coloured by level.
    pub fn log_line(&self, line: &PluginLogLine) {
        if self.json {
            return println!("{}", log_line_json(line));
        }
        let level = line.level();
        let style = match level {
            LogLevel::Error => BAD,
            LogLevel::Warning => WARN,
            LogLevel::Trace | LogLevel::Debug => DIM,
            LogLevel::Info => Style::new(),
        };
        println!(
            "{DIM}{}{DIM:#} {style}{:<7} {:<6} {}{style:#}",
            line.time,
            level.as_str_name(),
            source_name(line.source()),
            line.message
        );
    }

    /// A spinner on stderr while waiting for work whose length is not known, labelled `what`.
    pub fn spinner(&self, what: &str) -> ProgressBar {
        if self.json {
            return ProgressBar::hidden();
        }
        let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
            .with_message(what.to_string());
        spinner.enable_steady_tick(std::time::Duration::from_millis(100));
        spinner
    }

    /// A progress bar over bytes, labelled `what`; its length is set as the work learns it.
    pub fn progress(&self, what: &str) -> ProgressBar {
        if self.json {
            return ProgressBar::hidden();
        }
        let template = match self.color {
            ColorMode::Never => "{msg} [{bar:30}] {bytes}/{total_bytes}",
            _ => "{msg} [{bar:30.cyan/blue}] {bytes}/{total_bytes}",
        };
        let style = ProgressStyle::with_template(template)
            .expect("the template is valid")
            .progress_chars("=> ");
        ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr())
            .with_style(style)
            .with_message(what.to_string())
    }
}
