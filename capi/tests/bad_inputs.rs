//! Every bad input through the C ABI is refused with its result code and a message naming the
//! argument and the value, and nothing happens: null pointers, strings that are not UTF-8,
//! bytes that are not a message of their type, type names the protocol does not have, calls
//! made in the wrong state.

mod support;

use std::ffi::c_char;
use std::ptr::{null, null_mut};

use logi_plugin::*;
use prost::Message as _;
use support::{c, last_error, not_utf8};

/// A plugin client configured to connect nowhere yet.
fn plugin_client() -> *mut LogiPluginClient {
    let mut client = null_mut();
    // SAFETY: valid strings, a writable out-parameter.
    let code = unsafe {
        logi_plugin_client_new(
            c("com.example.capi").as_ptr(),
            c("1.0.0").as_ptr(),
            c("code").as_ptr(),
            &mut client,
        )
    };
    assert_eq!(code, LOGI_SUCCESS, "{}", last_error());
    client
}

/// A client library trying a socket where no manager listens.
fn library_client(dir: &tempfile::TempDir) -> *mut LogiManagerClient {
    let endpoint = c(dir.path().join("nobody.sock").to_str().unwrap());
    let mut client = null_mut();
    // SAFETY: valid strings, no callback, a writable out-parameter.
    let code = unsafe {
        logi_manager_client_connect(
            c("Options+").as_ptr(),
            c("1.0").as_ptr(),
            endpoint.as_ptr(),
            None,
            null_mut(),
            &mut client,
        )
    };
    assert_eq!(code, LOGI_SUCCESS, "{}", last_error());
    client
}

#[test]
fn a_null_plugin_id_is_an_invalid_argument_and_no_handle_is_made() {
    let mut client = null_mut();
    // SAFETY: null is what is tested; the others are valid.
    let code = unsafe {
        logi_plugin_client_new(null(), c("1.0.0").as_ptr(), c("code").as_ptr(), &mut client)
    };
    assert_eq!(code, LOGI_INVALID_ARG);
    assert_eq!(last_error(), "plugin_id is null");
    assert!(client.is_null());
}

#[test]
fn a_plugin_id_that_is_not_utf8_is_an_invalid_argument_showing_the_bytes() {
    let mut client = null_mut();
    // SAFETY: NUL-terminated strings, a writable out-parameter.
    let code = unsafe {
        logi_plugin_client_new(
            not_utf8().as_ptr(),
            c("1.0.0").as_ptr(),
            c("code").as_ptr(),
            &mut client,
        )
    };
    assert_eq!(code, LOGI_INVALID_ARG);
    let error = last_error();
    assert!(
        error.starts_with("plugin_id is not UTF-8") && error.ends_with("\"a\u{FFFD}b\""),
        "{error}"
    );
}

#[test]
fn a_null_out_parameter_is_an_invalid_argument() {
    // SAFETY: null is what is tested; the strings are valid.
    let code = unsafe {
        logi_plugin_client_new(
            c("com.example.capi").as_ptr(),
            c("1.0.0").as_ptr(),
            c("code").as_ptr(),
            null_mut(),
        )
    };
    assert_eq!(code, LOGI_INVALID_ARG);
    assert_eq!(last_error(), "out_client is null");
}

#[test]
fn a_null_secret_reads_the_token_variable_and_says_so_when_it_is_not_set() {
    if std::env::var_os("token").is_some() {
        println!("skipped: this test's environment sets `token`");
        return;
    }
    let mut client = null_mut();
    // SAFETY: a null secret is allowed; the rest is valid.
    let code = unsafe {
        logi_plugin_client_new(
            c("com.example.capi").as_ptr(),
            c("1.0.0").as_ptr(),
            null(),
            &mut client,
        )
    };
    assert_eq!(code, LOGI_INVALID_ARG);
    assert_eq!(
        last_error(),
        "secret is null and the `token` environment variable (the plugin's secret) is not set"
    );
}

#[test]
fn a_null_handle_is_an_invalid_argument_for_every_call_and_false_or_nothing_for_the_others() {
    let status = b"\x0a\x01x";
    let type_name = c("logi.plugin.protocol.ActionCellStatus");
    // SAFETY: null handles are what is tested; every other argument is valid.
    unsafe {
        let codes = [
            logi_plugin_client_connect(null_mut()),
            logi_plugin_client_set_endpoint(null_mut(), c("/tmp/x").as_ptr()),
            logi_plugin_client_set_use_text_format(null_mut(), true),
            logi_plugin_client_set_message_handler(null_mut(), None, null_mut()),
            logi_plugin_client_disconnect(null_mut()),
            logi_plugin_client_wait_for_disconnect(null_mut()),
            logi_plugin_client_send_message(null_mut(), type_name.as_ptr(), status.as_ptr(), 3),
            logi_plugin_client_send_ok_response(null_mut(), 1),
            logi_manager_client_disconnect(null_mut()),
            logi_manager_client_plugin_list(null_mut(), &mut LogiBytes_empty()),
        ];
        for code in codes {
            assert_eq!(code, LOGI_INVALID_ARG);
            assert_eq!(last_error(), "client is null");
        }
        assert!(!logi_plugin_client_is_connected(null()));
        assert!(!logi_manager_client_is_connected(null()));
        logi_plugin_client_free(null_mut());
        logi_manager_client_free(null_mut());
    }
}

/// An empty `logi_bytes`, as C would declare one for an out-parameter.
#[allow(non_snake_case)]
fn LogiBytes_empty() -> LogiBytes {
    LogiBytes {
        data: null_mut(),
        len: 0,
    }
}

/// The two calls that take a message: `send_message`, which decodes it, and `send_response`
/// (to request 1), which checks it without decoding; each with the handle, the type name and
/// the bytes.
type SendsMessage = unsafe fn(*mut LogiPluginClient, *const c_char, *const u8, usize) -> i32;

const SENDS_MESSAGE: [(&str, SendsMessage); 2] = [
    ("send_message", |client, type_name, data, len| unsafe {
        // SAFETY: the caller's arguments, passed on.
        logi_plugin_client_send_message(client, type_name, data, len)
    }),
    ("send_response", |client, type_name, data, len| unsafe {
        // SAFETY: the caller's arguments, passed on.
        logi_plugin_client_send_response(client, 1, type_name, data, len)
    }),
];

#[test]
fn bytes_that_are_not_a_message_of_their_type_are_an_invalid_argument_naming_the_type() {
    let client = plugin_client();
    // A field 1 of length 5 with one byte behind it.
    let truncated = [0x0a, 0x05, b'x'];
    let type_name = c("logi.plugin.protocol.ActionCellStatus");
    for (name, send) in SENDS_MESSAGE {
        // SAFETY: a live handle, valid strings, 3 readable bytes.
        let code = unsafe { send(client, type_name.as_ptr(), truncated.as_ptr(), 3) };
        assert_eq!(code, LOGI_INVALID_ARG, "{name}");
        let error = last_error();
        assert!(
            error.starts_with("bytes: malformed logi.plugin.protocol.ActionCellStatus body"),
            "{name}: {error}"
        );
    }
    // SAFETY: a live handle, freed once.
    unsafe { logi_plugin_client_free(client) };
}

#[test]
fn a_type_name_the_protocol_does_not_have_is_not_implemented() {
    let client = plugin_client();
    let type_name = c("logi.plugin.protocol.NoSuchMessage");
    for (name, send) in SENDS_MESSAGE {
        // SAFETY: a live handle, a valid string, no bytes.
        let code = unsafe { send(client, type_name.as_ptr(), null(), 0) };
        assert_eq!(code, LOGI_NOT_IMPLEMENTED, "{name}");
        assert_eq!(
            last_error(),
            "bytes: unknown message type URL \"logi.plugin.protocol.NoSuchMessage\"",
            "{name}"
        );
    }
    // SAFETY: a live handle, freed once.
    unsafe { logi_plugin_client_free(client) };
}

#[test]
fn a_type_name_that_is_not_utf8_is_an_invalid_argument() {
    let client = plugin_client();
    // SAFETY: a live handle, a NUL-terminated string, no bytes.
    let code = unsafe { logi_plugin_client_send_message(client, not_utf8().as_ptr(), null(), 0) };
    assert_eq!(code, LOGI_INVALID_ARG);
    assert!(last_error().starts_with("type_name is not UTF-8"));
    // SAFETY: a live handle, freed once.
    unsafe { logi_plugin_client_free(client) };
}

#[test]
fn null_bytes_with_a_length_are_an_invalid_argument() {
    let client = plugin_client();
    let type_name = c("logi.plugin.protocol.ActionCellStatus");
    // SAFETY: null data is what is tested.
    let code = unsafe { logi_plugin_client_send_message(client, type_name.as_ptr(), null(), 4) };
    assert_eq!(code, LOGI_INVALID_ARG);
    assert_eq!(last_error(), "bytes is null but its length is 4");
    // SAFETY: a live handle, freed once.
    unsafe { logi_plugin_client_free(client) };
}

#[test]
fn sending_before_connecting_is_not_ready() {
    let client = plugin_client();
    let type_name = c("logi.plugin.protocol.ActionCellStatus");
    // SAFETY: a live handle, a valid string, no bytes (an empty message).
    let code = unsafe { logi_plugin_client_send_message(client, type_name.as_ptr(), null(), 0) };
    assert_eq!(code, LOGI_NOT_READY);
    assert_eq!(
        last_error(),
        "the client is not connected: call logi_plugin_client_connect first"
    );
    // SAFETY: a live handle, freed once.
    unsafe { logi_plugin_client_free(client) };
}

#[test]
fn an_error_response_must_carry_an_error_code_of_the_seed() {
    let client = plugin_client();
    for code in [LOGI_SUCCESS, LOGI_INVALID, -99] {
        // SAFETY: a live handle, a null description (allowed).
        let got = unsafe { logi_plugin_client_send_error_response(client, 7, code, null()) };
        assert_eq!(got, LOGI_INVALID_ARG);
        assert_eq!(
            last_error(),
            format!(
                "code {code} is not an error code of the seed (LOGI_INVALID_ARG to LOGI_CONFLICT)"
            )
        );
    }
    // SAFETY: a live handle, freed once.
    unsafe { logi_plugin_client_free(client) };
}

#[test]
fn a_buffer_key_that_names_no_buffer_is_an_invalid_argument_before_connecting() {
    let client = plugin_client();
    let (controls, keys) = (c("volume"), c("sideways"));
    let (controls, keys) = ([controls.as_ptr()], [keys.as_ptr()]);
    // SAFETY: a live handle, arrays of one valid string each.
    let code = unsafe {
        logi_plugin_client_enable_control_buffering(client, controls.as_ptr(), keys.as_ptr(), 1)
    };
    assert_eq!(code, LOGI_INVALID_ARG);
    assert_eq!(
        last_error(),
        "buffer_keys: control \"volume\" is registered to buffer \"sideways\", which does not exist"
    );
    // SAFETY: null arrays are what is tested.
    let code =
        unsafe { logi_plugin_client_enable_control_buffering(client, null(), keys.as_ptr(), 1) };
    assert_eq!(code, LOGI_INVALID_ARG);
    assert_eq!(last_error(), "control_ids is null");
    // SAFETY: a live handle, freed once.
    unsafe { logi_plugin_client_free(client) };
}

#[test]
fn configuring_or_connecting_a_connected_client_is_an_invalid_verb() {
    let dir = tempfile::tempdir().unwrap();
    let client = plugin_client();
    let endpoint = c(dir.path().join("nobody.sock").to_str().unwrap());
    // SAFETY: a live handle, a valid string.
    unsafe {
        assert_eq!(
            logi_plugin_client_set_endpoint(client, endpoint.as_ptr()),
            LOGI_SUCCESS
        );
        assert_eq!(logi_plugin_client_connect(client), LOGI_SUCCESS);
        assert_eq!(
            logi_plugin_client_set_use_text_format(client, true),
            LOGI_INVALID_VERB
        );
        assert_eq!(
            last_error(),
            "the client is already connected: configure it before logi_plugin_client_connect"
        );
        assert_eq!(logi_plugin_client_connect(client), LOGI_INVALID_VERB);
        assert!(last_error().starts_with("the client has connected before"));
        logi_plugin_client_free(client);
    }
}

#[test]
fn the_client_library_refuses_bytes_that_are_not_an_invoke() {
    let dir = tempfile::tempdir().unwrap();
    let client = library_client(&dir);
    let mut result = LogiBytes_empty();
    let garbage = [0xff, 0xff, 0xff];
    // SAFETY: a live handle, 3 readable bytes, a writable out-parameter.
    let code = unsafe { logi_manager_client_invoke(client, garbage.as_ptr(), 3, &mut result) };
    assert_eq!(code, LOGI_INVALID_ARG);
    assert!(
        last_error().starts_with("data is not a logi.protocol.plugin_manager.Invoke message"),
        "{}",
        last_error()
    );
    assert!(result.data.is_null());
    // SAFETY: a live handle, freed once.
    unsafe { logi_manager_client_free(client) };
}

#[test]
fn a_client_library_call_without_a_manager_is_not_ready_and_waiting_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let client = library_client(&dir);
    let invoke = logi_plugin_core::proto::manager::Invoke::default().encode_to_vec();
    let mut result = LogiBytes_empty();
    // SAFETY: a live handle, readable bytes, a writable out-parameter.
    unsafe {
        let code = logi_manager_client_invoke(client, invoke.as_ptr(), invoke.len(), &mut result);
        assert_eq!(code, LOGI_NOT_READY);
        assert_eq!(last_error(), "not connected to the plugin manager");
        assert_eq!(
            logi_manager_client_wait_connected(client, 50),
            LOGI_CANCELLED
        );
        assert_eq!(
            last_error(),
            "not connected to the plugin manager within 50ms"
        );
        logi_manager_client_free(client);
    }
}

#[test]
fn a_null_out_parameter_of_the_client_library_is_an_invalid_argument() {
    let dir = tempfile::tempdir().unwrap();
    let client = library_client(&dir);
    // SAFETY: a live handle; null out-parameters are what is tested.
    unsafe {
        assert_eq!(
            logi_manager_client_plugin_list(client, null_mut()),
            LOGI_INVALID_ARG
        );
        assert_eq!(last_error(), "out_list is null");
        assert_eq!(
            logi_manager_client_development_mode(client, null_mut()),
            LOGI_INVALID_ARG
        );
        assert_eq!(last_error(), "out_enabled is null");
        logi_manager_client_free(client);
    }
}

#[test]
fn opening_a_url_that_is_not_a_web_page_is_an_invalid_argument() {
    // SAFETY: a valid string.
    let code = unsafe { logi_open_url(c("file:///etc/passwd").as_ptr()) };
    assert_eq!(code, LOGI_INVALID_ARG);
    assert_eq!(
        last_error(),
        "url: refusing to open \"file:///etc/passwd\": only http:// and https:// URLs are opened"
    );
}

#[test]
fn a_secret_call_with_a_null_name_or_out_parameter_is_an_invalid_argument() {
    let mut value = LogiBytes_empty();
    // SAFETY: nulls are what is tested; the rest is valid.
    unsafe {
        assert_eq!(
            logi_save_secret(c("Counter").as_ptr(), null(), c("v").as_ptr()),
            LOGI_INVALID_ARG
        );
        assert_eq!(last_error(), "name is null");
        assert_eq!(
            logi_load_secret(c("Counter").as_ptr(), c("token").as_ptr(), null_mut()),
            LOGI_INVALID_ARG
        );
        assert_eq!(last_error(), "out_value is null");
        assert_eq!(
            logi_delete_secret(null(), c("token").as_ptr()),
            LOGI_INVALID_ARG
        );
        assert_eq!(last_error(), "plugin_name is null");
        assert_eq!(
            logi_load_secret(null(), c("token").as_ptr(), &mut value),
            LOGI_INVALID_ARG
        );
        assert!(value.data.is_null());
        logi_bytes_free(value);
    }
}

unsafe extern "C" fn hold_nothing(
    _: *mut std::ffi::c_void,
    _: u64,
    _: u32,
    _: *const u8,
    _: usize,
    _: *mut u32,
) -> i32 {
    LOGI_BUFFER_DISPATCH
}

unsafe extern "C" fn nothing_ready(
    _: *mut std::ffi::c_void,
    _: u64,
    _: *mut u32,
    _: *mut *const u8,
    _: *mut usize,
) -> bool {
    false
}

unsafe extern "C" fn no_timeout(_: *mut std::ffi::c_void, _: *mut u64) -> bool {
    false
}

unsafe extern "C" fn none_pending(_: *mut std::ffi::c_void) -> usize {
    0
}

unsafe extern "C" fn forget(_: *mut std::ffi::c_void) {}

/// Counts its calls in the `u32` its `user_data` points to.
unsafe extern "C" fn count_drop(user_data: *mut std::ffi::c_void) {
    // SAFETY: the test's counter, alive while the client is.
    unsafe { *(user_data as *mut u32) += 1 };
}

/// A vtable of a buffer that dispatches everything, its `drop` counting into `drops`.
fn dispatching_vtable(drops: &mut u32) -> LogiBufferVtable {
    LogiBufferVtable {
        user_data: drops as *mut u32 as *mut std::ffi::c_void,
        on_update: Some(hold_nothing),
        on_response: None,
        handle_timeout: None,
        poll_ready: Some(nothing_ready),
        poll_timeout: Some(no_timeout),
        pending_len: Some(none_pending),
        reset: Some(forget),
        drop: Some(count_drop),
    }
}

#[test]
fn a_custom_buffer_with_a_null_required_function_is_an_invalid_argument_and_not_taken() {
    let client = plugin_client();
    let mut drops = 0;
    let mut vtable = dispatching_vtable(&mut drops);
    vtable.poll_ready = None;
    // SAFETY: a live handle, a valid name; the null function is what is tested.
    let code =
        unsafe { logi_plugin_client_register_custom_buffer(client, c("mine").as_ptr(), &vtable) };
    assert_eq!(code, LOGI_INVALID_ARG);
    assert_eq!(
        last_error(),
        "vtable->poll_ready is null (buffer \"mine\"): it is required"
    );
    // SAFETY: a live handle, freed once.
    unsafe { logi_plugin_client_free(client) };
    assert_eq!(drops, 0, "a refused buffer stays the caller's");
}

#[test]
fn a_custom_buffer_with_a_null_name_or_vtable_or_a_name_not_utf8_is_an_invalid_argument() {
    let client = plugin_client();
    let mut drops = 0;
    let vtable = dispatching_vtable(&mut drops);
    // SAFETY: a live handle; the null or bad arguments are what is tested.
    unsafe {
        let code = logi_plugin_client_register_custom_buffer(client, null(), &vtable);
        assert_eq!(
            (code, last_error().as_str()),
            (LOGI_INVALID_ARG, "name is null")
        );
        let code = logi_plugin_client_register_custom_buffer(client, c("mine").as_ptr(), null());
        assert_eq!(
            (code, last_error().as_str()),
            (LOGI_INVALID_ARG, "vtable is null")
        );
        let code = logi_plugin_client_register_custom_buffer(client, not_utf8().as_ptr(), &vtable);
        assert_eq!(code, LOGI_INVALID_ARG);
        assert!(
            last_error().starts_with("name is not UTF-8"),
            "{}",
            last_error()
        );
        let code =
            logi_plugin_client_register_custom_buffer(null_mut(), c("mine").as_ptr(), &vtable);
        assert_eq!(
            (code, last_error().as_str()),
            (LOGI_INVALID_ARG, "client is null")
        );
        logi_plugin_client_free(client);
    }
    assert_eq!(drops, 0);
}

#[test]
fn a_custom_buffer_under_a_built_in_or_taken_name_is_a_duplicate_name_and_not_taken() {
    let client = plugin_client();
    let (mut kept, mut refused) = (0, 0);
    let (kept_vtable, refused_vtable) = (
        dispatching_vtable(&mut kept),
        dispatching_vtable(&mut refused),
    );
    // SAFETY: a live handle, valid names and vtables; the counters outlive the client.
    unsafe {
        let code =
            logi_plugin_client_register_custom_buffer(client, c("timer").as_ptr(), &refused_vtable);
        assert_eq!(code, LOGI_DUPLICATE_NAME);
        assert_eq!(
            last_error(),
            "name: a buffer is already registered under the key \"timer\""
        );
        let mine = c("mine");
        let code = logi_plugin_client_register_custom_buffer(client, mine.as_ptr(), &kept_vtable);
        assert_eq!(code, LOGI_SUCCESS, "{}", last_error());
        let code =
            logi_plugin_client_register_custom_buffer(client, mine.as_ptr(), &refused_vtable);
        assert_eq!(code, LOGI_DUPLICATE_NAME);
        // The name is one a control may now be registered to.
        let volume = c("volume");
        let code = logi_plugin_client_enable_control_buffering(
            client,
            &volume.as_ptr(),
            &mine.as_ptr(),
            1,
        );
        assert_eq!(code, LOGI_SUCCESS, "{}", last_error());
        logi_plugin_client_free(client);
    }
    assert_eq!(
        (kept, refused),
        (1, 0),
        "the kept one dropped at the free, once"
    );
}

#[test]
fn a_buffer_handle_refuses_bytes_that_are_not_an_update_and_null_arguments() {
    let mut buffer = null_mut();
    // SAFETY: a writable out-parameter.
    assert_eq!(
        unsafe { logi_buffer_new_timer(20, 0, &mut buffer) },
        LOGI_SUCCESS
    );
    let (mut admission, mut superseded) = (0, 0);
    let garbage = [0xffu8, 0xff, 0xff];
    // SAFETY: a live handle; the bad bytes and null pointers are what is tested.
    unsafe {
        let code = logi_buffer_on_update(
            buffer,
            0,
            1,
            garbage.as_ptr(),
            3,
            &mut admission,
            &mut superseded,
        );
        assert_eq!(code, LOGI_INVALID_ARG);
        assert!(
            last_error()
                .starts_with("bytes is not a logi.plugin.protocol.UpdateAnalogControl message"),
            "{}",
            last_error()
        );
        assert_eq!(logi_buffer_pending_len(buffer), 0, "nothing held");
        let code =
            logi_buffer_on_update(null_mut(), 0, 1, null(), 0, &mut admission, &mut superseded);
        assert_eq!(
            (code, last_error().as_str()),
            (LOGI_INVALID_ARG, "buffer is null")
        );
        let code = logi_buffer_on_update(buffer, 0, 1, null(), 0, null_mut(), &mut superseded);
        assert_eq!(
            (code, last_error().as_str()),
            (LOGI_INVALID_ARG, "out_admission is null")
        );
        let code = logi_buffer_poll_ready(buffer, 0, null_mut(), null_mut(), null_mut());
        assert_eq!(
            (code, last_error().as_str()),
            (LOGI_INVALID_ARG, "out_ready is null")
        );
        let code = logi_buffer_poll_timeout(null(), null_mut(), null_mut());
        assert_eq!(
            (code, last_error().as_str()),
            (LOGI_INVALID_ARG, "buffer is null")
        );
        let code = logi_buffer_on_response(null_mut(), 0, 1);
        assert_eq!(
            (code, last_error().as_str()),
            (LOGI_INVALID_ARG, "buffer is null")
        );
        let code = logi_buffer_handle_timeout(null_mut(), 0);
        assert_eq!(
            (code, last_error().as_str()),
            (LOGI_INVALID_ARG, "buffer is null")
        );
        assert_eq!(logi_buffer_pending_len(null()), 0);
        let code = logi_buffer_new_throughput(0, null_mut());
        assert_eq!(
            (code, last_error().as_str()),
            (LOGI_INVALID_ARG, "out_buffer is null")
        );
        logi_buffer_free(null_mut());
        logi_buffer_free(buffer);
    }
}
