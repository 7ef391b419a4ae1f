//! Priority lanes for what a session writes: status and image updates (seed 5.5, 5.6) wait in a
//! bulk lane behind every other frame, so that the answer to a press, a control update or a
//! heartbeat never queues behind a flood of 64 KiB images. Within a lane, order is kept; in the
//! bulk lane a newer update for an instance replaces the one still waiting, because only an
//! instance's latest state is worth drawing.
//!
//! A bulk message waits unencoded and is encoded only as it leaves: one replaced while waiting
//! costs nothing, and the frame is still in the cache when the transport copies it out.
//!
//! When bulk frames leave is decided in [`super::output`], from how much the driver's transport
//! has yet to write.

use std::collections::VecDeque;

use super::direction::status_of;
use crate::{Envelope, Message, MessageType};

/// A status update's type and the action or control instance it is for.
pub(crate) type StatusKey = (MessageType, String);

/// Which lane a notification travels in ([`super::Lane`]), and for a bulk one, which waiting
/// update a newer one replaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// Ahead of bulk: requests, answers, input, heartbeats, everything that is not bulk.
    Prompt,
    /// Behind every prompt frame: a status or image update; `Some` when a newer update for the
    /// same instance replaces it.
    Bulk(Option<StatusKey>),
}

/// The lane of a notification carrying `message`. Requests and answers are always prompt: an
/// answer is what its asker waits for, whatever it carries.
pub(crate) fn lane_of(message: &Message) -> Route {
    match message {
        Message::ActionCellStatus(_) | Message::AnalogControlStatus(_) => {
            Route::Bulk(status_of(message).map(|(kind, instance)| (kind, instance.to_owned())))
        }
        Message::AnalogControlStatusList(_) => Route::Bulk(None),
        _ => Route::Prompt,
    }
}

/// An envelope waiting, checked to fit a frame but not yet encoded, with the lane it goes out in.
#[derive(Debug)]
pub(crate) struct Queued {
    pub(crate) lane: Route,
    pub(crate) envelope: Envelope,
}

/// Envelopes in order, where a status update replaces the waiting one for the same instance.
#[derive(Debug, Default)]
pub(crate) struct LatestQueue {
    items: VecDeque<Queued>,
}

impl LatestQueue {
    /// The envelope waiting for `lane`'s instance, for a newer one to replace in its place;
    /// `None` if none waits (or the lane has no instance).
    pub(crate) fn waiting_for(&mut self, lane: &Route) -> Option<&mut Envelope> {
        let Route::Bulk(Some(_)) = lane else {
            return None;
        };
        let older = self.items.iter_mut().find(|item| item.lane == *lane)?;
        Some(&mut older.envelope)
    }

    pub(crate) fn push_back(&mut self, item: Queued) {
        self.items.push_back(item);
    }

    pub(crate) fn pop_front(&mut self) -> Option<Queued> {
        self.items.pop_front()
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::plugin::{ActionCellStatus, AnalogControlStatusList, TriggerAction};

    fn status(instance: &str) -> Message {
        ActionCellStatus {
            action_instance_id: instance.into(),
            ..ActionCellStatus::default()
        }
        .into()
    }

    /// A status update for `instance`, told apart from others by its text.
    fn update(instance: &str, text: &str) -> Envelope {
        let message = ActionCellStatus {
            action_instance_id: instance.into(),
            text: Some(text.into()),
            ..ActionCellStatus::default()
        };
        Envelope::request(0, message)
    }

    #[test]
    fn status_updates_are_bulk_and_keyed_by_instance() {
        assert_eq!(
            lane_of(&status("a")),
            Route::Bulk(Some((MessageType::ActionCellStatus, "a".into())))
        );
        assert_eq!(
            lane_of(&AnalogControlStatusList::default().into()),
            Route::Bulk(None)
        );
        assert_eq!(lane_of(&TriggerAction::default().into()), Route::Prompt);
    }

    #[test]
    fn a_newer_update_replaces_the_waiting_one_in_its_place() {
        let mut queue = LatestQueue::default();
        for (instance, text) in [("a", "a1"), ("b", "b1")] {
            let lane = lane_of(&status(instance));
            queue.push_back(Queued {
                lane,
                envelope: update(instance, text),
            });
        }
        let replaced = |queue: &mut LatestQueue, lane: &Route, instance, text| {
            let older = queue.waiting_for(lane);
            older.map(|older| *older = update(instance, text)).is_some()
        };
        assert!(replaced(&mut queue, &lane_of(&status("a")), "a", "a2"));
        assert!(!replaced(&mut queue, &lane_of(&status("c")), "c", "c1"));
        assert!(!replaced(&mut queue, &Route::Bulk(None), "l", "list"));
        let order: Vec<Envelope> =
            std::iter::from_fn(|| queue.pop_front().map(|q| q.envelope)).collect();
        assert_eq!(order, [update("a", "a2"), update("b", "b1")]);
    }
}
