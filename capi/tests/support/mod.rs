//! What the C ABI's tests share: C strings, the last error, and a manager to connect to.
#![allow(dead_code)] // Each test file uses its own part.

use std::collections::HashMap;
use std::ffi::{CStr, CString, c_char};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use logi_plugin::logi_last_error;
use logi_plugin_core::session::{Admission, ManagerConfig};
use logi_plugin_transports::local::LocalListener;
use logi_plugin_transports::{ManagerConnection, ManagerListener, block_on};

/// The plugin the test manager admits, and its code.
pub const PLUGIN: &str = "com.example.capi";
pub const CODE: &str = "code";

/// `text` as a C string.
pub fn c(text: &str) -> CString {
    CString::new(text).unwrap()
}

/// What `logi_last_error` says now.
pub fn last_error() -> String {
    // SAFETY: never null, NUL-terminated, valid until the next call on this thread.
    unsafe { CStr::from_ptr(logi_last_error()) }
        .to_str()
        .unwrap()
        .to_string()
}

/// A string of C that is not UTF-8.
pub fn not_utf8() -> CString {
    CString::new(vec![b'a', 0xff, b'b']).unwrap()
}

/// Reads a C string a callback was given.
///
/// # Safety
/// `ptr` is null or NUL-terminated.
pub unsafe fn read(ptr: *const c_char) -> Option<String> {
    // SAFETY: the caller's contract.
    (!ptr.is_null()).then(|| {
        unsafe { CStr::from_ptr(ptr) }
            .to_string_lossy()
            .into_owned()
    })
}

/// Waits until `done` holds, failing the test after 10 s.
pub fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "not within 10 s: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A plugin manager on a local socket in a temporary folder, admitting [`PLUGIN`] with
/// [`CODE`]; each connection's session comes out of [`Manager::next_connection`].
pub struct Manager {
    pub socket: PathBuf,
    connections: async_channel::Receiver<ManagerConnection>,
    _dir: tempfile::TempDir,
}

impl Manager {
    pub fn start() -> Manager {
        Manager::start_with(|_| {})
    }

    /// [`Manager::start`], its configuration changed by `change` first (a shorter heartbeat,
    /// say).
    pub fn start_with(change: impl FnOnce(&mut ManagerConfig)) -> Manager {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("manager.sock");
        let registry: HashMap<String, String> = [(PLUGIN.to_string(), CODE.to_string())].into();
        let mut config = ManagerConfig::new("1.0.0");
        // The client library's tests connect to it too.
        config.accept_clients = true;
        change(&mut config);
        let admission = Admission::new(Arc::new(registry));
        let mut listener = ManagerListener::new(config, admission)
            .with_local(LocalListener::bind(&socket).unwrap());
        let (sender, connections) = async_channel::unbounded();
        std::thread::spawn(move || {
            block_on(async move {
                let executor = async_executor::Executor::new();
                executor
                    .run(async {
                        while let Ok((connection, driver)) = listener.accept().await {
                            executor.spawn(driver).detach();
                            if sender.send(connection).await.is_err() {
                                break;
                            }
                        }
                    })
                    .await
            })
        });
        Manager {
            socket,
            connections,
            _dir: dir,
        }
    }

    /// A plugin client of [`PLUGIN`] with its code, set to connect here, not connected yet and
    /// with no callbacks: the caller frees it.
    pub fn client(&self) -> *mut logi_plugin::LogiPluginClient {
        let mut client = std::ptr::null_mut();
        // SAFETY: valid strings and out-parameters; the handle is the caller's.
        unsafe {
            let code = logi_plugin::logi_plugin_client_new(
                c(PLUGIN).as_ptr(),
                c("1.0.0").as_ptr(),
                c(CODE).as_ptr(),
                &mut client,
            );
            assert_eq!(code, logi_plugin::LOGI_SUCCESS, "{}", last_error());
            let endpoint = self.endpoint();
            let code = logi_plugin::logi_plugin_client_set_endpoint(client, endpoint.as_ptr());
            assert_eq!(code, logi_plugin::LOGI_SUCCESS, "{}", last_error());
        }
        client
    }

    /// The endpoint, as a C string.
    pub fn endpoint(&self) -> CString {
        c(self.socket.to_str().unwrap())
    }

    /// The next plugin connection, once `client` and the manager have both seen the
    /// handshake through.
    pub fn handshake(&self, client: *mut logi_plugin::LogiPluginClient) -> ManagerConnection {
        let connection = self.next_connection();
        assert!(matches!(
            within(connection.next_event()),
            Some(logi_plugin_core::session::Event::Connected(_))
        ));
        // SAFETY: a live handle, by the caller's word.
        until("the plugin is connected", || unsafe {
            logi_plugin::logi_plugin_client_is_connected(client)
        });
        connection
    }

    /// Starts `program` with this manager's socket as its only argument (its output piped),
    /// and its connection once the handshake is through.
    pub fn launch(&self, program: &std::path::Path) -> (std::process::Child, ManagerConnection) {
        let child = std::process::Command::new(program)
            .arg(&self.socket)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let connection = self.next_connection();
        assert!(matches!(
            within(connection.next_event()),
            Some(logi_plugin_core::session::Event::Connected(_))
        ));
        (child, connection)
    }

    /// The next plugin connection (at most 10 s).
    pub fn next_connection(&self) -> ManagerConnection {
        within(self.connections.recv()).unwrap()
    }
}

/// Runs `future` to its end, failing the test after 10 s.
pub fn within<T>(future: impl Future<Output = T>) -> T {
    block_on(futures_lite::future::or(future, async {
        async_io::Timer::after(Duration::from_secs(10)).await;
        panic!("not done within 10 s");
    }))
}
