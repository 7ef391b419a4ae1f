//! The C++ buffer classes (`include/logi/plugin_framework/buffer.hpp`) compile with g++
//! -std=c++17 against protoc's classes of `proto/` and the static library, and
//! `tests/cpp/buffers.cpp` runs: a `timer_buffer` merges a window on a fake clock, and a
//! `plugin_client`'s own C++ buffers (registered through `buffers()`) serve a manager in this
//! test's process, one of them throwing.
//! Without g++, protoc or pkg-config the test says so and passes, except under CI.

#![cfg(target_os = "linux")]

mod support;
mod tools;

use std::time::Duration;

use futures_lite::future::zip;
use logi_plugin_core::proto::plugin::UpdateAnalogControl;
use logi_plugin_core::proto::plugin::update_analog_control::UpdateType;
use support::{Manager, within};
use tools::build_cpp;

fn turn(control: &str, delta: f32) -> UpdateAnalogControl {
    UpdateAnalogControl {
        analog_control_id: control.into(),
        instance_id: "dial-1".into(),
        configuration: None,
        update_type: Some(UpdateType::Delta(delta)),
    }
}

#[test]
fn the_cpp_buffer_classes_merge_on_a_fake_clock_and_a_plugin_clients_own_buffers_serve_it() {
    let dir = tempfile::tempdir().unwrap();
    let Some(program) = build_cpp(dir.path(), "buffers") else {
        return;
    };
    let manager = Manager::start();
    let (child, connection) = manager.launch(&program);
    let request = |update| connection.request(update, Duration::from_secs(5));
    let ((volume, more_volume), (last_volume, jog)) = within(zip(
        zip(request(turn("volume", 1.0)), request(turn("volume", 2.0))),
        zip(request(turn("volume", 3.0)), request(turn("jog", 1.0))),
    ));
    for answer in [volume, more_volume, last_volume, jog] {
        let answer = answer.unwrap();
        assert!(answer.response.is_ok(), "{:?}", answer.response);
    }
    let output = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stdout}{stderr}");
    let mut lines: Vec<&str> = stdout.lines().collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        ["jog 1", "ok", "volume 6"],
        "the three turns merged into one"
    );
    assert!(
        stderr.contains(
            "logi_plugin: buffer \"thrower\" threw in on_update_analog_control: out of patience"
        ),
        "{stderr}"
    );
}
