//! The client library through the C ABI, against a plugin manager in the test's process: calls
//! block for the manager's answer and hand it out as bytes; refusals are result codes; the
//! manager's events reach the event callback, on the client's callback thread.

mod support;

use std::ffi::{c_char, c_void};
use std::ptr::null_mut;
use std::sync::Mutex;

use logi_plugin::*;
use logi_plugin_core::proto::manager::{
    Invoke, PluginDetails, PluginList, PluginUpdateResult, invoke,
};
use logi_plugin_core::proto::plugin::ActionCellStatus;
use logi_plugin_core::session::{Event, Peer, Reply};
use logi_plugin_core::{Message, ResponseCode, ResponseInfo};
use logi_plugin_transports::ManagerConnection;
use prost::Message as _;
use support::{Manager, c, last_error, read, until, within};

/// An event as the callback got it: kind, text, type name, bytes, thread name.
type Seen = (
    LogiLibraryEventKind,
    Option<String>,
    Option<String>,
    Vec<u8>,
    String,
);

unsafe extern "C" fn on_event(
    user_data: *mut c_void,
    kind: LogiLibraryEventKind,
    text: *const c_char,
    type_name: *const c_char,
    data: *const u8,
    len: usize,
) {
    // SAFETY: `user_data` is the test's list, alive until the client is freed; the pointers
    // are valid during the call.
    unsafe {
        let events = &*(user_data as *const Mutex<Vec<Seen>>);
        let body = if len == 0 {
            Vec::new()
        } else {
            std::slice::from_raw_parts(data, len).to_vec()
        };
        let thread = std::thread::current().name().unwrap_or("").to_string();
        events
            .lock()
            .unwrap()
            .push((kind, read(text), read(type_name), body, thread));
    }
}

/// A client library connected to `manager`, and the manager's side of its connection.
fn connect(
    manager: &Manager,
    events: &Mutex<Vec<Seen>>,
) -> (*mut LogiManagerClient, ManagerConnection) {
    let mut client = null_mut();
    let endpoint = manager.endpoint();
    // SAFETY: valid strings and out-parameter; `events` outlives the client.
    let code = unsafe {
        logi_manager_client_connect(
            c("Options+").as_ptr(),
            c("1.0").as_ptr(),
            endpoint.as_ptr(),
            Some(on_event),
            events as *const _ as *mut c_void,
            &mut client,
        )
    };
    assert_eq!(code, LOGI_SUCCESS, "{}", last_error());
    let connection = manager.next_connection();
    assert!(matches!(
        within(connection.next_event()),
        Some(Event::Connected(Peer::Client(_)))
    ));
    // SAFETY: the live handle.
    let code = unsafe { logi_manager_client_wait_connected(client, 10_000) };
    assert_eq!(code, LOGI_SUCCESS, "{}", last_error());
    (client, connection)
}

/// Answers the next request on `connection` with what `answer` makes of it, on a thread of
/// its own while the test's thread blocks in a call.
fn answer_next(
    connection: &ManagerConnection,
    answer: impl FnOnce(Message) -> Reply + Send + 'static,
) -> std::thread::JoinHandle<Message> {
    let connection = connection.clone();
    std::thread::spawn(move || {
        let (id, message) = match within(connection.next_event()) {
            Some(Event::Request { id, message }) => (id, message),
            other => panic!("expected a request, got {other:?}"),
        };
        within(connection.respond(id, answer(message.clone()))).unwrap();
        message
    })
}

/// Takes bytes the library handed out.
fn take(bytes: LogiBytes) -> Vec<u8> {
    let copy = if bytes.len == 0 {
        Vec::new()
    } else {
        // SAFETY: `len` bytes the library allocated, not yet freed.
        unsafe { std::slice::from_raw_parts(bytes.data, bytes.len) }.to_vec()
    };
    // SAFETY: what the library wrote, freed once.
    unsafe { logi_bytes_free(bytes) };
    copy
}

fn empty() -> LogiBytes {
    LogiBytes {
        data: null_mut(),
        len: 0,
    }
}

#[test]
fn plugin_list_hands_out_the_managers_list_as_bytes() {
    let manager = Manager::start();
    let events = Mutex::default();
    let (client, connection) = connect(&manager, &events);
    let counter = PluginDetails {
        plugin_id: "com.example.counter".into(),
        version: "1.0.0".into(),
        ..Default::default()
    };
    let list = PluginList {
        plugins: vec![counter.clone()],
    };
    let manager_side = answer_next(&connection, move |_| Reply::Message(list.into()));
    let mut out = empty();
    // SAFETY: the live handle, a writable out-parameter.
    let code = unsafe { logi_manager_client_plugin_list(client, &mut out) };
    assert_eq!(code, LOGI_SUCCESS, "{}", last_error());
    assert!(matches!(
        manager_side.join().unwrap(),
        Message::GetPluginList(_)
    ));
    assert_eq!(
        PluginList::decode(take(out).as_slice()).unwrap().plugins,
        [counter]
    );
    // SAFETY: the live handle, freed once.
    unsafe { logi_manager_client_free(client) };
}

#[test]
fn invoke_sends_the_press_and_hands_out_the_state_the_plugin_reports() {
    let manager = Manager::start();
    let events = Mutex::default();
    let (client, connection) = connect(&manager, &events);
    let reported = PluginUpdateResult {
        plugin_id: "com.example.counter".into(),
        result: Some(ResponseInfo::ok()),
        status: Some(
            logi_plugin_core::proto::manager::plugin_update_result::Status::ActionStatus(
                ActionCellStatus {
                    text: Some("1".into()),
                    ..Default::default()
                },
            ),
        ),
    };
    let answer = reported.clone();
    let manager_side = answer_next(&connection, move |_| Reply::Message(answer.into()));
    let press = Invoke {
        plugin_id: "com.example.counter".into(),
        action_id: "count".into(),
        instance_id: "key-1".into(),
        button_state: invoke::ButtonState::Down.into(),
        ..Default::default()
    };
    let bytes = press.encode_to_vec();
    let mut out = empty();
    // SAFETY: the live handle, readable bytes, a writable out-parameter.
    let code = unsafe { logi_manager_client_invoke(client, bytes.as_ptr(), bytes.len(), &mut out) };
    assert_eq!(code, LOGI_SUCCESS, "{}", last_error());
    match manager_side.join().unwrap() {
        Message::Invoke(sent) => assert_eq!(*sent, press),
        other => panic!("expected the Invoke, got {other:?}"),
    }
    assert_eq!(
        PluginUpdateResult::decode(take(out).as_slice()).unwrap(),
        reported
    );
    // SAFETY: the live handle, freed once.
    unsafe { logi_manager_client_free(client) };
}

#[test]
fn a_call_the_manager_refuses_returns_its_code_and_reason() {
    let manager = Manager::start();
    let events = Mutex::default();
    let (client, connection) = connect(&manager, &events);
    let manager_side = answer_next(&connection, |_| {
        Reply::Error(ResponseCode::NotFound, "no plugin com.example.gone".into())
    });
    // SAFETY: the live handle, a valid string.
    let code = unsafe { logi_manager_client_remove_plugin(client, c("com.example.gone").as_ptr()) };
    assert_eq!(code, LOGI_NOT_FOUND);
    assert_eq!(last_error(), "NOT_FOUND: no plugin com.example.gone");
    match manager_side.join().unwrap() {
        Message::RemovePlugin(remove) => assert_eq!(remove.plugin_id, "com.example.gone"),
        other => panic!("expected the RemovePlugin, got {other:?}"),
    }
    // SAFETY: the live handle, freed once.
    unsafe { logi_manager_client_free(client) };
}

#[test]
fn the_managers_events_reach_the_event_callback_on_the_callback_thread() {
    let manager = Manager::start();
    let events = Mutex::default();
    let (client, connection) = connect(&manager, &events);
    let state = PluginUpdateResult {
        plugin_id: "com.example.counter".into(),
        ..Default::default()
    };
    within(connection.notify(state.clone())).unwrap();
    until("the state change reached the callback", || {
        events.lock().unwrap().len() >= 2
    });
    // SAFETY: the live handle, freed once; `events` outlives it.
    unsafe { logi_manager_client_free(client) };
    let events = events.into_inner().unwrap();
    let kinds: Vec<LogiLibraryEventKind> = events.iter().map(|event| event.0).collect();
    assert_eq!(
        kinds,
        [
            LogiLibraryEventKind::LogiCommunicationEstablished,
            LogiLibraryEventKind::LogiActionStateChanged,
            LogiLibraryEventKind::LogiDisconnected,
            LogiLibraryEventKind::LogiStopped,
        ]
    );
    assert_eq!(
        events[0].2.as_deref(),
        Some("logi.plugin.protocol.ManagerHello")
    );
    let (_, text, type_name, body, _) = &events[1];
    assert_eq!(text, &None);
    assert_eq!(
        type_name.as_deref(),
        Some("logi.protocol.plugin_manager.PluginUpdateResult")
    );
    assert_eq!(PluginUpdateResult::decode(body.as_slice()).unwrap(), state);
    assert_eq!(events[2].1.as_deref(), Some("closed by this side"));
    assert_eq!(events[3].1.as_deref(), Some("closed by this side"));
    for event in &events {
        assert_eq!(event.4, "logi-library-callbacks");
    }
}
