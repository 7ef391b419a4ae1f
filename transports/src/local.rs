//! Local sockets (seed 9.1.3) through `interprocess`: Unix domain sockets on Unix, named pipes on
//! Windows, carrying the core's length-delimited binary frames.
//!
//! The default endpoint is per user: `\\.\pipe\logitech_plugin_framework_agent-<USER_NAME_HASH>`
//! on Windows, `/tmp/logitech_plugin_framework_agent-<USER_NAME_HASH>` on macOS, and the same
//! file name under `$XDG_RUNTIME_DIR` (else `/tmp`) on Linux and other Unixes. The socket is
//! reachable by its owner only. A socket file left behind by a manager that died is replaced; a
//! live manager on the endpoint is never displaced: binding fails with
//! [`LocalError::EndpointInUse`], naming who holds it. Only a socket is ever removed: anything
//! else at the path is left alone ([`LocalError::NotASocket`]).
//!
//! In `/tmp` another user can listen on the endpoint first. [`connect_local`] therefore checks
//! who serves the socket (the peer's uid from `SO_PEERCRED` on Linux, the socket file's owner on
//! other Unixes) and refuses another user's ([`LocalError::NotOwner`]) before a byte is sent.
//!
//! A plugin's end keeps a small kernel send buffer ([`PLUGIN_SEND_BUFFER`], on Linux): what the
//! kernel holds has left the session's lanes, and a press's answer would wait behind all of it.
//!
//! [`peer_process`] tells who connected: on Linux the peer's pid and uid (`SO_PEERCRED`) and
//! its ancestors (from `/proc`), which the host matches against the process it launched. Other
//! platforms report nothing yet (the peer pid of macOS and `GetNamedPipeClientProcessId` of
//! Windows are not wired), and there a plugin is admitted by its code alone.

use std::io;
use std::path::{Path, PathBuf};

use crate::StreamTransport;

/// The file (or pipe) name of the default endpoint, before the user's hash.
pub const ENDPOINT_PREFIX: &str = "logitech_plugin_framework_agent-";

/// Who serves a local socket: the user, and the process where the platform tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EndpointOwner {
    /// The user id.
    pub uid: u32,
    /// The process that listens (Linux's peer credentials); `None` when only the socket file's
    /// owner is known.
    pub pid: Option<u32>,
}

impl std::fmt::Display for EndpointOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.pid {
            Some(pid) => write!(f, "process {pid} of uid {}", self.uid),
            None => write!(f, "uid {} (the socket file's owner)", self.uid),
        }
    }
}

/// Why a local endpoint could not be bound or reached.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalError {
    /// A live listener (another manager) already serves this endpoint.
    #[error(
        "another manager is already listening on {endpoint}{}",
        held_by(holder)
    )]
    EndpointInUse {
        /// The endpoint.
        endpoint: String,
        /// Who listens there, where it can be told.
        holder: Option<EndpointOwner>,
    },
    /// Something other than a socket is at the endpoint's path: it is left alone.
    #[error("cannot listen on {endpoint}: it is {kind}, not a socket, and is left alone")]
    NotASocket {
        /// The endpoint.
        endpoint: String,
        /// What is there instead ("a regular file", "a directory", ...).
        kind: &'static str,
    },
    /// The socket is served by another user: not this user's manager (someone may be squatting
    /// the endpoint). Nothing was sent to it.
    #[error(
        "refusing {endpoint}: it is served by {owner}, not by this user (uid {ours}); another \
         user may be squatting the endpoint"
    )]
    NotOwner {
        /// The endpoint.
        endpoint: String,
        /// Who serves it.
        owner: EndpointOwner,
        /// This process's effective user id.
        ours: u32,
    },
    /// Binding failed.
    #[error("cannot listen on {endpoint}: {source}")]
    Bind {
        /// The endpoint.
        endpoint: String,
        /// The OS error.
        source: io::Error,
    },
    /// Connecting failed.
    #[error("cannot connect to {endpoint}: {source}")]
    Connect {
        /// The endpoint.
        endpoint: String,
        /// The OS error.
        source: io::Error,
    },
}

/// `EndpointInUse`'s words for who holds the endpoint.
fn held_by(holder: &Option<EndpointOwner>) -> String {
    holder.map_or_else(String::new, |holder| format!(" (held by {holder})"))
}

/// The kernel send buffer asked for on a plugin's end of a local socket (Linux doubles it for its
/// own bookkeeping). Linux's default (about 208 KiB) holds three 64 KiB images ahead of a
/// press's answer; this holds at most half of one, and the rest waits in the session, where the
/// answer passes it and a newer image replaces a stale one.
pub const PLUGIN_SEND_BUFFER: usize = 16 * 1024;

/// A stable digest of the user name: 64-bit FNV-1a, as 16 lowercase hex digits. The same user
/// gets the same endpoint from every program and every version.
pub fn user_name_hash(user_name: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in user_name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The logged-in user's name, from the environment (`USER`, `LOGNAME` or `USERNAME`).
pub fn current_user_name() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|key| std::env::var(key).ok().filter(|name| !name.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

/// The default endpoint for the current user on this platform.
pub fn default_endpoint() -> PathBuf {
    let name = format!("{ENDPOINT_PREFIX}{}", user_name_hash(&current_user_name()));
    if cfg!(windows) {
        PathBuf::from(format!(r"\\.\pipe\{name}"))
    } else if cfg!(target_os = "macos") {
        Path::new("/tmp").join(name)
    } else {
        let runtime = std::env::var_os("XDG_RUNTIME_DIR")
            .filter(|dir| !dir.is_empty())
            .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
        runtime.join(name)
    }
}

#[cfg(unix)]
pub use unix::{LocalListener, LocalStream, connect_local};
#[cfg(windows)]
pub use windows::{LocalListener, LocalStream, connect_local};

/// How many ancestors of a peer are read: far more than any launcher chain, and a bound on the
/// walk should `/proc` be odd.
const MAX_ANCESTORS: usize = 64;

/// The process at the other end of an accepted local socket, where the platform tells it (Linux
/// only for now); `None` elsewhere or if it cannot be read.
pub fn peer_process(stream: &LocalStream) -> Option<logi_plugin_core::session::PeerProcess> {
    #[cfg(target_os = "linux")]
    {
        use logi_plugin_core::session::PeerProcess;
        let (pid, uid) = peer_credentials(stream.get_ref())?;
        let mut peer = PeerProcess::new(pid, uid);
        let mut next = parent_pid(pid);
        while let Some(parent) = next.filter(|_| peer.ancestors.len() < MAX_ANCESTORS) {
            peer.ancestors.push(parent);
            next = parent_pid(parent);
        }
        Some(peer)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = stream;
        None
    }
}

/// The pid and uid of the process at the other end of a Unix socket (`SO_PEERCRED`): for an
/// accepted socket the one that connected, for a connected one the one that listens.
#[cfg(target_os = "linux")]
fn peer_credentials(socket: &std::os::unix::net::UnixStream) -> Option<(u32, u32)> {
    let credentials = rustix::net::sockopt::socket_peercred(socket).ok()?;
    let pid = u32::try_from(credentials.pid.as_raw_pid()).ok()?;
    Some((pid, credentials.uid.as_raw()))
}

/// The parent of process `pid`, read from `/proc/<pid>/stat`; `None` at the root (pid 0) or if
/// it cannot be read.
#[cfg(target_os = "linux")]
fn parent_pid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_parent_pid(&stat)
}

/// The ppid field of a `/proc/<pid>/stat` line: the second after the command name, which is in
/// parentheses and may itself hold spaces and parentheses, so the line is read from the last `)`.
#[cfg(any(target_os = "linux", test))]
fn parse_parent_pid(stat: &str) -> Option<u32> {
    let (_, after_name) = stat.rsplit_once(')')?;
    let ppid: u32 = after_name.split_whitespace().nth(1)?.parse().ok()?;
    (ppid != 0).then_some(ppid)
}

#[cfg(unix)]
mod unix {
    use std::io;
    use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::path::{Path, PathBuf};

    use async_io::Async;
    use interprocess::local_socket::traits::Stream as _;
    use interprocess::local_socket::{GenericFilePath, ListenerOptions, ToFsName};
    use interprocess::os::unix::local_socket::ListenerOptionsExt;

    use super::{EndpointOwner, LocalError, StreamTransport};

    /// A connected local socket.
    pub type LocalStream = Async<UnixStream>;

    /// A listening local socket; its file is removed when it is dropped (if it is still the
    /// socket this listener made).
    #[derive(Debug)]
    pub struct LocalListener {
        listener: Async<UnixListener>,
        path: PathBuf,
        /// The socket file's device and inode, so that the drop removes nothing else.
        file: (u64, u64),
    }

    impl LocalListener {
        /// Listens on `path`, reachable by this user only. A stale socket file (nothing
        /// listening) is replaced; a live one, or anything that is not a socket, is an error and
        /// is left alone.
        pub fn bind(path: impl AsRef<Path>) -> Result<LocalListener, LocalError> {
            let path = path.as_ref().to_path_buf();
            let endpoint = path.display().to_string();
            let bind_error = |source| LocalError::Bind {
                endpoint: endpoint.clone(),
                source,
            };
            let listener = match create(&path) {
                Err(error) if error.kind() == io::ErrorKind::AddrInUse => {
                    clear_stale(&path, &endpoint)?;
                    create(&path)
                }
                other => other,
            }
            .map_err(bind_error)?;
            let file = std::fs::symlink_metadata(&path).map_err(bind_error)?;
            Ok(LocalListener {
                listener: Async::new(listener).map_err(bind_error)?,
                path,
                file: (file.dev(), file.ino()),
            })
        }

        /// Where it listens.
        pub fn path(&self) -> &Path {
            &self.path
        }

        /// Waits for the next connection.
        pub async fn accept(&self) -> io::Result<StreamTransport<LocalStream>> {
            let (stream, _) = self.listener.accept().await?;
            Ok(StreamTransport::new(stream))
        }
    }

    impl Drop for LocalListener {
        fn drop(&mut self) {
            // Whatever took the path's place since (a newer manager's socket, a file) stays.
            let ours = std::fs::symlink_metadata(&self.path)
                .is_ok_and(|file| (file.dev(), file.ino()) == self.file);
            if ours {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }

    fn create(path: &Path) -> io::Result<UnixListener> {
        let name = path.to_fs_name::<GenericFilePath>()?;
        let listener = ListenerOptions::new()
            .name(name)
            .mode(0o600)
            .reclaim_name(false)
            .create_sync()?;
        let interprocess::local_socket::Listener::UdSocket(listener) = listener;
        Ok(UnixListener::from(listener))
    }

    /// Makes way for a listener at `path`, where something already is: a socket nobody answers
    /// on (left by a manager that died) is removed; a live socket, another user's socket this
    /// user may not reach, and anything that is not a socket stay, and are the error.
    fn clear_stale(path: &Path, endpoint: &str) -> Result<(), LocalError> {
        let bind_error = |source| LocalError::Bind {
            endpoint: endpoint.into(),
            source,
        };
        let file_type = match std::fs::symlink_metadata(path) {
            Ok(file) => file.file_type(),
            // Gone since binding failed: nothing to clear.
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(bind_error(error)),
        };
        if !file_type.is_socket() {
            return Err(LocalError::NotASocket {
                endpoint: endpoint.into(),
                kind: logi_plugin_core::file_kind(file_type),
            });
        }
        let in_use = |holder| LocalError::EndpointInUse {
            endpoint: endpoint.into(),
            holder,
        };
        match UnixStream::connect(path) {
            Ok(stream) => Err(in_use(owner(&stream, path).ok())),
            Err(error) if error.kind() == io::ErrorKind::PermissionDenied => {
                Err(in_use(file_owner(path).ok()))
            }
            // Nobody answers: the file was left by a manager that died.
            Err(_) => std::fs::remove_file(path).map_err(bind_error),
        }
    }

    /// Who serves the socket `stream` is connected to at `path`: the listening process's
    /// credentials where the platform gives them (Linux), else the socket file's owner.
    fn owner(stream: &UnixStream, path: &Path) -> io::Result<EndpointOwner> {
        #[cfg(target_os = "linux")]
        if let Some((pid, uid)) = super::peer_credentials(stream) {
            return Ok(EndpointOwner {
                uid,
                pid: Some(pid),
            });
        }
        let _ = stream;
        file_owner(path)
    }

    /// The owner of the file at `path`.
    fn file_owner(path: &Path) -> io::Result<EndpointOwner> {
        Ok(EndpointOwner {
            uid: std::fs::metadata(path)?.uid(),
            pid: None,
        })
    }

    /// Connects to the local socket at `path`, if this user serves it: a socket another user
    /// serves is refused before anything is sent ([`LocalError::NotOwner`]).
    pub async fn connect_local(
        path: impl AsRef<Path>,
    ) -> Result<StreamTransport<LocalStream>, LocalError> {
        let path = path.as_ref();
        let connect_error = |source| LocalError::Connect {
            endpoint: path.display().to_string(),
            source,
        };
        let name = path
            .to_fs_name::<GenericFilePath>()
            .map_err(connect_error)?;
        // Connecting a Unix domain socket does not wait on the peer.
        let stream = interprocess::local_socket::Stream::connect(name).map_err(connect_error)?;
        let interprocess::local_socket::Stream::UdSocket(stream) = stream;
        let stream = UnixStream::from(std::os::fd::OwnedFd::from(stream));
        let owner = owner(&stream, path).map_err(connect_error)?;
        let ours = rustix::process::geteuid().as_raw();
        if owner.uid != ours {
            return Err(LocalError::NotOwner {
                endpoint: path.display().to_string(),
                owner,
                ours,
            });
        }
        // Only a smaller queue for bulk frames to wait in; a socket that refuses keeps its own.
        #[cfg(target_os = "linux")]
        let _ =
            rustix::net::sockopt::set_socket_send_buffer_size(&stream, super::PLUGIN_SEND_BUFFER);
        Ok(StreamTransport::new(
            Async::new(stream).map_err(connect_error)?,
        ))
    }
}

#[cfg(windows)]
mod windows {
    use std::io;
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use blocking::Unblock;
    use interprocess::local_socket::traits::{Listener as _, Stream as _};
    use interprocess::local_socket::{
        GenericFilePath, Listener, ListenerOptions, Stream, ToFsName,
    };
    use interprocess::os::windows::local_socket::ListenerOptionsExt;
    use interprocess::os::windows::security_descriptor::SecurityDescriptor;

    use super::{LocalError, StreamTransport};
    use crate::duplex::Duplex;

    /// Only the pipe's owner (and the system) may open it.
    const OWNER_ONLY: &str = "D:P(A;;GA;;;OW)(A;;GA;;;SY)";

    /// A connected named pipe. Named pipes cannot be polled by `async-io`: each direction runs
    /// on `blocking`'s thread pool, separately, so a pending read never holds up a write.
    pub type LocalStream = Duplex<Unblock<Pipe>, Unblock<Pipe>>;

    /// The pipe, shared by the two directions (`&Stream` reads and writes).
    pub struct Pipe(Arc<Stream>);

    impl io::Read for Pipe {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            (&*self.0).read(buf)
        }
    }

    impl io::Write for Pipe {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            (&*self.0).write(buf)
        }

        fn flush(&mut self) -> io::Result<()> {
            (&*self.0).flush()
        }
    }

    fn duplex(stream: Stream) -> LocalStream {
        let stream = Arc::new(stream);
        Duplex {
            reader: Unblock::new(Pipe(stream.clone())),
            writer: Unblock::new(Pipe(stream)),
        }
    }

    /// A listening named pipe.
    #[derive(Debug)]
    pub struct LocalListener {
        listener: Arc<Listener>,
        path: PathBuf,
    }

    impl LocalListener {
        /// Listens on the pipe `path`, reachable by this user only. A pipe already served by
        /// another manager is an error.
        pub fn bind(path: impl AsRef<Path>) -> Result<LocalListener, LocalError> {
            let path = path.as_ref().to_path_buf();
            let endpoint = path.display().to_string();
            let bind_error = |source| LocalError::Bind {
                endpoint: endpoint.clone(),
                source,
            };
            let sddl = widestring::U16CString::from_str(OWNER_ONLY)
                .map_err(|e| bind_error(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
            let descriptor = SecurityDescriptor::deserialize(&sddl).map_err(bind_error)?;
            let name = path
                .as_path()
                .to_fs_name::<GenericFilePath>()
                .map_err(bind_error)?;
            let listener = ListenerOptions::new()
                .name(name)
                .security_descriptor(descriptor)
                .create_sync()
                .map_err(|error| match error.kind() {
                    // Who holds a pipe is not read here yet (`GetNamedPipeServerProcessId`).
                    io::ErrorKind::AddrInUse | io::ErrorKind::PermissionDenied => {
                        LocalError::EndpointInUse {
                            endpoint: endpoint.clone(),
                            holder: None,
                        }
                    }
                    _ => bind_error(error),
                })?;
            Ok(LocalListener {
                listener: Arc::new(listener),
                path,
            })
        }

        /// Where it listens.
        pub fn path(&self) -> &Path {
            &self.path
        }

        /// Waits for the next connection.
        pub async fn accept(&self) -> io::Result<StreamTransport<LocalStream>> {
            let listener = self.listener.clone();
            let stream = blocking::unblock(move || listener.accept()).await?;
            Ok(StreamTransport::new(duplex(stream)))
        }
    }

    /// Connects to the named pipe `path`.
    pub async fn connect_local(
        path: impl AsRef<Path>,
    ) -> Result<StreamTransport<LocalStream>, LocalError> {
        let path = path.as_ref().to_path_buf();
        let endpoint = path.display().to_string();
        let stream = blocking::unblock(move || {
            let name = path.as_path().to_fs_name::<GenericFilePath>()?;
            Stream::connect(name)
        })
        .await
        .map_err(|source| LocalError::Connect { endpoint, source })?;
        Ok(StreamTransport::new(duplex(stream)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parent_pid_is_read_past_a_command_name_with_spaces_and_parentheses() {
        let stat = "4300 (my (odd) plugin) S 4242 4300 4242 0 -1 4194560 120 0";
        assert_eq!(parse_parent_pid(stat), Some(4242));
        assert_eq!(parse_parent_pid("1 (init) S 0 1 1 0"), None);
        assert_eq!(parse_parent_pid("garbage"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_peer_of_a_local_socket_is_this_process_with_its_parent_among_its_ancestors() {
        let (ours, _theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        let peer = peer_process(&async_io::Async::new(ours).unwrap()).unwrap();
        assert_eq!(peer.pid, std::process::id());
        assert_eq!(
            peer.ancestors.first(),
            Some(&std::os::unix::process::parent_id())
        );
        assert!(peer.is_or_descends_from(std::os::unix::process::parent_id()));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_plugin_end_keeps_a_small_send_buffer_so_bulk_waits_in_the_session() {
        let dir = std::env::temp_dir().join(format!("logi-sndbuf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("agent");
        let listener = LocalListener::bind(&path).unwrap();
        let plugin_end = async_io::block_on(connect_local(&path)).unwrap();
        let manager_end = async_io::block_on(listener.accept()).unwrap();
        let size = |stream: &LocalStream| {
            rustix::net::sockopt::socket_send_buffer_size(stream.get_ref()).unwrap()
        };
        // Linux reports twice what was asked for.
        assert_eq!(size(plugin_end.get_ref()), 2 * PLUGIN_SEND_BUFFER);
        assert!(size(manager_end.get_ref()) > 2 * PLUGIN_SEND_BUFFER);
        drop(listener);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
