//! The threads of a connected handle, and who drives its connection (the reconnecting runner,
//! with whatever the handle runs beside it).
//!
//! The connection is a baton ([`Baton`]): whoever holds it drives it. The callback thread
//! (`<name>-callbacks`) holds it whenever it waits: for its next item, and inside a callback
//! for a blocking call of the ABI (an answer taken, a request sent, a disconnect), which
//! [`block_on`] makes on that thread while driving the connection. So a press comes in, is
//! delivered, and its answer goes out on one thread, as with the Rust SDK's own loop: no
//! hand-off between threads (`docs/performance.md`, "The C ABI beside the Rust SDK").
//!
//! A callback may block on something of its own (a sleep, a lock, another handle's call).
//! Meanwhile the standby thread (`<name>-connection`) keeps the heartbeat and the socket going:
//! it looks every [`LOOK`], and when the same callback has been running since its last look
//! and nobody holds the connection, it takes it and drives it until that callback returns
//! (which wakes it at once), then puts it back. The connection is never polled by two threads
//! at once, nor from inside its own poll, and the callbacks run only outside its poll.
//!
//! Three things keep a press as cheap as on the SDK's loop: the callback thread runs one
//! reactor `block_on` for its life (`async-io` wakes a thread of its own at the end of each),
//! the blocking calls inside callbacks drive without the reactor, and the connection is polled
//! with one waker whoever drives it ([`Relay`]), so that a hand-over does not register its
//! timers with the reactor again.
//!
//! A callback may free its own handle: [`Threads::join`] then drives the connection to its
//! end instead of waiting for the thread it runs on.

use std::cell::RefCell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{JoinHandle, Thread, ThreadId};
use std::time::Duration;

use futures_lite::{Stream, StreamExt};
use futures_util::task::AtomicWaker;
use logi_plugin_core::ResponseCode;
use logi_plugin_transports::lock::lock;

use crate::ffi::{Error, panic_text};

/// How often the standby thread looks whether a callback is still running: the longest a
/// blocking callback leaves the connection undriven is about twice this.
const LOOK: Duration = Duration::from_millis(5);

/// After this many looks in a row with no callback started, the standby sleeps until the next
/// callback starts (one second): an idle handle wakes nobody, and a flood of callbacks pays
/// no wake-up of the standby, which keeps looking while they come.
const IDLE_LOOKS: u32 = 200;

/// A connection's future: the runner, with whatever runs beside it.
type Connection = Pin<Box<dyn Future<Output = ()> + Send>>;

thread_local! {
    /// On a callback thread, the baton of its handle: the blocking calls made there drive it.
    static DRIVER: RefCell<Option<Arc<Baton>>> = const { RefCell::new(None) };
}

/// A handle's running threads.
#[derive(Debug)]
pub(crate) struct Threads {
    baton: Arc<Baton>,
    callbacks: JoinHandle<()>,
    standby: JoinHandle<()>,
}

impl Threads {
    /// Starts the threads: `deliver` for each of `items` on the callback thread (named
    /// `<name>-callbacks`), until they end; `connection` (the client's runner, with whatever
    /// runs beside it) driven by that thread while it waits, and by the standby thread
    /// (`<name>-connection`) while a callback blocks.
    pub(crate) fn start<T: Send + 'static>(
        name: &str,
        connection: impl Future<Output = ()> + Send + 'static,
        mut items: impl Stream<Item = T> + Unpin + Send + 'static,
        mut deliver: impl FnMut(T) + Send + 'static,
    ) -> Result<Threads, Error> {
        let baton = Arc::new(Baton::default());
        lock(&baton.state).connection = Some(Box::pin(connection));
        let spawn_failed = |error: std::io::Error| {
            // Nobody will drive it: dropping it ends the client, and the thread started
            // before, if any, ends with it.
            baton.end();
            Error::new(
                ResponseCode::Faulted,
                format!("cannot start the client's thread: {error}"),
            )
        };
        let callbacks = {
            let baton = baton.clone();
            std::thread::Builder::new()
                .name(format!("{name}-callbacks"))
                .spawn(move || {
                    DRIVER.with(|driver| *driver.borrow_mut() = Some(baton.clone()));
                    // One reactor `block_on` for the thread's life, as the Rust SDK's loop has:
                    // `async-io` wakes its own thread at the end of each.
                    let mut serve = || {
                        logi_plugin_transports::block_on(async {
                            while let Some(item) =
                                futures_lite::future::or(items.next(), baton.driven()).await
                            {
                                baton.entered();
                                // A bug of ours must not end the thread: later callbacks still
                                // run. The panic hook has already printed it.
                                if let Err(panic) = catch_unwind(AssertUnwindSafe(|| deliver(item)))
                                {
                                    eprintln!(
                                        "logi_plugin: a callback's dispatch failed: {}",
                                        panic_text(panic.as_ref())
                                    );
                                }
                                baton.left();
                            }
                        })
                    };
                    // A panic of the connection ends it (see `Drive`'s drop); what is queued is
                    // still delivered.
                    while let Err(panic) = catch_unwind(AssertUnwindSafe(&mut serve)) {
                        eprintln!(
                            "logi_plugin: the client's connection failed: {}",
                            panic_text(panic.as_ref())
                        );
                    }
                })
                .map_err(spawn_failed)?
        };
        let standby = {
            let baton = baton.clone();
            std::thread::Builder::new()
                .name(format!("{name}-connection"))
                .spawn(move || baton.stand_by())
                .map_err(spawn_failed)?
        };
        lock(&baton.state).standby = Some(standby.thread().clone());
        Ok(Threads {
            baton,
            callbacks,
            standby,
        })
    }

    /// The thread the callbacks run on.
    pub(crate) fn callback_thread(&self) -> ThreadId {
        self.callbacks.thread().id()
    }

    /// Waits for the connection to end and both threads with it (every queued callback run).
    /// From the callback thread itself it drives the connection to its end and does not wait
    /// for itself: the callbacks still queued run once the current one returns.
    pub(crate) fn join(self) {
        if std::thread::current().id() == self.callback_thread() {
            logi_plugin_transports::block_on(self.baton.drive());
        } else {
            let _ = self.callbacks.join();
        }
        let _ = self.standby.join();
    }
}

/// Runs `future` on the calling thread, as every blocking function of the ABI does. On a
/// handle's callback thread it drives that handle's connection meanwhile (what it waits for
/// usually needs it); elsewhere it waits for the thread that drives it, spinning before it
/// parks and without taking `async-io`'s reactor, which serves that thread's socket.
pub(crate) fn block_on<T>(future: impl Future<Output = T>) -> T {
    match DRIVER.with(|driver| driver.borrow().clone()) {
        Some(baton) => baton.drive_until(future),
        None => logi_plugin_transports::run::wait(future),
    }
}

/// A connection passed between the threads that may drive it, and what the standby thread
/// needs to know of the callbacks.
#[derive(Debug)]
struct Baton {
    state: Mutex<BatonState>,
    /// The waker the connection is always polled with, whoever drives it: a waker that changed
    /// at every hand-over would make its timers and sockets register again with `async-io`'s
    /// reactor (a system call to wake the reactor for each timer).
    waker: Waker,
    relay: Arc<Relay>,
}

impl Default for Baton {
    fn default() -> Baton {
        let relay = Arc::new(Relay::default());
        Baton {
            state: Mutex::default(),
            waker: Waker::from(relay.clone()),
            relay,
        }
    }
}

/// Passes the connection's wakes on to the thread driving it now. A wake takes the driver's
/// waker: the poll it asks for registers it again before the connection is polled, so the
/// wakes between add nothing.
#[derive(Debug, Default)]
struct Relay {
    driver: AtomicWaker,
}

impl Wake for Relay {
    fn wake(self: Arc<Self>) {
        self.driver.wake()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.driver.wake()
    }
}

#[derive(Default)]
struct BatonState {
    /// The connection, while nobody drives it.
    connection: Option<Connection>,
    /// The connection has ended (or failed, or was never driven): nothing to drive any more.
    ended: bool,
    /// Drivers waiting for the connection to be put back.
    waiting: Vec<Waker>,
    /// How many callbacks have started: the standby takes over when a callback is the same
    /// at two looks.
    started: u64,
    in_callback: bool,
    /// The standby, driving while a callback blocks, to wake when it returns.
    returned: Option<Waker>,
    /// The standby thread, to wake when the connection ends or, asleep for idleness, when a
    /// callback starts.
    standby: Option<Thread>,
    /// The standby sleeps until a callback starts (no callback for [`IDLE_LOOKS`] looks).
    standby_idle: bool,
}

impl std::fmt::Debug for BatonState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatonState")
            .field("held", &self.connection.is_none())
            .field("ended", &self.ended)
            .field("started", &self.started)
            .field("in_callback", &self.in_callback)
            .finish_non_exhaustive()
    }
}

impl Baton {
    /// Runs `future` to its end on this thread, driving the connection whenever it is free.
    /// Without the reactor, as a call inside a callback: the callback thread's own loop holds a
    /// reactor `block_on` for its life already (`async-io`'s thread serves the reactor while
    /// the call waits longer than its spin).
    fn drive_until<T>(&self, future: impl Future<Output = T>) -> T {
        logi_plugin_transports::run::wait(futures_lite::future::or(future, self.driven()))
    }

    /// Drives the connection whenever this thread can hold it, and never ends: once the
    /// connection has, what the caller waits for beside it comes (or fails) without it.
    async fn driven<T>(&self) -> T {
        self.drive().await;
        std::future::pending().await
    }

    /// Drives the connection whenever this thread can hold it; ready once it has ended.
    fn drive(&self) -> Drive<'_> {
        Drive {
            baton: self,
            held: None,
            polling: false,
        }
    }

    /// Marks the connection ended (dropping it if nobody holds it), waking whoever waits.
    fn end(&self) {
        let (connection, waiting, returned, standby) = {
            let mut state = lock(&self.state);
            state.ended = true;
            (
                state.connection.take(),
                std::mem::take(&mut state.waiting),
                state.returned.take(),
                state.standby.clone(),
            )
        };
        // Dropped outside the lock: its drop may wake other threads' futures.
        drop(connection);
        waiting.into_iter().chain(returned).for_each(Waker::wake);
        if let Some(standby) = standby {
            standby.unpark();
        }
    }

    /// A callback starts.
    fn entered(&self) {
        let idle_standby = {
            let mut state = lock(&self.state);
            state.started += 1;
            state.in_callback = true;
            std::mem::take(&mut state.standby_idle)
                .then(|| state.standby.clone())
                .flatten()
        };
        if let Some(standby) = idle_standby {
            standby.unpark();
        }
    }

    /// The callback returned: a standby driving meanwhile gives the connection back.
    fn left(&self) {
        let returned = {
            let mut state = lock(&self.state);
            state.in_callback = false;
            state.returned.take()
        };
        if let Some(returned) = returned {
            returned.wake();
        }
    }

    /// The standby thread: drives the connection while a callback blocks, until it ends.
    fn stand_by(&self) {
        let (mut seen, mut quiet) = (0, 0);
        loop {
            // Asleep for idleness, it wakes (its park token) when a callback starts, however
            // early that is.
            if quiet >= IDLE_LOOKS {
                std::thread::park();
            } else {
                std::thread::park_timeout(LOOK);
            }
            let stuck = {
                let mut state = lock(&self.state);
                if state.ended {
                    return;
                }
                let stuck =
                    state.in_callback && state.started == seen && state.connection.is_some();
                quiet = if state.in_callback || state.started != seen {
                    0
                } else {
                    quiet.saturating_add(1)
                };
                state.standby_idle = quiet >= IDLE_LOOKS;
                seen = state.started;
                stuck
            };
            if stuck {
                let returned = std::future::poll_fn(|cx| {
                    let mut state = lock(&self.state);
                    if state.ended || !state.in_callback || state.started != seen {
                        return Poll::Ready(());
                    }
                    state.returned = Some(cx.waker().clone());
                    Poll::Pending
                });
                let driven = catch_unwind(AssertUnwindSafe(|| {
                    logi_plugin_transports::block_on(futures_lite::future::or(
                        returned,
                        self.drive(),
                    ))
                }));
                if let Err(panic) = driven {
                    eprintln!(
                        "logi_plugin: the client's connection failed: {}",
                        panic_text(panic.as_ref())
                    );
                }
            }
        }
    }
}

/// Drives the connection while it holds it; gives it back when dropped.
struct Drive<'a> {
    baton: &'a Baton,
    held: Option<Connection>,
    /// Set while the connection is polled: a drop then is its panic unwinding.
    polling: bool,
}

impl Future for Drive<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.held.is_none() {
            let mut state = lock(&this.baton.state);
            if state.ended {
                return Poll::Ready(());
            }
            match state.connection.take() {
                Some(connection) => this.held = Some(connection),
                None => {
                    if !state.waiting.iter().any(|w| w.will_wake(cx.waker())) {
                        state.waiting.push(cx.waker().clone());
                    }
                    return Poll::Pending;
                }
            }
        }
        let Some(connection) = this.held.as_mut() else {
            return Poll::Pending;
        };
        this.baton.relay.driver.register(cx.waker());
        this.polling = true;
        let polled = connection
            .as_mut()
            .poll(&mut Context::from_waker(&this.baton.waker));
        this.polling = false;
        if polled.is_pending() {
            return Poll::Pending;
        }
        this.held = None;
        this.baton.end();
        Poll::Ready(())
    }
}

impl Drop for Drive<'_> {
    fn drop(&mut self) {
        let Some(connection) = self.held.take() else {
            return;
        };
        if self.polling {
            // It panicked while polled here: it must not be polled again.
            drop(connection);
            self.baton.end();
            return;
        }
        let waiting = {
            let mut state = lock(&self.baton.state);
            state.connection = Some(connection);
            std::mem::take(&mut state.waiting)
        };
        waiting.into_iter().for_each(Waker::wake);
    }
}
