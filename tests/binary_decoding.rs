//! The binary codec's handling of envelopes it cannot fully read: every failure is an error that
//! says what was wrong, and keeps the id whenever the envelope itself was readable.

use bytes::{BufMut, Bytes, BytesMut};
use logi_plugin_core::codec::{DecodeError, binary};
use logi_plugin_core::proto::plugin::{Ping, ResponseInfo as ProtoResponse};
use logi_plugin_core::{Envelope, Message, MessageError, MessageType, ResponseCode};
use prost::Message as _;

/// An envelope with `id` whose Any has this raw type URL and body.
fn raw_envelope(id: u32, type_url: &[u8], body: &[u8]) -> Bytes {
    let mut any = BytesMut::new();
    prost::encoding::bytes::encode(1, &type_url.to_vec(), &mut any);
    prost::encoding::bytes::encode(2, &body.to_vec(), &mut any);
    let mut envelope = BytesMut::new();
    prost::encoding::uint32::encode(1, &id, &mut envelope);
    prost::encoding::bytes::encode(2, &any.to_vec(), &mut envelope);
    envelope.freeze()
}

#[test]
fn an_unknown_type_url_is_a_message_error_carrying_the_id_and_url() {
    match binary::decode(raw_envelope(
        12,
        b"type.googleapis.com/acme.Teleport",
        b"\x08\x01",
    )) {
        Err(DecodeError::Message {
            id: 12,
            response: None,
            source,
        }) => {
            assert_eq!(
                source,
                MessageError::UnknownTypeUrl {
                    type_url: "type.googleapis.com/acme.Teleport".into()
                }
            );
            assert_eq!(source.response_code(), ResponseCode::NotImplemented);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_type_url_that_is_not_utf8_is_an_unknown_type_url() {
    match binary::decode(raw_envelope(3, b"type.googleapis.com/\xff", b"")) {
        Err(DecodeError::Message {
            id: 3,
            source: MessageError::UnknownTypeUrl { type_url },
            ..
        }) => {
            assert_eq!(type_url, "type.googleapis.com/\u{fffd}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn any_type_url_prefix_names_the_message_after_the_last_slash() {
    let decoded = binary::decode(raw_envelope(
        1,
        b"example.com/logi.plugin.protocol.Ping",
        b"",
    ))
    .unwrap();
    assert_eq!(decoded, Envelope::request(1, Ping {}));
}

#[test]
fn a_malformed_body_is_a_message_error_naming_the_type() {
    // TriggerAction field 1 (a string) holding invalid UTF-8.
    let bytes = raw_envelope(
        8,
        MessageType::TriggerAction.type_url().as_bytes(),
        b"\x0a\x02\xc3\x28",
    );
    match binary::decode(bytes) {
        Err(DecodeError::Message { id: 8, source, .. }) => {
            assert!(matches!(
                source,
                MessageError::Malformed {
                    message_type: MessageType::TriggerAction,
                    ..
                }
            ));
            assert_eq!(source.response_code(), ResponseCode::InvalidArg);
            let text = source.to_string();
            assert!(
                text.starts_with("malformed logi.plugin.protocol.TriggerAction body"),
                "{text}"
            );
            assert!(text.contains("TriggerAction.action_instance_id"), "{text}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_truncated_envelope_is_an_envelope_error() {
    // 08 01 | 12 .. : a cut after byte 2 falls between fields and leaves a valid envelope (protobuf
    // has no end marker; the framing says where a message ends), every other cut is inside one.
    let whole = binary::encode_to_bytes(&Envelope::request(1, Ping {}));
    for cut in (1..whole.len()).filter(|&cut| cut != 2) {
        assert!(
            matches!(
                binary::decode(whole.slice(..cut)),
                Err(DecodeError::Envelope(_))
            ),
            "cut at {cut}"
        );
    }
}

#[test]
fn a_wrong_wire_type_is_an_envelope_error() {
    // Field 2 (the Any) sent as a varint.
    assert!(matches!(
        binary::decode(Bytes::from_static(b"\x10\x01")),
        Err(DecodeError::Envelope(_))
    ));
}

#[test]
fn an_empty_any_carries_no_message() {
    let mut bytes = BytesMut::new();
    prost::encoding::uint32::encode(1, &5, &mut bytes);
    bytes.put_slice(b"\x12\x00");
    assert_eq!(
        binary::decode(bytes.freeze()).unwrap(),
        Envelope {
            id: 5,
            ..Envelope::default()
        }
    );
}

#[test]
fn unknown_fields_are_skipped_as_protobuf_requires() {
    let mut bytes = binary::encode_to_bytes(&Envelope::request(1, Ping {})).to_vec();
    prost::encoding::string::encode(15, &"from a newer peer".to_string(), &mut bytes);
    assert_eq!(
        binary::decode(Bytes::from(bytes)).unwrap(),
        Envelope::request(1, Ping {})
    );
}

#[test]
fn a_response_keeps_its_negative_error_code() {
    let envelope = Envelope::response(
        4,
        logi_plugin_core::ResponseInfo::error(ResponseCode::Conflict, "stale"),
        None,
    );
    let bytes = binary::encode_to_bytes(&envelope);
    let proto = logi_plugin_core::proto::plugin::Envelope::decode(bytes.clone()).unwrap();
    assert_eq!(
        proto.response,
        Some(ProtoResponse {
            result: -14,
            what: "stale".into()
        })
    );
    assert_eq!(binary::decode(bytes).unwrap(), envelope);
}

#[test]
fn every_message_type_has_a_distinct_type_url_that_finds_it_again() {
    for &message_type in MessageType::ALL {
        assert_eq!(
            MessageType::from_type_url(message_type.type_url()),
            Some(message_type)
        );
        assert_eq!(
            message_type.type_url(),
            format!("type.googleapis.com/{}", message_type.full_name())
        );
        assert_eq!(
            message_type.full_name_c().to_str(),
            Ok(message_type.full_name())
        );
        let empty = message_type.decode(&[]).unwrap();
        assert_eq!(empty.message_type(), message_type);
        assert_eq!(Message::decode(empty.type_url(), &[]).unwrap(), empty);
    }
}
