//! The two threads of a connected handle: one runs the connection (the reconnecting runner, and
//! a pump that moves its events into a queue), the other takes the queue and calls the
//! caller's callbacks.
//!
//! Why two: every call that sends (an answer, a request) waits for the connection's driver to
//! take it. A callback that answers a request from the thread that runs the driver would wait
//! for itself. With the callbacks on their own thread, a callback may call any function of the
//! handle (freeing it included: [`Threads::join`] then does not wait for the thread it runs on)
//! and block as long as it likes without stalling the connection's heartbeat.
//!
//! Every wait outside the connection's thread (the callback thread's for its next item, a
//! caller's for the connection to take an answer) is [`block_on`]: it spins before it parks,
//! so a press handed over while the callback thread is still awake from the last one costs no
//! wake-up, and it never takes `async-io`'s reactor from the connection's thread, which serves
//! the socket (`docs/performance.md`, "The C ABI beside the Rust SDK").

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread::{JoinHandle, ThreadId};

use logi_plugin_core::ResponseCode;
use logi_plugin_transports::reconnect::ClientRunner;

use crate::ffi::{Error, panic_text};

/// A handle's running threads.
#[derive(Debug)]
pub(crate) struct Threads {
    runner: JoinHandle<()>,
    callbacks: JoinHandle<()>,
}

impl Threads {
    /// Starts the threads: `runner` and `pump` on the first, `deliver` for each queued item on
    /// the second (named `<name>-callbacks`), until every sender of `items` is gone.
    pub(crate) fn start<T: Send + 'static>(
        name: &str,
        runner: ClientRunner,
        pump: impl Future<Output = ()> + Send + 'static,
        items: async_channel::Receiver<T>,
        mut deliver: impl FnMut(T) + Send + 'static,
    ) -> Result<Threads, Error> {
        let spawn_failed = |error: std::io::Error| {
            Error::new(
                ResponseCode::Faulted,
                format!("cannot start the client's thread: {error}"),
            )
        };
        let callbacks = std::thread::Builder::new()
            .name(format!("{name}-callbacks"))
            .spawn(move || {
                while let Ok(item) = block_on(items.recv()) {
                    // A bug of ours must not end the thread: later callbacks still run. The
                    // panic hook has already printed it.
                    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| deliver(item))) {
                        eprintln!(
                            "logi_plugin: a callback's dispatch failed: {}",
                            panic_text(panic.as_ref())
                        );
                    }
                }
            })
            .map_err(spawn_failed)?;
        let runner = std::thread::Builder::new()
            .name(format!("{name}-connection"))
            .spawn(move || {
                logi_plugin_transports::block_on(futures_lite::future::zip(runner, pump));
            })
            .map_err(spawn_failed)?;
        Ok(Threads { runner, callbacks })
    }

    /// The thread the callbacks run on.
    pub(crate) fn callback_thread(&self) -> ThreadId {
        self.callbacks.thread().id()
    }

    /// Waits for both threads to end (the connection stopped, every queued callback run).
    /// From the callback thread itself it waits only for the connection: the callbacks still
    /// queued run once the current one returns.
    pub(crate) fn join(self) {
        let on_callback_thread = std::thread::current().id() == self.callback_thread();
        let _ = self.runner.join();
        if !on_callback_thread {
            let _ = self.callbacks.join();
        }
    }
}

/// Runs `future` on the calling thread, as every blocking function of the ABI does: it waits
/// for the connection's thread (an item, a command taken, an answer), never for IO itself.
pub(crate) fn block_on<T>(future: impl Future<Output = T>) -> T {
    logi_plugin_transports::run::wait(future)
}
