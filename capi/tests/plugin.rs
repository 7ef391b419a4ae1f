//! A plugin made through the C ABI, against a plugin manager in the test's process: it
//! connects, receives the manager's requests through its message callback on the client's
//! callback thread, answers them with messages sent as bytes, and its own requests' answers
//! reach their callbacks.

mod support;

use std::ffi::{c_char, c_void};
use std::ptr::{null, null_mut};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use logi_plugin::*;
use logi_plugin_core::Message;
use logi_plugin_core::proto::plugin::{
    ActionCellStatus, RetryAfter, Settings, SettingsRequest, TriggerAction,
};
use logi_plugin_core::session::{Event, Reply, Session};
use logi_plugin_transports::ManagerConnection;
use prost::Message as _;
use support::{Manager, c, last_error, read, until, within};

/// A request's outcome as its callback got it: code, description, answer type, answer bytes.
type Outcome = (i32, String, Option<String>, Vec<u8>);

/// What the plugin's callbacks saw, and the handle they answer through.
#[derive(Default)]
struct Seen {
    client: Mutex<usize>,
    connects: Mutex<u32>,
    /// (type name, message id, the callback's thread name)
    messages: Mutex<Vec<(String, u32, String)>>,
    disconnects: Mutex<Vec<(String, bool)>>,
    answers: Mutex<Vec<Outcome>>,
    log: Mutex<Vec<String>>,
    /// The `interval` of each `RetryAfter` the message callback got.
    retry_after_intervals: Mutex<Vec<u32>>,
    /// Messages and answers in the order their callbacks got them: `message <type>`, `answer`.
    calls: Mutex<Vec<String>>,
}

impl Seen {
    fn client(&self) -> *mut LogiPluginClient {
        *self.client.lock().unwrap() as *mut LogiPluginClient
    }
}

/// The plugin: a press is answered with an `ActionCellStatus` "pressed <instance>".
unsafe extern "C" fn on_message(
    user_data: *mut c_void,
    type_name: *const c_char,
    data: *const u8,
    len: usize,
    message_id: u32,
) {
    // SAFETY: `user_data` is the test's `Seen`, alive until the client is freed.
    let seen = unsafe { &*(user_data as *const Seen) };
    // SAFETY: valid during the call.
    let type_name = unsafe { read(type_name) }.unwrap();
    let thread = std::thread::current().name().unwrap_or("").to_string();
    seen.messages
        .lock()
        .unwrap()
        .push((type_name.clone(), message_id, thread));
    seen.calls
        .lock()
        .unwrap()
        .push(format!("message {type_name}"));
    if type_name == "logi.plugin.protocol.RetryAfter" {
        // SAFETY: `len` bytes at `data`, valid during the call.
        let body = unsafe { std::slice::from_raw_parts(data, len) };
        let retry = RetryAfter::decode(body).unwrap();
        seen.retry_after_intervals
            .lock()
            .unwrap()
            .push(retry.interval);
    }
    if type_name == "logi.plugin.protocol.TriggerAction" {
        // SAFETY: `len` bytes at `data`, valid during the call.
        let body = unsafe { std::slice::from_raw_parts(data, len) };
        let trigger = TriggerAction::decode(body).unwrap();
        let status = ActionCellStatus {
            action_instance_id: trigger.action_instance_id.clone(),
            action_id: trigger.action_id,
            text: Some(format!("pressed {}", trigger.action_instance_id)),
            ..Default::default()
        }
        .encode_to_vec();
        let status_type = c("logi.plugin.protocol.ActionCellStatus");
        // SAFETY: the live handle, a valid string, readable bytes.
        let code = unsafe {
            logi_plugin_client_send_response(
                seen.client(),
                message_id,
                status_type.as_ptr(),
                status.as_ptr(),
                status.len(),
            )
        };
        assert_eq!(code, LOGI_SUCCESS, "{}", last_error());
    }
}

unsafe extern "C" fn on_connect(user_data: *mut c_void) {
    // SAFETY: the test's `Seen`.
    let seen = unsafe { &*(user_data as *const Seen) };
    *seen.connects.lock().unwrap() += 1;
}

unsafe extern "C" fn on_disconnect(user_data: *mut c_void, reason: *const c_char, stopped: bool) {
    // SAFETY: the test's `Seen`; `reason` valid during the call.
    let (seen, reason) = unsafe { (&*(user_data as *const Seen), read(reason).unwrap()) };
    seen.disconnects.lock().unwrap().push((reason, stopped));
}

unsafe extern "C" fn on_log(user_data: *mut c_void, line: *const c_char) {
    // SAFETY: the test's `Seen`; `line` valid during the call.
    let (seen, line) = unsafe { (&*(user_data as *const Seen), read(line).unwrap()) };
    seen.log.lock().unwrap().push(line);
}

unsafe extern "C" fn on_response(
    user_data: *mut c_void,
    code: i32,
    description: *const c_char,
    type_name: *const c_char,
    data: *const u8,
    len: usize,
) {
    // SAFETY: the test's `Seen`; the pointers valid during the call.
    unsafe {
        let seen = &*(user_data as *const Seen);
        let body = if len == 0 {
            Vec::new()
        } else {
            std::slice::from_raw_parts(data, len).to_vec()
        };
        seen.answers.lock().unwrap().push((
            code,
            read(description).unwrap(),
            read(type_name),
            body,
        ));
        seen.calls.lock().unwrap().push("answer".into());
    }
}

/// A plugin client with every callback set, connecting to `manager`.
fn connect(manager: &Manager, seen: &Seen) -> *mut LogiPluginClient {
    let client = configured(manager, seen);
    // SAFETY: the live handle.
    assert_eq!(unsafe { logi_plugin_client_connect(client) }, LOGI_SUCCESS);
    client
}

/// A plugin client with every callback set, for `manager`, not connected yet.
fn configured(manager: &Manager, seen: &Seen) -> *mut LogiPluginClient {
    let client = manager.client();
    *seen.client.lock().unwrap() = client as usize;
    let user_data = seen as *const Seen as *mut c_void;
    // SAFETY: the live handle; `seen` outlives it (freed in the test).
    unsafe {
        logi_plugin_client_set_message_handler(client, Some(on_message), user_data);
        logi_plugin_client_set_connect_handler(client, Some(on_connect), user_data);
        logi_plugin_client_set_disconnect_handler(client, Some(on_disconnect), user_data);
        logi_plugin_client_set_log_function(client, Some(on_log), user_data);
    }
    client
}

/// [`connect`], and the manager's side once both sides have seen the handshake.
fn connected(manager: &Manager, seen: &Seen) -> (*mut LogiPluginClient, ManagerConnection) {
    let client = connect(manager, seen);
    (client, manager.handshake(client))
}

#[test]
fn a_press_reaches_the_message_callback_and_its_status_sent_as_bytes_reaches_the_manager() {
    let manager = Manager::start();
    let seen = Seen::default();
    let (client, connection) = connected(&manager, &seen);
    let press = TriggerAction {
        action_instance_id: "key-1".into(),
        action_id: "count".into(),
        configuration: None,
    };
    let answer = within(connection.request(press, Duration::from_secs(5))).unwrap();
    assert!(answer.response.is_ok(), "{:?}", answer.response);
    match answer.message {
        Some(Message::ActionCellStatus(status)) => {
            assert_eq!(status.text.as_deref(), Some("pressed key-1"));
            assert_eq!(status.action_id, "count");
        }
        other => panic!("expected the plugin's ActionCellStatus, got {other:?}"),
    }
    let messages = seen.messages.lock().unwrap().clone();
    let types: Vec<&str> = messages.iter().map(|(name, ..)| name.as_str()).collect();
    assert_eq!(
        types,
        [
            "logi.plugin.protocol.ManagerHello",
            "logi.plugin.protocol.TriggerAction"
        ]
    );
    assert_eq!(messages[0].1, 0, "the hello is no request");
    assert_ne!(messages[1].1, 0, "a press is a request");
    for (_, _, thread) in &messages {
        assert_eq!(thread, "logi-plugin-callbacks");
    }
    assert_eq!(*seen.connects.lock().unwrap(), 1);
    // SAFETY: the live handle, freed once; `seen` outlives it.
    unsafe { logi_plugin_client_free(client) };
    let disconnects = seen.disconnects.lock().unwrap().clone();
    assert_eq!(disconnects.last().map(|(_, stopped)| *stopped), Some(true));
    let log = seen.log.lock().unwrap().clone();
    assert!(
        log.first()
            .is_some_and(|line| line.starts_with("connected to the plugin manager")),
        "{log:?}"
    );
}

#[test]
fn a_retry_after_reaches_the_message_callback_with_what_is_left_of_its_window() {
    let manager = Manager::start();
    let seen = Seen::default();
    let (client, connection) = connected(&manager, &seen);
    within(connection.notify(RetryAfter { interval: 2_000 })).unwrap();
    // The hello's callback, then the RetryAfter's (the callbacks run in order), or nothing
    // more after a while; the client freed before judging, so that `seen` outlives it.
    let retry = "logi.plugin.protocol.RetryAfter";
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while seen.messages.lock().unwrap().len() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: the live handle, freed once.
    unsafe { logi_plugin_client_free(client) };
    let messages = seen.messages.lock().unwrap().clone();
    let types: Vec<(&str, u32)> = messages
        .iter()
        .map(|(name, id, _)| (name.as_str(), *id))
        .collect();
    assert_eq!(
        types,
        [("logi.plugin.protocol.ManagerHello", 0), (retry, 0)]
    );
    let left = seen.retry_after_intervals.lock().unwrap().clone();
    assert!(
        matches!(left.as_slice(), [left] if (1_000..=2_000).contains(left)),
        "{left:?}"
    );
}

/// The plugin asks for its `step` setting, the answer for [`on_response`]; the request's id, as
/// the manager got it and the call gave it back.
fn ask_for_step(client: *mut LogiPluginClient, seen: &Seen, connection: &ManagerConnection) -> u32 {
    let ask = SettingsRequest {
        setting_name: "step".into(),
    }
    .encode_to_vec();
    let mut id = 0;
    // SAFETY: the live handle, a valid string, readable bytes, `seen` outlives the client.
    let code = unsafe {
        logi_plugin_client_send_message_with_callback(
            client,
            c("logi.plugin.protocol.SettingsRequest").as_ptr(),
            ask.as_ptr(),
            ask.len(),
            5_000,
            Some(on_response),
            seen as *const Seen as *mut c_void,
            &mut id,
        )
    };
    assert_eq!(code, LOGI_SUCCESS, "{}", last_error());
    let request = match within(connection.next_event()) {
        Some(Event::Request {
            id: request,
            message: Message::SettingsRequest(ask),
        }) => {
            assert_eq!(ask.setting_name, "step");
            request
        }
        other => panic!("expected the plugin's SettingsRequest, got {other:?}"),
    };
    assert_eq!(request, id, "the id given back is the request's");
    request
}

/// The answer to [`ask_for_step`].
fn step(value: &str) -> Settings {
    Settings {
        setting_name: "step".into(),
        setting_value: value.into(),
        ..Default::default()
    }
}

#[test]
fn a_request_of_the_plugin_gets_its_answer_through_its_callback() {
    let manager = Manager::start();
    let seen = Seen::default();
    let (client, connection) = connected(&manager, &seen);
    let request = ask_for_step(client, &seen, &connection);
    let stored = step("5");
    within(connection.respond(request, Reply::Message(stored.clone().into()))).unwrap();
    until("the answer's callback ran", || {
        !seen.answers.lock().unwrap().is_empty()
    });
    let (code, description, type_name, body) = seen.answers.lock().unwrap()[0].clone();
    assert_eq!((code, description.as_str()), (LOGI_SUCCESS, ""));
    assert_eq!(type_name.as_deref(), Some("logi.plugin.protocol.Settings"));
    assert_eq!(Settings::decode(body.as_slice()).unwrap(), stored);
    // SAFETY: the live handle, freed once.
    unsafe { logi_plugin_client_free(client) };
}

/// The manager pushes the setting and then answers the request in one write, so the plugin
/// reads both at once: the message callback gets the push before the answer's callback runs.
#[test]
fn an_answer_reaches_its_callback_after_the_messages_that_came_before_it() {
    let manager = Manager::start();
    let seen = Seen::default();
    let (client, connection) = connected(&manager, &seen);
    let request = ask_for_step(client, &seen, &connection);
    let sent = within(connection.with(move |session, now| {
        let pushed = session.send_notification(now, step("6"));
        pushed.map_err(|refused| refused.error)?;
        session.respond(now, request, Reply::Message(step("6").into()))
    }));
    sent.unwrap().unwrap();
    until("the answer's callback ran", || {
        !seen.answers.lock().unwrap().is_empty()
    });
    let calls = seen.calls.lock().unwrap().clone();
    assert_eq!(
        calls[calls.len() - 2..],
        ["message logi.plugin.protocol.Settings", "answer"]
    );
    // SAFETY: the live handle, freed once.
    unsafe { logi_plugin_client_free(client) };
}

#[test]
fn a_request_nobody_answers_calls_back_cancelled_after_its_timeout() {
    let manager = Manager::start();
    let seen = Seen::default();
    let (client, connection) = connected(&manager, &seen);
    // SAFETY: the live handle, a valid string, an empty message, `seen` outlives the client.
    let code = unsafe {
        logi_plugin_client_send_message_with_callback(
            client,
            c("logi.plugin.protocol.SettingsRequest").as_ptr(),
            null(),
            0,
            50,
            Some(on_response),
            &seen as *const Seen as *mut c_void,
            null_mut(),
        )
    };
    assert_eq!(code, LOGI_SUCCESS, "{}", last_error());
    until("the answer's callback ran", || {
        !seen.answers.lock().unwrap().is_empty()
    });
    let (code, description, type_name, _) = seen.answers.lock().unwrap()[0].clone();
    assert_eq!(code, LOGI_CANCELLED);
    assert_eq!(description, "no answer within the timeout");
    assert_eq!(type_name, None);
    // SAFETY: the live handle, freed once.
    unsafe { logi_plugin_client_free(client) };
    drop(connection);
}

#[test]
fn without_a_message_handler_a_request_is_refused_not_implemented() {
    let manager = Manager::start();
    let seen = Seen::default();
    let client = connect(&manager, &seen);
    // SAFETY: the live handle; null removes the handler.
    unsafe { logi_plugin_client_set_message_handler(client, None, null_mut()) };
    let connection = manager.next_connection();
    assert!(matches!(
        within(connection.next_event()),
        Some(Event::Connected(_))
    ));
    let answer =
        within(connection.request(TriggerAction::default(), Duration::from_secs(5))).unwrap();
    assert_eq!(answer.response.result, LOGI_NOT_IMPLEMENTED);
    assert_eq!(
        answer.response.what,
        "no message handler is set: logi.plugin.protocol.TriggerAction refused"
    );
    // SAFETY: the live handle, freed once.
    unsafe { logi_plugin_client_free(client) };
}

/// Frees the client from inside its own callback, at the manager's hello.
unsafe extern "C" fn free_at_hello(
    user_data: *mut c_void,
    _type_name: *const c_char,
    _data: *const u8,
    _len: usize,
    _message_id: u32,
) {
    // SAFETY: the test's `Seen`; its client is live until this frees it.
    let seen = unsafe { &*(user_data as *const Seen) };
    // SAFETY: the live handle, freed once, here.
    unsafe { logi_plugin_client_free(seen.client()) };
    seen.log.lock().unwrap().push("freed".into());
}

#[test]
fn a_callback_may_free_its_own_client_and_no_callback_runs_after() {
    let manager = Manager::start();
    let seen = Seen::default();
    // Set before connecting: the hello may come at once.
    let client = configured(&manager, &seen);
    // SAFETY: the live handle; `seen` outlives it.
    unsafe {
        logi_plugin_client_set_log_function(client, None, null_mut());
        logi_plugin_client_set_message_handler(
            client,
            Some(free_at_hello),
            &seen as *const Seen as *mut c_void,
        );
        assert_eq!(logi_plugin_client_connect(client), LOGI_SUCCESS);
    }
    let connection = manager.next_connection();
    assert!(matches!(
        within(connection.next_event()),
        Some(Event::Connected(_))
    ));
    until("the callback freed the client", || {
        !seen.log.lock().unwrap().is_empty()
    });
    // The connection closes, and the disconnect handler, queued after the free, never runs.
    within(connection.closed());
    // What was queued behind the free is dropped at once; give a wrong delivery time to show.
    std::thread::sleep(Duration::from_millis(50));
    assert!(seen.disconnects.lock().unwrap().is_empty());
    assert_eq!(*seen.log.lock().unwrap(), ["freed"]);
}

/// [`on_message`], after a sleep of 2.5 s for each press: a callback that blocks on something
/// of its own.
unsafe extern "C" fn on_message_slowly(
    user_data: *mut c_void,
    type_name: *const c_char,
    data: *const u8,
    len: usize,
    message_id: u32,
) {
    // SAFETY: valid during the call.
    if unsafe { read(type_name) }.as_deref() == Some("logi.plugin.protocol.TriggerAction") {
        std::thread::sleep(Duration::from_millis(2_500));
    }
    // SAFETY: the arguments as this callback got them.
    unsafe { on_message(user_data, type_name, data, len, message_id) }
}

/// A press for the action instance `key`.
fn press(key: &str) -> TriggerAction {
    TriggerAction {
        action_instance_id: key.into(),
        action_id: "count".into(),
        configuration: None,
    }
}

#[test]
fn a_callback_that_blocks_keeps_its_heartbeat_and_another_clients_callbacks_running() {
    // A Pong must come within 250 ms of each Ping, every 50 ms: ten times less than the
    // callback blocks.
    let slow_manager = Manager::start_with(|config| {
        config.heartbeat_interval = Duration::from_millis(50);
        config.heartbeat_timeout = Duration::from_millis(250);
    });
    let other_manager = Manager::start();
    let (slow_seen, other_seen) = (Seen::default(), Seen::default());
    let slow = connect(&slow_manager, &slow_seen);
    // SAFETY: the live handle; `slow_seen` outlives it.
    unsafe {
        logi_plugin_client_set_message_handler(
            slow,
            Some(on_message_slowly),
            &slow_seen as *const Seen as *mut c_void,
        )
    };
    let slow_connection = slow_manager.handshake(slow);
    let (other, other_connection) = connected(&other_manager, &other_seen);
    let started = Instant::now();
    let (slow_answer, (other_answer, other_answered_after)) = within(futures_lite::future::zip(
        slow_connection.request(press("slow-key"), Duration::from_secs(5)),
        async {
            // Well inside the slow callback's sleep.
            async_io::Timer::after(Duration::from_millis(300)).await;
            let answer = other_connection
                .request(press("other-key"), Duration::from_secs(5))
                .await;
            (answer, started.elapsed())
        },
    ));
    let slow_answered_after = started.elapsed();
    let text = |answer: logi_plugin_transports::Answer| match answer.message {
        Some(Message::ActionCellStatus(status)) => status.text,
        other => panic!("expected the plugin's ActionCellStatus, got {other:?}"),
    };
    assert_eq!(
        text(other_answer.unwrap()).as_deref(),
        Some("pressed other-key")
    );
    assert!(
        other_answered_after < Duration::from_millis(2_000),
        "the other client answered after {other_answered_after:?}, not while the slow callback slept"
    );
    // The same connection answers after the sleep: no heartbeat was missed meanwhile.
    assert_eq!(
        text(slow_answer.unwrap()).as_deref(),
        Some("pressed slow-key")
    );
    assert!(slow_answered_after >= Duration::from_millis(2_500));
    // SAFETY: the live handle.
    assert!(unsafe { logi_plugin_client_is_connected(slow) });
    assert_eq!(*slow_seen.connects.lock().unwrap(), 1);
    assert!(slow_seen.disconnects.lock().unwrap().is_empty());
    // SAFETY: the live handles, freed once; the `Seen`s outlive them.
    unsafe {
        logi_plugin_client_free(slow);
        logi_plugin_client_free(other);
    }
}
