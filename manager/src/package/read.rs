//! Gathering a package's files, from an archive or a folder, under the same rules: paths inside
//! the package, plain files only, and the [`Limits`] counted on the bytes actually read (an
//! archive's declared sizes can lie).

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::io::{Cursor, Read};
use std::path::Path;

use logi_plugin_core::manifest::is_package_path;

use super::{Limits, PackageError, PackageFile, SIGNATURE_PATH, io_error};

/// The files, and the signature file's bytes kept apart.
type Gathered = (BTreeMap<String, PackageFile>, Option<Vec<u8>>);

/// Reads every entry of a zip archive.
pub(super) fn zip(archive: &[u8], limits: Limits) -> Result<Gathered, PackageError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(archive))?;
    let mut files = Files::new(limits);
    for index in 0..archive.len() {
        let entry = archive.by_index(index)?;
        let name = entry.name()?.into_owned();
        if entry.is_symlink() {
            return Err(refused(name, "is a link"));
        }
        if entry.encrypted() {
            return Err(refused(name, "is encrypted"));
        }
        if entry.is_dir() {
            files.check_path(&name, name.trim_end_matches('/'), true)?;
            continue;
        }
        let mode = entry.unix_mode();
        if mode.is_some_and(|mode| mode & S_IFMT != 0 && mode & S_IFMT != S_IFREG) {
            return Err(refused(name, "is not a plain file"));
        }
        let executable = mode.is_some_and(|mode| mode & 0o111 != 0);
        files.add(name, entry, executable)?;
    }
    Ok(files.finish())
}

/// The file-type bits of a Unix mode, and their value for a plain file.
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;

/// Reads every file under `root`.
pub(super) fn dir(root: &Path, limits: Limits) -> Result<Gathered, PackageError> {
    let mut files = Files::new(limits);
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| io_error(&dir, source))?;
        for entry in entries {
            let entry = entry.map_err(|source| io_error(&dir, source))?;
            let path = entry.path();
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let name = relative
                .to_str()
                .ok_or_else(|| refused(relative.display().to_string(), "is not UTF-8"))?
                .replace(std::path::MAIN_SEPARATOR, "/");
            let kind = entry
                .file_type()
                .map_err(|source| io_error(&path, source))?;
            if kind.is_symlink() {
                return Err(refused(name, "is a link"));
            } else if kind.is_dir() {
                files.check_path(&name, &name, true)?;
                pending.push(path);
            } else if kind.is_file() {
                let file = std::fs::File::open(&path).map_err(|source| io_error(&path, source))?;
                let executable = is_executable(&file);
                files.add(name, file, executable)?;
            } else {
                return Err(refused(name, "is not a plain file"));
            }
        }
    }
    Ok(files.finish())
}

#[cfg(unix)]
fn is_executable(file: &std::fs::File) -> bool {
    use std::os::unix::fs::PermissionsExt;
    file.metadata()
        .is_ok_and(|meta| meta.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(_file: &std::fs::File) -> bool {
    false
}

fn refused(name: String, reason: &'static str) -> PackageError {
    PackageError::Entry { name, reason }
}

/// The files gathered so far, and what the limits still allow.
struct Files {
    limits: Limits,
    files: BTreeMap<String, PackageFile>,
    signature: Option<Vec<u8>>,
    /// Every path seen, folded to lower case: as written, and whether it is a folder.
    seen: HashMap<String, (String, bool)>,
    total: u64,
}

impl Files {
    fn new(limits: Limits) -> Files {
        Files {
            limits,
            files: BTreeMap::new(),
            signature: None,
            seen: HashMap::new(),
            total: 0,
        }
    }

    /// Refuses a path that leaves the package, or that collides with one already seen: the
    /// same name twice, or a file where another entry needs a folder.
    fn check_path(&mut self, name: &str, path: &str, is_dir: bool) -> Result<(), PackageError> {
        if !is_package_path(path) {
            let reason = "leaves the package: paths must be relative, with '/' separators, no \
                          '..', '\\' or ':'";
            return Err(refused(name.to_string(), reason));
        }
        for (end, _) in path.match_indices('/') {
            self.note(name, &path[..end], true)?;
        }
        self.note(name, path, is_dir)
    }

    fn note(&mut self, name: &str, path: &str, is_dir: bool) -> Result<(), PackageError> {
        match self.seen.entry(path.to_lowercase()) {
            // A folder may be listed again, and implied by its files.
            Entry::Occupied(seen) if *seen.get() == (path.to_string(), true) && is_dir => Ok(()),
            Entry::Occupied(_) => Err(refused(
                name.to_string(),
                "collides with another entry (names that differ only in case are one file on \
                 macOS and Windows)",
            )),
            Entry::Vacant(slot) => {
                slot.insert((path.to_string(), is_dir));
                Ok(())
            }
        }
    }

    /// Reads one file, counting its bytes against the limits.
    fn add(
        &mut self,
        name: String,
        source: impl Read,
        executable: bool,
    ) -> Result<(), PackageError> {
        self.check_path(&name, &name, false)?;
        if self.files.len() >= self.limits.max_files {
            return Err(PackageError::TooManyFiles {
                limit: self.limits.max_files,
            });
        }
        let budget = self.limits.max_total_bytes - self.total;
        let mut bytes = Vec::new();
        source
            .take(budget + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| io_error(Path::new(&name), source))?;
        if bytes.len() as u64 > budget {
            return Err(PackageError::TooLarge {
                limit: self.limits.max_total_bytes,
            });
        }
        self.total += bytes.len() as u64;
        if name == SIGNATURE_PATH {
            self.signature = Some(bytes);
        } else {
            self.files.insert(name, PackageFile { bytes, executable });
        }
        Ok(())
    }

    fn finish(self) -> Gathered {
        (self.files, self.signature)
    }
}
