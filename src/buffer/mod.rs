//! Analog-control buffering (seed 7.3-7.6): keeps a flood of `UpdateAnalogControl` requests from
//! a dial from lagging the plugin, without ever losing the dial's net movement.
//!
//! A buffer sits between the plugin session and the plugin app. It keeps at most one pending
//! update per slot (an `analog_control_id` and `instance_id` pair) and folds every newer update
//! for that slot into it by one rule, [`PendingUpdate::merge`]: deltas add up, a newer value
//! replaces everything before it, a delta after a value moves that value, and the newest
//! configuration wins. Memory is bounded by the number of slots, which is capped per buffer; an
//! update for a new slot beyond the cap is dispatched at once, unbuffered.
//!
//! - [`ThroughputBuffer`] (7.5): dispatches a slot's first update and holds the rest until the app
//!   answers the one in flight, so it delivers exactly as fast as the app works.
//! - [`TimerBuffer`] (7.6): a leading-edge throttle, at most one delivery per slot per interval.
//! - [`AnalogBuffer`] (7.4): the trait both implement, for an app's own strategy.
//! - [`BufferManager`] (7.3): routes each update to the buffer its control is registered to.
//!
//! # Driving it
//!
//! Every update comes with the request id the manager (the peer) gave it. The owner (the session)
//! follows the sans-IO rule: inputs change state, outputs are polled after every input.
//!
//! - For each `UpdateAnalogControl` request, call `on_update`. On [`Admission::Dispatch`] deliver
//!   the update to the app under its own request id. On [`Admission::Held`] deliver nothing; if it
//!   names a `superseded` id, that request was merged into a newer one: answer it at once with a
//!   bare ok (the request was *coalesced*; the newer request's answer speaks for both).
//! - When the app answers any request, call `on_response` with its id.
//! - After every input drain `poll_ready`, delivering each merged update under the (newest)
//!   request id it carries, then sleep until `poll_timeout` and call `handle_timeout`.
//!
//! ```
//! use std::time::Instant;
//! use logi_plugin_core::buffer::{Admission, BufferManager};
//! use logi_plugin_core::proto::plugin::{UpdateAnalogControl, update_analog_control::UpdateType};
//!
//! let turn = |delta| UpdateAnalogControl {
//!     analog_control_id: "volume".into(),
//!     instance_id: "dial-1".into(),
//!     configuration: None,
//!     update_type: Some(UpdateType::Delta(delta)),
//! };
//! let now = Instant::now();
//! let mut buffers = BufferManager::new();
//! buffers.register_controls([("volume", "throughput")])?;
//!
//! // The first turn goes to the app at once; the next two are merged while it works.
//! assert!(matches!(buffers.on_update(now, 1, turn(1.0)), Admission::Dispatch(_)));
//! assert_eq!(buffers.on_update(now, 2, turn(2.0)), Admission::Held { superseded: None });
//! assert_eq!(buffers.on_update(now, 3, turn(3.0)), Admission::Held { superseded: Some(2) });
//! assert_eq!(buffers.poll_ready(now), None);
//!
//! // The app answers request 1: the merged turn is delivered as request 3.
//! buffers.on_response(now, 1);
//! assert_eq!(buffers.poll_ready(now), Some((3, turn(5.0))));
//! # Ok::<(), logi_plugin_core::buffer::BufferError>(())
//! ```

mod manager;
mod merge;
mod throughput;
mod timer;

use std::time::{Duration, Instant};

use crate::proto::plugin::UpdateAnalogControl;

pub use manager::{BufferManager, BufferStats};
pub use merge::PendingUpdate;
pub use throughput::ThroughputBuffer;
pub use timer::TimerBuffer;

/// The key of the built-in [`ThroughputBuffer`] in a [`BufferManager`].
pub const THROUGHPUT: &str = "throughput";

/// The key of the built-in [`TimerBuffer`] in a [`BufferManager`].
pub const TIMER: &str = "timer";

/// The default cap on the slots a buffer holds at once.
pub const DEFAULT_MAX_SLOTS: usize = 1024;

/// The default window of the built-in [`TimerBuffer`]: 50 ms.
pub const DEFAULT_TIMER_INTERVAL: Duration = Duration::from_millis(50);

/// What to do with an update now, as a buffer decides on receiving it.
#[derive(Clone, Debug, PartialEq)]
#[must_use = "a dispatched update must be delivered to the app, a superseded id answered"]
pub enum Admission {
    /// Deliver this update (the one given, handed back) to the app now, under its request id.
    Dispatch(UpdateAnalogControl),
    /// The buffer holds the update; it will come out of `poll_ready`, merged.
    Held {
        /// The request id of the pending update this one was merged into, if there was one:
        /// that request is answered now with a bare ok (coalesced), it will never be delivered.
        superseded: Option<u32>,
    },
}

/// A buffering strategy (seed 7.4): what the [`BufferManager`] routes a registered control's
/// updates to. The built-in buffers implement it; an app registers its own with
/// [`BufferManager::register_custom_buffer`].
///
/// An implementation must not lose a request: every id given to `on_update` comes back exactly
/// once, either dispatched, reported superseded, or carried by an update from `poll_ready`. It
/// must not read the clock (time is the `now` argument, which may go backwards and should be
/// clamped) and must not panic. [`PendingUpdate`] implements the merge rule for it.
pub trait AnalogBuffer: Send {
    /// The number of updates held and not yet delivered.
    fn pending_len(&self) -> usize;

    /// Takes an update received as request `request_id` and decides what happens to it now.
    fn on_update(
        &mut self,
        now: Instant,
        request_id: u32,
        update: UpdateAnalogControl,
    ) -> Admission;

    /// The app answered request `request_id`. Every answered id is given to every buffer: a buffer
    /// ignores ids it did not hand out.
    fn on_response(&mut self, now: Instant, request_id: u32);

    /// Time has reached `now`: windows that ended release their merged updates to `poll_ready`.
    /// Calling it early or twice does nothing.
    fn handle_timeout(&mut self, now: Instant);

    /// The next merged update due for delivery, with the request id to deliver it under.
    #[must_use]
    fn poll_ready(&mut self, now: Instant) -> Option<(u32, UpdateAnalogControl)>;

    /// The earliest time at which `handle_timeout` or `poll_ready` has work; `None` when nothing
    /// waits on time. A time already past means `poll_ready` has work now.
    #[must_use]
    fn poll_timeout(&self) -> Option<Instant>;
}

/// How a [`BufferManager`] builds its built-in buffers.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BufferConfig {
    /// The most slots each built-in buffer holds at once; updates for further slots pass
    /// straight through.
    pub max_slots: usize,
    /// The window of the built-in [`TimerBuffer`] (key [`TIMER`]).
    pub timer_interval: Duration,
}

impl Default for BufferConfig {
    fn default() -> Self {
        BufferConfig {
            max_slots: DEFAULT_MAX_SLOTS,
            timer_interval: DEFAULT_TIMER_INTERVAL,
        }
    }
}

/// Why buffers or controls could not be registered. Both are the caller's mistakes; nothing is
/// registered when one is returned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BufferError {
    /// A control was registered to a buffer key that names no buffer.
    #[error("control {control_id:?} is registered to buffer {buffer_key:?}, which does not exist")]
    UnknownBufferKey {
        /// The control's id.
        control_id: String,
        /// The key that names no buffer.
        buffer_key: String,
    },
    /// A buffer was registered under a key already taken (the built-in keys included): replacing
    /// a buffer would drop the updates it holds.
    #[error("a buffer is already registered under the key {buffer_key:?}")]
    BufferKeyTaken {
        /// The key.
        buffer_key: String,
    },
}

/// A map keyed by the ids an update names (control, instance): looked up on every update of a
/// flood, so hashed with foldhash rather than SipHash. Its per-map random seed still keeps a
/// manager from picking colliding ids in advance, and slots are capped at `max_slots` anyway.
pub(crate) type SlotMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A slot: the control and the instance an update is for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct SlotKey {
    control: String,
    instance: String,
}

impl SlotKey {
    /// Moves the slot's ids out of `update` (leaving empty strings), so a lookup allocates
    /// nothing; [`restore`](Self::restore) puts them back.
    fn take(update: &mut UpdateAnalogControl) -> SlotKey {
        SlotKey {
            control: std::mem::take(&mut update.analog_control_id),
            instance: std::mem::take(&mut update.instance_id),
        }
    }

    /// Puts the slot's ids back into `update`.
    fn restore(self, update: &mut UpdateAnalogControl) {
        update.analog_control_id = self.control;
        update.instance_id = self.instance;
    }

    /// Copies the slot's ids into `update`, keeping the key.
    fn copy_into(&self, update: &mut UpdateAnalogControl) {
        update.analog_control_id.clone_from(&self.control);
        update.instance_id.clone_from(&self.instance);
    }
}

/// Holds `update` (whose ids were taken into `key`) in a slot's pending place: merged into the
/// pending update if there is one, whose superseded id is returned.
fn hold(
    pending: &mut Option<PendingUpdate>,
    key: SlotKey,
    request_id: u32,
    mut update: UpdateAnalogControl,
) -> Option<u32> {
    match pending {
        Some(pending) => Some(pending.merge(request_id, update)),
        None => {
            key.restore(&mut update);
            *pending = Some(PendingUpdate::new(request_id, update));
            None
        }
    }
}

/// Clamps `now` so that a buffer's time never goes backwards, and records it.
fn clamp(latest: &mut Option<Instant>, now: Instant) -> Instant {
    let now = latest.map_or(now, |latest| latest.max(now));
    *latest = Some(now);
    now
}
