//! logi_plugin: the C ABI of the Logi Plugin Framework, for C and C++ programs.
//!
//! - A plugin (seed ch. 7, `plugin_client`): `logi_plugin_client_*`, over the Rust SDK's
//!   `PluginClient`; the utilities `logi_open_url` and `logi_*_secret` (seed 7.2).
//! - The configuration software (seed ch. 9, the client library): `logi_manager_client_*`,
//!   over `PluginManagerClient`.
//! - Analog buffers (seed 7.3-7.6): a plugin's own buffer as a `logi_buffer_vtable`, given to
//!   `logi_plugin_client_register_custom_buffer`; the built-in ones as `logi_buffer` handles
//!   (`logi_buffer_new_throughput`, `logi_buffer_new_timer`, `logi_buffer_*`).
//!
//! Messages cross the ABI as serialized protobuf bytes with their full type name
//! (`logi.plugin.protocol.TriggerAction`, as C++'s `GetTypeName()` gives it; a type URL is
//! also accepted), so a C++ program keeps its own protobuf library and the `.proto` files of
//! `proto/`.
//!
//! Results. Every function that can fail returns an `int32_t`: `LOGI_SUCCESS` (1) or one of
//! the seed's negative codes (`LOGI_INVALID_ARG` ...). The message of the last call on a thread
//! is `logi_last_error()` (empty after a success). Invalid arguments are refused, never
//! undefined: a null pointer, a string that is not UTF-8, bytes that are not a message of
//! their type are `LOGI_INVALID_ARG`; a type name the protocol does not have is
//! `LOGI_NOT_IMPLEMENTED`; the message names the argument and the value. A panic inside the
//! library is caught at the call's boundary and returned as `LOGI_EXCEPTION`: it never crosses
//! into C.
//!
//! Threads. A connected handle runs two threads of its own: its callback thread
//! (`logi-plugin-callbacks`, `logi-library-callbacks`) and a standby (`logi-plugin-connection`,
//! `logi-library-connection`). Every callback of a handle runs on its callback thread, one at a
//! time, in the order of the events (a request's answer after the messages that came before
//! it). That thread also drives the connection while it waits: for the next event, and inside
//! a callback for a blocking call of this library, so a request is received, handled and
//! answered on one thread. While a callback runs longer than a few
//! milliseconds without such a call, the standby drives the connection (heartbeats, the
//! socket) until it returns. Any function may be called from any thread, callbacks included,
//! and blocking calls block only the caller: a callback may answer, send, sleep, or wait for a
//! call of the client library.
//! The exception: a custom buffer's functions (`logi_buffer_vtable`) run on whichever of the
//! two threads drives the connection at the time, one call at a time, and must not block.
//!
//! Callbacks must not throw. A C++ exception (or any unwinding) that leaves a callback into
//! this library aborts the process: catch everything inside the callback.
//!
//! Ownership and lifetimes. Arguments are borrowed for the call only: the library copies what
//! it keeps. Pointers a callback receives are valid until it returns. Bytes the library
//! returns through a `logi_bytes` out-parameter belong to the caller, who frees them with
//! `logi_bytes_free`. A handle belongs to the caller from its `_new` or `_connect` to its
//! `_free`, after which no callback of it runs. `user_data` is never read by the library: it is
//! handed back to the callbacks it came with, on the callback thread.
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
// The one crate of the workspace with `unsafe`: an `extern "C"` surface cannot be written
// without it. Every block says why it holds (`// SAFETY:`).

mod buffer;
mod ffi;
mod library;
mod plugin;
mod threads;
mod utilities;

pub use buffer::*;
pub use ffi::*;
pub use library::*;
pub use plugin::*;
pub use utilities::*;
