//! `docs/first-plugin.md`, run: every command of the guide (each line of its `sh` blocks), in
//! order, in a temporary folder, with the daemon on a data directory and socket of its own.

#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::daemon::{Daemon, LOGI_PLUGIN, daemon};

/// The guide's commands, in order.
fn commands() -> Vec<String> {
    let guide = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/first-plugin.md");
    let text = std::fs::read_to_string(guide).unwrap();
    let mut commands = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        match line {
            "```sh" => in_block = true,
            "```" => in_block = false,
            command if in_block && !command.trim().is_empty() => commands.push(command.into()),
            _ => {}
        }
    }
    commands
}

fn succeeded(what: &str, output: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "`{what}` failed:\n{text}");
    text
}

#[test]
fn every_command_of_the_first_plugin_guide_works_in_order() {
    let work = tempfile::tempdir().unwrap();
    let (data, socket) = (work.path().join("data"), work.path().join("manager.sock"));
    // Shared with `new.rs`: the generated project's dependencies are built once.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("new-plugin");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut here: PathBuf = work.path().into();
    let mut running: Option<Daemon> = None;
    let mut outputs = Vec::new();
    for command in commands() {
        let words: Vec<&str> = command.split_whitespace().collect();
        match words[..] {
            ["cd", dir] => {
                here = here.join(dir);
                // The workspace's versions of every crate, already built: no download.
                std::fs::copy(workspace.join("Cargo.lock"), here.join("Cargo.lock")).unwrap();
            }
            ["cargo", ref args @ ..] => {
                let output = Command::new(env!("CARGO"))
                    .args(args)
                    .args(["--offline", "--quiet"])
                    .current_dir(&here)
                    .env("CARGO_TARGET_DIR", &target)
                    .output()
                    .unwrap();
                outputs.push(succeeded(&command, &output));
            }
            ["logi-plugin", "serve", ref args @ ..] => {
                // The guide's daemon, on a folder and socket of this test's own.
                assert_eq!(args, ["--development"], "{command}");
                running = Some(daemon(&data, &socket));
            }
            ["logi-plugin", "pack", ref args @ ..] => {
                // The guide's `target/` is the project's; here it is the shared one.
                let args: Vec<String> = args
                    .iter()
                    .map(|arg| match arg.strip_prefix("target/") {
                        Some(rest) => target.join(rest).display().to_string(),
                        None => arg.to_string(),
                    })
                    .collect();
                let output = Command::new(LOGI_PLUGIN)
                    .arg("pack")
                    .args(&args)
                    .current_dir(&here)
                    .output()
                    .unwrap();
                outputs.push(succeeded(&command, &output));
            }
            ["logi-plugin", "new", ref args @ ..] => {
                let output = Command::new(LOGI_PLUGIN)
                    .arg("new")
                    .args(args)
                    .current_dir(&here)
                    .output()
                    .unwrap();
                outputs.push(succeeded(&command, &output));
            }
            ["logi-plugin", ref args @ ..] => {
                assert!(running.is_some(), "`{command}` needs the daemon");
                let output = Command::new(LOGI_PLUGIN)
                    .args(args)
                    .arg("--endpoint")
                    .arg(&socket)
                    .current_dir(&here)
                    .output()
                    .unwrap();
                outputs.push(succeeded(&command, &output));
            }
            _ => panic!("the guide has a command this test does not run: {command}"),
        }
    }
    let all = outputs.join("\n");
    assert!(all.contains("pressed 1 times"), "{all}");
    drop(running);
}
