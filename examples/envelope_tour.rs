//! A tour of the protocol foundation: builds a few representative envelopes, encodes each with
//! the binary codec (as a length-delimited stream frame) and the canonical JSON codec, decodes
//! them back, and shows what happens to input that is not right.
//!
//! Run with `cargo run --example envelope_tour`.

use bytes::BytesMut;
use logi_plugin_core::codec::frame::{DEFAULT_MAX_FRAME_LEN, FrameDecoder, encode_frame};
use logi_plugin_core::codec::{DecodeError, binary, json};
use logi_plugin_core::proto::plugin::{
    ManagerHello, PluginHello, TriggerAction, UpdateAnalogControl,
    update_analog_control::UpdateType,
};
use logi_plugin_core::{Envelope, ResponseCode, ResponseInfo};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let envelopes = [
        Envelope::request(
            1,
            PluginHello {
                plugin_id: "com.example.media".into(),
                plugin_code: "per-launch-secret".into(),
                plugin_version: "1.2.0".into(),
                protocol_version: 1,
            },
        ),
        Envelope::response(
            1,
            ResponseInfo::ok(),
            Some(
                ManagerHello {
                    manager_version: "0.1.0".into(),
                    options_version: Some("1.80".into()),
                    ghub_version: None,
                    protocol_version: 1,
                    language_code: "en-US".into(),
                }
                .into(),
            ),
        ),
        Envelope::request(
            7,
            TriggerAction {
                action_instance_id: "instance-1".into(),
                action_id: "toggle_mute".into(),
                configuration: None,
            },
        ),
        Envelope::request(
            8,
            UpdateAnalogControl {
                analog_control_id: "volume".into(),
                instance_id: "dial-1".into(),
                configuration: None,
                update_type: Some(UpdateType::Delta(-0.25)),
            },
        ),
        Envelope::response(
            9,
            ResponseInfo::error(ResponseCode::NotImplemented, "no handler for this message"),
            None,
        ),
    ];

    let mut stream = BytesMut::new();
    for envelope in &envelopes {
        let text = json::encode(envelope);
        let bytes = binary::encode_to_bytes(envelope);
        println!("{}", text);
        println!(
            "  binary: {} bytes, JSON: {} bytes",
            bytes.len(),
            text.len()
        );
        assert_eq!(&json::decode(&text)?, envelope);
        assert_eq!(&binary::decode(bytes)?, envelope);
        encode_frame(envelope, DEFAULT_MAX_FRAME_LEN, &mut stream)?;
    }

    // A byte stream split at every byte still yields every envelope.
    let mut decoder = FrameDecoder::default();
    let mut decoded = Vec::new();
    for byte in stream.chunks(1) {
        decoder.push(byte);
        while let Some(frame) = decoder.next_frame()? {
            decoded.push(binary::decode(frame)?);
        }
    }
    decoder.finish()?;
    assert_eq!(decoded, envelopes);
    println!(
        "\nstream of {} bytes fed one byte at a time: {} envelopes back",
        stream.len(),
        decoded.len()
    );

    println!("\nwhat bad input gets:");
    let unknown = r#"{"id":12,"message":{"@type":"type.googleapis.com/acme.Teleport"}}"#;
    if let Err(DecodeError::Message { id, source, .. }) = json::decode(unknown) {
        println!(
            "  {unknown}\n    -> answer request {id} with {:?}: {source}",
            source.response_code()
        );
    }
    let wrong = r#"{"id":13,"message":{"@type":"type.googleapis.com/logi.plugin.protocol.TriggerAction","actionId":5}}"#;
    if let Err(DecodeError::Message { id, source, .. }) = json::decode(wrong) {
        println!(
            "  {wrong}\n    -> answer request {id} with {:?}: {source}",
            source.response_code()
        );
    }
    let mut decoder = FrameDecoder::default();
    decoder.push(&[0xff, 0xff, 0xff, 0x7f]);
    println!(
        "  a length prefix of 268435455 bytes\n    -> close the stream: {}",
        decoder.next_frame().unwrap_err()
    );
    Ok(())
}
