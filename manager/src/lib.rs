//! The Logi plugin manager host.
//!
//! The manager side above the protocol engine: plugin [`package`]s and their signatures, and
//! (as the manager host issue lands) process lifecycle, durable settings, logs and the
//! `logi-plugin` command-line tool.
#![forbid(unsafe_code)]

pub mod package;

pub use package::{Limits, Package, PackageError, PackageFile};
