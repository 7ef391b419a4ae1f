//! What `logi-plugin dev` watches: a plugin's folder, polled, and a burst of saves taken as one
//! change. The folder is read by [`Snapshot::of`]; [`Watch`] decides, given the time and what
//! the folder holds now, when a rebuild is due, and reads no clock itself.
//!
//! Polling (a few hundred files' metadata, four times a second) needs no platform watcher and
//! behaves the same on every platform, in containers and on network folders, where inotify
//! and its kin miss changes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// How long the folder must stay unchanged after a change before it is rebuilt: an editor's
/// save (a temporary file, a rename) or a `git checkout` is a burst of changes.
pub const QUIET: Duration = Duration::from_millis(300);

/// How often the folder is read.
pub const POLL: Duration = Duration::from_millis(250);

/// Folders that are a build's output or a tool's state, not the plugin's sources.
const SKIPPED: &[&str] = &["target", "node_modules"];

/// What a folder holds: each file's modification time and length.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot(BTreeMap<PathBuf, (Option<SystemTime>, u64)>);

impl Snapshot {
    /// Reads `root`, but for hidden entries (`.git`, an editor's swap files), build outputs
    /// and tools' state (`target`, `node_modules`, and the folders in `outputs`, which the
    /// build writes: its own output must not count as a change). What cannot be read is left
    /// out: it counts as a change when it comes or goes.
    pub fn of(root: &Path, outputs: &[PathBuf]) -> Snapshot {
        let mut files = BTreeMap::new();
        let mut pending = vec![root.to_path_buf()];
        while let Some(dir) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.') || name.ends_with('~') || SKIPPED.contains(&&*name) {
                    continue;
                }
                let Ok(metadata) = entry.metadata() else {
                    continue;
                };
                if metadata.is_dir() {
                    if !outputs.contains(&entry.path()) {
                        pending.push(entry.path());
                    }
                } else {
                    let stamp = (metadata.modified().ok(), metadata.len());
                    files.insert(entry.path(), stamp);
                }
            }
        }
        Snapshot(files)
    }
}

/// When to rebuild: after a change, once the folder has been quiet for [`QUIET`].
#[derive(Debug)]
pub struct Watch {
    seen: Snapshot,
    /// When the folder last changed, while a rebuild is owed.
    changed: Option<Instant>,
}

impl Watch {
    /// Watching a folder that holds `now`.
    pub fn new(now: Snapshot) -> Watch {
        Watch {
            seen: now,
            changed: None,
        }
    }

    /// The folder holds `snapshot` at `now`: whether a rebuild is due. A rebuild is due once
    /// per burst of changes, [`QUIET`] after its last.
    pub fn poll(&mut self, now: Instant, snapshot: Snapshot) -> bool {
        if snapshot != self.seen {
            self.seen = snapshot;
            self.changed = Some(now);
            return false;
        }
        match self.changed {
            Some(changed) if now.duration_since(changed) >= QUIET => {
                self.changed = None;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(files: &[(&str, u64)]) -> Snapshot {
        Snapshot(
            files
                .iter()
                .map(|(path, len)| (PathBuf::from(path), (None, *len)))
                .collect(),
        )
    }

    #[test]
    fn an_unchanged_folder_is_never_rebuilt() {
        let start = Instant::now();
        let mut watch = Watch::new(with(&[("src/main.rs", 10)]));
        for step in 0..20 {
            let now = start + POLL * step;
            assert!(!watch.poll(now, with(&[("src/main.rs", 10)])));
        }
    }

    #[test]
    fn a_change_is_rebuilt_once_the_folder_is_quiet() {
        let start = Instant::now();
        let mut watch = Watch::new(with(&[("src/main.rs", 10)]));
        assert!(!watch.poll(start, with(&[("src/main.rs", 11)])));
        assert!(!watch.poll(start + QUIET / 2, with(&[("src/main.rs", 11)])));
        assert!(watch.poll(start + QUIET, with(&[("src/main.rs", 11)])));
        assert!(!watch.poll(start + QUIET * 2, with(&[("src/main.rs", 11)])));
    }

    #[test]
    fn a_burst_of_saves_is_one_rebuild() {
        let start = Instant::now();
        let mut watch = Watch::new(with(&[("src/main.rs", 10)]));
        let mut rebuilds = 0;
        for step in 0..10u32 {
            // A save every 100 ms for a second, then quiet.
            let now = start + Duration::from_millis(100) * step;
            let snapshot = with(&[("src/main.rs", 11 + u64::from(step))]);
            rebuilds += u32::from(watch.poll(now, snapshot));
        }
        assert_eq!(rebuilds, 0, "rebuilt in the middle of the burst");
        let last = with(&[("src/main.rs", 20)]);
        for step in 10..30u32 {
            let now = start + Duration::from_millis(100) * step;
            rebuilds += u32::from(watch.poll(now, last.clone()));
        }
        assert_eq!(rebuilds, 1);
    }

    #[test]
    fn a_file_added_or_removed_is_a_change() {
        let start = Instant::now();
        let mut watch = Watch::new(with(&[("src/main.rs", 10)]));
        let added = with(&[("src/main.rs", 10), ("src/dial.rs", 3)]);
        assert!(!watch.poll(start, added.clone()));
        assert!(watch.poll(start + QUIET, added));
        let removed = with(&[("src/main.rs", 10)]);
        assert!(!watch.poll(start + QUIET * 2, removed.clone()));
        assert!(watch.poll(start + QUIET * 3, removed));
    }

    #[test]
    fn a_snapshot_leaves_out_build_outputs_and_hidden_files() {
        let dir = tempfile::tempdir().unwrap();
        for path in [
            "src/main.rs",
            "target/debug/x",
            ".git/HEAD",
            "src/.main.rs.swp",
        ] {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x").unwrap();
        }
        let Snapshot(files) = Snapshot::of(dir.path(), &[]);
        let files: Vec<&PathBuf> = files.keys().collect();
        assert_eq!(files, [&dir.path().join("src/main.rs")]);
    }

    #[test]
    fn a_snapshot_leaves_out_the_folders_the_build_writes() {
        let dir = tempfile::tempdir().unwrap();
        for path in ["src/main.ts", "dist/src/main.js", "package/bin/plugin.mjs"] {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x").unwrap();
        }
        let outputs = [dir.path().join("dist"), dir.path().join("package/bin")];
        let Snapshot(files) = Snapshot::of(dir.path(), &outputs);
        let files: Vec<&PathBuf> = files.keys().collect();
        assert_eq!(files, [&dir.path().join("src/main.ts")]);
    }
}
