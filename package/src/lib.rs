//! Plugin packages (seed chapters 1-4): zip archives holding `manifest.json`, an optional
//! `localization/` folder of YAML files, the executables and any other content.
//!
//! A [`Package`] is read whole into memory, from an archive or from a folder, under [`Limits`]
//! that bound its archive's size, its file count and its unpacked size. An archive file is read
//! only if it is a regular file ([`read_archive`]: never a device or a FIFO, never past the
//! limit). Every entry must be a plain file or folder whose path stays inside the package: no
//! `..`, no absolute path, no link, no name twice, no two names that differ only in case (they
//! would collide on macOS and Windows). The manifest, its localizations and the files it names
//! are checked before anything reaches the disk, and all problems are reported at once.
//! [`signature`] says who published a package and that it is unchanged.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::path::Path;
//! use logi_plugin_package::signature::{SecretKey, TrustStore};
//! use logi_plugin_package::{Limits, Package};
//!
//! // Pack a folder, signed; read it back as a host does, and check who signed it.
//! let mut package = Package::from_dir(Path::new("my-plugin"), Limits::default())?;
//! let key = SecretKey::generate()?;
//! package.sign("Example Ltd", &key);
//! std::fs::write("my-plugin-1.0.0.zip", package.to_zip()?)?;
//! let read = Package::from_zip_file(Path::new("my-plugin-1.0.0.zip"), Limits::default())?;
//! let mut trust = TrustStore::default();
//! trust.add(key.public_key(), "Example Ltd");
//! println!("{:?}", read.verify(&trust, false)?);
//! # Ok(()) }
//! ```

mod error;
mod limits;
mod paths;
mod read;
pub mod signature;

use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use logi_plugin_manifest::localization::{LocalizationError, Localizations};
use logi_plugin_manifest::{Manifest, ManifestError, ManifestErrors, Platform, Problem};
use zip::result::ZipError;

pub use error::PackageError;
pub use limits::{Limits, PackageFile};
pub use paths::{LOCALIZATION_DIR, MANIFEST_PATH, SIGNATURE_PATH};

use error::io_error;

/// A plugin package, read and checked.
#[derive(Clone, Debug)]
pub struct Package {
    manifest: Manifest,
    localizations: Localizations,
    files: BTreeMap<String, PackageFile>,
    signature: Option<Vec<u8>>,
    /// The files the manifest names for platforms the package does not run on only.
    warnings: Vec<ManifestError>,
    /// The files' [`signature::listing`], made once: an install verifies it and keeps it, and
    /// hashing a large program twice would double the work.
    listing: std::sync::OnceLock<String>,
}

impl Package {
    /// Reads a zip archive.
    pub fn from_zip(archive: &[u8], limits: Limits) -> Result<Package, PackageError> {
        let (files, signature) = read::zip(archive, limits)?;
        Package::new(files, signature)
    }

    /// Reads a zip archive file, as [`read_archive`] reads it.
    pub fn from_zip_file(path: &Path, limits: Limits) -> Result<Package, PackageError> {
        Package::from_zip(&read_archive(path, limits)?, limits)
    }

    /// Reads a package folder, as a plugin author keeps it before packing.
    pub fn from_dir(dir: &Path, limits: Limits) -> Result<Package, PackageError> {
        let (files, signature) = read::dir(dir, limits, None)?;
        Package::new(files, signature)
    }

    /// Reads a package folder with `program` (a build's output, wherever it is) as the program
    /// the manifest names for this platform ([`Manifest::program_on`] of
    /// [`Platform::current`]), in place of any file the folder holds there: what a plugin
    /// author packs, with nothing copied by hand. Refused when the manifest names no program
    /// for this platform.
    pub fn from_dir_with_program(
        dir: &Path,
        program: &Path,
        limits: Limits,
    ) -> Result<Package, PackageError> {
        let (manifest, _) = read_manifest(dir, limits)?;
        let platform = Platform::current();
        let Some((_, path)) = manifest.program_on(platform) else {
            return Err(PackageError::NoProgramPath { platform });
        };
        let (files, signature) = read::dir(dir, limits, Some((path, program)))?;
        Package::new(files, signature)
    }

    /// Checks the manifest, the files it names and the localizations.
    fn new(
        mut files: BTreeMap<String, PackageFile>,
        signature: Option<Vec<u8>>,
    ) -> Result<Package, PackageError> {
        let text = files.get(MANIFEST_PATH).ok_or(PackageError::NoManifest)?;
        let parsed = parse_manifest(&text.bytes);
        let localization = read_localizations(&files);
        let (manifest, mut manifest_errors) = match parsed {
            Ok(manifest) => (Some(manifest), Vec::new()),
            Err(errors) => (None, errors),
        };
        let mut warnings = Vec::new();
        if let Some(manifest) = &manifest {
            let missing = manifest.check_files(|path| files.contains_key(path));
            manifest_errors.extend(missing.errors);
            warnings = missing.warnings;
        }
        let (manifest, localizations) = match (manifest, localization) {
            (Some(manifest), Ok(localizations)) if manifest_errors.is_empty() => {
                (manifest, localizations)
            }
            (_, localization) => {
                return Err(PackageError::Invalid {
                    manifest: manifest_errors,
                    localization: localization.err().unwrap_or_default(),
                });
            }
        };
        for (_, program) in manifest.runnable_files() {
            if let Some(file) = files.get_mut(program) {
                file.executable = true;
            }
        }
        Ok(Package {
            localizations,
            manifest,
            files,
            signature,
            warnings,
            listing: std::sync::OnceLock::new(),
        })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The translations of `localization/`.
    pub fn localizations(&self) -> &Localizations {
        &self.localizations
    }

    /// Every file but the signature, by path from the package root (`/` separators).
    pub fn files(&self) -> &BTreeMap<String, PackageFile> {
        &self.files
    }

    /// The bytes of all its files (not the signature), as they unpack.
    pub fn size(&self) -> u64 {
        self.files
            .values()
            .map(|file| file.bytes.len() as u64)
            .sum()
    }

    /// What the package lacks only for platforms it does not run on: each a file the manifest
    /// names that only those platforms need ([`Problem::MissingElsewhere`]), as a package for
    /// one platform lacks the other's program.
    pub fn warnings(&self) -> &[ManifestError] {
        &self.warnings
    }

    /// Checks that the package runs on `platform`: every file a host there needs (the icons,
    /// its program, the commands it runs) is in it; else which are missing.
    pub fn check_platform(&self, platform: Platform) -> Result<(), PackageError> {
        let missing = self
            .manifest
            .check_files_on(platform, |path| self.files.contains_key(path));
        if missing.is_empty() {
            Ok(())
        } else {
            Err(PackageError::NotForPlatform { platform, missing })
        }
    }

    /// The signature file's bytes, if the package has one ([`SIGNATURE_PATH`]).
    pub fn signature_file(&self) -> Option<&[u8]> {
        self.signature.as_deref()
    }

    /// The package as a zip archive: files in path order, deflated, with fixed timestamps, so
    /// that the same package always packs to the same bytes; the signature last.
    pub fn to_zip(&self) -> Result<Vec<u8>, PackageError> {
        self.to_zip_with_progress(|_, _| {})
    }

    /// As [`to_zip`](Self::to_zip), calling `progress(bytes packed, bytes in all)` after each
    /// file, for a progress bar.
    pub fn to_zip_with_progress(
        &self,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<Vec<u8>, PackageError> {
        let total = self.size();
        let mut packed = 0;
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let entries = self.files.iter().map(|(path, file)| {
            (
                path.as_str(),
                file.bytes.as_slice(),
                unix_mode(file.executable),
            )
        });
        let signature = self
            .signature
            .as_deref()
            .map(|s| (SIGNATURE_PATH, s, unix_mode(false)));
        for (path, bytes, mode) in entries.chain(signature) {
            writer.start_file(path, options.unix_permissions(mode))?;
            writer.write_all(bytes).map_err(ZipError::from)?;
            packed = total.min(packed + bytes.len() as u64);
            progress(packed, total);
        }
        let cursor = writer.finish()?;
        Ok(cursor.into_inner())
    }

    /// Writes the files (not the signature) under `dir`, which is created; executables get mode
    /// 0755 on Unix, other files 0644.
    pub fn extract(&self, dir: &Path) -> Result<(), PackageError> {
        std::fs::create_dir_all(dir).map_err(|source| io_error(dir, source))?;
        for (path, file) in &self.files {
            // Safe to join: every path was checked to stay inside the package when read.
            let target = write_file(dir, path, &file.bytes)?;
            set_executable(&target, file.executable)?;
        }
        Ok(())
    }
}

/// Reads a package archive file whole, refusing what is not a regular file (a FIFO is opened
/// without waiting for a writer, and its type checked on the opened file) and a file larger
/// than [`Limits::max_archive_bytes`], before reading any of it; a file that grows while read is
/// read no further than the limit. Every path that reads a package archive file reads it here.
pub fn read_archive(path: &Path, limits: Limits) -> Result<Vec<u8>, PackageError> {
    read::archive_file(path, limits)
}

/// The manifest of a package folder, and its text, read alone: what can still be told of an
/// installed plugin whose folder no longer reads as a package.
pub fn read_manifest(dir: &Path, limits: Limits) -> Result<(Manifest, String), PackageError> {
    let bytes = read::dir_file(dir, MANIFEST_PATH, limits)?;
    let manifest = parse_manifest(&bytes).map_err(|manifest| PackageError::Invalid {
        manifest,
        localization: Vec::new(),
    })?;
    Ok((manifest, String::from_utf8_lossy(&bytes).into_owned()))
}

/// Parses `manifest.json`'s bytes, which must be UTF-8.
fn parse_manifest(bytes: &[u8]) -> Result<Manifest, Vec<ManifestError>> {
    let text = std::str::from_utf8(bytes).map_err(|error| {
        vec![ManifestError {
            path: String::new(),
            problem: Problem::Syntax(format!("not UTF-8: {error}")),
        }]
    })?;
    Manifest::parse(text).map_err(|ManifestErrors(errors)| errors)
}

/// Writes `bytes` at `path` under `dir`, making the folders on the way; returns where.
fn write_file(dir: &Path, path: &str, bytes: &[u8]) -> Result<PathBuf, PackageError> {
    let target = dir.join(path);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(|source| io_error(parent, source))?;
    }
    std::fs::write(&target, bytes).map_err(|source| io_error(&target, source))?;
    Ok(target)
}

/// Reads `localization/<locale>.yaml`, reporting every file that cannot be read.
fn read_localizations(
    files: &BTreeMap<String, PackageFile>,
) -> Result<Localizations, Vec<LocalizationError>> {
    let mut texts = Vec::new();
    let mut errors = Vec::new();
    for (path, file) in files {
        let Some(locale) = path
            .strip_prefix(LOCALIZATION_DIR)
            .and_then(|name| name.strip_suffix(".yaml"))
            .filter(|locale| !locale.contains('/'))
        else {
            continue;
        };
        match std::str::from_utf8(&file.bytes) {
            Ok(text) => texts.push((locale, text)),
            Err(error) => errors.push(LocalizationError {
                locale: locale.to_string(),
                reason: format!("not UTF-8: {error}"),
            }),
        }
    }
    let parsed = Localizations::parse(texts);
    match parsed {
        Ok(localizations) if errors.is_empty() => Ok(localizations),
        Ok(_) => Err(errors),
        Err(mut more) => {
            errors.append(&mut more);
            Err(errors)
        }
    }
}

/// The permissions a file is packed and unpacked with.
fn unix_mode(executable: bool) -> u32 {
    if executable { 0o755 } else { 0o644 }
}

#[cfg(unix)]
fn set_executable(path: &Path, executable: bool) -> Result<(), PackageError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = unix_mode(executable);
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|source| io_error(path, source))
}

#[cfg(not(unix))]
fn set_executable(_path: &Path, _executable: bool) -> Result<(), PackageError> {
    Ok(())
}
