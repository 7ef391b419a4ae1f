//! Analog buffers through the C ABI: a plugin's own buffer, given as a `logi_buffer_vtable`,
//! merges a dial's turns on a client connected to a manager in the test's process; the
//! built-in buffers as handles merge as Rust's do, on the caller's clock.

mod support;

use std::ffi::{c_char, c_void};
use std::ptr::null_mut;
use std::sync::Mutex;
use std::time::Duration;

use futures_lite::future::zip;
use logi_plugin::*;
use logi_plugin_core::proto::plugin::UpdateAnalogControl;
use logi_plugin_core::proto::plugin::update_analog_control::UpdateType;
use logi_plugin_transports::ManagerConnection;
use prost::Message as _;
use support::{Manager, c, last_error, until, within};

/// A buffer of the plugin's own: holds every turn until three have come, then releases their
/// sum under the newest request id; the older two are reported superseded.
#[derive(Default)]
struct SumOfThree {
    state: Mutex<Sum>,
    /// The thread of each call, and which call.
    calls: Mutex<Vec<(String, &'static str)>>,
    dropped: Mutex<u32>,
}

#[derive(Default)]
struct Sum {
    held: Option<(u32, UpdateAnalogControl)>,
    count: u32,
    /// The bytes `poll_ready` hands out, kept until the next call.
    ready: Vec<u8>,
    now_us: u64,
}

impl SumOfThree {
    /// # Safety
    /// `user_data` is a live `SumOfThree`.
    unsafe fn from<'a>(user_data: *mut c_void, call: &'static str) -> &'a SumOfThree {
        // SAFETY: the caller's contract.
        let buffer = unsafe { &*(user_data as *const SumOfThree) };
        let thread = std::thread::current().name().unwrap_or("").to_string();
        buffer.calls.lock().unwrap().push((thread, call));
        buffer
    }

    fn vtable(&self) -> LogiBufferVtable {
        LogiBufferVtable {
            user_data: self as *const SumOfThree as *mut c_void,
            on_update: Some(sum_on_update),
            on_response: None,
            handle_timeout: None,
            poll_ready: Some(sum_poll_ready),
            poll_timeout: Some(sum_poll_timeout),
            pending_len: Some(sum_pending_len),
            reset: Some(sum_reset),
            drop: Some(sum_drop),
        }
    }
}

unsafe extern "C" fn sum_on_update(
    user_data: *mut c_void,
    now_us: u64,
    request_id: u32,
    data: *const u8,
    len: usize,
    out_superseded: *mut u32,
) -> i32 {
    // SAFETY: the test's buffer; `len` bytes at `data` during the call.
    let (buffer, bytes) = unsafe {
        (
            SumOfThree::from(user_data, "on_update"),
            std::slice::from_raw_parts(data, len),
        )
    };
    let update = UpdateAnalogControl::decode(bytes).unwrap();
    let mut sum = buffer.state.lock().unwrap();
    sum.now_us = now_us;
    sum.count += 1;
    match sum.held.take() {
        None => {
            sum.held = Some((request_id, update));
            LOGI_BUFFER_HELD
        }
        Some((older, mut merged)) => {
            let (Some(UpdateType::Delta(a)), Some(UpdateType::Delta(b))) =
                (merged.update_type, update.update_type)
            else {
                panic!("the test turns by deltas");
            };
            merged.update_type = Some(UpdateType::Delta(a + b));
            sum.held = Some((request_id, merged));
            // SAFETY: writable during the call.
            unsafe { out_superseded.write(older) };
            LOGI_BUFFER_HELD_SUPERSEDING
        }
    }
}

unsafe extern "C" fn sum_poll_ready(
    user_data: *mut c_void,
    _now_us: u64,
    out_request_id: *mut u32,
    out_data: *mut *const u8,
    out_len: *mut usize,
) -> bool {
    // SAFETY: the test's buffer.
    let buffer = unsafe { SumOfThree::from(user_data, "poll_ready") };
    let mut sum = buffer.state.lock().unwrap();
    if sum.count < 3 {
        return false;
    }
    sum.count = 0;
    let (id, update) = sum.held.take().unwrap();
    sum.ready = update.encode_to_vec();
    // SAFETY: writable during the call; the bytes stay in `ready` until the next call.
    unsafe {
        out_request_id.write(id);
        out_data.write(sum.ready.as_ptr());
        out_len.write(sum.ready.len());
    }
    true
}

unsafe extern "C" fn sum_poll_timeout(user_data: *mut c_void, out_at_us: *mut u64) -> bool {
    // SAFETY: the test's buffer.
    let buffer = unsafe { SumOfThree::from(user_data, "poll_timeout") };
    let sum = buffer.state.lock().unwrap();
    // Three held: due now.
    if sum.count >= 3 {
        // SAFETY: writable during the call.
        unsafe { out_at_us.write(sum.now_us) };
    }
    sum.count >= 3
}

unsafe extern "C" fn sum_pending_len(user_data: *mut c_void) -> usize {
    // SAFETY: the test's buffer.
    let buffer = unsafe { SumOfThree::from(user_data, "pending_len") };
    usize::from(buffer.state.lock().unwrap().held.is_some())
}

unsafe extern "C" fn sum_reset(user_data: *mut c_void) {
    // SAFETY: the test's buffer.
    let buffer = unsafe { SumOfThree::from(user_data, "reset") };
    *buffer.state.lock().unwrap() = Sum::default();
}

unsafe extern "C" fn sum_drop(user_data: *mut c_void) {
    // SAFETY: the test's buffer; called once, last.
    let buffer = unsafe { &*(user_data as *const SumOfThree) };
    *buffer.dropped.lock().unwrap() += 1;
}

/// The plugin: answers every update ok and keeps its movement.
#[derive(Default)]
struct Plugin {
    client: Mutex<usize>,
    deltas: Mutex<Vec<f32>>,
}

unsafe extern "C" fn on_message(
    user_data: *mut c_void,
    type_name: *const c_char,
    data: *const u8,
    len: usize,
    message_id: u32,
) {
    // SAFETY: the test's `Plugin`, alive until the client is freed; the rest valid during
    // the call.
    let (plugin, type_name) = unsafe { (&*(user_data as *const Plugin), support::read(type_name)) };
    if type_name.as_deref() != Some("logi.plugin.protocol.UpdateAnalogControl") {
        return;
    }
    // SAFETY: `len` bytes at `data` during the call.
    let update = UpdateAnalogControl::decode(unsafe { std::slice::from_raw_parts(data, len) });
    if let Some(UpdateType::Delta(delta)) = update.unwrap().update_type {
        plugin.deltas.lock().unwrap().push(delta);
    }
    let client = *plugin.client.lock().unwrap() as *mut LogiPluginClient;
    // SAFETY: the live handle.
    assert_eq!(
        unsafe { logi_plugin_client_send_ok_response(client, message_id) },
        LOGI_SUCCESS
    );
}

/// A client of `manager` answering through `plugin`, not yet connected.
fn client(manager: &Manager, plugin: &Plugin) -> *mut LogiPluginClient {
    let client = manager.client();
    *plugin.client.lock().unwrap() = client as usize;
    // SAFETY: the live handle; `plugin` outlives it.
    unsafe {
        logi_plugin_client_set_message_handler(
            client,
            Some(on_message),
            plugin as *const Plugin as *mut c_void,
        );
    }
    client
}

/// Registers `buffer` as `sum-of-three` on `client` and the control `volume` to it.
fn register(client: *mut LogiPluginClient, buffer: &SumOfThree) {
    let vtable = buffer.vtable();
    let (control, key) = (c("volume"), c("sum-of-three"));
    // SAFETY: the live handle, valid strings and vtable; `buffer` outlives the client.
    unsafe {
        let code = logi_plugin_client_register_custom_buffer(client, key.as_ptr(), &vtable);
        assert_eq!(code, LOGI_SUCCESS, "{}", last_error());
        let code = logi_plugin_client_enable_control_buffering(
            client,
            &control.as_ptr(),
            &key.as_ptr(),
            1,
        );
        assert_eq!(code, LOGI_SUCCESS, "{}", last_error());
    }
}

/// The manager turns the dial by 1, 2 and 3 at once; each turn's answer.
fn three_turns(connection: &ManagerConnection) {
    let turn = |delta| {
        connection.request(
            UpdateAnalogControl {
                analog_control_id: "volume".into(),
                instance_id: "dial-1".into(),
                configuration: None,
                update_type: Some(UpdateType::Delta(delta)),
            },
            Duration::from_secs(5),
        )
    };
    let ((first, second), third) = within(zip(zip(turn(1.0), turn(2.0)), turn(3.0)));
    for answer in [first, second, third] {
        let answer = answer.unwrap();
        assert!(answer.response.is_ok(), "{:?}", answer.response);
    }
}

#[test]
fn a_custom_buffer_through_the_vtable_releases_three_turns_as_one_and_every_turn_is_answered() {
    let manager = Manager::start();
    let (plugin, buffer) = (Plugin::default(), SumOfThree::default());
    let client = client(&manager, &plugin);
    register(client, &buffer);
    // SAFETY: the live handle.
    assert_eq!(unsafe { logi_plugin_client_connect(client) }, LOGI_SUCCESS);
    let connection = manager.handshake(client);
    three_turns(&connection);
    until("the merged turn reached the plugin", || {
        !plugin.deltas.lock().unwrap().is_empty()
    });
    assert_eq!(*plugin.deltas.lock().unwrap(), [6.0]);

    let calls = buffer.calls.lock().unwrap().clone();
    assert_eq!(
        calls.first().map(|(_, call)| *call),
        Some("reset"),
        "{calls:?}"
    );
    assert_eq!(
        calls
            .iter()
            .filter(|(_, call)| *call == "on_update")
            .count(),
        3
    );
    for (thread, call) in &calls {
        // Whichever of the client's threads drives the connection: the callback thread, or the
        // standby while a callback blocks.
        assert!(
            ["logi-plugin-callbacks", "logi-plugin-connection"].contains(&thread.as_str()),
            "{call} on {thread}"
        );
    }
    assert_eq!(*buffer.dropped.lock().unwrap(), 0);
    // SAFETY: the live handle, freed once; `plugin` and `buffer` outlive it.
    unsafe { logi_plugin_client_free(client) };
    assert_eq!(
        *buffer.dropped.lock().unwrap(),
        1,
        "dropped once, at the free"
    );
}

#[test]
fn a_custom_buffer_registered_on_a_connected_client_serves_that_connection() {
    let manager = Manager::start();
    let (plugin, buffer) = (Plugin::default(), SumOfThree::default());
    let client = client(&manager, &plugin);
    // SAFETY: the live handle.
    assert_eq!(unsafe { logi_plugin_client_connect(client) }, LOGI_SUCCESS);
    let connection = manager.handshake(client);
    register(client, &buffer);
    three_turns(&connection);
    until("the merged turn reached the plugin", || {
        !plugin.deltas.lock().unwrap().is_empty()
    });
    assert_eq!(*plugin.deltas.lock().unwrap(), [6.0]);
    // SAFETY: the live handle, freed once.
    unsafe { logi_plugin_client_free(client) };
    assert_eq!(*buffer.dropped.lock().unwrap(), 1);
}

fn turn_bytes(delta: f32) -> Vec<u8> {
    UpdateAnalogControl {
        analog_control_id: "volume".into(),
        instance_id: "dial-1".into(),
        configuration: None,
        update_type: Some(UpdateType::Delta(delta)),
    }
    .encode_to_vec()
}

/// Gives `buffer` a turn at `now_us`: the admission and the superseded id.
fn update(buffer: *mut LogiBuffer, now_us: u64, id: u32, delta: f32) -> (i32, u32) {
    let bytes = turn_bytes(delta);
    let (mut admission, mut superseded) = (-1, 0);
    // SAFETY: a live handle, readable bytes, writable out-parameters.
    let code = unsafe {
        logi_buffer_on_update(
            buffer,
            now_us,
            id,
            bytes.as_ptr(),
            bytes.len(),
            &mut admission,
            &mut superseded,
        )
    };
    assert_eq!(code, LOGI_SUCCESS, "{}", last_error());
    (admission, superseded)
}

/// What `buffer` has ready at `now_us`.
fn ready(buffer: *mut LogiBuffer, now_us: u64) -> Option<(u32, UpdateAnalogControl)> {
    let (mut is_ready, mut id) = (false, 0);
    let mut bytes = LogiBytes {
        data: null_mut(),
        len: 0,
    };
    // SAFETY: a live handle, writable out-parameters; the bytes are freed once.
    unsafe {
        let code = logi_buffer_poll_ready(buffer, now_us, &mut is_ready, &mut id, &mut bytes);
        assert_eq!(code, LOGI_SUCCESS, "{}", last_error());
        let update = (!bytes.data.is_null()).then(|| {
            UpdateAnalogControl::decode(std::slice::from_raw_parts(bytes.data, bytes.len)).unwrap()
        });
        logi_bytes_free(bytes);
        is_ready.then(|| (id, update.unwrap_or_default()))
    }
}

/// When `buffer` next has work, if it waits on time.
fn timeout(buffer: *mut LogiBuffer) -> Option<u64> {
    let (mut waits, mut at) = (false, 0);
    // SAFETY: a live handle, writable out-parameters.
    let code = unsafe { logi_buffer_poll_timeout(buffer, &mut waits, &mut at) };
    assert_eq!(code, LOGI_SUCCESS, "{}", last_error());
    waits.then_some(at)
}

#[test]
fn a_timer_buffer_handle_merges_a_window_on_the_callers_clock() {
    let mut buffer = null_mut();
    // SAFETY: a writable out-parameter.
    assert_eq!(
        unsafe { logi_buffer_new_timer(20, 0, &mut buffer) },
        LOGI_SUCCESS
    );
    assert_eq!(update(buffer, 1_000, 1, 1.0), (LOGI_BUFFER_DISPATCH, 0));
    assert_eq!(update(buffer, 5_000, 2, 2.0), (LOGI_BUFFER_HELD, 0));
    assert_eq!(
        update(buffer, 9_000, 3, 3.0),
        (LOGI_BUFFER_HELD_SUPERSEDING, 2)
    );
    // SAFETY: a live handle.
    assert_eq!(unsafe { logi_buffer_pending_len(buffer) }, 1);
    assert_eq!(
        timeout(buffer),
        Some(21_000),
        "the window opened at 1 ms ends at 21 ms"
    );
    assert_eq!(ready(buffer, 20_999), None);
    // SAFETY: a live handle.
    assert_eq!(
        unsafe { logi_buffer_handle_timeout(buffer, 21_000) },
        LOGI_SUCCESS
    );
    let (id, merged) = ready(buffer, 21_000).unwrap();
    assert_eq!((id, merged.update_type), (3, Some(UpdateType::Delta(5.0))));
    assert_eq!(merged.analog_control_id, "volume");
    assert_eq!(ready(buffer, 21_000), None);
    // SAFETY: the live handle, freed once.
    unsafe { logi_buffer_free(buffer) };
}

#[test]
fn a_throughput_buffer_handle_releases_the_merged_turn_when_the_one_in_flight_is_answered() {
    let mut buffer = null_mut();
    // SAFETY: a writable out-parameter.
    assert_eq!(
        unsafe { logi_buffer_new_throughput(0, &mut buffer) },
        LOGI_SUCCESS
    );
    assert_eq!(update(buffer, 0, 1, 1.0), (LOGI_BUFFER_DISPATCH, 0));
    assert_eq!(update(buffer, 0, 2, 2.0), (LOGI_BUFFER_HELD, 0));
    assert_eq!(update(buffer, 0, 3, 3.0), (LOGI_BUFFER_HELD_SUPERSEDING, 2));
    assert_eq!(ready(buffer, 0), None);
    assert_eq!(timeout(buffer), None, "nothing waits on time");
    // SAFETY: a live handle.
    assert_eq!(
        unsafe { logi_buffer_on_response(buffer, 10, 1) },
        LOGI_SUCCESS
    );
    let (id, merged) = ready(buffer, 10).unwrap();
    assert_eq!((id, merged.update_type), (3, Some(UpdateType::Delta(5.0))));
    // SAFETY: the live handle, freed once.
    unsafe { logi_buffer_free(buffer) };
}
