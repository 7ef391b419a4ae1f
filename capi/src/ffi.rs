//! What every entry point shares: the result codes, the last error, reading arguments from C,
//! the bytes the library hands out, and the guard that keeps a panic from crossing the ABI.
//!
//! An entry point is `entry(|| { ... })`: its body returns `Ok(())` or an [`Error`]; the guard
//! turns that (or a panic) into a result code and sets the thread's last error, which
//! [`logi_last_error`] reads.

use std::cell::{Cell, RefCell};
use std::ffi::{CStr, CString, c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

use bytes::Bytes;
use logi_plugin_core::session::SendError;
use logi_plugin_core::{EncodedMessage, Message, MessageError, ResponseCode};
use logi_plugin_sdk::ClientError;

// The result codes: the seed's `ResponseInfo.Code` (chapter 6), which the manager also answers
// with, so one set of numbers covers a call's own failure and the manager's verdict.

/// Not a result: code 0 is never returned (the seed keeps it unused).
pub const LOGI_INVALID: i32 = 0;
/// The call succeeded.
pub const LOGI_SUCCESS: i32 = 1;
/// An argument is wrong: null, not UTF-8, bytes that are not a message of their type.
pub const LOGI_INVALID_ARG: i32 = -1;
/// The seed's `INVALID_DEVICE`.
pub const LOGI_INVALID_DEVICE: i32 = -2;
/// The seed's `NO_SUCH_PATH`.
pub const LOGI_NO_SUCH_PATH: i32 = -3;
/// No answer within the timeout.
pub const LOGI_CANCELLED: i32 = -4;
/// The type name names no message of the protocol, or the feature is not built in.
pub const LOGI_NOT_IMPLEMENTED: i32 = -5;
/// The call is not valid in the handle's state (say, configuring a client already connected).
pub const LOGI_INVALID_VERB: i32 = -6;
/// Not connected to the manager (yet, or any more), or held back by the manager.
pub const LOGI_NOT_READY: i32 = -7;
/// The library failed (a thread could not be started, an answer of the wrong type came).
pub const LOGI_FAULTED: i32 = -8;
/// The connection ended before the answer came.
pub const LOGI_UNREACHABLE: i32 = -9;
/// The seed's `UNAUTHORIZED`.
pub const LOGI_UNAUTHORIZED: i32 = -10;
/// The seed's `DUPLICATE_NAME`.
pub const LOGI_DUPLICATE_NAME: i32 = -11;
/// Nothing by that name or id (say, a request id that awaits no answer).
pub const LOGI_NOT_FOUND: i32 = -12;
/// The library panicked inside the call; the call did nothing more, the process goes on.
pub const LOGI_EXCEPTION: i32 = -13;
/// The seed's `CONFLICT`.
pub const LOGI_CONFLICT: i32 = -14;

/// Bytes the library allocated and hands to the caller, who frees them with
/// `logi_bytes_free` (exactly once). Empty bytes are `{NULL, 0}`.
#[repr(C)]
#[derive(Debug)]
pub struct LogiBytes {
    /// The first byte; null when `len` is 0.
    pub data: *mut u8,
    /// How many bytes.
    pub len: usize,
}

impl LogiBytes {
    /// Hands `bytes` over to the caller.
    pub(crate) fn from_vec(bytes: Vec<u8>) -> LogiBytes {
        if bytes.is_empty() {
            return LogiBytes::empty();
        }
        let bytes = bytes.into_boxed_slice();
        let len = bytes.len();
        LogiBytes {
            data: Box::into_raw(bytes).cast::<u8>(),
            len,
        }
    }

    /// `{NULL, 0}`.
    pub(crate) fn empty() -> LogiBytes {
        LogiBytes {
            data: std::ptr::null_mut(),
            len: 0,
        }
    }
}

/// Frees bytes the library returned. `{NULL, 0}` is accepted and does nothing.
///
/// # Safety
/// `bytes` is exactly what a call of this library wrote to a `logi_bytes` out-parameter, not
/// freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn logi_bytes_free(bytes: LogiBytes) {
    guard((), || {
        if bytes.data.is_null() {
            return;
        }
        let slice = std::ptr::slice_from_raw_parts_mut(bytes.data, bytes.len);
        // SAFETY: `data` and `len` come from `LogiBytes::from_vec`'s `Box<[u8]>`, which the
        // caller gives back once.
        drop(unsafe { Box::from_raw(slice) });
    })
}

thread_local! {
    /// The message of the last call on this thread: empty after a success.
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// What the last call into this library on this thread said went wrong, as UTF-8; an empty
/// string if it succeeded. Never null. The text belongs to the library and stays valid until
/// the next call into the library on this thread: copy it to keep it.
#[unsafe(no_mangle)]
pub extern "C" fn logi_last_error() -> *const c_char {
    LAST_ERROR.with(|last| last.borrow().as_ptr())
}

fn set_last_error(message: &str) {
    LAST_ERROR.with(|last| {
        let mut last = last.borrow_mut();
        // A success after a success, the usual call, makes no new string.
        if !message.is_empty() || !last.as_bytes().is_empty() {
            *last = c_string(message);
        }
    });
}

/// Why a call failed: its result code and a message naming the argument and the value.
#[derive(Debug)]
pub(crate) struct Error {
    code: ResponseCode,
    message: String,
}

impl Error {
    /// A failure with `code`.
    pub(crate) fn new(code: ResponseCode, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
        }
    }

    /// What went wrong, naming the argument and the value.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// A wrong argument.
    pub(crate) fn invalid_arg(message: impl Into<String>) -> Error {
        Error::new(ResponseCode::InvalidArg, message)
    }

    /// The call is not valid in the handle's state.
    pub(crate) fn invalid_verb(message: impl Into<String>) -> Error {
        Error::new(ResponseCode::InvalidVerb, message)
    }
}

impl From<ClientError> for Error {
    fn from(error: ClientError) -> Error {
        Error::new(client_code(&error), error.to_string())
    }
}

/// The result code of a plugin client's failed call, a request's included.
pub(crate) fn client_code(error: &ClientError) -> ResponseCode {
    match error {
        ClientError::NotConnected => ResponseCode::NotReady,
        ClientError::Send(send) => send_code(send),
        ClientError::Refused(refused) => send_code(&refused.error),
        ClientError::TimedOut => ResponseCode::Cancelled,
        ClientError::Closed(_) => ResponseCode::Unreachable,
        _ => ResponseCode::InvalidArg,
    }
}

/// The result code of a session's refusal to send.
fn send_code(error: &SendError) -> ResponseCode {
    match error {
        SendError::WrongDirection(_) | SendError::Oversized { .. } => ResponseCode::InvalidArg,
        SendError::UnknownRequest(_) => ResponseCode::NotFound,
        // Not connected, closed, too many in flight, held back: later may work.
        _ => ResponseCode::NotReady,
    }
}

/// Runs an entry point's body: its result code, its message kept as the thread's last error,
/// and a panic turned into `LOGI_EXCEPTION` instead of unwinding into C.
pub(crate) fn entry(body: impl FnOnce() -> Result<(), Error>) -> i32 {
    let outcome = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        Err(Error::new(
            ResponseCode::Exception,
            format!("the library panicked: {}", panic_text(panic.as_ref())),
        ))
    });
    match outcome {
        Ok(()) => {
            set_last_error("");
            LOGI_SUCCESS
        }
        Err(error) => {
            set_last_error(&error.message);
            error.code as i32
        }
    }
}

/// Runs an entry point that returns a value rather than a code: `fallback` if it panics.
pub(crate) fn guard<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// What a panic said.
pub(crate) fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|text| text.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// `text` as a C string; a NUL inside (which C cannot carry) becomes U+FFFD.
pub(crate) fn c_string(text: &str) -> CString {
    CString::new(text.replace('\0', "\u{FFFD}")).unwrap_or_default()
}

/// Reads a string argument.
///
/// # Safety
/// `ptr` is null or points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn text<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Error> {
    if ptr.is_null() {
        return Err(Error::invalid_arg(format!("{name} is null")));
    }
    // SAFETY: not null, and NUL-terminated and alive by the caller's contract.
    let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
    std::str::from_utf8(bytes).map_err(|error| {
        Error::invalid_arg(format!(
            "{name} is not UTF-8 ({error}): {:?}",
            String::from_utf8_lossy(bytes)
        ))
    })
}

/// Reads a string argument that may be null.
///
/// # Safety
/// As [`text`].
pub(crate) unsafe fn optional_text<'a>(
    ptr: *const c_char,
    name: &str,
) -> Result<Option<&'a str>, Error> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller's contract, passed on.
    unsafe { text(ptr, name) }.map(Some)
}

/// Reads a byte-buffer argument: `len` bytes at `ptr`, which may be null when `len` is 0.
///
/// # Safety
/// `ptr` is null or points to `len` readable bytes that outlive `'a`.
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: usize, name: &str) -> Result<&'a [u8], Error> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Error::invalid_arg(format!(
            "{name} is null but its length is {len}"
        )));
    }
    // SAFETY: not null, `len` readable bytes by the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Reads a message argument: its type's full name (`logi.plugin.protocol.ActionCellStatus`, or
/// a type URL) and its serialized bytes.
///
/// # Safety
/// As [`text`] for `type_name`, as [`bytes`] for `data` and `len`.
pub(crate) unsafe fn message(
    type_name: *const c_char,
    data: *const u8,
    len: usize,
) -> Result<Message, Error> {
    // SAFETY: the caller's contract, passed on.
    let (type_name, body) = unsafe { (text(type_name, "type_name")?, bytes(data, len, "bytes")?) };
    Message::decode(type_name, body).map_err(unreadable)
}

/// Reads a message argument as [`message`] does, but keeps its bytes as they are, checked to
/// decode and not decoded: how an answer goes to the wire.
///
/// # Safety
/// As [`message`].
pub(crate) unsafe fn encoded(
    type_name: *const c_char,
    data: *const u8,
    len: usize,
) -> Result<EncodedMessage, Error> {
    // SAFETY: the caller's contract, passed on.
    let (type_name, body) = unsafe { (text(type_name, "type_name")?, bytes(data, len, "bytes")?) };
    EncodedMessage::with_type_url(type_name, Bytes::copy_from_slice(body)).map_err(unreadable)
}

/// The error of a message argument that cannot be read.
fn unreadable(error: MessageError) -> Error {
    Error::new(error.response_code(), format!("bytes: {error}"))
}

/// Reads the bytes of a message of a known type `M`.
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn typed<M: prost::Message + prost::Name + Default>(
    data: *const u8,
    len: usize,
    name: &str,
) -> Result<M, Error> {
    // SAFETY: the caller's contract, passed on.
    let body = unsafe { bytes(data, len, name)? };
    M::decode(body).map_err(|error| {
        Error::invalid_arg(format!(
            "{name} is not a {} message: {error}",
            M::full_name()
        ))
    })
}

/// The most a thread keeps of the buffer its last [`CMessage`] was written in.
const SPARE_MAX: usize = 64 * 1024;

thread_local! {
    /// The buffer of the last message handed to a callback on this thread, kept for the next:
    /// a callback thread hands one message after another, and each is written without an
    /// allocation of its own.
    static SPARE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// A message as a callback receives it: its full type name and its serialized bytes, alive
/// while the callback runs.
pub(crate) struct CMessage {
    type_name: &'static CStr,
    body: Vec<u8>,
}

impl CMessage {
    /// `message`, serialized.
    pub(crate) fn new(message: &Message) -> CMessage {
        // A message made while another is alive (inside a callback) finds no spare, and
        // allocates.
        let mut body = SPARE.take();
        body.clear();
        body.reserve(message.encoded_len());
        message.encode_raw(&mut body);
        CMessage {
            type_name: message.message_type().full_name_c(),
            body,
        }
    }

    /// The type name; null for no message.
    pub(crate) fn type_name(message: Option<&CMessage>) -> *const c_char {
        message.map_or(std::ptr::null(), |message| message.type_name.as_ptr())
    }

    /// The bytes and their length; `(NULL, 0)` for no message or an empty body.
    pub(crate) fn body(message: Option<&CMessage>) -> (*const u8, usize) {
        match message {
            Some(message) if !message.body.is_empty() => {
                (message.body.as_ptr(), message.body.len())
            }
            _ => (std::ptr::null(), 0),
        }
    }
}

impl Drop for CMessage {
    fn drop(&mut self) {
        if self.body.capacity() <= SPARE_MAX {
            SPARE.set(std::mem::take(&mut self.body));
        }
    }
}

/// A handle argument.
///
/// # Safety
/// `ptr` is null or a live handle this library made, not yet freed.
pub(crate) unsafe fn handle<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, Error> {
    // SAFETY: null or live, by the caller's contract.
    unsafe { ptr.as_ref() }.ok_or_else(|| Error::invalid_arg(format!("{name} is null")))
}

/// Frees a handle: `stop` runs on it first (disconnect, wait for its threads); null does
/// nothing.
///
/// # Safety
/// `ptr` is null or a handle made by `Box::into_raw`, given back once.
pub(crate) unsafe fn free<T>(ptr: *mut T, stop: impl FnOnce(&T)) {
    guard((), || {
        if ptr.is_null() {
            return;
        }
        // SAFETY: a live handle made by `Box::into_raw`, given back once.
        let handle = unsafe { Box::from_raw(ptr) };
        stop(&handle);
    })
}

/// An out-parameter, checked not null; written once the call has its result.
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    /// Writes the result, without reading or dropping what the memory held.
    pub(crate) fn put(self, value: T) {
        // SAFETY: `out` checked it is not null, and its caller vouched it is writable.
        unsafe { self.0.write(value) }
    }
}

/// An out-parameter argument.
///
/// # Safety
/// `ptr` is null or points to memory writable as a `T` until the call returns.
pub(crate) unsafe fn out<T>(ptr: *mut T, name: &str) -> Result<Out<T>, Error> {
    if ptr.is_null() {
        return Err(Error::invalid_arg(format!("{name} is null")));
    }
    Ok(Out(ptr))
}

/// The `user_data` a caller registers with a callback, handed back to it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UserData(pub(crate) *mut c_void);

impl Default for UserData {
    fn default() -> Self {
        UserData(std::ptr::null_mut())
    }
}

// SAFETY: the library never reads it; it only hands it back to the caller's callbacks on the
// client's callback thread, which the header documents: the caller vouches that its data may be
// used from there.
unsafe impl Send for UserData {}
// SAFETY: as for `Send`; shared references only copy the pointer.
unsafe impl Sync for UserData {}

/// A callback as registered: the function (`None` for a null one) and its `user_data`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Callback<F> {
    /// The function, an `Option` of a function pointer.
    pub(crate) f: F,
    /// What it is called with.
    pub(crate) user_data: UserData,
}

impl<F> Callback<F> {
    /// `f` with `user_data`.
    pub(crate) fn new(f: F, user_data: *mut c_void) -> Callback<F> {
        Callback {
            f,
            user_data: UserData(user_data),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_result_codes_are_the_seeds_response_codes() {
        let pairs = [
            (LOGI_INVALID, ResponseCode::Invalid),
            (LOGI_SUCCESS, ResponseCode::Success),
            (LOGI_INVALID_ARG, ResponseCode::InvalidArg),
            (LOGI_INVALID_DEVICE, ResponseCode::InvalidDevice),
            (LOGI_NO_SUCH_PATH, ResponseCode::NoSuchPath),
            (LOGI_CANCELLED, ResponseCode::Cancelled),
            (LOGI_NOT_IMPLEMENTED, ResponseCode::NotImplemented),
            (LOGI_INVALID_VERB, ResponseCode::InvalidVerb),
            (LOGI_NOT_READY, ResponseCode::NotReady),
            (LOGI_FAULTED, ResponseCode::Faulted),
            (LOGI_UNREACHABLE, ResponseCode::Unreachable),
            (LOGI_UNAUTHORIZED, ResponseCode::Unauthorized),
            (LOGI_DUPLICATE_NAME, ResponseCode::DuplicateName),
            (LOGI_NOT_FOUND, ResponseCode::NotFound),
            (LOGI_EXCEPTION, ResponseCode::Exception),
            (LOGI_CONFLICT, ResponseCode::Conflict),
        ];
        for (constant, code) in pairs {
            assert_eq!(constant, code as i32, "{code:?}");
        }
    }

    fn last_error() -> String {
        // SAFETY: never null, NUL-terminated, alive until the next call on this thread.
        unsafe { CStr::from_ptr(logi_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn a_panic_inside_an_entry_point_is_an_exception_code_not_an_abort() {
        let code = entry(|| panic!("inner trouble"));
        assert_eq!(code, LOGI_EXCEPTION);
        assert_eq!(last_error(), "the library panicked: inner trouble");
    }

    #[test]
    fn a_success_clears_the_last_error() {
        entry(|| Err(Error::invalid_arg("x is null")));
        assert_eq!(last_error(), "x is null");
        assert_eq!(entry(|| Ok(())), LOGI_SUCCESS);
        assert_eq!(last_error(), "");
    }
}
