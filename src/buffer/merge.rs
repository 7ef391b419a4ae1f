//! The merge rule: how a newer update for a slot folds into the one pending there. Every built-in
//! buffer uses it, so the net movement of a dial is kept whichever buffer holds it.

use crate::proto::plugin::UpdateAnalogControl;
use crate::proto::plugin::update_analog_control::UpdateType;

/// An update held for a slot, into which newer updates for the same slot are merged.
///
/// Sums are kept in `f64` and converted to `f32` only on delivery, so a long flood of small
/// deltas does not drift the way an `f32` running sum would.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingUpdate {
    request_id: u32,
    analog_control_id: String,
    instance_id: String,
    configuration: Option<String>,
    change: Option<Change>,
}

/// The merged change of the pending update.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Change {
    /// Set the control to this value.
    Value(f64),
    /// Move the control by this much.
    Delta(f64),
}

impl PendingUpdate {
    /// Holds `update`, received as request `request_id`.
    pub fn new(request_id: u32, update: UpdateAnalogControl) -> PendingUpdate {
        PendingUpdate {
            request_id,
            analog_control_id: update.analog_control_id,
            instance_id: update.instance_id,
            configuration: update.configuration,
            change: update.update_type.map(|update_type| match update_type {
                UpdateType::Value(value) => Change::Value(f64::from(value)),
                UpdateType::Delta(delta) => Change::Delta(f64::from(delta)),
            }),
        }
    }

    /// The request id the merged update is delivered under: the newest one merged in.
    pub fn request_id(&self) -> u32 {
        self.request_id
    }

    /// The id of the analog control.
    pub fn analog_control_id(&self) -> &str {
        &self.analog_control_id
    }

    /// The instance id of the analog control.
    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    /// Merges `newer`, received as request `request_id`, into this update and returns the request
    /// id it replaces (superseded: to be answered at once, never delivered).
    ///
    /// Deltas add up; a value replaces everything before it; a delta after a value gives the
    /// value plus the delta; a newer configuration replaces the older, a missing one keeps it; an
    /// update without a type changes nothing but the configuration and the id. `newer` must be
    /// for the same slot: its control and instance ids are not read (a buffer may have moved
    /// them out already).
    pub fn merge(&mut self, request_id: u32, newer: UpdateAnalogControl) -> u32 {
        if newer.configuration.is_some() {
            self.configuration = newer.configuration;
        }
        self.change = match (self.change, newer.update_type) {
            (older, None) => older,
            (_, Some(UpdateType::Value(value))) => Some(Change::Value(f64::from(value))),
            (Some(Change::Value(value)), Some(UpdateType::Delta(delta))) => {
                Some(Change::Value(value + f64::from(delta)))
            }
            (Some(Change::Delta(sum)), Some(UpdateType::Delta(delta))) => {
                Some(Change::Delta(sum + f64::from(delta)))
            }
            (None, Some(UpdateType::Delta(delta))) => Some(Change::Delta(f64::from(delta))),
        };
        std::mem::replace(&mut self.request_id, request_id)
    }

    /// The merged update to deliver, with the request id to deliver it under.
    ///
    /// A sum beyond `f32`'s range becomes infinite, as the protocol's `float` can carry nothing
    /// larger.
    pub fn into_update(self) -> (u32, UpdateAnalogControl) {
        // `as` rounds to the nearest f32 and saturates to infinity; it never panics.
        let update_type = self.change.map(|change| match change {
            Change::Value(value) => UpdateType::Value(value as f32),
            Change::Delta(sum) => UpdateType::Delta(sum as f32),
        });
        let update = UpdateAnalogControl {
            analog_control_id: self.analog_control_id,
            instance_id: self.instance_id,
            configuration: self.configuration,
            update_type,
        };
        (self.request_id, update)
    }
}
