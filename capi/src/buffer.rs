//! Analog buffers (seed 7.3-7.6) through the C ABI: a plugin's own buffer, given as a table of
//! functions ([`LogiBufferVtable`]) and registered on a client, and the built-in buffers
//! (`throughput`, `timer`) as handles ([`LogiBuffer`]) that C and C++ drive themselves, so a
//! C++ `timer_buffer` is the Rust [`TimerBuffer`], not a second implementation.
//!
//! Time crosses as microseconds (`uint64_t`): for a client's buffer, since the client handle
//! was made; for a buffer handle, on any clock of the caller's that does not go backwards (a
//! handle only compares times it was given). Updates cross as the serialized bytes of an
//! `UpdateAnalogControl`.

use std::ffi::{c_char, c_void};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use logi_plugin_core::ResponseCode;
use logi_plugin_core::buffer::{
    Admission, AnalogBuffer, BufferError, DEFAULT_MAX_SLOTS, DEFAULT_TIMER_INTERVAL,
    ThroughputBuffer, TimerBuffer,
};
use logi_plugin_core::proto::plugin::UpdateAnalogControl;
use logi_plugin_sdk::ClientError;

use logi_plugin_transports::lock::lock;
use prost::Message as _;

use crate::ffi::{Error, LogiBytes, UserData, entry, free, guard, handle, out, text, typed};
use crate::plugin::LogiPluginClient;
use crate::threads::block_on;

/// An admission (what `on_update` decided): deliver the update to the plugin now, under its
/// own request id.
pub const LOGI_BUFFER_DISPATCH: i32 = 0;
/// An admission: the buffer holds the update; it comes out of `poll_ready`, merged.
pub const LOGI_BUFFER_HELD: i32 = 1;
/// An admission: the buffer holds the update, merged into it the pending update whose request
/// id it wrote to `*out_superseded`; the library answers that request ok at once (coalesced).
pub const LOGI_BUFFER_HELD_SUPERSEDING: i32 = 2;

/// A plugin's own analog buffer (seed 7.4), as functions over `user_data`, registered with
/// `logi_plugin_client_register_custom_buffer`.
///
/// Thread: every function is called on the thread driving the client's connection (its
/// callback thread `logi-plugin-callbacks` between callbacks, or the standby
/// `logi-plugin-connection` while a callback blocks), one call at a time, except `drop`. None
/// may block (the connection waits for it), throw or unwind (that aborts), or call back into
/// the client.
///
/// The contract is Rust's `AnalogBuffer`: every request id given to `on_update` comes back
/// exactly once, as `LOGI_BUFFER_DISPATCH`, as `*out_superseded`, or from `poll_ready`. Times
/// are microseconds since the client handle was made. `reset` runs as each connection opens,
/// before its controls are registered: request ids held from the connection before died with
/// it, so the buffer forgets everything it holds.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LogiBufferVtable {
    /// Handed to every function; owned by the library from a successful registration until
    /// `drop`.
    pub user_data: *mut c_void,
    /// Required. Takes an update (the `len` serialized bytes of an `UpdateAnalogControl` at
    /// `data`, valid during the call) received as request `request_id`, and returns
    /// `LOGI_BUFFER_DISPATCH`, `LOGI_BUFFER_HELD`, or `LOGI_BUFFER_HELD_SUPERSEDING` having
    /// written the superseded id to `*out_superseded`. Any other value counts as dispatch.
    pub on_update: Option<
        unsafe extern "C" fn(
            user_data: *mut c_void,
            now_us: u64,
            request_id: u32,
            data: *const u8,
            len: usize,
            out_superseded: *mut u32,
        ) -> i32,
    >,
    /// Optional. The plugin answered request `request_id` (any request: ignore ids the buffer
    /// did not hand out).
    pub on_response:
        Option<unsafe extern "C" fn(user_data: *mut c_void, now_us: u64, request_id: u32)>,
    /// Optional. Time has reached `now_us`; early or repeated calls must do nothing.
    pub handle_timeout: Option<unsafe extern "C" fn(user_data: *mut c_void, now_us: u64)>,
    /// Required. The next merged update due for delivery: returns true having written its
    /// request id to `*out_request_id` and its serialized `UpdateAnalogControl` to `*out_data`
    /// and `*out_len`, or false when none is due. The bytes stay the buffer's: they must stay
    /// valid until its next function is called (the library copies them first). Bytes that
    /// are not an `UpdateAnalogControl` are logged to stderr and the request is delivered with
    /// an empty update, so that it is still answered.
    pub poll_ready: Option<
        unsafe extern "C" fn(
            user_data: *mut c_void,
            now_us: u64,
            out_request_id: *mut u32,
            out_data: *mut *const u8,
            out_len: *mut usize,
        ) -> bool,
    >,
    /// Required. The earliest time at which `handle_timeout` or `poll_ready` has work: returns
    /// true having written it to `*out_at_us`, or false when nothing waits on time. A time
    /// already past means `poll_ready` has work now.
    pub poll_timeout:
        Option<unsafe extern "C" fn(user_data: *mut c_void, out_at_us: *mut u64) -> bool>,
    /// Required. The number of updates held and not yet delivered.
    pub pending_len: Option<unsafe extern "C" fn(user_data: *mut c_void) -> usize>,
    /// Required. A connection opens: forget every update held.
    pub reset: Option<unsafe extern "C" fn(user_data: *mut c_void)>,
    /// Optional. Called once, when the client handle is freed (on the thread freeing it,
    /// after every other call): free `user_data` here.
    pub drop: Option<unsafe extern "C" fn(user_data: *mut c_void)>,
}

/// A registered vtable, shared by the buffers made from it, one per connection.
struct Registered {
    name: String,
    vtable: LogiBufferVtable,
    /// The caller's buffer (`vtable.user_data`).
    user_data: UserData,
    /// The client handle's birth: times cross as microseconds since then.
    origin: Instant,
    /// Set once the registration succeeded: only then is `user_data` the library's to drop.
    owned: std::sync::atomic::AtomicBool,
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Some(drop) = self.vtable.drop
            && self.owned.load(std::sync::atomic::Ordering::Acquire)
        {
            // SAFETY: the registered function with its `user_data`, called once, after every
            // other call (this is the last reference), as the header documents.
            unsafe { drop(self.user_data.0) };
        }
    }
}

/// The buffer of one connection: calls the vtable, converting times and updates.
struct VtableBuffer(Arc<Registered>);

impl VtableBuffer {
    fn user_data(&self) -> *mut c_void {
        self.0.user_data.0
    }

    fn micros(&self, now: Instant) -> u64 {
        micros(self.0.origin, now)
    }
}

/// Microseconds from `origin` to `now` (0 before it).
fn micros(origin: Instant, now: Instant) -> u64 {
    u64::try_from(now.saturating_duration_since(origin).as_micros()).unwrap_or(u64::MAX)
}

/// The instant `us` microseconds after `origin`; `None` past what an `Instant` holds.
fn instant(origin: Instant, us: u64) -> Option<Instant> {
    origin.checked_add(Duration::from_micros(us))
}

/// `now_us` as an instant, clamped to the latest an `Instant` holds near it.
fn now_at(origin: Instant, now_us: u64) -> Instant {
    instant(origin, now_us)
        .or_else(|| instant(origin, u64::from(u32::MAX) * 1_000_000))
        .unwrap_or(origin)
}

impl AnalogBuffer for VtableBuffer {
    fn pending_len(&self) -> usize {
        // SAFETY: checked not null at registration; called on the thread driving the
        // connection.
        self.0
            .vtable
            .pending_len
            .map_or(0, |f| unsafe { f(self.user_data()) })
    }

    fn on_update(
        &mut self,
        now: Instant,
        request_id: u32,
        update: UpdateAnalogControl,
    ) -> Admission {
        let Some(on_update) = self.0.vtable.on_update else {
            return Admission::Dispatch(update);
        };
        let bytes = update.encode_to_vec();
        let mut superseded = 0u32;
        // SAFETY: the registered function; the bytes and the out-parameter live for the call.
        let admission = unsafe {
            on_update(
                self.user_data(),
                self.micros(now),
                request_id,
                bytes.as_ptr(),
                bytes.len(),
                &mut superseded,
            )
        };
        match admission {
            LOGI_BUFFER_HELD => Admission::Held { superseded: None },
            LOGI_BUFFER_HELD_SUPERSEDING => Admission::Held {
                superseded: Some(superseded),
            },
            LOGI_BUFFER_DISPATCH => Admission::Dispatch(update),
            other => {
                eprintln!(
                    "logi_plugin: buffer {:?}: on_update returned {other}, not an admission: update {request_id} dispatched",
                    self.0.name
                );
                Admission::Dispatch(update)
            }
        }
    }

    fn on_response(&mut self, now: Instant, request_id: u32) {
        if let Some(on_response) = self.0.vtable.on_response {
            // SAFETY: the registered function, on the thread driving the connection.
            unsafe { on_response(self.user_data(), self.micros(now), request_id) };
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        if let Some(handle_timeout) = self.0.vtable.handle_timeout {
            // SAFETY: the registered function, on the thread driving the connection.
            unsafe { handle_timeout(self.user_data(), self.micros(now)) };
        }
    }

    fn poll_ready(&mut self, now: Instant) -> Option<(u32, UpdateAnalogControl)> {
        let poll_ready = self.0.vtable.poll_ready?;
        let (mut id, mut data, mut len) = (0u32, std::ptr::null::<u8>(), 0usize);
        // SAFETY: the registered function; the out-parameters live for the call.
        let ready = unsafe {
            poll_ready(
                self.user_data(),
                self.micros(now),
                &mut id,
                &mut data,
                &mut len,
            )
        };
        if !ready {
            return None;
        }
        // SAFETY: the buffer vouches for `len` bytes at `data` until its next call.
        let update = unsafe { typed::<UpdateAnalogControl>(data, len, "poll_ready's update") };
        let update = update.unwrap_or_else(|error| {
            eprintln!(
                "logi_plugin: buffer {:?}: {}; request {id} delivered with an empty update",
                self.0.name,
                error.message()
            );
            UpdateAnalogControl::default()
        });
        Some((id, update))
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let poll_timeout = self.0.vtable.poll_timeout?;
        let mut at = 0u64;
        // SAFETY: the registered function; the out-parameter lives for the call.
        let waits = unsafe { poll_timeout(self.user_data(), &mut at) };
        // A time past what an `Instant` holds never comes.
        waits.then(|| instant(self.0.origin, at)).flatten()
    }
}

// SAFETY: `LogiBufferVtable` holds the caller's `user_data` and functions, which the header
// says are called on the thread driving the connection, one call at a time (and `drop` on the
// freeing thread, last): registering them vouches that they may be. The library never touches
// `user_data` itself; sharing a `Registered` only copies the pointers.
unsafe impl Send for Registered {}
// SAFETY: as for `Send`.
unsafe impl Sync for Registered {}

/// Registers a plugin's own analog buffer under `name` (seed 7.3.3), for
/// `logi_plugin_client_enable_control_buffering` to register controls to. Before or after
/// connecting; it serves every connection (`reset` runs as each opens). The vtable is copied.
///
/// On `LOGI_SUCCESS` the library owns `vtable->user_data` and calls `vtable->drop` once when
/// the client is freed; on any failure it calls nothing and the caller keeps it. A null
/// `client`, `name` or `vtable`, a name not UTF-8, a null required function are
/// `LOGI_INVALID_ARG`; a built-in name (`throughput`, `timer`) or one already registered is
/// `LOGI_DUPLICATE_NAME`.
///
/// # Safety
/// `client` is null or a live handle; `name` null or NUL-terminated; `vtable` null or
/// readable, its functions callable with its `user_data` as `logi_buffer_vtable` says.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_plugin_client_register_custom_buffer(
    client: *mut LogiPluginClient,
    name: *const c_char,
    vtable: *const LogiBufferVtable,
) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let (client, name, vtable) = unsafe {
            (
                handle(client, "client")?,
                text(name, "name")?,
                *handle(vtable, "vtable")?,
            )
        };
        let required = [
            ("on_update", vtable.on_update.is_none()),
            ("poll_ready", vtable.poll_ready.is_none()),
            ("poll_timeout", vtable.poll_timeout.is_none()),
            ("pending_len", vtable.pending_len.is_none()),
            ("reset", vtable.reset.is_none()),
        ];
        if let Some((function, _)) = required.iter().find(|(_, missing)| *missing) {
            return Err(Error::invalid_arg(format!(
                "vtable->{function} is null (buffer {name:?}): it is required"
            )));
        }
        let registered = Arc::new(Registered {
            name: name.to_string(),
            vtable,
            user_data: UserData(vtable.user_data),
            origin: client.created(),
            owned: Default::default(),
        });
        let factory = {
            let registered = registered.clone();
            move || -> Box<dyn AnalogBuffer> {
                if let Some(reset) = registered.vtable.reset {
                    // SAFETY: the registered function; the factory runs as a connection
                    // opens, on the thread driving the connection.
                    unsafe { reset(registered.user_data.0) };
                }
                Box::new(VtableBuffer(registered.clone()))
            }
        };
        let taken =
            |error: BufferError| Error::new(ResponseCode::DuplicateName, format!("name: {error}"));
        match client.client() {
            Ok(running) => block_on(running.register_custom_buffer(name, factory)).map_err(
                |error| match error {
                    ClientError::Buffering(error) => taken(error),
                    other => other.into(),
                },
            )?,
            Err(_) => {
                let mut added = Ok(());
                client.configure(|config| added = config.register_custom_buffer(name, factory))?;
                added.map_err(taken)?;
            }
        }
        registered
            .owned
            .store(true, std::sync::atomic::Ordering::Release);
        Ok(())
    })
}

/// A built-in analog buffer (seed 7.5 `throughput`, 7.6 `timer`) held by the caller. Opaque:
/// made by `logi_buffer_new_throughput` or `logi_buffer_new_timer`, freed by
/// `logi_buffer_free`; its functions may be called from any thread, one at a time or not (a
/// lock orders them).
pub struct LogiBuffer {
    buffer: Mutex<Box<dyn AnalogBuffer>>,
    /// Times cross as microseconds since this instant.
    origin: Instant,
}

impl LogiBuffer {
    /// `buffer` as a handle, written to `out`.
    fn make(out_buffer: *mut *mut LogiBuffer, buffer: Box<dyn AnalogBuffer>) -> i32 {
        entry(|| {
            // SAFETY: `out_buffer` is null or writable by the callers' contracts.
            let out_buffer = unsafe { out(out_buffer, "out_buffer")? };
            let buffer = LogiBuffer {
                buffer: Mutex::new(buffer),
                origin: Instant::now(),
            };
            out_buffer.put(Box::into_raw(Box::new(buffer)));
            Ok(())
        })
    }

    fn at(&self, now_us: u64) -> Instant {
        now_at(self.origin, now_us)
    }
}

/// Makes a throughput buffer (seed 7.5): a slot's first update is dispatched, later ones are
/// merged until the plugin answers the one in flight. `max_slots` caps the slots held at once
/// (0 for the default, 1024); updates for further slots are dispatched. `*out_buffer` is the
/// handle, to free with `logi_buffer_free`.
///
/// # Safety
/// `out_buffer` is null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_buffer_new_throughput(
    max_slots: usize,
    out_buffer: *mut *mut LogiBuffer,
) -> i32 {
    LogiBuffer::make(
        out_buffer,
        Box::new(ThroughputBuffer::new(slots(max_slots))),
    )
}

/// Makes a timer buffer (seed 7.6): at most one delivery per slot per `interval_ms` (0 for
/// the default, 50 ms), the updates of a window merged. `max_slots` as in
/// `logi_buffer_new_throughput`.
///
/// # Safety
/// `out_buffer` is null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_buffer_new_timer(
    interval_ms: u32,
    max_slots: usize,
    out_buffer: *mut *mut LogiBuffer,
) -> i32 {
    let interval = match interval_ms {
        0 => DEFAULT_TIMER_INTERVAL,
        ms => Duration::from_millis(ms.into()),
    };
    LogiBuffer::make(
        out_buffer,
        Box::new(TimerBuffer::new(interval, slots(max_slots))),
    )
}

fn slots(max_slots: usize) -> usize {
    if max_slots == 0 {
        DEFAULT_MAX_SLOTS
    } else {
        max_slots
    }
}

/// Frees a buffer handle and the updates it holds. Null does nothing.
///
/// # Safety
/// `buffer` is null or a live handle, not used again after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_buffer_free(buffer: *mut LogiBuffer) {
    // SAFETY: the caller's contract above.
    unsafe { free(buffer, |_| {}) }
}

/// Gives a buffer handle an update: `data` the `len` serialized bytes of an
/// `UpdateAnalogControl` received as request `request_id` at `now_us`. `*out_admission` says
/// what happens to it (`LOGI_BUFFER_DISPATCH`, `_HELD`, `_HELD_SUPERSEDING`: then
/// `*out_superseded` is the request merged into it, to answer ok now). Bytes that are not an
/// `UpdateAnalogControl` are `LOGI_INVALID_ARG`, and nothing is held.
///
/// # Safety
/// `buffer` is null or a live handle; `data` null or `len` readable bytes; the out-parameters
/// null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_buffer_on_update(
    buffer: *mut LogiBuffer,
    now_us: u64,
    request_id: u32,
    data: *const u8,
    len: usize,
    out_admission: *mut i32,
    out_superseded: *mut u32,
) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let (buffer, update, out_admission, out_superseded) = unsafe {
            (
                handle(buffer, "buffer")?,
                typed::<UpdateAnalogControl>(data, len, "bytes")?,
                out(out_admission, "out_admission")?,
                out(out_superseded, "out_superseded")?,
            )
        };
        let admission = lock(&buffer.buffer).on_update(buffer.at(now_us), request_id, update);
        let (admission, superseded) = match admission {
            Admission::Dispatch(_) => (LOGI_BUFFER_DISPATCH, 0),
            Admission::Held { superseded: None } => (LOGI_BUFFER_HELD, 0),
            Admission::Held {
                superseded: Some(id),
            } => (LOGI_BUFFER_HELD_SUPERSEDING, id),
        };
        out_admission.put(admission);
        out_superseded.put(superseded);
        Ok(())
    })
}

/// Tells a buffer handle the plugin answered request `request_id` at `now_us`.
///
/// # Safety
/// `buffer` is null or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_buffer_on_response(
    buffer: *mut LogiBuffer,
    now_us: u64,
    request_id: u32,
) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let buffer = unsafe { handle(buffer, "buffer")? };
        lock(&buffer.buffer).on_response(buffer.at(now_us), request_id);
        Ok(())
    })
}

/// Tells a buffer handle that time has reached `now_us`: windows that ended release their
/// merged updates to `logi_buffer_poll_ready`. Early or repeated calls do nothing.
///
/// # Safety
/// `buffer` is null or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_buffer_handle_timeout(buffer: *mut LogiBuffer, now_us: u64) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let buffer = unsafe { handle(buffer, "buffer")? };
        lock(&buffer.buffer).handle_timeout(buffer.at(now_us));
        Ok(())
    })
}

/// Takes the next merged update due at `now_us`: `*out_ready` says whether there is one; if so
/// `*out_request_id` is the request to deliver it under and `*out_update` its serialized
/// `UpdateAnalogControl`, which the caller frees with `logi_bytes_free`. Otherwise
/// `*out_update` is `{NULL, 0}`.
///
/// # Safety
/// `buffer` is null or a live handle; the out-parameters null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_buffer_poll_ready(
    buffer: *mut LogiBuffer,
    now_us: u64,
    out_ready: *mut bool,
    out_request_id: *mut u32,
    out_update: *mut LogiBytes,
) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let (buffer, out_ready, out_request_id, out_update) = unsafe {
            (
                handle(buffer, "buffer")?,
                out(out_ready, "out_ready")?,
                out(out_request_id, "out_request_id")?,
                out(out_update, "out_update")?,
            )
        };
        let ready = lock(&buffer.buffer).poll_ready(buffer.at(now_us));
        out_ready.put(ready.is_some());
        let (id, update) = match ready {
            Some((id, update)) => (id, LogiBytes::from_vec(update.encode_to_vec())),
            None => (0, LogiBytes::empty()),
        };
        out_request_id.put(id);
        out_update.put(update);
        Ok(())
    })
}

/// The earliest time (microseconds, on the handle's clock) at which `logi_buffer_handle_timeout`
/// or `logi_buffer_poll_ready` has work: `*out_waits` says whether anything waits on time; if
/// so `*out_at_us` is when (a time already past: `poll_ready` has work now).
///
/// # Safety
/// `buffer` is null or a live handle; the out-parameters null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_buffer_poll_timeout(
    buffer: *const LogiBuffer,
    out_waits: *mut bool,
    out_at_us: *mut u64,
) -> i32 {
    entry(|| {
        // SAFETY: the caller's contract above.
        let (buffer, out_waits, out_at_us) = unsafe {
            (
                handle(buffer, "buffer")?,
                out(out_waits, "out_waits")?,
                out(out_at_us, "out_at_us")?,
            )
        };
        let at = lock(&buffer.buffer).poll_timeout();
        out_waits.put(at.is_some());
        out_at_us.put(at.map_or(0, |at| micros(buffer.origin, at)));
        Ok(())
    })
}

/// The number of updates a buffer handle holds and has not delivered; 0 for null.
///
/// # Safety
/// `buffer` is null or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_buffer_pending_len(buffer: *const LogiBuffer) -> usize {
    guard(0, || {
        // SAFETY: the caller's contract above.
        unsafe { handle(buffer, "buffer") }.map_or(0, |buffer| lock(&buffer.buffer).pending_len())
    })
}
