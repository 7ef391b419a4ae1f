//! What a package may hold, and one file of it.

/// Bounds on what a package may hold, so that a crafted archive cannot fill memory or disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Files, not counting folders.
    pub max_files: usize,
    /// Bytes of all files together, once unpacked.
    pub max_total_bytes: u64,
    /// Bytes of an archive file, read whole before it is unpacked ([`read_archive`](crate::read_archive)).
    pub max_archive_bytes: u64,
}

impl Default for Limits {
    /// 10,000 files and 256 MiB unpacked: far above any plugin seen, far below a disk. An
    /// archive may be 272 MiB: what unpacks to 256 MiB, stored uncompressed, with room for the
    /// headers of 10,000 entries.
    fn default() -> Self {
        Limits {
            max_files: 10_000,
            max_total_bytes: 256 * 1024 * 1024,
            max_archive_bytes: 272 * 1024 * 1024,
        }
    }
}

/// One file of a package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageFile {
    /// Its contents.
    pub bytes: Vec<u8>,
    /// Whether it is extracted executable (on Unix): as marked in the archive or folder, and
    /// always for the manifest's programs and commands.
    pub executable: bool,
}
