//! The mechanisms the plugin-side and manager-side sessions share (seed chapter 5).
//!
//! - [`RequestTracker`]: each side's request ids and their deadlines, so that every request ends
//!   in exactly one response or one timeout.
//! - [`TokenBucket`]: the manager's per-session rate limit (seed 5.8) that `RetryAfter` reports.
//!
//! Like the rest of the core they do no IO and read no clock: time comes in as an argument. The
//! session state machines that drive them (handshake, heartbeat, rate limiting, analog
//! buffering) are built on them in the sessions issue.

mod correlation;
mod rate;

pub use correlation::{MAX_IN_FLIGHT_LIMIT, RequestTracker, TrackError};
pub use rate::{RateLimit, RateLimitError, TokenBucket};
