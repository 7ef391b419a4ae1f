//! The sessions of a connection to the manager as pure state machines: a plugin's (seed
//! chapter 5) or the client library's (chapter 9) on one side, the manager's on the other; and
//! the mechanisms they share.
//!
//! - [`PluginSession`]: says hello first, answers `Ping` by itself, reports the manager gone
//!   after too long a silence, honours `RetryAfter` (holding back what it starts, status updates
//!   per instance coalescing), and routes `UpdateAnalogControl` floods through analog buffers.
//! - [`LibrarySession`]: the client library's side (seed chapter 9): it faces the manager as the
//!   plugin side does (hello first, `Ping` answered, silence noticed), with `ClientHello`, the
//!   client library's own messages, and nothing else of a plugin's.
//! - [`ManagerSession`]: checks a plugin's hello against the owner's [`PluginRegistry`] (the
//!   code in constant time, then the [`PeerProcess`] a local socket reports) or admits the client library where the transport allows it,
//!   answers `ManagerHello`, sends `Ping` on an interval, and rate-limits a plugin with a token
//!   bucket (`RetryAfter`, `NOT_READY`; status updates it refuses are kept,
//!   the latest per instance, and delivered when the bucket allows).
//! - All: number their own requests and end each exactly once ([`Event::Response`] or
//!   [`Event::Timeout`]), hand the peer's requests to the owner ([`Event::Request`], answered
//!   with `respond`), answer themselves what cannot be served (unknown type URL:
//!   `NOT_IMPLEMENTED`; unreadable body: `INVALID_ARG`; a message the peer's side may not send:
//!   `INVALID_VERB`; a request type the owner does not handle: `NOT_IMPLEMENTED`), count
//!   everything ([`Stats`]) and close once, with a [`CloseReason`].
//! - [`Session`]: the interface all offer a driver, so one driving loop serves every side.
//! - [`record`]: recordings of a session and their replay, on top of the sessions: the owner
//!   wraps the session it drives in a [`record::Recorded`].
//! - [`RequestTracker`] and [`TokenBucket`]: request correlation and the rate limit.
//!
//! No IO, no clock reads, no threads: time comes in as an argument, bytes in through `handle_*`
//! and out through `poll_transmit`. The driving loop, for either session:
//!
//! ```no_run
//! # use std::time::Instant;
//! # use logi_plugin_core::session::{Event, Frame, PluginConfig, PluginSession};
//! # fn read_socket() -> Vec<u8> { Vec::new() }
//! # fn write_socket(_: &[u8]) {}
//! let mut session = PluginSession::new(Instant::now(), PluginConfig::new("com.example.plugin", "secret", "1.0.0"));
//! loop {
//!     // Events first: answers the application gives while handling them go out just below.
//!     while let Some(event) = session.poll_event() {
//!         match event {
//!             Event::Closed(reason) => return eprintln!("closed: {reason}"),
//!             other => println!("{other:?}"),
//!         }
//!     }
//!     while let Some(Frame::Binary(bytes)) = session.poll_transmit() {
//!         write_socket(&bytes);
//!     }
//!     // Wait for input or until `session.poll_timeout()`, whichever comes first, then:
//!     let bytes = read_socket();
//!     session.handle_bytes(Instant::now(), &bytes).expect("a byte-stream session");
//!     session.handle_timeout(Instant::now());
//! }
//! ```

mod correlation;
mod direction;
mod driven;
mod facing;
mod lanes;
mod library;
mod link;
mod live;
mod manager;
mod peer;
mod plugin;
mod rate;
pub mod record;
mod types;

pub use correlation::{MAX_IN_FLIGHT_LIMIT, RequestTracker, TrackError};
pub use driven::Session;
pub use library::{LibraryConfig, LibrarySession};
pub use link::Limits;
pub use live::LiveSessions;
pub use manager::{
    MAX_DEFERRED_STATUSES, ManagerConfig, ManagerSession, Peer, PluginRegistry, constant_time_eq,
};
pub use peer::PeerProcess;
pub use plugin::{PluginConfig, PluginSession};
pub use rate::{RateLimit, RateLimitError, TokenBucket};
pub use types::{
    CloseReason, Event, Fault, Format, Frame, InputError, Reply, SendError, Stats, Wire,
};

/// The protocol version this implementation speaks.
pub const PROTOCOL_VERSION: i32 = 1;
