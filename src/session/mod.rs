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
//! - [`ManagerSession`]: checks a hello's protocol version (and that the client library may use
//!   this transport), hands it to the owner to judge ([`Event::Hello`], answered with a
//!   [`Verdict`]: [`Admission`] judges by the owner's [`PluginRegistry`], the code in constant
//!   time, the [`PeerProcess`] a local socket reports, one live session per plugin id),
//!   answers `ManagerHello`, sends `Ping` on an interval, and rate-limits a plugin with a token
//!   bucket (`RetryAfter`, `NOT_READY`; status updates it refuses are kept,
//!   the latest per instance, and delivered when the bucket allows).
//! - All: number their own requests and end each exactly once ([`Event::Response`] or
//!   [`Event::Timeout`]), hand the peer's requests to the owner ([`Event::Request`], answered
//!   with `respond`), answer themselves what cannot be served (unknown type URL:
//!   `NOT_IMPLEMENTED`; unreadable body: `INVALID_ARG`; a message the peer's side may not send:
//!   `INVALID_VERB`; a request type the owner does not handle: `NOT_IMPLEMENTED`), count
//!   everything ([`Stats`]) and close once, with a [`CloseReason`].
//! - [`Session`]: the one face all offer a driver: one way in ([`Input`]), one way out
//!   ([`Output`]: an event, a frame to write with its [`Lane`], or when to wake the session and
//!   which [`Timer`] that is), and the owner's commands.
//! - [`record`]: recordings of a session and their replay, on top of the sessions: the owner
//!   wraps the session it drives in a [`record::Recorded`].
//! - [`RequestTracker`] and [`TokenBucket`]: request correlation and the rate limit.
//!
//! No IO, no clock reads, no threads: time comes in as an argument, bytes in through
//! `handle_input` and out through `poll_output`. The driving loop, for any session:
//!
//! ```no_run
//! # use std::time::Instant;
//! # use logi_plugin_core::session::{Event, Input, Output, PluginConfig, PluginSession, Session};
//! # fn read_socket() -> Vec<u8> { Vec::new() }
//! # fn write_socket(_: &[u8]) {}
//! let mut session = PluginSession::new(Instant::now(), PluginConfig::new("com.example.plugin", "secret", "1.0.0"));
//! loop {
//!     // Events come first: answers the application gives while handling them leave below.
//!     let wake = loop {
//!         match session.poll_output(0) {
//!             Output::Event(Event::Closed(reason)) => return eprintln!("closed: {reason}"),
//!             Output::Event(other) => println!("{other:?}"),
//!             Output::Transmit(transmit) => write_socket(transmit.frame.as_bytes()),
//!             Output::Timeout(wake) => break Some(wake.at),
//!             Output::Idle => break None,
//!         }
//!     };
//!     // Wait for input or until `wake`, whichever comes first, then hand over what came:
//!     let bytes = read_socket();
//!     session.handle_input(Instant::now(), Input::Bytes(&bytes)).expect("a byte-stream session");
//!     session.handle_input(Instant::now(), Input::Timeout).unwrap();
//! }
//! ```

mod admission;
mod correlation;
mod direction;
mod driven;
mod facing;
mod lanes;
mod library;
mod link;
mod live;
mod manager;
mod output;
mod peer;
mod plugin;
mod rate;
pub mod record;
mod types;

pub use admission::{Admission, PluginRegistry, constant_time_eq};
pub use correlation::{MAX_IN_FLIGHT_LIMIT, RequestTracker, TrackError};
pub use driven::Session;
pub use library::{LibraryConfig, LibrarySession};
pub use link::Limits;
pub use live::{Claim, LiveSessions};
pub use manager::{MAX_DEFERRED_STATUSES, ManagerConfig, ManagerSession, Peer};
pub use output::{BULK_ROOM, Input, Lane, Output, Timer, Transmit, Wake};
pub use peer::PeerProcess;
pub use plugin::{PluginConfig, PluginSession};
pub use rate::{RateLimit, RateLimitError, TokenBucket};
pub use types::{
    CloseReason, Event, Fault, Format, Frame, InputError, Refused, Reply, SendError, Stats,
    Verdict, Wire,
};

/// The protocol version this implementation speaks.
pub const PROTOCOL_VERSION: i32 = 1;
