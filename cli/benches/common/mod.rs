//! What the manager's benches share: the raw baseline of a plugin's start.

use std::io::Read;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use logi_plugin_transports::{ENDPOINT_ENV, TOKEN_ENV};

/// Starts `program` as the host starts a plugin's (its secret and the endpoint `socket` in its
/// environment), and returns how long until its first bytes reach `listener`, bound at
/// `socket`; then kills it.
pub fn spawn_to_hello(program: &Path, socket: &Path, listener: &UnixListener) -> Duration {
    let start = Instant::now();
    let mut child = Command::new(program)
        .env(TOKEN_ENV, "a secret")
        .env(ENDPOINT_ENV, socket)
        .spawn()
        .unwrap();
    let (mut stream, _) = listener.accept().unwrap();
    let mut hello = [0u8; 64];
    assert!(stream.read(&mut hello).unwrap() > 0);
    let elapsed = start.elapsed();
    child.kill().unwrap();
    child.wait().unwrap();
    elapsed
}
