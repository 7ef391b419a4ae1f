//! # logi-plugin-core
//!
//! The sans-IO protocol engine of the Logi Plugin Framework: the system by which third-party
//! plugins extend Logitech's configuration software (Options+, G HUB).
//!
//! This crate does no IO. It holds the protocol's messages and the codecs that turn them into
//! bytes and back; the sessions (handshake, request correlation, heartbeat, rate limiting, analog
//! buffering) build on it, and the `logi-plugin-transports` crate binds them to real sockets.
//!
//! - [`proto`]: the protobuf types generated from `proto/`, one module per protobuf package.
//! - [`Message`] / [`MessageType`]: one typed enum covering every message, with its
//!   `google.protobuf.Any` type URL.
//! - [`Envelope`]: a message with its request id and, for a response, its [`ResponseInfo`].
//! - [`codec`]: the binary codec, the canonical proto3 JSON codec and the length-delimited stream
//!   framing.
//! - [`session`]: what the two sessions share: request correlation and the rate limit.
//! - [`buffer`]: analog-control buffering (seed 7.3-7.6): dial floods merged, no movement lost.
//! - [`view`]: what a plugin is shown (visible instances and their configuration), and the
//!   resync that restores it after a reconnect.
//!
//! ```
//! use logi_plugin_core::codec::{binary, json};
//! use logi_plugin_core::{proto::plugin::TriggerAction, Envelope};
//!
//! let envelope = Envelope::request(7, TriggerAction {
//!     action_instance_id: "instance-1".into(),
//!     action_id: "mute".into(),
//!     configuration: None,
//! });
//! let text = json::encode(&envelope);
//! assert_eq!(
//!     text,
//!     r#"{"id":7,"message":{"@type":"type.googleapis.com/logi.plugin.protocol.TriggerAction","actionInstanceId":"instance-1","actionId":"mute"}}"#
//! );
//! assert_eq!(json::decode(&text)?, envelope);
//!
//! let bytes = binary::encode_to_bytes(&envelope);
//! assert_eq!(binary::decode(bytes)?, envelope);
//! # Ok::<(), logi_plugin_core::codec::DecodeError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod buffer;
pub mod codec;
mod encoded;
mod envelope;
mod file_kind;
mod ids;
mod message;
pub mod proto;
pub mod session;
pub mod view;

pub use encoded::EncodedMessage;
pub use envelope::{Body, Envelope, EnvelopeRef};
pub use file_kind::file_kind;
pub use message::{Message, MessageError, MessageType};
pub use proto::plugin::ResponseInfo;
pub use proto::plugin::response_info::Code as ResponseCode;
