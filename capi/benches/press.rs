//! A press round trip through the C ABI beside the same through the Rust SDK it wraps: the
//! manager sends a `TriggerAction`, the plugin answers with an `ActionCellStatus`, until the
//! manager has the answer. The same minimal plugin is written twice and measured in one run:
//!
//! - `rust_sdk` (the baseline): a [`PluginClient`] whose loop answers each press with
//!   `send_response`, its runner beside the loop on one thread, as the SDK's documentation runs
//!   it;
//! - `c_abi`: the `logi_plugin_client_*` functions (through this crate's rlib), with an
//!   `extern "C"` message callback that reads the press's bytes and answers with
//!   `logi_plugin_client_send_response`, on the threads the handle starts.
//!
//! The manager is the lightest there is, the same for both: the transports' manager sessions
//! on a local socket (no host, no settings store, no rate limit), on a thread of its own that
//! keeps both connections' drivers polled, so that the heartbeat runs as in a real manager
//! between and during the measurements. Each measurement is timed on that thread, around the
//! round trips alone (`iter_custom`): handing the work to it is not counted. Both plugins live
//! in this process, each on the threads its API gives it, so both pay the same for the
//! process's placement on the CPUs; in another process they would add the same wake-ups to
//! both. After criterion's figures, alternating rounds of each give the ratio C ABI / Rust SDK
//! (target: at most 1.10x).

use std::ffi::{CStr, c_char, c_void};
use std::path::Path;
use std::ptr::null_mut;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use futures_lite::future;
use logi_plugin::*;
use logi_plugin_core::Message;
use logi_plugin_core::proto::plugin::{ActionCellStatus, TriggerAction};
use logi_plugin_core::session::{Admission, Event, ManagerConfig, Reply};
use logi_plugin_sdk::{ClientConfig, ClientEvent, Endpoint, PluginClient};
use logi_plugin_transports::local::LocalListener;
use logi_plugin_transports::{ManagerConnection, ManagerDriver, ManagerListener, block_on};
use prost::Message as _;

const RUST_PLUGIN: &str = "com.example.bench.rust";
const C_PLUGIN: &str = "com.example.bench.c";
const CODE: &str = "code";
const TRIGGER: &CStr = c"logi.plugin.protocol.TriggerAction";
const STATUS: &CStr = c"logi.plugin.protocol.ActionCellStatus";

/// The press the manager sends.
fn press() -> TriggerAction {
    TriggerAction {
        action_instance_id: "key-1".into(),
        action_id: "count".into(),
        configuration: None,
    }
}

/// The plugin's answer to `press`, the same for both plugins.
fn status(press: TriggerAction) -> ActionCellStatus {
    ActionCellStatus {
        action_instance_id: press.action_instance_id,
        action_id: press.action_id,
        text: Some("pressed".into()),
        ..Default::default()
    }
}

/// The plugin on the Rust SDK, its runner and its loop on one thread.
fn rust_plugin(endpoint: &Path) -> (PluginClient, JoinHandle<()>) {
    let mut config = ClientConfig::new(RUST_PLUGIN, "1.0.0", CODE);
    config.endpoint = Endpoint::parse(endpoint.to_str().unwrap());
    let (client, runner) = PluginClient::new(config);
    let plugin = client.clone();
    let thread = std::thread::Builder::new()
        .name("rust-plugin".into())
        .spawn(move || {
            block_on(future::zip(runner, async {
                while let Some(event) = plugin.next_event().await {
                    if let ClientEvent::Request { id, message } = event {
                        let reply = match message {
                            Message::TriggerAction(press) => Reply::Message(status(press).into()),
                            _ => Reply::Ok,
                        };
                        plugin.send_response(id, reply).await.unwrap();
                    }
                }
            }));
        })
        .unwrap();
    (client, thread)
}

/// The plugin's message callback through the C ABI: `user_data` is its handle.
unsafe extern "C" fn on_message(
    user_data: *mut c_void,
    type_name: *const c_char,
    data: *const u8,
    len: usize,
    message_id: u32,
) {
    let client = user_data.cast::<LogiPluginClient>();
    if message_id == 0 {
        return;
    }
    // SAFETY: NUL-terminated, valid during the call.
    if unsafe { CStr::from_ptr(type_name) } != TRIGGER {
        // SAFETY: the live handle.
        unsafe { logi_plugin_client_send_ok_response(client, message_id) };
        return;
    }
    let body = if len == 0 {
        &[][..]
    } else {
        // SAFETY: `len` readable bytes at `data`, valid during the call.
        unsafe { std::slice::from_raw_parts(data, len) }
    };
    let answer = status(TriggerAction::decode(body).unwrap()).encode_to_vec();
    // SAFETY: the live handle, a NUL-terminated name, `answer.len()` readable bytes.
    let code = unsafe {
        logi_plugin_client_send_response(
            client,
            message_id,
            STATUS.as_ptr(),
            answer.as_ptr(),
            answer.len(),
        )
    };
    assert_eq!(code, LOGI_SUCCESS);
}

/// Drops the client's log lines (its connects and disconnects), which would go to stderr.
unsafe extern "C" fn quiet(_user_data: *mut c_void, _line: *const c_char) {}

/// The same plugin through the C ABI; the handle, freed by the caller.
fn c_plugin(endpoint: &Path) -> *mut LogiPluginClient {
    let mut client = null_mut();
    let endpoint = std::ffi::CString::new(endpoint.to_str().unwrap()).unwrap();
    let (id, version, code) = (
        std::ffi::CString::new(C_PLUGIN).unwrap(),
        c"1.0.0",
        std::ffi::CString::new(CODE).unwrap(),
    );
    // SAFETY: NUL-terminated strings and a writable out-parameter; the callback's user data is
    // the handle, alive until it is freed, after which no callback runs.
    unsafe {
        assert_eq!(
            logi_plugin_client_new(id.as_ptr(), version.as_ptr(), code.as_ptr(), &mut client),
            LOGI_SUCCESS
        );
        assert_eq!(
            logi_plugin_client_set_endpoint(client, endpoint.as_ptr()),
            LOGI_SUCCESS
        );
        assert_eq!(
            logi_plugin_client_set_message_handler(client, Some(on_message), client.cast()),
            LOGI_SUCCESS
        );
        assert_eq!(
            logi_plugin_client_set_log_function(client, Some(quiet), null_mut()),
            LOGI_SUCCESS
        );
        assert_eq!(logi_plugin_client_connect(client), LOGI_SUCCESS);
    }
    client
}

/// Work for the manager's thread: `n` presses of plugin `plugin` (0: Rust SDK, 1: C ABI),
/// answered with the time they took.
struct Job {
    plugin: usize,
    n: u64,
    done: async_channel::Sender<Duration>,
}

/// The manager: its thread, and the queue of its work.
struct Manager {
    jobs: async_channel::Sender<Job>,
    thread: JoinHandle<()>,
}

impl Manager {
    /// Accepts the two plugins (the Rust one first) on `listener`, then serves jobs until
    /// every sender is gone, with both connections' drivers polled all along.
    fn start(mut listener: ManagerListener, c_plugin: impl FnOnce() + Send + 'static) -> Manager {
        let (jobs, queue) = async_channel::unbounded::<Job>();
        let thread = std::thread::Builder::new()
            .name("manager".into())
            .spawn(move || {
                let rust = accepted(&mut listener);
                c_plugin();
                let c = accepted(&mut listener);
                let [(rust, mut rust_driver), (c, mut c_driver)] = [rust, c];
                let plugins = [rust, c];
                let serve = async {
                    while let Ok(job) = queue.recv().await {
                        let connection = &plugins[job.plugin];
                        let start = Instant::now();
                        for _ in 0..job.n {
                            let answer = connection
                                .request(press(), Duration::from_secs(5))
                                .await
                                .unwrap();
                            assert!(
                                matches!(answer.message, Some(Message::ActionCellStatus(_))),
                                "{:?}",
                                answer.response
                            );
                        }
                        let _ = job.done.send(start.elapsed()).await;
                    }
                };
                let drivers = async {
                    future::zip(&mut rust_driver, &mut c_driver).await;
                    panic!("the manager's sessions closed during the run");
                };
                block_on(future::or(serve, drivers));
            })
            .unwrap();
        Manager { jobs, thread }
    }

    /// How long `n` presses of `plugin` took, timed on the manager's thread.
    fn presses(&self, plugin: usize, n: u64) -> Duration {
        let (done, took) = async_channel::bounded(1);
        self.jobs.send_blocking(Job { plugin, n, done }).unwrap();
        took.recv_blocking().unwrap()
    }
}

/// The next plugin's connection, once its hello is admitted.
fn accepted(listener: &mut ManagerListener) -> (ManagerConnection, ManagerDriver) {
    let (connection, mut driver) = block_on(listener.accept()).unwrap();
    block_on(future::or(
        async {
            (&mut driver).await;
            panic!("the manager closed during the handshake");
        },
        async { while !matches!(connection.next_event().await, Some(Event::Connected(_))) {} },
    ));
    (connection, driver)
}

/// The median of `rounds`.
fn median(mut rounds: Vec<Duration>) -> Duration {
    rounds.sort();
    rounds[rounds.len() / 2]
}

fn press_round_trip(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("manager.sock");
    let registry: std::collections::HashMap<String, String> = [
        (RUST_PLUGIN.to_string(), CODE.to_string()),
        (C_PLUGIN.to_string(), CODE.to_string()),
    ]
    .into();
    let mut config = ManagerConfig::new("1.0.0");
    config.rate_limit = None;
    let listener = ManagerListener::new(config, Admission::new(Arc::new(registry)))
        .with_local(LocalListener::bind(&socket).unwrap());
    let (rust_client, rust_thread) = rust_plugin(&socket);
    // The handle crosses to the manager's thread, which connects it once the Rust plugin is
    // in, so the two are told apart by their order.
    let (handle_tx, handle_rx) = std::sync::mpsc::channel::<usize>();
    let c_socket = socket.clone();
    let manager = Manager::start(listener, move || {
        handle_tx.send(c_plugin(&c_socket) as usize).unwrap()
    });
    let c_client = handle_rx.recv().unwrap() as *mut LogiPluginClient;

    let names = ["rust_sdk", "c_abi"];
    let mut group = c.benchmark_group("press_round_trip");
    for (plugin, name) in names.iter().enumerate() {
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter_custom(|n| manager.presses(plugin, n));
        });
    }
    group.finish();

    // Alternating rounds: both plugins under the same conditions, moment by moment.
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let (rounds, per_round) = if measuring { (51, 5_000) } else { (1, 10) };
    let mut took: [Vec<Duration>; 2] = Default::default();
    for _ in 0..rounds {
        for (plugin, took) in took.iter_mut().enumerate() {
            took.push(manager.presses(plugin, per_round) / per_round as u32);
        }
    }
    let [rust, c_abi] = took.map(median);
    println!(
        "press round trip, median of {rounds} alternating rounds of {per_round}: Rust SDK {rust:?}, C ABI {c_abi:?}: C ABI / Rust SDK {:.3}x (target <= 1.10x)",
        c_abi.as_secs_f64() / rust.as_secs_f64()
    );

    // The manager stops first: its drivers end with it, not under it.
    drop(manager.jobs);
    manager.thread.join().unwrap();
    // SAFETY: the live handle, freed once.
    unsafe { logi_plugin_client_free(c_client) };
    rust_client.disconnect();
    rust_thread.join().unwrap();
}

criterion_group!(benches, press_round_trip);
criterion_main!(benches);
