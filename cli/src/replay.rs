//! `logi-plugin replay FILE`: feeds a session recording (`HostConfig::record_dir`, or a
//! driver's `record`) into a fresh session on the sans-IO core, with no sockets, printing every
//! step and event, and checks that the session writes what the recorded one wrote.

use std::path::Path;
use std::time::Instant;

use logi_plugin_core::session::record::{self, Replay};
use logi_plugin_core::session::{ManagerSession, PluginSession};
use serde_json::json;

use crate::files::Result;
use crate::output::Output;

/// Replays `path`; an error if the fresh session wrote something else.
pub fn run(path: &Path, out: Output) -> Result<()> {
    let bytes =
        std::fs::read(path).map_err(|error| format!("reading {}: {error}", path.display()))?;
    let (header, records) = record::read(&bytes)?;
    let start = Instant::now();
    let replay = match header.side.as_str() {
        // The owner's verdicts on hellos are in the recording, as given.
        "manager" => {
            let config = header.manager_config()?;
            record::replay(ManagerSession::new(start, config), start, &records)
        }
        "plugin" => {
            let hellos = record::hellos(&header, &records);
            let code = hellos
                .first()
                .map(|hello| hello.plugin_code.clone())
                .ok_or("the recording holds no hello of the plugin: nothing to replay from")?;
            let config = header.plugin_config(&code)?;
            record::replay(PluginSession::new(start, config), start, &records)
        }
        side => return Err(format!("replaying a {side} session is not supported").into()),
    };
    report(&replay, records.len(), out)
}

fn report(replay: &Replay, records: usize, out: Output) -> Result<()> {
    for line in &replay.lines {
        out.note(line);
    }
    match &replay.divergence {
        None => {
            let compared = replay.compared;
            out.report(
                json!({ "ok": true, "records": records, "frames_compared": compared }),
                &format!(
                    "replayed {records} records: the fresh session wrote the same {compared} \
                     frames"
                ),
            );
            Ok(())
        }
        Some((index, expected, got)) => {
            let got = got.as_ref().map_or("nothing".to_string(), |frame| {
                format!("{} bytes", frame.as_bytes().len())
            });
            Err(format!(
                "the replay diverged at written frame {index}: the recording has {} bytes, the \
                 fresh session wrote {got}",
                expected.as_bytes().len()
            )
            .into())
        }
    }
}
