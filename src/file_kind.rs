//! Words for a kind of file, for errors that say why a path was refused: the transports (an
//! endpoint path) and the packages (an archive path) both refuse what is not theirs to open.
//! Pure: the caller read the metadata.

/// What a file is, in words ("a regular file", "a character device", ...), for errors that say
/// why a path was refused.
pub fn file_kind(file_type: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if file_type.is_fifo() {
            return "a named pipe (FIFO)";
        } else if file_type.is_char_device() {
            return "a character device";
        } else if file_type.is_block_device() {
            return "a block device";
        } else if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_file() {
        "a regular file"
    } else if file_type.is_dir() {
        "a directory"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else {
        "an unknown kind of file"
    }
}
