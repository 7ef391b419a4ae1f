//! The plugin side (seed chapter 7, `plugin_client`): a [`PluginClient`] of the Rust SDK behind
//! an opaque handle, its messages as type names and serialized bytes.
//!
//! A handle is configured (endpoint, text format, control buffering, callbacks), then
//! connected once; it reconnects by itself until disconnected or freed. The callbacks run on
//! the handle's callback thread (see [`crate::threads`]).

use std::ffi::{c_char, c_void};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_channel::mpsc::{UnboundedReceiver, UnboundedSender};
use futures_lite::Stream;
use logi_plugin_core::proto::plugin::RetryAfter;
use logi_plugin_core::session::Reply;
use logi_plugin_core::{Message, ResponseCode};
use logi_plugin_sdk::{ClientConfig, ClientError, ClientEvent, Endpoint, PluginClient};
use logi_plugin_transports::Answer;
use logi_plugin_transports::lock::lock;

use crate::ffi::{
    CMessage, Callback, Error, c_string, client_code, encoded, entry, free, guard, handle, message,
    optional_text, out, text,
};
use crate::threads::{Threads, block_on};

/// Receives one line of the client's own log: connections, disconnections, requests nobody
/// handles. `line` is valid during the call only.
pub type LogiLogFn = Option<unsafe extern "C" fn(user_data: *mut c_void, line: *const c_char)>;

/// Called when the client is connected and the manager has answered its hello (again after
/// each reconnect).
pub type LogiConnectFn = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// Called when a connection ends (`stopped` false; the client reconnects), and once more when
/// the client stops for good (`stopped` true: it was disconnected or freed, or the manager
/// refused it), the last event of the handle. `reason` says why, valid during the call only.
pub type LogiDisconnectFn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, reason: *const c_char, stopped: bool)>;

/// Receives each message of the manager: its full type name
/// (`logi.plugin.protocol.TriggerAction`), its serialized bytes, and its id. A request
/// (`message_id` not 0) must be answered with `logi_plugin_client_send_ok_response`,
/// `_send_error_response` or `_send_response` and that id, from any thread, now or later; a
/// notification has id 0. The first message after each connect is the `ManagerHello`. A
/// `RetryAfter` (id 0) says the manager asked the plugin to hold back: its `interval` is what
/// is left of the window, in milliseconds, and what the plugin sends meanwhile is held until
/// the window ends (answers excepted).
/// `type_name` and `data` are valid during the call only (`data` is null when `len` is 0).
pub type LogiMessageFn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        type_name: *const c_char,
        data: *const u8,
        len: usize,
        message_id: u32,
    ),
>;

/// Receives the outcome of a request sent with `logi_plugin_client_send_message_with_callback`,
/// once: `code` is `LOGI_SUCCESS` or the manager's error code, or `LOGI_CANCELLED` when no
/// answer came within the timeout, `LOGI_UNREACHABLE` when the connection ended first;
/// `description` says why (empty on success). The answer's message, if it carried one, is
/// `type_name` and `data`; otherwise `type_name` is null and `len` 0. Every pointer is valid
/// during the call only.
pub type LogiResponseFn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        code: i32,
        description: *const c_char,
        type_name: *const c_char,
        data: *const u8,
        len: usize,
    ),
>;

/// The callbacks a handle calls.
#[derive(Clone, Copy, Default)]
struct Handlers {
    log: Callback<LogiLogFn>,
    connect: Callback<LogiConnectFn>,
    disconnect: Callback<LogiDisconnectFn>,
    message: Callback<LogiMessageFn>,
}

/// What the callback thread is given.
enum Dispatch {
    /// An event of the client.
    Event(ClientEvent),
    /// A request's outcome, for its callback.
    Answer(Callback<LogiResponseFn>, Result<Answer, ClientError>),
}

/// A handle's life: configured, then connected (once), then freed.
enum State {
    /// Boxed: a configuration is large, and a handle is connected most of its life.
    Configuring(Box<ClientConfig>),
    Running {
        client: PluginClient,
        /// Where requests' outcomes are queued for the callback thread.
        answers: UnboundedSender<Dispatch>,
        threads: Threads,
    },
    Freed,
}

/// A plugin's connection to the plugin manager (seed 7.1 `plugin_client`). Opaque: made by
/// `logi_plugin_client_new`, freed by `logi_plugin_client_free`.
pub struct LogiPluginClient {
    state: Mutex<State>,
    handlers: Arc<Mutex<Handlers>>,
    /// Set when the handle is freed from its own callback thread: what is still queued there
    /// is dropped, so no callback runs after the free.
    freed: Arc<AtomicBool>,
    /// When the handle was made: custom buffers get times as microseconds since then.
    created: Instant,
}

impl LogiPluginClient {
    /// When the handle was made.
    pub(crate) fn created(&self) -> Instant {
        self.created
    }

    /// The client, once connected.
    pub(crate) fn client(&self) -> Result<PluginClient, Error> {
        self.running(|client, _| client.clone())
    }

    /// What `take` takes of the client and the queue of requests' outcomes, once connected.
    fn running<T>(
        &self,
        take: impl FnOnce(&PluginClient, &UnboundedSender<Dispatch>) -> T,
    ) -> Result<T, Error> {
        match &*lock(&self.state) {
            State::Running {
                client, answers, ..
            } => Ok(take(client, answers)),
            _ => Err(Error::new(
                ResponseCode::NotReady,
                "the client is not connected: call logi_plugin_client_connect first",
            )),
        }
    }

    /// Changes the configuration, before connecting.
    pub(crate) fn configure(&self, change: impl FnOnce(&mut ClientConfig)) -> Result<(), Error> {
        match &mut *lock(&self.state) {
            State::Configuring(config) => {
                change(config);
                Ok(())
            }
            _ => Err(Error::invalid_verb(
                "the client is already connected: configure it before logi_plugin_client_connect",
            )),
        }
    }

    fn connect(&self) -> Result<(), Error> {
        let mut state = lock(&self.state);
        let config = match &*state {
            State::Configuring(config) => (**config).clone(),
            _ => {
                return Err(Error::invalid_verb(
                    "the client has connected before: a client connects once, make a new one to connect again",
                ));
            }
        };
        let (client, runner) = PluginClient::new(config);
        let (answers, answered) = futures_channel::mpsc::unbounded();
        let items = items(client.clone(), answered);
        let deliver = {
            let (client, handlers, freed) =
                (client.clone(), self.handlers.clone(), self.freed.clone());
            move |item| {
                if !freed.load(Ordering::Acquire) {
                    dispatch(&client, *lock(&handlers), item);
                }
            }
        };
        let threads = Threads::start("logi-plugin", runner, items, deliver)?;
        *state = State::Running {
            client,
            answers,
            threads,
        };
        Ok(())
    }

    /// Disconnects and waits for the threads; no callback runs after this returns.
    fn stop(&self) {
        let state = std::mem::replace(&mut *lock(&self.state), State::Freed);
        if let State::Running {
            client,
            answers,
            threads,
        } = state
        {
            client.disconnect();
            if std::thread::current().id() == threads.callback_thread() {
                self.freed.store(true, Ordering::Release);
            }
            // The callback thread ends once the client has stopped and every sender of the
            // outcomes' queue is gone.
            drop((client, answers));
            threads.join();
        }
    }
}

/// What the callback thread is given, in order: the client's events before requests'
/// outcomes. An answer's callback runs while the connection is polled, and the events that came
/// before the answer reach the client within the same poll, so taking events first hands both
/// over in the order they came. It ends once both have: the events after `Stopped`, the
/// outcomes once the handle and every request waiting for one are gone.
fn items(
    client: PluginClient,
    mut answered: UnboundedReceiver<Dispatch>,
) -> impl Stream<Item = Dispatch> + Unpin + Send + 'static {
    let mut events = Box::pin(futures_lite::stream::unfold(client, |client| async move {
        let event = client.next_event().await?;
        Some((Dispatch::Event(event), client))
    }));
    let mut events_ended = false;
    futures_lite::stream::poll_fn(move |cx| {
        if !events_ended {
            match events.as_mut().poll_next(cx) {
                Poll::Ready(Some(event)) => return Poll::Ready(Some(event)),
                Poll::Ready(None) => events_ended = true,
                Poll::Pending => {}
            }
        }
        match Pin::new(&mut answered).poll_next(cx) {
            Poll::Ready(None) if !events_ended => Poll::Pending,
            polled => polled,
        }
    })
}

/// Calls the callback for one queued item, on the callback thread.
fn dispatch(client: &PluginClient, handlers: Handlers, item: Dispatch) {
    let event = match item {
        Dispatch::Answer(callback, outcome) => return answer(callback, outcome),
        Dispatch::Event(event) => event,
    };
    match event {
        ClientEvent::Connected(hello) => {
            log(
                handlers,
                &format!(
                    "connected to the plugin manager (language {:?})",
                    hello.language_code
                ),
            );
            if let Callback {
                f: Some(connect),
                user_data,
            } = handlers.connect
            {
                // SAFETY: a callback registered for this handle, called on its callback
                // thread as the header documents.
                unsafe { connect(user_data.0) };
            }
            deliver(client, handlers, &Message::from(hello), 0);
        }
        ClientEvent::Disconnected(reason) => disconnected(handlers, &reason.to_string(), false),
        ClientEvent::Stopped(reason) => disconnected(handlers, &reason.to_string(), true),
        ClientEvent::Request { id, message } => deliver(client, handlers, &message, id),
        ClientEvent::Notification(message) => deliver(client, handlers, &message, 0),
        ClientEvent::Throttled { until } => {
            let left = until.saturating_duration_since(client.now());
            log(
                handlers,
                &format!("the plugin manager asked to hold back for {left:?}"),
            );
            // Handed on so that a plugin can refuse at once, inside the window, a request whose
            // answer waits on a message of its own (which the client holds until it ends).
            let interval = u32::try_from(left.as_millis()).unwrap_or(u32::MAX);
            deliver(client, handlers, &Message::from(RetryAfter { interval }), 0);
        }
        _ => {}
    }
}

/// Hands a message to the message callback; with none, a request is refused at once, since
/// every request must be answered.
fn deliver(client: &PluginClient, handlers: Handlers, message: &Message, id: u32) {
    let Callback {
        f: Some(callback),
        user_data,
    } = handlers.message
    else {
        if id != 0 {
            let why = format!("no message handler is set: {} refused", message.full_name());
            log(handlers, &why);
            let _ = block_on(client.send_error_response(id, ResponseCode::NotImplemented, why));
        }
        return;
    };
    let message = CMessage::new(message);
    let (data, len) = CMessage::body(Some(&message));
    // SAFETY: a callback registered for this handle, called on its callback thread; the
    // pointers live until it returns.
    unsafe {
        callback(
            user_data.0,
            CMessage::type_name(Some(&message)),
            data,
            len,
            id,
        )
    };
}

fn disconnected(handlers: Handlers, reason: &str, stopped: bool) {
    let verb = if stopped { "stopped" } else { "disconnected" };
    log(handlers, &format!("{verb}: {reason}"));
    if let Callback {
        f: Some(callback),
        user_data,
    } = handlers.disconnect
    {
        let reason = c_string(reason);
        // SAFETY: a callback registered for this handle, called on its callback thread; the
        // reason lives until it returns.
        unsafe { callback(user_data.0, reason.as_ptr(), stopped) };
    }
}

/// Writes a line of the client's log: to the log function, or to stderr (which the manager
/// keeps in the plugin's log).
fn log(handlers: Handlers, line: &str) {
    match handlers.log {
        Callback {
            f: Some(callback),
            user_data,
        } => {
            let line = c_string(line);
            // SAFETY: a callback registered for this handle, called on its callback thread;
            // the line lives until it returns.
            unsafe { callback(user_data.0, line.as_ptr()) };
        }
        _ => eprintln!("logi_plugin: {line}"),
    }
}

fn answer(callback: Callback<LogiResponseFn>, outcome: Result<Answer, ClientError>) {
    let Callback {
        f: Some(callback),
        user_data,
    } = callback
    else {
        return;
    };
    let (code, description, message) = match outcome {
        Ok(answer) => (
            answer.response.result,
            answer.response.what,
            answer.message.as_ref().map(CMessage::new),
        ),
        Err(error) => (client_code(&error) as i32, error.to_string(), None),
    };
    let description = c_string(&description);
    let (data, len) = CMessage::body(message.as_ref());
    // SAFETY: the callback given with this request, called once on the callback thread; the
    // pointers live until it returns.
    unsafe {
        callback(
            user_data.0,
            code,
            description.as_ptr(),
            CMessage::type_name(message.as_ref()),
            data,
            len,
        )
    };
}

/// Changes a handle's callbacks.
///
/// # Safety
/// `client` is null or a live handle.
unsafe fn set_handler(client: *mut LogiPluginClient, set: impl FnOnce(&mut Handlers)) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let client = unsafe { handle(client, "client")? };
        set(&mut lock(&client.handlers));
        Ok(())
    })
}

/// Makes a plugin client (seed 7.1): `plugin_id` as in the manifest, `version`, and `secret`,
/// the per-launch code the manager put in the `token` environment variable; a null `secret`
/// reads `token` itself (`LOGI_INVALID_ARG` when it is not set). The endpoint is
/// `LOGI_PLUGIN_ENDPOINT` (a local-socket path or a `ws://` URL) or the default local socket,
/// unless `logi_plugin_client_set_endpoint` says otherwise. Nothing connects until
/// `logi_plugin_client_connect`. On success `*out` is the handle, to free with
/// `logi_plugin_client_free`.
///
/// # Safety
/// Strings are null or NUL-terminated; `out` is null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_plugin_client_new(
    plugin_id: *const c_char,
    version: *const c_char,
    secret: *const c_char,
    out_client: *mut *mut LogiPluginClient,
) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let (out_client, plugin_id, version, secret) = unsafe {
            (
                out(out_client, "out_client")?,
                text(plugin_id, "plugin_id")?,
                text(version, "version")?,
                optional_text(secret, "secret")?,
            )
        };
        let config = match secret {
            Some(secret) => ClientConfig::new(plugin_id, version, secret),
            None => ClientConfig::from_env(plugin_id, version)
                .map_err(|error| Error::invalid_arg(format!("secret is null and {error}")))?,
        };
        let client = LogiPluginClient {
            state: Mutex::new(State::Configuring(Box::new(config))),
            handlers: Arc::default(),
            freed: Arc::default(),
            created: Instant::now(),
        };
        out_client.put(Box::into_raw(Box::new(client)));
        Ok(())
    })
}

/// Disconnects (if connected), waits for the client's threads and frees the handle. From
/// another thread, callbacks still queued run before it returns (the disconnect handler with
/// `stopped`, each pending request's callback with `LOGI_UNREACHABLE`); from a callback, the
/// rest of the queue is dropped. No callback runs after it returns. Null does nothing.
///
/// # Safety
/// `client` is null or a live handle, not used again after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_plugin_client_free(client: *mut LogiPluginClient) {
    // SAFETY: the caller's contract above.
    unsafe { free(client, LogiPluginClient::stop) }
}

/// Sets where to connect, before connecting: a local-socket path, or a `ws://` URL.
///
/// # Safety
/// `client` is null or a live handle; `endpoint` is null or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_plugin_client_set_endpoint(
    client: *mut LogiPluginClient,
    endpoint: *const c_char,
) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let (client, endpoint) =
            unsafe { (handle(client, "client")?, text(endpoint, "endpoint")?) };
        if endpoint.is_empty() {
            return Err(Error::invalid_arg("endpoint is empty"));
        }
        client.configure(|config| config.endpoint = Endpoint::parse(endpoint))
    })
}

/// Sets the format over WebSocket (seed 7.1.2), before connecting: JSON text when `use_text`,
/// binary protobuf otherwise (the default). Local sockets always carry binary. Messages cross
/// this ABI as binary protobuf either way.
///
/// # Safety
/// `client` is null or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_plugin_client_set_use_text_format(
    client: *mut LogiPluginClient,
    use_text: bool,
) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let client = unsafe { handle(client, "client")? };
        client.configure(|config| config.use_text_format = use_text)
    })
}

/// Sets the function that receives the client's own log lines (seed 7.1.1); null restores the
/// default, stderr. Any time.
///
/// # Safety
/// `client` is null or a live handle; `f` may be called with `user_data` on the callback thread
/// until it is replaced or the handle freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_plugin_client_set_log_function(
    client: *mut LogiPluginClient,
    f: LogiLogFn,
    user_data: *mut c_void,
) -> i32 {
    // SAFETY: the caller's contract above.
    unsafe {
        set_handler(client, |handlers| {
            handlers.log = Callback::new(f, user_data)
        })
    }
}

/// Sets the connect handler (seed 7.1.3); null removes it. Any time.
///
/// # Safety
/// As `logi_plugin_client_set_log_function`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_plugin_client_set_connect_handler(
    client: *mut LogiPluginClient,
    f: LogiConnectFn,
    user_data: *mut c_void,
) -> i32 {
    // SAFETY: the caller's contract above.
    unsafe {
        set_handler(client, |handlers| {
            handlers.connect = Callback::new(f, user_data)
        })
    }
}

/// Sets the disconnect handler (seed 7.1.4); null removes it. Any time.
///
/// # Safety
/// As `logi_plugin_client_set_log_function`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_plugin_client_set_disconnect_handler(
    client: *mut LogiPluginClient,
    f: LogiDisconnectFn,
    user_data: *mut c_void,
) -> i32 {
    // SAFETY: the caller's contract above.
    unsafe {
        set_handler(client, |handlers| {
            handlers.disconnect = Callback::new(f, user_data)
        })
    }
}

/// Sets the function that receives the manager's messages (seed 7.1.13, every `on_...`
/// callback in one: dispatch on the type name); null removes it. Without one, each request is
/// answered `NOT_IMPLEMENTED` at once. Any time.
///
/// # Safety
/// As `logi_plugin_client_set_log_function`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_plugin_client_set_message_handler(
    client: *mut LogiPluginClient,
    f: LogiMessageFn,
    user_data: *mut c_void,
) -> i32 {
    // SAFETY: the caller's contract above.
    unsafe {
        set_handler(client, |handlers| {
            handlers.message = Callback::new(f, user_data)
        })
    }
}

/// Buffers these controls' updates (seed 7.1.12): `control_ids[i]` goes to the buffer
/// `buffer_keys[i]` (`"throughput"`, `"timer"` or a name given to
/// `logi_plugin_client_register_custom_buffer`), for `count` pairs. Before or after
/// connecting; kept across reconnects. A key that names no buffer is `LOGI_INVALID_ARG`.
///
/// # Safety
/// `client` is null or a live handle; each array is null or holds `count` strings, each null
/// or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_plugin_client_enable_control_buffering(
    client: *mut LogiPluginClient,
    control_ids: *const *const c_char,
    buffer_keys: *const *const c_char,
    count: usize,
) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let client = unsafe { handle(client, "client")? };
        let mut controls = Vec::with_capacity(count);
        for i in 0..count {
            // SAFETY: `count` elements each, by the caller's contract.
            let (control, key) = unsafe {
                (
                    element(control_ids, i, "control_ids")?,
                    element(buffer_keys, i, "buffer_keys")?,
                )
            };
            controls.push((control.to_string(), key.to_string()));
        }
        let buffering = |error| Error::invalid_arg(format!("buffer_keys: {error}"));
        match client.client() {
            Ok(running) => {
                block_on(running.enable_control_buffering(controls)).map_err(|error| match error {
                    logi_plugin_sdk::ClientError::Buffering(error) => buffering(error),
                    other => other.into(),
                })
            }
            Err(_) => {
                // Checked now, as the session will check it, rather than at connect.
                let mut enabled = Ok(());
                client.configure(|config| enabled = config.enable_control_buffering(controls))?;
                enabled.map_err(buffering)
            }
        }
    })
}

/// The string at `array[i]`.
///
/// # Safety
/// `array` is null or holds more than `i` pointers, each null or NUL-terminated.
unsafe fn element<'a>(array: *const *const c_char, i: usize, name: &str) -> Result<&'a str, Error> {
    if array.is_null() {
        return Err(Error::invalid_arg(format!("{name} is null")));
    }
    // SAFETY: in bounds and readable by the caller's contract.
    unsafe { text(*array.add(i), &format!("{name}[{i}]")) }
}

/// Starts connecting, and returns at once: the client connects, says hello, and reconnects
/// by itself (capped exponential backoff) until disconnected; the connect handler says when it
/// is connected. Once per handle (`LOGI_INVALID_VERB` after).
///
/// # Safety
/// `client` is null or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_plugin_client_connect(client: *mut LogiPluginClient) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        unsafe { handle(client, "client")? }.connect()
    })
}

/// Whether the client is connected and past the handshake (seed 7.1.5). False for null.
///
/// # Safety
/// `client` is null or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_plugin_client_is_connected(client: *const LogiPluginClient) -> bool {
    guard(false, || {
        // SAFETY: the caller's contract above.
        unsafe { handle(client, "client") }
            .and_then(LogiPluginClient::client)
            .is_ok_and(|client| client.is_connected())
    })
}

/// Disconnects for good (seed 7.1.6) and returns at once; the disconnect handler then runs
/// with `stopped`. Before connecting it does nothing.
///
/// # Safety
/// `client` is null or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_plugin_client_disconnect(client: *mut LogiPluginClient) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        if let Ok(client) = unsafe { handle(client, "client")? }.client() {
            client.disconnect();
        }
        Ok(())
    })
}

/// Blocks until the client has stopped (seed 7.1.7): disconnected, or refused by the manager.
/// Before connecting it returns at once.
///
/// # Safety
/// `client` is null or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_plugin_client_wait_for_disconnect(
    client: *mut LogiPluginClient,
) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        if let Ok(client) = unsafe { handle(client, "client")? }.client() {
            block_on(client.wait_for_disconnect());
        }
        Ok(())
    })
}

/// Sends a message that expects no answer (seed 7.1.8), such as an `ActionCellStatus` update
/// or a `LogEvent`: `type_name` is its full name (`logi.plugin.protocol.ActionCellStatus`) or
/// type URL, `data` its serialized bytes. It goes as a notification, which carries id 0 on the
/// wire, so no id is returned. Blocks until the connection has taken it.
///
/// # Safety
/// `client` is null or a live handle; `type_name` null or NUL-terminated; `data` null or
/// `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_plugin_client_send_message(
    client: *mut LogiPluginClient,
    type_name: *const c_char,
    data: *const u8,
    len: usize,
) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let (client, message) =
            unsafe { (handle(client, "client")?, message(type_name, data, len)?) };
        Ok(block_on(client.client()?.send_message(message))?)
    })
}

/// Sends a request (seed 7.1.9); `on_response` is called once with its outcome, on the
/// callback thread, after at most `timeout_ms` (not 0). `*out_id` (when not null) is the
/// request's id. `on_response` may be null: the answer is then dropped.
///
/// # Safety
/// As `logi_plugin_client_send_message`; `out_id` is null or writable; `on_response` is
/// called with `user_data` on the callback thread.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)] // The C signature: the message, the timeout, the callback.
pub unsafe extern "C" fn logi_plugin_client_send_message_with_callback(
    client: *mut LogiPluginClient,
    type_name: *const c_char,
    data: *const u8,
    len: usize,
    timeout_ms: u32,
    on_response: LogiResponseFn,
    user_data: *mut c_void,
    out_id: *mut u32,
) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let (client, message) =
            unsafe { (handle(client, "client")?, message(type_name, data, len)?) };
        if timeout_ms == 0 {
            return Err(Error::invalid_arg("timeout_ms is 0"));
        }
        let (client, answers) =
            client.running(|client, answers| (client.clone(), answers.clone()))?;
        let callback = Callback::new(on_response, user_data);
        let id = block_on(client.send_message_with_handler(
            message,
            Duration::from_millis(timeout_ms.into()),
            move |outcome| {
                if callback.f.is_some() {
                    let _ = answers.unbounded_send(Dispatch::Answer(callback, outcome));
                }
            },
        ))?;
        if !out_id.is_null() {
            // SAFETY: not null, writable by the caller's contract.
            unsafe { out_id.write(id) };
        }
        Ok(())
    })
}

/// Answers the manager's request `message_id` with success (seed 7.1.11).
///
/// # Safety
/// `client` is null or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_plugin_client_send_ok_response(
    client: *mut LogiPluginClient,
    message_id: u32,
) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let client = unsafe { handle(client, "client")? }.client()?;
        Ok(block_on(client.send_ok_response(message_id))?)
    })
}

/// Answers the manager's request `message_id` with an error (seed 7.1.10): `code` one of the
/// negative `LOGI_...` codes, `description` for people (null for none).
///
/// # Safety
/// `client` is null or a live handle; `description` null or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_plugin_client_send_error_response(
    client: *mut LogiPluginClient,
    message_id: u32,
    code: i32,
    description: *const c_char,
) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let (client, description) = unsafe {
            (
                handle(client, "client")?,
                optional_text(description, "description")?,
            )
        };
        let code = ResponseCode::try_from(code)
            .ok()
            .filter(|code| (*code as i32) < 0)
            .ok_or_else(|| {
                Error::invalid_arg(format!(
                    "code {code} is not an error code of the seed (LOGI_INVALID_ARG to LOGI_CONFLICT)"
                ))
            })?;
        let client = client.client()?;
        let description = description.unwrap_or_default();
        Ok(block_on(client.send_error_response(
            message_id,
            code,
            description,
        ))?)
    })
}

/// Answers the manager's request `message_id` with success and a message: a press with its
/// `ActionCellStatus`, say (`type_name` and `data` as in `logi_plugin_client_send_message`).
/// The bytes are checked to decode as the type, then sent as they are, unknown fields and all,
/// without being decoded and encoded again (over JSON text they are decoded to be written).
///
/// # Safety
/// As `logi_plugin_client_send_message`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_plugin_client_send_response(
    client: *mut LogiPluginClient,
    message_id: u32,
    type_name: *const c_char,
    data: *const u8,
    len: usize,
) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let (client, message) =
            unsafe { (handle(client, "client")?, encoded(type_name, data, len)?) };
        let client = client.client()?;
        Ok(block_on(
            client.send_response(message_id, Reply::Encoded(message)),
        )?)
    })
}
