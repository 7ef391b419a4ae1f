//! Priority lanes for what a session writes: status and image updates (seed 5.5, 5.6) wait in a
//! bulk lane behind every other frame, so that the answer to a press, a control update or a
//! heartbeat never queues behind a flood of 64 KiB images. Within a lane, order is kept; in the
//! bulk lane a newer update for an instance replaces the one still waiting, because only an
//! instance's latest state is worth drawing.
//!
//! The session only orders; when to take bulk frames is the driver's call, made from how busy
//! its transport is (`Session::poll_transmit_prompt`).

use std::collections::VecDeque;

use super::direction::status_of;
use super::types::Frame;
use crate::{Message, MessageType};

/// A status update's type and the action or control instance it is for.
pub(crate) type StatusKey = (MessageType, String);

/// Which lane a notification travels in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Lane {
    /// Ahead of bulk: requests, answers, input, heartbeats, everything that is not bulk.
    Prompt,
    /// Behind every prompt frame: a status or image update; `Some` when a newer update for the
    /// same instance replaces it.
    Bulk(Option<StatusKey>),
}

/// The lane of a notification carrying `message`. Requests and answers are always prompt: an
/// answer is what its asker waits for, whatever it carries.
pub(crate) fn lane_of(message: &Message) -> Lane {
    match message {
        Message::ActionCellStatus(_) | Message::AnalogControlStatus(_) => {
            Lane::Bulk(status_of(message).map(|(kind, instance)| (kind, instance.to_owned())))
        }
        Message::AnalogControlStatusList(_) => Lane::Bulk(None),
        _ => Lane::Prompt,
    }
}

/// A frame waiting, with the lane it goes out in.
#[derive(Debug)]
pub(crate) struct Queued {
    pub(crate) lane: Lane,
    pub(crate) frame: Frame,
}

/// Frames in order, where a status update replaces the waiting one for the same instance.
#[derive(Debug, Default)]
pub(crate) struct LatestQueue {
    items: VecDeque<Queued>,
}

impl LatestQueue {
    /// Replaces the waiting frame of `lane`'s instance with `frame`, keeping its place; `frame`
    /// back if none waits (or the lane has no instance).
    pub(crate) fn replace(&mut self, lane: &Lane, frame: Frame) -> Result<(), Frame> {
        let Lane::Bulk(Some(_)) = lane else {
            return Err(frame);
        };
        match self.items.iter_mut().find(|item| item.lane == *lane) {
            Some(older) => {
                older.frame = frame;
                Ok(())
            }
            None => Err(frame),
        }
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::plugin::{ActionCellStatus, AnalogControlStatusList, TriggerAction};
    use bytes::Bytes;

    fn status(instance: &str) -> Message {
        ActionCellStatus {
            action_instance_id: instance.into(),
            ..ActionCellStatus::default()
        }
        .into()
    }

    fn frame(text: &'static str) -> Frame {
        Frame::Binary(Bytes::from_static(text.as_bytes()))
    }

    #[test]
    fn status_updates_are_bulk_and_keyed_by_instance() {
        assert_eq!(
            lane_of(&status("a")),
            Lane::Bulk(Some((MessageType::ActionCellStatus, "a".into())))
        );
        assert_eq!(
            lane_of(&AnalogControlStatusList::default().into()),
            Lane::Bulk(None)
        );
        assert_eq!(lane_of(&TriggerAction::default().into()), Lane::Prompt);
    }

    #[test]
    fn a_newer_update_replaces_the_waiting_one_in_its_place() {
        let mut queue = LatestQueue::default();
        for (instance, text) in [("a", "a1"), ("b", "b1")] {
            let lane = lane_of(&status(instance));
            queue.push_back(Queued {
                lane,
                frame: frame(text),
            });
        }
        assert!(queue.replace(&lane_of(&status("a")), frame("a2")).is_ok());
        assert!(queue.replace(&lane_of(&status("c")), frame("c1")).is_err());
        assert!(queue.replace(&Lane::Bulk(None), frame("list")).is_err());
        let order: Vec<Frame> = std::iter::from_fn(|| queue.pop_front().map(|q| q.frame)).collect();
        assert_eq!(order, [frame("a2"), frame("b1")]);
    }
}
