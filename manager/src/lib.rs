//! The Logi plugin manager host.
//!
//! This crate will hold the manager side above the protocol engine: plugin packages and their
//! signatures, process lifecycle, durable settings, logs, the client library server, the
//! marketplace bridge, the admin HTTP API and the `logi-plugin` command-line tool. It arrives with
//! the manager host issue; until then the crate only fixes the workspace shape.
#![forbid(unsafe_code)]
