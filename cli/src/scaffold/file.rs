//! A file of the folder `logi-plugin new` writes, in any of its languages.

/// One file of the new folder, at `path` inside it.
pub(super) struct File {
    /// Where it goes, relative to the folder.
    pub(super) path: String,
    /// What it holds.
    pub(super) bytes: Vec<u8>,
    /// Written with mode 755 (on Unix): a program the manifest names.
    pub(super) executable: bool,
}

impl File {
    /// A file written as it is.
    pub(super) fn new(path: &str, bytes: impl Into<Vec<u8>>) -> File {
        File {
            path: path.into(),
            bytes: bytes.into(),
            executable: false,
        }
    }

    /// A program: written with mode 755.
    pub(super) fn executable(path: &str, bytes: impl Into<Vec<u8>>) -> File {
        File {
            executable: true,
            ..File::new(path, bytes)
        }
    }
}
