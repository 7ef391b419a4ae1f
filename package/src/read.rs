//! Gathering a package's files, from an archive or a folder, under the same rules: paths inside
//! the package, plain files only, each name once, and the [`Limits`] counted on the bytes
//! actually read (an archive's declared sizes can lie, and a file can grow while it is read).

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{File, FileType};
use std::io::{self, Cursor, Read};
use std::path::Path;

use logi_plugin_manifest::is_package_path;

use crate::error::{PackageError, io_error};
use crate::limits::{Limits, PackageFile};
use crate::paths::SIGNATURE_PATH;

/// The files, and the signature file's bytes kept apart.
type Gathered = (BTreeMap<String, PackageFile>, Option<Vec<u8>>);

/// Reads every entry of a zip archive.
pub(super) fn zip(bytes: &[u8], limits: Limits) -> Result<Gathered, PackageError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))?;
    // The zip crate keys its index by name, so the first copy of a name is never shown to the
    // loop below: which copy would be unpacked depends on the reader.
    if archive.has_duplicate_names() {
        return Err(
            match name_listed_twice(bytes, archive.central_directory_start()) {
                Some(name) => refused(name, "is in the archive twice"),
                None => PackageError::Archive("an entry name is in the archive twice".into()),
            },
        );
    }
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
        // The size the archive declares sizes the buffer (it may lie: the bytes inflated are
        // what count against the limits).
        let declared = entry.size();
        files.add(name, entry, executable, declared)?;
    }
    Ok(files.finish())
}

/// The first name the archive's central directory lists twice, read from the directory's own
/// headers; `None` if they do not show one (a name the zip crate took from a Unicode path
/// field instead).
fn name_listed_twice(archive: &[u8], directory_start: u64) -> Option<String> {
    /// A central directory header: its signature, then 42 bytes of fields, then the name.
    const SIGNATURE: &[u8] = b"PK\x01\x02";
    const FIXED: usize = 46;
    let mut at = usize::try_from(directory_start).ok()?;
    let mut seen = HashSet::new();
    // Each header is at least 46 bytes long: the walk ends within the archive's length.
    while archive.get(at..at + SIGNATURE.len())? == SIGNATURE {
        let field = |offset: usize| {
            let bytes = archive.get(at + offset..at + offset + 2)?;
            Some(usize::from(u16::from_le_bytes([bytes[0], bytes[1]])))
        };
        let (name, extra, comment) = (field(28)?, field(30)?, field(32)?);
        let raw = archive.get(at + FIXED..at + FIXED + name)?;
        if !seen.insert(raw) {
            return Some(String::from_utf8_lossy(raw).into_owned());
        }
        at += FIXED + name + extra + comment;
    }
    None
}

/// The file-type bits of a Unix mode, and their value for a plain file.
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;

/// Reads every file under `root`; with `replaced`, `(path, file)`, the package's `path` is read
/// from `file` instead (wherever it is), and whatever `root` holds at `path` is left out.
pub(super) fn dir(
    root: &Path,
    limits: Limits,
    replaced: Option<(&str, &Path)>,
) -> Result<Gathered, PackageError> {
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
            if replaced.is_some_and(|(path, _)| path == name) {
                continue;
            }
            let kind = entry
                .file_type()
                .map_err(|source| io_error(&path, source))?;
            if kind.is_symlink() {
                return Err(refused(name, "is a link"));
            } else if kind.is_dir() {
                files.check_path(&name, &name, true)?;
                pending.push(path);
            } else if kind.is_file() {
                let file = open_regular(&path)?;
                let executable = is_executable(&file);
                let size = file.metadata().map_or(0, |meta| meta.len());
                files.add(name, file, executable, size)?;
            } else {
                return Err(refused(name, "is not a plain file"));
            }
        }
    }
    if let Some((name, path)) = replaced {
        let file = open_regular(path)?;
        let size = file.metadata().map_or(0, |meta| meta.len());
        files.add(name.to_string(), file, true, size)?;
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

/// Reads one file of a package folder, as [`dir`] reads each.
pub(super) fn dir_file(root: &Path, name: &str, limits: Limits) -> Result<Vec<u8>, PackageError> {
    let path = root.join(name);
    let kind = std::fs::symlink_metadata(&path).map_err(|source| io_error(&path, source))?;
    if kind.is_symlink() {
        return Err(refused(name.into(), "is a link"));
    }
    let file = open_regular(&path)?;
    let limit = limits.max_total_bytes;
    read_at_most(file, limit, 0)
        .map_err(|source| io_error(&path, source))?
        .ok_or(PackageError::TooLarge { limit })
}

/// Reads an archive file whole: see [`super::read_archive`].
pub(super) fn archive_file(path: &Path, limits: Limits) -> Result<Vec<u8>, PackageError> {
    let file = open_regular(path)?;
    let size = file
        .metadata()
        .map_err(|source| io_error(path, source))?
        .len();
    let limit = limits.max_archive_bytes;
    let too_large = |size| PackageError::ArchiveTooLarge {
        path: path.to_path_buf(),
        size,
        limit,
    };
    if size > limit {
        return Err(too_large(Some(size)));
    }
    read_at_most(file, limit, size)
        .map_err(|source| io_error(path, source))?
        .ok_or_else(|| too_large(None))
}

/// Opens a file to read if it is a regular file (a link to one is followed). The type is
/// checked by path first, so that no device is even opened, then on the opened file, so that
/// what was checked is what is read; the open does not block, so a FIFO with no writer cannot
/// hold it.
fn open_regular(path: &Path) -> Result<File, PackageError> {
    let not_a_file = |kind| PackageError::NotAFile {
        path: path.to_path_buf(),
        kind,
    };
    let before = std::fs::metadata(path).map_err(|source| io_error(path, source))?;
    if let Some(kind) = not_regular(before.file_type()) {
        return Err(not_a_file(kind));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use rustix::fs::OFlags;
        // Non-blocking changes nothing for a regular file's reads; no controlling terminal
        // keeps a terminal swapped in from becoming the daemon's.
        let flags = (OFlags::NONBLOCK | OFlags::NOCTTY).bits();
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, flags as i32);
    }
    let file = options
        .open(path)
        .map_err(|source| io_error(path, source))?;
    let opened = file.metadata().map_err(|source| io_error(path, source))?;
    match not_regular(opened.file_type()) {
        Some(kind) => Err(not_a_file(kind)),
        None => Ok(file),
    }
}

/// What a file that is not a regular file is, as "a named pipe (FIFO)"; `None` for a regular
/// file.
fn not_regular(kind: FileType) -> Option<&'static str> {
    (!kind.is_file()).then(|| logi_plugin_core::file_kind(kind))
}

/// Reads `source` to its end if it holds at most `limit` bytes, reading one byte past the
/// limit and no further; `None` if it holds more. `expected` sizes the buffer up front, so
/// that a large file is read into one allocation, not copied from buffer to buffer as it
/// grows; a buffer that `expected` made too large is shrunk to what was read.
fn read_at_most(source: impl Read, limit: u64, expected: u64) -> io::Result<Option<Vec<u8>>> {
    let capacity = usize::try_from(expected.min(limit)).unwrap_or(0);
    let mut bytes = Vec::new();
    // A size that cannot be had up front (a lying archive, a tight system) is grown into.
    let _ = bytes.try_reserve_exact(capacity);
    source.take(limit + 1).read_to_end(&mut bytes)?;
    bytes.shrink_to_fit();
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
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

    /// Reads one file, counting its bytes against the limits; `size` is what it is said to
    /// hold.
    fn add(
        &mut self,
        name: String,
        source: impl Read,
        executable: bool,
        size: u64,
    ) -> Result<(), PackageError> {
        self.check_path(&name, &name, false)?;
        if self.files.len() >= self.limits.max_files {
            return Err(PackageError::TooManyFiles {
                limit: self.limits.max_files,
            });
        }
        let budget = self.limits.max_total_bytes - self.total;
        let bytes = read_at_most(source, budget, size)
            .map_err(|source| io_error(Path::new(&name), source))?
            .ok_or(PackageError::TooLarge {
                limit: self.limits.max_total_bytes,
            })?;
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
