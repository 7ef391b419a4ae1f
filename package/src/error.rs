//! Why a package cannot be read or written, saying which file and which limit.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use logi_plugin_manifest::localization::LocalizationError;
use logi_plugin_manifest::{ManifestError, Platform};
use zip::result::ZipError;

/// Why a package cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// A package file that is not a regular file: a folder, a FIFO, a device...
    #[error("{}: is {kind}; a package archive must be a regular file", path.display())]
    NotAFile {
        /// The path given.
        path: PathBuf,
        /// What it is instead, as "a named pipe (FIFO)".
        kind: &'static str,
    },
    /// An archive file larger than [`Limits::max_archive_bytes`](crate::Limits::max_archive_bytes), refused before it is read
    /// whole.
    #[error("{}: {}", path.display(), ArchiveSize(*size, *limit))]
    ArchiveTooLarge {
        /// The archive file.
        path: PathBuf,
        /// Its size, as the file system told it; `None` when it held more than it said (it
        /// grew while read, or is a file under `/proc`).
        size: Option<u64>,
        /// The limit.
        limit: u64,
    },
    /// The bytes are not a zip archive this reader can open.
    #[error("not a readable zip archive: {0}")]
    Archive(String),
    /// An entry that must not be unpacked.
    #[error("entry {name:?} {reason}")]
    Entry {
        /// The entry's name, as written in the archive or found in the folder.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// More files than [`Limits::max_files`](crate::Limits::max_files).
    #[error("the package has more than {limit} files")]
    TooManyFiles {
        /// The limit.
        limit: usize,
    },
    /// More bytes than [`Limits::max_total_bytes`](crate::Limits::max_total_bytes).
    #[error("the package unpacks to more than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// There is no `manifest.json` at the root.
    #[error("the package has no manifest.json at its root")]
    NoManifest,
    /// The manifest names no program for the platform a program was given for.
    #[error(
        "the manifest names no program for {platform} (programPath, or its programPathMac or \
         programPathWin override) to put the given program at"
    )]
    NoProgramPath {
        /// The platform the program was given for: this one.
        platform: Platform,
    },
    /// The package lacks files a host on `platform` needs: it does not run there.
    #[error("{}", NotFor(*.platform, .missing))]
    NotForPlatform {
        /// The platform.
        platform: Platform,
        /// The missing files, each with the manifest field naming it.
        missing: Vec<ManifestError>,
    },
    /// The manifest, its files or its localizations are wrong: every problem found.
    #[error("{}", Problems(.manifest, .localization))]
    Invalid {
        /// The manifest's problems, and the files it names that are missing.
        manifest: Vec<ManifestError>,
        /// The localization files that cannot be read.
        localization: Vec<LocalizationError>,
    },
}

impl PackageError {
    /// The file the error names, when it names one: callers need not add it again.
    pub fn path(&self) -> Option<&Path> {
        match self {
            PackageError::Io { path, .. }
            | PackageError::NotAFile { path, .. }
            | PackageError::ArchiveTooLarge { path, .. } => Some(path),
            _ => None,
        }
    }
}

/// Says how an archive file is over its size limit.
struct ArchiveSize(Option<u64>, u64);

impl fmt::Display for ArchiveSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ArchiveSize(size, limit) = self;
        match size {
            Some(size) => write!(
                f,
                "the archive is {size} bytes, over the limit of {limit} bytes"
            ),
            None => write!(f, "the archive holds more than the limit of {limit} bytes"),
        }?;
        f.write_str(" for a package archive (max_archive_bytes)")
    }
}

/// Prints every problem of an invalid package, one per line.
struct Problems<'a>(&'a [ManifestError], &'a [LocalizationError]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.0.len() + self.1.len();
        write!(f, "the package has {count} problem(s):")?;
        for error in self.0 {
            write!(f, "\n  manifest.json: {error}")?;
        }
        for error in self.1 {
            write!(f, "\n  {error}")?;
        }
        Ok(())
    }
}

/// Says which files keep a package from running on a platform.
struct NotFor<'a>(Platform, &'a [ManifestError]);

impl fmt::Display for NotFor<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let NotFor(platform, missing) = self;
        write!(f, "the package does not run on {platform}:")?;
        for error in *missing {
            write!(f, "\n  manifest.json: {error}")?;
        }
        Ok(())
    }
}

impl From<ZipError> for PackageError {
    fn from(error: ZipError) -> Self {
        PackageError::Archive(error.to_string())
    }
}

/// An IO error on the file at `path`.
pub(crate) fn io_error(path: &Path, source: io::Error) -> PackageError {
    PackageError::Io {
        path: path.to_path_buf(),
        source,
    }
}
