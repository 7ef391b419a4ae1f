//! What a plugin is shown (seed 5.13): the action and analog-control instances visible now, each
//! with its configuration, as `VisibilityChanged` messages build it up.
//!
//! Both sides keep one. The manager keeps what its client asked for and what it has told the
//! plugin, and after a reconnect sends [`View::resync`] so that the plugin ends up as if the
//! connection had never dropped; a plugin folds every change it receives into its own
//! ([`View::apply_message`]), and the two are then equal.

use std::collections::BTreeMap;

use crate::Message;
use crate::proto::plugin::{VisibilityChanged, VisibilityChangedList};

/// An instance: the action or control id (as in the manifest) and the instance id.
pub type InstanceKey = (String, String);

/// The visible instances, each with its configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct View {
    visible: BTreeMap<InstanceKey, Option<String>>,
}

impl View {
    /// An empty view: nothing visible.
    pub fn new() -> View {
        View::default()
    }

    /// Applies one change: a visible instance is added (or its configuration replaced), a hidden
    /// one removed. Whether the view changed.
    pub fn apply(&mut self, change: &VisibilityChanged) -> bool {
        let key = (change.control_id.clone(), change.action_instance_id.clone());
        if change.visible {
            self.visible.insert(key, change.configuration.clone())
                != Some(change.configuration.clone())
        } else {
            self.visible.remove(&key).is_some()
        }
    }

    /// Applies a `VisibilityChanged` or each change of a `VisibilityChangedList`, in order; any
    /// other message leaves the view as it is. Whether the view changed.
    pub fn apply_message(&mut self, message: &Message) -> bool {
        match message {
            Message::VisibilityChanged(change) => self.apply(change),
            Message::VisibilityChangedList(list) => list
                .visibility
                .iter()
                .fold(false, |changed, change| self.apply(change) | changed),
            _ => false,
        }
    }

    /// Whether the instance is visible.
    pub fn is_visible(&self, control_id: &str, instance_id: &str) -> bool {
        self.visible
            .contains_key(&(control_id.to_string(), instance_id.to_string()))
    }

    /// The configuration of a visible instance (`None` when it is hidden or has none).
    pub fn configuration(&self, control_id: &str, instance_id: &str) -> Option<&str> {
        let key = (control_id.to_string(), instance_id.to_string());
        self.visible.get(&key)?.as_deref()
    }

    /// How many instances are visible.
    pub fn len(&self) -> usize {
        self.visible.len()
    }

    /// Whether nothing is visible.
    pub fn is_empty(&self) -> bool {
        self.visible.is_empty()
    }

    /// Every visible instance, as the change that shows it, in a stable order.
    pub fn shown(&self) -> impl Iterator<Item = VisibilityChanged> + '_ {
        self.visible.iter().map(
            |((control_id, instance_id), configuration)| VisibilityChanged {
                control_id: control_id.clone(),
                action_instance_id: instance_id.clone(),
                visible: true,
                configuration: configuration.clone(),
            },
        )
    }

    /// What brings a peer that may hold `told` to this view: a hide for each instance in `told`
    /// that is not visible here, then a show of every visible instance with its configuration.
    ///
    /// Every instance is shown again, not only those that differ: a plugin whose process was
    /// restarted holds nothing, and the manager cannot tell it from one that kept its state.
    /// Showing an instance twice and hiding one a plugin never saw both leave its view as they
    /// should, so the list is right for either.
    pub fn resync(&self, told: &View) -> VisibilityChangedList {
        let hides = told
            .visible
            .keys()
            .filter(|key| !self.visible.contains_key(*key))
            .map(|(control_id, instance_id)| VisibilityChanged {
                control_id: control_id.clone(),
                action_instance_id: instance_id.clone(),
                visible: false,
                configuration: None,
            });
        VisibilityChangedList {
            visibility: hides.chain(self.shown()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(
        control: &str,
        instance: &str,
        visible: bool,
        config: Option<&str>,
    ) -> VisibilityChanged {
        VisibilityChanged {
            control_id: control.into(),
            action_instance_id: instance.into(),
            visible,
            configuration: config.map(String::from),
        }
    }

    #[test]
    fn a_shown_instance_is_visible_with_its_configuration_until_hidden() {
        let mut view = View::new();
        assert!(view.apply(&change("mute", "a", true, Some("{\"x\":1}"))));
        assert!(view.is_visible("mute", "a"));
        assert_eq!(view.configuration("mute", "a"), Some("{\"x\":1}"));
        assert!(!view.apply(&change("mute", "a", true, Some("{\"x\":1}"))));
        assert!(view.apply(&change("mute", "a", true, Some("{\"x\":2}"))));
        assert!(view.apply(&change("mute", "a", false, None)));
        assert!(!view.is_visible("mute", "a"));
        assert!(!view.apply(&change("mute", "a", false, None)));
    }

    #[test]
    fn a_list_applies_its_changes_in_order() {
        let mut view = View::new();
        let list = VisibilityChangedList {
            visibility: vec![
                change("mute", "a", true, None),
                change("dial", "b", true, None),
                change("mute", "a", false, None),
            ],
        };
        assert!(view.apply_message(&Message::VisibilityChangedList(list)));
        assert!(!view.is_visible("mute", "a"));
        assert!(view.is_visible("dial", "b"));
        assert_eq!(view.len(), 1);
    }

    #[test]
    fn a_resync_brings_a_stale_peer_and_an_empty_one_to_the_same_view() {
        let mut manager = View::new();
        manager.apply(&change("mute", "a", true, Some("new")));
        manager.apply(&change("dial", "c", true, None));
        let mut stale = View::new();
        stale.apply(&change("mute", "a", true, Some("old")));
        stale.apply(&change("mute", "b", true, None));
        let resync = Message::VisibilityChangedList(manager.resync(&stale));
        let mut fresh = View::new();
        stale.apply_message(&resync);
        fresh.apply_message(&resync);
        assert_eq!(stale, manager);
        assert_eq!(fresh, manager);
    }

    #[test]
    fn a_resync_hides_what_the_peer_may_hold_before_showing_what_is_visible() {
        let mut manager = View::new();
        manager.apply(&change("mute", "a", true, None));
        let mut told = manager.clone();
        told.apply(&change("mute", "gone", true, None));
        let list = manager.resync(&told);
        let order: Vec<_> = list
            .visibility
            .iter()
            .map(|change| (change.action_instance_id.as_str(), change.visible))
            .collect();
        assert_eq!(order, [("gone", false), ("a", true)]);
    }
}
