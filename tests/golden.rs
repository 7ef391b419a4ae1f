//! Golden vectors from the official protobuf implementation (see `tests/vectors/README.md`):
//! our codecs read its bytes and JSON, and write them back byte for byte.

mod common;

use std::fmt::Debug;

use bytes::{Bytes, BytesMut};
use common::{from_hex, to_hex};
use logi_plugin_core::ResponseInfo;
use logi_plugin_core::codec::frame::{DEFAULT_MAX_FRAME_LEN, FrameDecoder, encode_frame};
use logi_plugin_core::codec::json::JsonMessage;
use logi_plugin_core::codec::{binary, json};
use logi_plugin_core::proto::{manager, marketplace};
use serde_json::Value;

fn vectors() -> Value {
    let text = include_str!("vectors/vectors.json");
    serde_json::from_str(text).expect("vectors.json is JSON")
}

fn cases<'a>(vectors: &'a Value, list: &str) -> &'a [Value] {
    let cases = vectors[list]
        .as_array()
        .unwrap_or_else(|| panic!("vectors.json has no list {list}"));
    assert!(!cases.is_empty(), "{list} is empty");
    cases
}

fn field<'a>(case: &'a Value, name: &str) -> &'a str {
    case[name]
        .as_str()
        .unwrap_or_else(|| panic!("case {} has no {name}", case["name"]))
}

#[test]
fn reference_envelope_bytes_decode_and_encode_back_byte_for_byte() {
    let vectors = vectors();
    for case in cases(&vectors, "envelopes") {
        let name = field(case, "name");
        let hex = field(case, "binary_hex");
        let envelope =
            binary::decode(Bytes::from(from_hex(hex))).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            to_hex(&binary::encode_to_bytes(&envelope)),
            hex,
            "{name}: binary"
        );
        assert_eq!(
            json::encode(&envelope),
            field(case, "json"),
            "{name}: JSON written from the decoded bytes"
        );
    }
}

#[test]
fn reference_envelope_json_decodes_to_the_same_envelope_and_encodes_back_byte_for_byte() {
    let vectors = vectors();
    for case in cases(&vectors, "envelopes") {
        let name = field(case, "name");
        let text = field(case, "json");
        let envelope = json::decode(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            to_hex(&binary::encode_to_bytes(&envelope)),
            field(case, "binary_hex"),
            "{name}: binary"
        );
        assert_eq!(json::encode(&envelope), text, "{name}: JSON");
    }
}

#[test]
fn json_inputs_the_reference_accepts_mean_the_same_to_us() {
    let vectors = vectors();
    for case in cases(&vectors, "json_inputs") {
        let name = field(case, "name");
        let envelope = json::decode(field(case, "input")).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            to_hex(&binary::encode_to_bytes(&envelope)),
            field(case, "binary_hex"),
            "{name}: binary"
        );
        assert_eq!(
            json::encode(&envelope),
            field(case, "json"),
            "{name}: canonical JSON"
        );
    }
}

#[test]
fn json_inputs_the_reference_rejects_are_rejected() {
    let vectors = vectors();
    for case in cases(&vectors, "json_rejects") {
        let input = field(case, "input");
        let result = json::decode(input);
        assert!(
            result.is_err(),
            "{}: accepted {input} (the reference said: {})",
            field(case, "name"),
            field(case, "reason")
        );
    }
}

fn plain_message<M: JsonMessage + prost::Message + PartialEq + Debug>(case: &Value) {
    let name = field(case, "name");
    let hex = field(case, "binary_hex");
    let text = field(case, "json");
    let message = M::decode(from_hex(hex).as_slice()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(json::to_string(&message), text, "{name}: JSON");
    let from_json: M = json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(from_json, message, "{name}");
    assert_eq!(to_hex(&from_json.encode_to_vec()), hex, "{name}: binary");
}

#[test]
fn reference_plain_messages_read_and_write_identically() {
    let vectors = vectors();
    for case in cases(&vectors, "messages") {
        match field(case, "type") {
            "logi.plugin.marketplace.PluginInstallation" => {
                plain_message::<marketplace::PluginInstallation>(case)
            }
            "logi.plugin.marketplace.PluginInfo" => plain_message::<marketplace::PluginInfo>(case),
            "logi.plugin.protocol.ResponseInfo" => plain_message::<ResponseInfo>(case),
            "logi.protocol.plugin_manager.PluginUpdateResultList" => {
                plain_message::<manager::PluginUpdateResultList>(case)
            }
            other => panic!("the golden test does not know message type {other}: add it"),
        }
    }
}

#[test]
fn the_reference_stream_splits_into_its_envelopes_and_is_written_identically() {
    let vectors = vectors();
    let stream = from_hex(field(&vectors["stream"], "hex"));
    let expected: Vec<&str> = vectors["stream"]["envelopes_hex"]
        .as_array()
        .expect("envelopes_hex")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(expected.len() >= 4);

    let mut decoder = FrameDecoder::default();
    decoder.push(&stream);
    let mut ours = BytesMut::new();
    for hex in &expected {
        let frame = decoder
            .next_frame()
            .expect("a well-formed stream")
            .expect("one frame per envelope");
        assert_eq!(&to_hex(&frame), hex);
        let envelope = binary::decode(frame).expect("a well-formed envelope");
        encode_frame(&envelope, DEFAULT_MAX_FRAME_LEN, &mut ours).expect("fits");
    }
    assert_eq!(decoder.next_frame(), Ok(None));
    decoder.finish().expect("the stream ends between frames");
    assert_eq!(to_hex(&ours), to_hex(&stream));
}
