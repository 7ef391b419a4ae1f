//! Shared test support: random messages of every type, built from the protocol's descriptors so
//! that one strategy covers every message the `.proto` files define; and two sessions wired on
//! a fake clock ([`pair`]).
#![allow(dead_code, unreachable_pub)]

pub mod pair;

use std::sync::OnceLock;

use bytes::Bytes;
use logi_plugin_core::codec::binary;
use logi_plugin_core::proto::FILE_DESCRIPTOR_SET;
use logi_plugin_core::{Envelope, Message, MessageType, ResponseInfo};
use proptest::prelude::*;
use prost::Message as _;
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, Value,
};

/// The protocol's descriptors, as the build script compiled them.
pub fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(FILE_DESCRIPTOR_SET).expect("embedded descriptor set")
    })
}

/// The descriptor of a message type.
pub fn descriptor(message_type: MessageType) -> MessageDescriptor {
    pool()
        .get_message_by_name(message_type.full_name())
        .expect("every MessageType has a descriptor")
}

/// The Envelope's descriptor.
pub fn envelope_descriptor() -> MessageDescriptor {
    pool()
        .get_message_by_name("logi.plugin.protocol.Envelope")
        .expect("Envelope descriptor")
}

/// A float from every class: ordinary, tiny, huge, subnormal, signed zeros, infinities and the
/// canonical NaN (other NaN payloads do not survive JSON, whose "NaN" has no payload).
pub fn arb_f32() -> impl Strategy<Value = f32> {
    prop_oneof![
        4 => any::<f32>().prop_map(|f| if f.is_nan() { f32::NAN } else { f }),
        2 => (-1000i32..1000).prop_map(|i| i as f32 / 8.0),
        1 => Just(0.0f32),
        1 => Just(-0.0f32),
        1 => Just(f32::MAX),
        1 => Just(f32::MIN_POSITIVE),
        1 => Just(1.5e-42f32),
        1 => Just(f32::INFINITY),
        1 => Just(f32::NEG_INFINITY),
        1 => Just(f32::NAN),
    ]
}

/// Strings with the characters JSON treats specially, multi-byte and non-BMP ones.
pub fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Z0-9_.:/-]{0,12}",
        2 => any::<String>().prop_map(|s| s.chars().take(24).collect()),
        1 => prop::collection::vec(prop::sample::select(vec!['"', '\\', '\n', '\t', '\u{1}', '\u{1f}', '\u{7f}', 'é', '日', '🎛', '\u{2028}', '/']), 0..8)
            .prop_map(|cs| cs.into_iter().collect()),
    ]
}

fn arb_value(field: &FieldDescriptor, depth: u32) -> BoxedStrategy<Value> {
    match field.kind() {
        Kind::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Kind::Int32 => any::<i32>().prop_map(Value::I32).boxed(),
        Kind::Uint32 => any::<u32>().prop_map(Value::U32).boxed(),
        Kind::Float => arb_f32().prop_map(Value::F32).boxed(),
        Kind::String => arb_string().prop_map(Value::String).boxed(),
        Kind::Enum(e) => {
            let numbers: Vec<i32> = e.values().map(|v| v.number()).collect();
            prop_oneof![
                4 => prop::sample::select(numbers).prop_map(Value::EnumNumber),
                1 => any::<i32>().prop_map(Value::EnumNumber),
            ]
            .boxed()
        }
        Kind::Message(m) => arb_dynamic(m, depth.saturating_sub(1))
            .prop_map(Value::Message)
            .boxed(),
        other => panic!("the protocol has no {other:?} fields; extend the test strategy"),
    }
}

/// A random message of type `desc`: each field absent or set (lists of 0-3 values), nested
/// messages down to `depth` levels.
pub fn arb_dynamic(desc: MessageDescriptor, depth: u32) -> BoxedStrategy<DynamicMessage> {
    let fields: Vec<FieldDescriptor> = desc
        .fields()
        .filter(|f| depth > 0 || !matches!(f.kind(), Kind::Message(_)))
        .collect();
    let values: Vec<BoxedStrategy<Option<Value>>> = fields
        .iter()
        .map(|f| {
            let value = if f.is_list() {
                prop::collection::vec(arb_value(f, depth), 0..4)
                    .prop_map(Value::List)
                    .boxed()
            } else {
                arb_value(f, depth)
            };
            prop::option::weighted(0.6, value).boxed()
        })
        .collect();
    values
        .prop_map(move |values| {
            let mut message = DynamicMessage::new(desc.clone());
            for (field, value) in fields.iter().zip(values) {
                if let Some(value) = value {
                    message.set_field(field, value);
                }
            }
            message
        })
        .boxed()
}

/// A random typed message of `message_type`.
pub fn arb_message(message_type: MessageType) -> BoxedStrategy<Message> {
    arb_dynamic(descriptor(message_type), 3)
        .prop_map(move |dynamic| {
            message_type
                .decode(&dynamic.encode_to_vec())
                .expect("a valid encoding decodes")
        })
        .boxed()
}

/// A random response field: absent, or any code (known or not) with a description.
pub fn arb_response() -> impl Strategy<Value = Option<ResponseInfo>> {
    prop::option::of(
        (prop_oneof![-16i32..3, any::<i32>()], arb_string())
            .prop_map(|(result, what)| ResponseInfo { result, what }),
    )
}

/// A random envelope carrying a message of `message_type` (or, sometimes, none).
pub fn arb_envelope_of(message_type: MessageType) -> BoxedStrategy<Envelope> {
    (
        any::<u32>(),
        prop::option::weighted(0.9, arb_message(message_type)),
        arb_response(),
    )
        .prop_map(|(id, message, response)| Envelope {
            id,
            message,
            response,
        })
        .boxed()
}

/// A random envelope of any message type.
pub fn arb_envelope() -> BoxedStrategy<Envelope> {
    prop::sample::select(MessageType::ALL)
        .prop_flat_map(arb_envelope_of)
        .boxed()
}

/// The envelope's binary encoding: equal encodings mean equal envelopes (NaN included, which
/// `PartialEq` cannot say).
pub fn wire(envelope: &Envelope) -> Bytes {
    binary::encode_to_bytes(envelope)
}

/// Parses lowercase hex.
pub fn from_hex(hex: &str) -> Vec<u8> {
    assert!(hex.len().is_multiple_of(2), "odd hex length");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// Writes lowercase hex.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
