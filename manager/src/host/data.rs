//! The data directory: owner-only, and held by one host at a time.
//!
//! It holds what another user must neither read nor change: the installed plugins' programs
//! (which the host runs), the settings database, the admin credential. So the folder is made
//! (or brought back to) mode 0700 whatever the process's umask, and the files the host creates
//! there are 0600. Two hosts on one folder would launch every plugin twice and share one
//! database: the first takes an exclusive lock on `manager.lock` (holding its pid), and a second
//! is refused, naming the holder.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};

use super::error::HostError;

/// The lock file's name in the data directory.
pub(super) const LOCK_FILE: &str = "manager.lock";

/// How long a held lock is asked again before the folder is refused as in use.
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(1);

/// The data directory, locked for this host until [`DataDir::release`] or drop.
#[derive(Debug)]
pub(super) struct DataDir {
    lock: Option<File>,
}

impl DataDir {
    /// Makes `dir` (and `dir/plugins`) owner-only and takes its lock.
    pub(super) fn open(dir: &Path) -> Result<DataDir, HostError> {
        owner_only_dir(dir)?;
        owner_only_dir(&dir.join("plugins"))?;
        let path = dir.join(LOCK_FILE);
        let mut lock = owner_only_file(&path)?.0;
        // A host that just released the folder may still hold its lock for a moment: a child
        // process another thread is spawning holds a copy of every descriptor until it execs.
        // So a held lock is asked again for a short while before the folder is called in use.
        let deadline = std::time::Instant::now() + LOCK_PATIENCE;
        let locked = loop {
            match lock.try_lock() {
                Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                locked => break locked,
            }
        };
        match locked {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = lock.read_to_string(&mut holder);
                return Err(HostError::DataDirInUse {
                    dir: dir.to_path_buf(),
                    holder: holder.trim().parse().ok(),
                });
            }
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(io(format!("locking {}", path.display()), source));
            }
        }
        // Who holds it, for the next host to name.
        let written = lock
            .set_len(0)
            .and_then(|()| lock.rewind())
            .and_then(|()| writeln!(lock, "{}", std::process::id()));
        written.map_err(|source| io(format!("writing {}", path.display()), source))?;
        Ok(DataDir { lock: Some(lock) })
    }

    /// Gives the lock up, so that another host may open the folder.
    pub(super) fn release(&mut self) {
        self.lock = None;
    }
}

/// Creates `dir` if needed, mode 0700 whatever the umask; an existing one is made 0700.
pub(super) fn owner_only_dir(dir: &Path) -> Result<(), HostError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|source| io(format!("creating {}", dir.display()), source))?;
    restrict(dir, 0o700)
}

/// Opens (creating if needed) a file that only its owner may read and write, and says whether
/// it was created; an existing one is made 0600.
pub(crate) fn owner_only_file(path: &Path) -> Result<(File, bool), HostError> {
    let mut options = OpenOptions::new();
    options.read(true).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let what = |verb: &str| format!("{verb} {}", path.display());
    let (file, created) = match options.clone().create_new(true).open(path) {
        Ok(file) => (file, true),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            let file = options.open(path).map_err(|e| io(what("opening"), e))?;
            (file, false)
        }
        Err(error) => return Err(io(what("creating"), error)),
    };
    restrict(path, 0o600)?;
    Ok((file, created))
}

/// The settings database's files (and the journals SQLite keeps beside it, which it creates
/// with the database's own mode) made owner-only before SQLite opens them.
pub(super) fn owner_only_database(path: &Path) -> Result<(), HostError> {
    owner_only_file(path)?;
    for suffix in ["-wal", "-shm"] {
        let mut journal = path.as_os_str().to_owned();
        journal.push(suffix);
        let journal = PathBuf::from(journal);
        if journal.exists() {
            restrict(&journal, 0o600)?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> Result<(), HostError> {
    use std::os::unix::fs::PermissionsExt;
    let metadata =
        std::fs::metadata(path).map_err(|e| io(format!("reading {}", path.display()), e))?;
    if metadata.permissions().mode() & 0o777 != mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| io(format!("restricting {} to {mode:o}", path.display()), e))?;
    }
    Ok(())
}

/// Windows folders under the user's profile are the user's by inheritance.
#[cfg(not(unix))]
fn restrict(_: &Path, _: u32) -> Result<(), HostError> {
    Ok(())
}

fn io(what: String, source: std::io::Error) -> HostError {
    HostError::Io { what, source }
}
