//! `MessageType::is_decodable` says of any bytes what prost's decoding says: that is what lets an
//! `EncodedMessage` carry bytes to the wire without decoding them.

mod common;

use logi_plugin_core::proto::plugin::{ActionCellStatus, TriggerAction};
use logi_plugin_core::{EncodedMessage, Message, MessageError, MessageType};
use proptest::collection::vec;
use proptest::prelude::*;
use prost::Message as _;
use prost::encoding::encode_varint;

/// Whether prost decodes `bytes` as a `message_type`.
fn prost_decodes(message_type: MessageType, bytes: &[u8]) -> bool {
    message_type.decode(bytes).is_ok()
}

/// Asserts that the check and prost agree on `bytes` for every message type; how many types
/// accepted them.
fn judged_alike(bytes: &[u8]) -> usize {
    let mut accepted = 0;
    for &message_type in MessageType::ALL {
        let decodes = prost_decodes(message_type, bytes);
        assert_eq!(
            message_type.is_decodable(bytes),
            decodes,
            "{} on {bytes:02x?}",
            message_type.full_name()
        );
        accepted += usize::from(decodes);
    }
    accepted
}

fn varint(value: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    encode_varint(value, &mut bytes);
    bytes
}

/// A field's key: `number` may be 0 or too large, `wire_type` 6 or 7, as damaged input has.
fn key(number: u64, wire_type: u64) -> Vec<u8> {
    varint(number << 3 | wire_type)
}

/// A field number: mostly a small one, which most messages know.
fn arb_number() -> impl Strategy<Value = u64> {
    prop_oneof![10 => 1u64..9, 1 => Just(0u64), 1 => 1u64..(1 << 29), 1 => (1u64 << 29)..(1 << 33)]
}

/// A varint: of any value, overlong, or cut short.
fn arb_varint() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => any::<u64>().prop_map(varint),
        1 => Just(vec![0xff; 10]),
        1 => Just(vec![0x80; 11]),
        1 => Just(vec![0x80]),
    ]
}

/// A length-delimited body: text, bytes that are not UTF-8, or nested fields.
fn arb_delimited(fields: BoxedStrategy<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        ".{0,6}".prop_map(String::into_bytes),
        vec(any::<u8>(), 0..6),
        Just(vec![0xc3, 0x28]),
        vec(fields, 0..4).prop_map(|fields| fields.concat()),
    ]
}

/// Random fields on the wire: each of a small or odd number, in any of the eight wire types,
/// with a value that fits its type or not, nested in lengths and groups that are right or off.
fn arb_fields() -> BoxedStrategy<Vec<u8>> {
    let leaf = prop_oneof![
        (arb_number(), arb_varint()).prop_map(|(n, v)| [key(n, 0), v].concat()),
        (arb_number(), vec(any::<u8>(), 0..10)).prop_map(|(n, b)| [key(n, 1), b].concat()),
        (arb_number(), vec(any::<u8>(), 0..6)).prop_map(|(n, b)| [key(n, 5), b].concat()),
        (arb_number(), 4u64..8).prop_map(|(n, w)| key(n, w)),
    ];
    leaf.prop_recursive(4, 48, 4, |fields| {
        let delimited = (
            arb_number(),
            arb_delimited(fields.clone()),
            prop_oneof![8 => Just(0i64), 1 => Just(1i64), 1 => Just(-1i64)],
        )
            .prop_map(|(n, body, off)| {
                let len = (body.len() as i64 + off).max(0) as u64;
                [key(n, 2), varint(len), body].concat()
            });
        let group = (arb_number(), vec(fields, 0..3), prop::bool::weighted(0.8)).prop_map(
            |(n, inner, closed)| {
                let end = if closed { key(n, 4) } else { key(n + 1, 4) };
                [key(n, 3), inner.concat(), end].concat()
            },
        );
        prop_oneof![3 => delimited, 1 => group]
    })
    .boxed()
}

/// A message's encoding damaged in one of the ways transport or a careless caller damages it.
fn damaged(bytes: Vec<u8>, at: prop::sample::Index, byte: u8, how: u8) -> Vec<u8> {
    let mut bytes = bytes;
    if bytes.is_empty() {
        return vec![byte];
    }
    let at = at.index(bytes.len());
    match how % 4 {
        0 => bytes[at] = byte,
        1 => bytes.truncate(at),
        2 => bytes.insert(at, byte),
        _ => bytes.extend_from_slice(&[byte, byte]),
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_valid_encoding_of_a_message_is_decodable(
        (message_type, bytes) in prop::sample::select(MessageType::ALL).prop_flat_map(|t| {
            common::arb_dynamic(common::descriptor(t), 3).prop_map(move |m| (t, m.encode_to_vec()))
        })
    ) {
        prop_assert!(message_type.is_decodable(&bytes));
    }

    #[test]
    fn a_damaged_encoding_is_decodable_exactly_when_prost_decodes_it(
        bytes in prop::sample::select(MessageType::ALL)
            .prop_flat_map(|t| common::arb_dynamic(common::descriptor(t), 3))
            .prop_map(|m| m.encode_to_vec()),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        how in any::<u8>(),
    ) {
        judged_alike(&damaged(bytes, at, byte, how));
    }

    #[test]
    fn random_fields_are_decodable_exactly_when_prost_decodes_them(bytes in arb_fields()) {
        judged_alike(&bytes);
    }
}

/// Unknown groups (field 15) nested `depth` deep: as a `SavedData`'s own fields, or (`in_field`)
/// inside the message of its field 1, one level deeper.
fn nested_groups(depth: usize, in_field: bool) -> Vec<u8> {
    let mut body = Vec::new();
    for _ in 0..depth {
        body = [key(15, 3), body, key(15, 4)].concat();
    }
    if in_field {
        body = [key(1, 2), varint(body.len() as u64), body].concat();
    }
    body
}

#[test]
fn nesting_is_decodable_down_to_prosts_recursion_limit_and_no_deeper() {
    let message_type = MessageType::SavedData;
    let mut accepted = 0;
    let mut refused = 0;
    for in_field in [false, true] {
        for depth in 95..105 {
            let bytes = nested_groups(depth, in_field);
            let decodes = prost_decodes(message_type, &bytes);
            assert_eq!(
                message_type.is_decodable(&bytes),
                decodes,
                "groups {depth} deep, in a field: {in_field}"
            );
            if decodes {
                accepted += 1;
            } else {
                refused += 1;
            }
        }
    }
    assert!(
        accepted > 0 && refused > 0,
        "the limit lies inside the range tried"
    );
}

#[test]
fn a_known_field_in_another_wire_type_is_not_decodable() {
    // `TriggerAction.action_instance_id` (1) is a string: here, a varint.
    let bytes = [key(1, 0), varint(7)].concat();
    assert!(!MessageType::TriggerAction.is_decodable(&bytes));
}

#[test]
fn a_string_that_is_not_utf8_is_not_decodable() {
    let bytes = [key(1, 2), varint(2), vec![0xc3, 0x28]].concat();
    assert!(!MessageType::TriggerAction.is_decodable(&bytes));
}

#[test]
fn unknown_fields_of_every_wire_type_are_skipped() {
    let bytes = [
        key(20, 0),
        varint(300),
        key(21, 1),
        vec![0; 8],
        key(22, 2),
        varint(3),
        b"abc".to_vec(),
        key(23, 3),
        key(24, 5),
        vec![0; 4],
        key(23, 4),
        key(25, 5),
        vec![0; 4],
    ]
    .concat();
    assert!(MessageType::TriggerAction.is_decodable(&bytes));
    assert!(prost_decodes(MessageType::TriggerAction, &bytes));
}

#[test]
fn an_encoded_message_keeps_its_bytes_unknown_fields_and_all() {
    let press = TriggerAction {
        action_instance_id: "key-1".into(),
        action_id: "count".into(),
        configuration: None,
    };
    let bytes = [press.encode_to_vec(), key(20, 0), varint(1)].concat();
    let encoded = EncodedMessage::new(MessageType::TriggerAction, bytes.clone()).unwrap();
    assert_eq!(encoded.message_type(), MessageType::TriggerAction);
    assert_eq!(&encoded.body()[..], &bytes[..]);
    assert_eq!(encoded.decode(), Message::TriggerAction(press));
}

#[test]
fn an_encoded_message_of_undecodable_bytes_is_refused_with_prosts_reason() {
    let bytes = [key(1, 2), varint(9), b"short".to_vec()].concat();
    let error = EncodedMessage::new(MessageType::ActionCellStatus, bytes.clone()).unwrap_err();
    let MessageError::Malformed {
        message_type,
        source,
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(*message_type, MessageType::ActionCellStatus);
    assert_eq!(*source, ActionCellStatus::decode(&bytes[..]).unwrap_err());
    assert!(
        error
            .to_string()
            .starts_with("malformed logi.plugin.protocol.ActionCellStatus body"),
        "{error}"
    );
}

#[test]
fn an_encoded_message_made_from_a_message_decodes_to_it() {
    let message = Message::from(ActionCellStatus {
        action_instance_id: "key-1".into(),
        text: Some("pressed".into()),
        ..Default::default()
    });
    assert_eq!(EncodedMessage::from(&message).decode(), message);
}
