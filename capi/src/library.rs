//! The client library (seed chapter 9) for the configuration software: a
//! [`PluginManagerClient`] behind an opaque handle. Each call blocks until the manager answers
//! (or the call's timeout, 120 s) and returns its result code; an answer that carries a message
//! is written to a `logi_bytes` out-parameter as serialized bytes. The manager's events reach
//! one callback, on the handle's callback thread.

use std::ffi::{c_char, c_void};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use logi_plugin_client::{Call, CallError, LibraryEvent, LibraryOptions, PluginManagerClient};
use logi_plugin_core::proto::manager::{
    ActionConfigurationRequest, AnalogControlId, Invoke, PluginList, PluginRemoved,
    PluginUpdateResultList, SetActionConfiguration, VisibilityUpdate,
};
use logi_plugin_core::{Message, ResponseCode};
use logi_plugin_transports::Endpoint;
use logi_plugin_transports::lock::lock;
use prost::Message as _;

use crate::ffi::{
    CMessage, Callback, Error, LogiBytes, c_string, entry, free, guard, handle, optional_text, out,
    text, typed,
};
use crate::threads::{Threads, block_on};

/// What a client-library event is (seed 9.4.2 and the installation events).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogiLibraryEventKind {
    /// Connected and the handshake done (`on_communication_established`), again after each
    /// reconnect; the message is the `ManagerHello`.
    LogiCommunicationEstablished = 0,
    /// The connection ended; the client reconnects. `text` is why.
    LogiDisconnected = 1,
    /// A plugin reported a new state (`on_action_state_changed`): a `PluginUpdateResult`.
    LogiActionStateChanged = 2,
    /// A plugin was installed or started (`on_plugin_available`): its `PluginDetails`.
    LogiPluginAvailable = 3,
    /// A plugin was uninstalled (`on_plugin_removed`): `text` is its id, the message the
    /// `PluginRemoved`.
    LogiPluginRemoved = 4,
    /// An installation event: an `InstallationEventNotice`.
    LogiInstallation = 5,
    /// A new log line of a followed plugin: a `PluginLogLine`.
    LogiPluginLog = 6,
    /// The client stopped for good (disconnected, or refused): `text` is why. The last event.
    LogiStopped = 7,
}

/// Receives the manager's events: the kind, a text (the reason of a disconnection, the id of
/// a removed plugin; null otherwise), and the event's message as its full type name and
/// serialized bytes (`type_name` null when there is none). Every pointer is valid during the
/// call only.
pub type LogiLibraryEventFn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        kind: LogiLibraryEventKind,
        text: *const c_char,
        type_name: *const c_char,
        data: *const u8,
        len: usize,
    ),
>;

/// Where the connection stands, for `logi_manager_client_wait_connected`.
#[derive(Default)]
enum Link {
    #[default]
    Connecting,
    Connected,
    Stopped(String),
}

/// The link and the condition its waiters wait on.
type Watch = (Mutex<Link>, Condvar);

/// The configuration software's connection to the plugin manager (seed 9,
/// `LogiPluginCommunication`). Opaque: made by `logi_manager_client_connect`, freed by
/// `logi_manager_client_free`.
pub struct LogiManagerClient {
    client: PluginManagerClient,
    link: Arc<Watch>,
    threads: Mutex<Option<Threads>>,
    /// Set when the handle is freed from its own callback thread: what is still queued there
    /// is dropped, so no callback runs after the free.
    freed: Arc<AtomicBool>,
}

impl LogiManagerClient {
    /// Sends a call and waits for its result.
    fn call<T>(&self, call: impl Future<Output = Result<Call<T>, CallError>>) -> Result<T, Error> {
        block_on(async { call.await?.result().await })
            .map_err(|error| Error::new(error.code(), error.to_string()))
    }

    fn wait_connected(&self, timeout: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        let (link, changed) = &*self.link;
        let mut link = lock(link);
        loop {
            match &*link {
                Link::Connected => return Ok(()),
                Link::Stopped(why) => {
                    return Err(Error::new(
                        ResponseCode::Unreachable,
                        format!("the client has stopped: {why}"),
                    ));
                }
                Link::Connecting => {}
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::new(
                    ResponseCode::Cancelled,
                    format!("not connected to the plugin manager within {timeout:?}"),
                ));
            }
            link = changed
                .wait_timeout(link, left)
                .map_or_else(|poisoned| poisoned.into_inner().0, |(link, _)| link);
        }
    }

    /// Disconnects and waits for the threads; no callback runs after this returns.
    fn stop(&self) {
        self.client.disconnect();
        let Some(threads) = lock(&self.threads).take() else {
            return;
        };
        if std::thread::current().id() == threads.callback_thread() {
            self.freed.store(true, Ordering::Release);
        }
        threads.join();
    }
}

/// Notes what `event` says of the link, for the waiters.
fn watch(link: &Watch, event: &LibraryEvent) {
    let now = match event {
        LibraryEvent::CommunicationEstablished(_) => Link::Connected,
        LibraryEvent::Disconnected(_) => Link::Connecting,
        LibraryEvent::Stopped(reason) => Link::Stopped(reason.to_string()),
        _ => return,
    };
    *lock(&link.0) = now;
    link.1.notify_all();
}

/// Calls the event callback for one event, on the callback thread.
fn dispatch(callback: Callback<LogiLibraryEventFn>, event: LibraryEvent) {
    use LogiLibraryEventKind as Kind;
    let Callback {
        f: Some(callback),
        user_data,
    } = callback
    else {
        return;
    };
    let (kind, text, message): (Kind, Option<String>, Option<Message>) = match event {
        LibraryEvent::CommunicationEstablished(hello) => {
            (Kind::LogiCommunicationEstablished, None, Some(hello.into()))
        }
        LibraryEvent::Disconnected(reason) => {
            (Kind::LogiDisconnected, Some(reason.to_string()), None)
        }
        LibraryEvent::ActionStateChanged(result) => {
            (Kind::LogiActionStateChanged, None, Some(result.into()))
        }
        LibraryEvent::PluginAvailable(details) => {
            (Kind::LogiPluginAvailable, None, Some(details.into()))
        }
        LibraryEvent::PluginRemoved(plugin_id) => (
            Kind::LogiPluginRemoved,
            Some(plugin_id.clone()),
            Some(PluginRemoved { plugin_id }.into()),
        ),
        LibraryEvent::Installation(notice) => (Kind::LogiInstallation, None, Some(notice.into())),
        LibraryEvent::PluginLog(line) => (Kind::LogiPluginLog, None, Some(line.into())),
        LibraryEvent::Stopped(reason) => (Kind::LogiStopped, Some(reason.to_string()), None),
        _ => return,
    };
    let text = text.as_deref().map(c_string);
    let message = message.as_ref().map(CMessage::new);
    let (data, len) = CMessage::body(message.as_ref());
    // SAFETY: the callback registered with this handle, called on its callback thread; the
    // pointers live until it returns.
    unsafe {
        callback(
            user_data.0,
            kind,
            text.as_ref().map_or(std::ptr::null(), |text| text.as_ptr()),
            CMessage::type_name(message.as_ref()),
            data,
            len,
        )
    };
}

/// A call whose argument is a message `M` as bytes and whose answer is handed out as bytes:
/// the bytes read, the call sent and waited for, its result encoded into `*out_bytes`.
///
/// # Safety
/// `client` is null or a live handle; `data` null or `len` readable bytes; `out_bytes` null
/// or writable.
unsafe fn exchange<'a, M, T, F>(
    client: *const LogiManagerClient,
    data: *const u8,
    len: usize,
    out_bytes: *mut LogiBytes,
    out_name: &str,
    call: impl FnOnce(&'a PluginManagerClient, M) -> F,
    encode: impl FnOnce(T) -> Vec<u8>,
) -> i32
where
    M: prost::Message + prost::Name + Default,
    F: Future<Output = Result<Call<T>, CallError>>,
{
    entry(|| {
        // SAFETY: the caller's contract above; the handle outlives the call.
        let (client, message, out_bytes): (&'a LogiManagerClient, _, _) = unsafe {
            (
                handle(client, "client")?,
                typed::<M>(data, len, "data")?,
                out(out_bytes, out_name)?,
            )
        };
        let answer = client.call(call(&client.client, message))?;
        out_bytes.put(LogiBytes::from_vec(encode(answer)));
        Ok(())
    })
}

/// Connects to the plugin manager (seed 9.1.3 `connect`) and returns at once: the client says
/// `ClientHello` as `client_name` `client_version`, and reconnects by itself when the manager
/// restarts. `endpoint` is the manager's local socket, or null for `LOGI_PLUGIN_ENDPOINT` or
/// the default one. `on_event` (null for none) receives the events with `user_data`, on the
/// callback thread. On success `*out_client` is the handle, to free with
/// `logi_manager_client_free`.
///
/// # Safety
/// Strings are null or NUL-terminated; `out_client` is null or writable; `on_event` is called
/// with `user_data` on the callback thread until the handle is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_manager_client_connect(
    client_name: *const c_char,
    client_version: *const c_char,
    endpoint: *const c_char,
    on_event: LogiLibraryEventFn,
    user_data: *mut c_void,
    out_client: *mut *mut LogiManagerClient,
) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let (out_client, name, version, endpoint) = unsafe {
            (
                out(out_client, "out_client")?,
                text(client_name, "client_name")?,
                text(client_version, "client_version")?,
                optional_text(endpoint, "endpoint")?,
            )
        };
        let mut options = LibraryOptions::new(name, version);
        if let Some(endpoint) = endpoint {
            if endpoint.is_empty() {
                return Err(Error::invalid_arg("endpoint is empty"));
            }
            options.endpoint = Endpoint::parse(endpoint);
        }
        let (client, runner) = PluginManagerClient::connect(options);
        let link = Arc::new(Watch::default());
        let (events, queue) = futures_channel::mpsc::unbounded();
        let pump = {
            let (client, link) = (client.clone(), link.clone());
            async move {
                while let Some(event) = client.next_event().await {
                    watch(&link, &event);
                    let _ = events.unbounded_send(event);
                }
            }
        };
        let freed = Arc::new(AtomicBool::new(false));
        let callback = Callback::new(on_event, user_data);
        let deliver = {
            let freed = freed.clone();
            move |event| {
                if !freed.load(Ordering::Acquire) {
                    dispatch(callback, event);
                }
            }
        };
        // The pump keeps the link's state current while a callback blocks on it.
        let connection = async move {
            futures_lite::future::zip(runner, pump).await;
        };
        let threads = Threads::start("logi-library", connection, queue, deliver)?;
        let client = LogiManagerClient {
            client,
            link,
            threads: Mutex::new(Some(threads)),
            freed,
        };
        out_client.put(Box::into_raw(Box::new(client)));
        Ok(())
    })
}

/// Disconnects, waits for the client's threads and frees the handle: callbacks still queued
/// run before it returns when called from another thread, and are dropped when called from a
/// callback; none runs after. Null does nothing.
///
/// # Safety
/// `client` is null or a live handle, not used again after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_manager_client_free(client: *mut LogiManagerClient) {
    // SAFETY: the caller's contract above.
    unsafe { free(client, LogiManagerClient::stop) }
}

/// Disconnects for good (seed 9.2.1 `disconnect`) and returns at once; the event callback then
/// gets `LOGI_STOPPED`.
///
/// # Safety
/// `client` is null or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_manager_client_disconnect(client: *mut LogiManagerClient) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        unsafe { handle(client, "client")? }.client.disconnect();
        Ok(())
    })
}

/// Whether the handshake with the manager is done (seed 9.2.1 `connected`). False for null.
///
/// # Safety
/// `client` is null or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_manager_client_is_connected(
    client: *const LogiManagerClient,
) -> bool {
    guard(false, || {
        // SAFETY: the caller's contract above.
        unsafe { handle(client, "client") }.is_ok_and(|client| client.client.connected())
    })
}

/// Blocks until the client is connected, at most `timeout_ms`: `LOGI_CANCELLED` when the time
/// passed, `LOGI_UNREACHABLE` when the client stopped (refused, or disconnected).
///
/// # Safety
/// `client` is null or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_manager_client_wait_connected(
    client: *mut LogiManagerClient,
    timeout_ms: u32,
) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let client = unsafe { handle(client, "client")? };
        client.wait_connected(Duration::from_millis(timeout_ms.into()))
    })
}

/// Installs the package at `package_path` (seed 9.3.1); `plugin_id` (null or empty for any)
/// is the plugin it must hold.
///
/// # Safety
/// `client` is null or a live handle; strings null or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_manager_client_install_plugin(
    client: *mut LogiManagerClient,
    plugin_id: *const c_char,
    package_path: *const c_char,
) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let (client, plugin_id, path) = unsafe {
            (
                handle(client, "client")?,
                optional_text(plugin_id, "plugin_id")?,
                text(package_path, "package_path")?,
            )
        };
        let plugin_id = plugin_id.unwrap_or_default();
        client.call(
            client
                .client
                .install_plugin(plugin_id, std::path::Path::new(path)),
        )
    })
}

/// Uninstalls a plugin (seed 9.3.2); the manager keeps its settings.
///
/// # Safety
/// `client` is null or a live handle; `plugin_id` null or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_manager_client_remove_plugin(
    client: *mut LogiManagerClient,
    plugin_id: *const c_char,
) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let (client, plugin_id) =
            unsafe { (handle(client, "client")?, text(plugin_id, "plugin_id")?) };
        client.call(client.client.remove_plugin(plugin_id))
    })
}

/// Every plugin the manager has (seed 9.3.3), as a serialized
/// `logi.protocol.plugin_manager.PluginList` in `*out_list`.
///
/// # Safety
/// `client` is null or a live handle; `out_list` null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_manager_client_plugin_list(
    client: *mut LogiManagerClient,
    out_list: *mut LogiBytes,
) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let (client, out_list) = unsafe { (handle(client, "client")?, out(out_list, "out_list")?) };
        let plugins = client.call(client.client.plugin_list())?;
        out_list.put(LogiBytes::from_vec(PluginList { plugins }.encode_to_vec()));
        Ok(())
    })
}

/// Presses, releases or turns an action or control (seed 9.4.1): `data` is a serialized
/// `logi.protocol.plugin_manager.Invoke`; `*out_result` the serialized `PluginUpdateResult`
/// the plugin reports.
///
/// # Safety
/// `client` is null or a live handle; `data` null or `len` readable bytes; `out_result` null
/// or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_manager_client_invoke(
    client: *mut LogiManagerClient,
    data: *const u8,
    len: usize,
    out_result: *mut LogiBytes,
) -> i32 {
    // SAFETY: the caller's contract above.
    unsafe {
        exchange::<Invoke, _, _>(
            client,
            data,
            len,
            out_result,
            "out_result",
            |client, invoke| client.invoke(invoke),
            |result| result.encode_to_vec(),
        )
    }
}

/// The latest state of an action or control instance (seed 9.5.3): `data` is a serialized
/// `AnalogControlID`; `*out_result` the serialized `PluginUpdateResult`.
///
/// # Safety
/// As `logi_manager_client_invoke`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_manager_client_action_status(
    client: *mut LogiManagerClient,
    data: *const u8,
    len: usize,
    out_result: *mut LogiBytes,
) -> i32 {
    // SAFETY: the caller's contract above.
    unsafe {
        exchange::<AnalogControlId, _, _>(
            client,
            data,
            len,
            out_result,
            "out_result",
            |client, id| client.action_status(id),
            |result| result.encode_to_vec(),
        )
    }
}

/// An action's configuration form (seed 9.5.1): `data` is a serialized
/// `ActionConfigurationRequest`; `*out_configuration` the serialized `ActionConfiguration`.
///
/// # Safety
/// As `logi_manager_client_invoke`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_manager_client_plugin_action_configuration(
    client: *mut LogiManagerClient,
    data: *const u8,
    len: usize,
    out_configuration: *mut LogiBytes,
) -> i32 {
    // SAFETY: the caller's contract above.
    unsafe {
        exchange::<ActionConfigurationRequest, _, _>(
            client,
            data,
            len,
            out_configuration,
            "out_configuration",
            |client, request| client.plugin_action_configuration(request),
            |form| form.encode_to_vec(),
        )
    }
}

/// Submits a filled configuration form (seed 9.5.2): `data` is a serialized
/// `SetActionConfiguration`; `*out_configuration` the new `ActionConfiguration` the plugin
/// answered with, or `{NULL, 0}` when it answered none.
///
/// # Safety
/// As `logi_manager_client_invoke`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_manager_client_set_plugin_action_configuration(
    client: *mut LogiManagerClient,
    data: *const u8,
    len: usize,
    out_configuration: *mut LogiBytes,
) -> i32 {
    // SAFETY: the caller's contract above.
    unsafe {
        exchange::<SetActionConfiguration, _, _>(
            client,
            data,
            len,
            out_configuration,
            "out_configuration",
            |client, form| client.set_plugin_action_configuration(form),
            |answer| answer.map_or_else(Vec::new, |form| form.encode_to_vec()),
        )
    }
}

/// Starts a plugin's login (seed 9.5.4).
///
/// # Safety
/// `client` is null or a live handle; `plugin_id` null or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_manager_client_invoke_login(
    client: *mut LogiManagerClient,
    plugin_id: *const c_char,
) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let (client, plugin_id) =
            unsafe { (handle(client, "client")?, text(plugin_id, "plugin_id")?) };
        client.call(client.client.invoke_login(plugin_id))
    })
}

/// Logs `username` out of a plugin (seed 9.5.5).
///
/// # Safety
/// `client` is null or a live handle; strings null or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_manager_client_invoke_logout(
    client: *mut LogiManagerClient,
    plugin_id: *const c_char,
    username: *const c_char,
) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let (client, plugin_id, username) = unsafe {
            (
                handle(client, "client")?,
                text(plugin_id, "plugin_id")?,
                text(username, "username")?,
            )
        };
        client.call(client.client.invoke_logout(plugin_id, username))
    })
}

/// Whether development mode is on (seed 9.5.6), in `*out_enabled`.
///
/// # Safety
/// `client` is null or a live handle; `out_enabled` null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_manager_client_development_mode(
    client: *mut LogiManagerClient,
    out_enabled: *mut bool,
) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let (client, out_enabled) =
            unsafe { (handle(client, "client")?, out(out_enabled, "out_enabled")?) };
        out_enabled.put(client.call(client.client.development_mode())?);
        Ok(())
    })
}

/// Turns development mode on or off (seed 9.5.7).
///
/// # Safety
/// `client` is null or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_manager_client_set_development_mode(
    client: *mut LogiManagerClient,
    enabled: bool,
) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let client = unsafe { handle(client, "client")? };
        client.call(client.client.set_development_mode(enabled))
    })
}

/// Tells the manager the language changed (seed 9.5.8), e.g. `"de-DE"`.
///
/// # Safety
/// `client` is null or a live handle; `language_code` null or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_manager_client_set_language_changed(
    client: *mut LogiManagerClient,
    language_code: *const c_char,
) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let (client, language) = unsafe {
            (
                handle(client, "client")?,
                text(language_code, "language_code")?,
            )
        };
        client.call(client.client.set_language_changed(language))
    })
}

/// Shows or hides actions and controls (seed 9.5.9): `data` is a serialized
/// `VisibilityUpdate`; `*out_results` the serialized `PluginUpdateResultList`, one result per
/// change, in order.
///
/// # Safety
/// As `logi_manager_client_invoke`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_manager_client_set_visibility(
    client: *mut LogiManagerClient,
    data: *const u8,
    len: usize,
    out_results: *mut LogiBytes,
) -> i32 {
    // SAFETY: the caller's contract above.
    unsafe {
        exchange::<VisibilityUpdate, _, _>(
            client,
            data,
            len,
            out_results,
            "out_results",
            |client, update| client.set_visibility(update.items),
            |results| PluginUpdateResultList { results }.encode_to_vec(),
        )
    }
}
