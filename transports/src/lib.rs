//! Thin IO adapters for the Logi plugin protocol engine.
//!
//! This crate will bind the sans-IO sessions of `logi-plugin-core` to local sockets (Unix domain
//! sockets, Windows named pipes), WebSocket (binary protobuf or JSON text) and in-memory channels.
//! It holds no protocol logic: every decision about bytes on the wire lives in the core. The
//! adapters arrive with the transports issue; until then the crate only fixes the workspace shape.
#![forbid(unsafe_code)]
