//! What the tool's tests share: the host library's test support (a host on a temporary data
//! directory, waiting for its events), the daemon run as a process, the conformance kit's report,
//! the counter examples driven through the tool, and npm for the JavaScript side.

#![allow(dead_code, unused_imports)] // Each test file uses its own part.

#[path = "../../../manager/tests/common/mod.rs"]
mod host;

pub use host::*;

#[cfg(unix)]
pub mod counter;

#[cfg(unix)]
pub mod daemon;

pub mod kit;

#[cfg(unix)]
pub mod npm;

/// The programs the tests build and run with, and the C ABI's CMake package: one module with
/// the C ABI's tests.
#[path = "../../../capi/tests/tools/mod.rs"]
pub mod tools;
