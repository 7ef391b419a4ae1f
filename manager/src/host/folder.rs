//! Where an installed plugin's files are: the folder the host unpacked its package into, or the
//! package folder a plugin author linked to the host for development (`logi-plugin dev`), which
//! runs as it is, with its program wherever the author's build wrote it.
//!
//! A link is kept as `plugins/<plugin id>.link` in the data directory (the folder and the
//! program, as JSON), so that the plugin is linked again at the next start. The author's
//! folder is theirs: the host never writes into it, runs no installation command in it, and
//! removing the plugin deletes the link, not the folder.

use std::path::{Path, PathBuf};

use logi_plugin_manifest::{Manifest, Platform};
use logi_plugin_package::{Limits, Package, PackageError};
use serde::{Deserialize, Serialize};

use super::HostError;

/// The extension of a link's file in the plugins folder.
pub(super) const LINK_EXTENSION: &str = "link";

/// An installed plugin's files.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Folder {
    /// The package folder: what the host unpacked, or the author's own.
    pub(super) dir: PathBuf,
    /// Set when the folder is an author's, linked for development.
    pub(super) link: Option<Link>,
}

/// What links an author's package folder to the host.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct Link {
    /// The program, when it is not where the manifest says in the folder (a build's output).
    pub(super) program: Option<PathBuf>,
}

/// A link's file, as written.
#[derive(Serialize, Deserialize)]
struct LinkFile {
    folder: PathBuf,
    program: Option<PathBuf>,
}

impl Folder {
    /// A folder the host unpacked a package into.
    pub(super) fn installed(dir: PathBuf) -> Folder {
        Folder { dir, link: None }
    }

    /// An author's package folder, with its program at `program` when given.
    pub(super) fn linked(dir: PathBuf, program: Option<PathBuf>) -> Folder {
        Folder {
            dir,
            link: Some(Link { program }),
        }
    }

    /// Whether it is an author's folder, linked for development.
    pub(super) fn is_linked(&self) -> bool {
        self.link.is_some()
    }

    /// Reads it as a package, with the linked program in place of the one the manifest names
    /// for this platform.
    pub(super) fn read(&self, limits: Limits) -> Result<Package, PackageError> {
        match self.link.as_ref().and_then(|link| link.program.as_deref()) {
            Some(program) => Package::from_dir_with_program(&self.dir, program, limits),
            None => Package::from_dir(&self.dir, limits),
        }
    }

    /// The program to run for `manifest` on this platform, if it names one.
    pub(super) fn program(&self, manifest: &Manifest) -> Option<PathBuf> {
        let (_, path) = manifest.program_on(Platform::current())?;
        let linked = self.link.as_ref().and_then(|link| link.program.clone());
        Some(linked.unwrap_or_else(|| self.dir.join(path)))
    }

    /// Writes the link of `plugin_id` into `plugins_dir`, replacing any: whole or not at all.
    pub(super) fn write_link(&self, plugins_dir: &Path, plugin_id: &str) -> Result<(), HostError> {
        let file = LinkFile {
            folder: self.dir.clone(),
            program: self.link.as_ref().and_then(|link| link.program.clone()),
        };
        let path = link_path(plugins_dir, plugin_id);
        let partial = path.with_extension("link.partial");
        let io = |source| HostError::Io {
            what: format!("writing {}", path.display()),
            source,
        };
        let text = serde_json::to_vec_pretty(&file).expect("paths serialize");
        std::fs::write(&partial, text).map_err(io)?;
        std::fs::rename(&partial, &path).map_err(io)
    }

    /// Reads a link's file.
    pub(super) fn read_link(path: &Path) -> Result<Folder, String> {
        let text = std::fs::read(path).map_err(|error| format!("{}: {error}", path.display()))?;
        let file: LinkFile = serde_json::from_slice(&text)
            .map_err(|error| format!("{}: not a link: {error}", path.display()))?;
        Ok(Folder::linked(file.folder, file.program))
    }
}

/// Where the link of `plugin_id` is kept.
pub(super) fn link_path(plugins_dir: &Path, plugin_id: &str) -> PathBuf {
    plugins_dir.join(format!("{plugin_id}.{LINK_EXTENSION}"))
}

/// Deletes the link of `plugin_id`, if there is one.
pub(super) fn remove_link(plugins_dir: &Path, plugin_id: &str) -> Result<(), HostError> {
    let path = link_path(plugins_dir, plugin_id);
    removed(&path, std::fs::remove_file(&path))
}

/// What removing `path` came to: a path that was not there is fine.
pub(super) fn removed(path: &Path, result: std::io::Result<()>) -> Result<(), HostError> {
    match result {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(HostError::Io {
            what: format!("removing {}", path.display()),
            source: error,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_reads_back_as_written() {
        let plugins = tempfile::tempdir().unwrap();
        let folder = Folder::linked("/src/hello/package".into(), Some("/t/debug/hello".into()));
        folder
            .write_link(plugins.path(), "com.example.hello")
            .unwrap();
        let path = link_path(plugins.path(), "com.example.hello");
        assert_eq!(Folder::read_link(&path).unwrap(), folder);
        assert!(!path.with_extension("link.partial").exists());
    }

    #[test]
    fn a_file_that_is_not_a_link_is_refused_naming_it() {
        let plugins = tempfile::tempdir().unwrap();
        let path = link_path(plugins.path(), "com.example.hello");
        std::fs::write(&path, "not json").unwrap();
        let error = Folder::read_link(&path).unwrap_err();
        assert!(
            error.contains("com.example.hello.link: not a link"),
            "{error}"
        );
    }

    #[test]
    fn removing_a_link_that_is_not_there_is_no_error() {
        let plugins = tempfile::tempdir().unwrap();
        remove_link(plugins.path(), "com.example.hello").unwrap();
    }
}
