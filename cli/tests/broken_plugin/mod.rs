//! A deliberately broken plugin for the conformance kit's tests, written on the core's codecs
//! alone (the SDK would do everything right). It says hello properly, answers actions and
//! analog updates, but never answers `Ping`, ignores `RetryAfter` (it sends a status of its own
//! with every action), and answers a request of an unknown type `INVALID_ARG` instead of
//! `NOT_IMPLEMENTED`. The conformance tests run it as the process of an ignored test.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use bytes::BytesMut;
use logi_plugin_core::codec::frame::{DEFAULT_MAX_FRAME_LEN, FrameDecoder, encode_frame};
use logi_plugin_core::codec::{DecodeError, binary};
use logi_plugin_core::proto::plugin::update_analog_control::UpdateType;
use logi_plugin_core::proto::plugin::{ActionCellStatus, AnalogControlStatus, PluginHello};
use logi_plugin_core::{Envelope, Message, ResponseCode, ResponseInfo};

/// Runs the broken plugin until the manager closes the connection.
pub fn run() {
    let token = std::env::var("token").expect("the kit sets `token`");
    let endpoint = std::env::var("LOGI_PLUGIN_ENDPOINT").expect("the kit sets the endpoint");
    let mut stream = UnixStream::connect(endpoint).expect("the kit listens");
    let hello = PluginHello {
        plugin_id: "com.example.broken".into(),
        plugin_code: token,
        plugin_version: "0.0.1".into(),
        protocol_version: 1,
    };
    send(&mut stream, &Envelope::request(1, hello));
    let mut frames = FrameDecoder::new(DEFAULT_MAX_FRAME_LEN);
    let mut value = 50.0f32;
    let mut buf = [0u8; 4096];
    loop {
        let read = match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        frames.push(&buf[..read]);
        while let Ok(Some(frame)) = frames.next_frame() {
            for answer in answer(binary::decode(frame), &mut value) {
                send(&mut stream, &answer);
            }
        }
    }
}

/// What the broken plugin sends for one frame.
fn answer(received: Result<Envelope, DecodeError>, value: &mut f32) -> Vec<Envelope> {
    let ok = ResponseInfo::ok;
    let envelope = match received {
        // Wrong: an unknown type URL deserves NOT_IMPLEMENTED.
        Err(DecodeError::Message { id, .. }) => {
            let wrong = ResponseInfo::error(ResponseCode::InvalidArg, "cannot read it");
            return vec![Envelope::response(id, wrong, None)];
        }
        Err(_) => return Vec::new(),
        Ok(envelope) if envelope.response.is_some() => return Vec::new(),
        Ok(envelope) => envelope,
    };
    let id = envelope.id;
    match envelope.message {
        // Wrong: never answered.
        Some(Message::Ping(_)) | Some(Message::RetryAfter(_)) => Vec::new(),
        Some(Message::TriggerAction(trigger)) => {
            let status = ActionCellStatus {
                action_instance_id: trigger.action_instance_id,
                action_id: trigger.action_id,
                text: Some("pressed".into()),
                ..ActionCellStatus::default()
            };
            // Wrong: a status of its own at once, inside any RetryAfter window.
            vec![
                Envelope::response(id, ok(), Some(status.clone().into())),
                Envelope::request(0, status),
            ]
        }
        Some(Message::UpdateAnalogControl(update)) => {
            match update.update_type {
                Some(UpdateType::Delta(delta)) => *value += delta,
                Some(UpdateType::Value(set)) => *value = set,
                None => {}
            }
            let status = dial(update.analog_control_id, update.instance_id, *value);
            vec![Envelope::response(id, ok(), Some(status.into()))]
        }
        Some(Message::GetAnalogControlValue(get)) => {
            let status = dial(get.analog_control_id, get.instance_id, *value);
            vec![Envelope::response(id, ok(), Some(status.into()))]
        }
        _ if id == 0 => Vec::new(),
        _ => {
            let refusal = ResponseInfo::error(ResponseCode::NotImplemented, "not handled");
            vec![Envelope::response(id, refusal, None)]
        }
    }
}

fn dial(control: String, instance: String, value: f32) -> AnalogControlStatus {
    AnalogControlStatus {
        analog_control_id: control,
        analog_control_instance_id: instance,
        current_value: Some(value),
        ..AnalogControlStatus::default()
    }
}

fn send(stream: &mut UnixStream, envelope: &Envelope) {
    let mut buf = BytesMut::new();
    encode_frame(envelope, DEFAULT_MAX_FRAME_LEN, &mut buf).expect("a small envelope");
    let _ = stream.write_all(&buf);
}
