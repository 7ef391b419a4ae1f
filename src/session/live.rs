//! Which plugin ids have a live manager session. A second hello for a plugin id that already has
//! one is refused `DUPLICATE_NAME`, rather than silently replacing it (a copy of a plugin, or a
//! program presenting a stolen code, cannot take over the session of the real one).
//!
//! The owner holds them ([`Admission`](super::Admission)): a hello accepted claims its plugin id,
//! and the owner drops the [`Claim`] in the call that closes the session (the transports'
//! driver does, before it lets the connection go). A plugin whose session the manager closed
//! (after a language change, a reload) can only see its connection end after that, so its
//! reconnect always finds its id free; and a session that has not noticed yet that its plugin
//! died (a new process said hello first) is refused only once: the SDK tries again after its
//! backoff.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};

/// The plugin ids with a live session, shared by the clones of one
/// [`Admission`](super::Admission).
#[derive(Clone, Debug, Default)]
pub struct LiveSessions(Arc<Mutex<HashSet<String>>>);

impl LiveSessions {
    /// Whether `plugin_id` has a live session.
    pub fn is_live(&self, plugin_id: &str) -> bool {
        self.ids().contains(plugin_id)
    }

    /// Claims `plugin_id` for a session; `None` if another session holds it.
    pub(crate) fn claim(&self, plugin_id: &str) -> Option<Claim> {
        self.ids().insert(plugin_id.to_owned()).then(|| Claim {
            live: self.clone(),
            plugin_id: plugin_id.to_owned(),
        })
    }

    fn ids(&self) -> MutexGuard<'_, HashSet<String>> {
        // Plain data: a panic elsewhere cannot leave it half changed.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A session's hold on its plugin id, given back when dropped.
#[derive(Debug)]
#[must_use = "the plugin id is given back as soon as its claim is dropped"]
pub struct Claim {
    live: LiveSessions,
    plugin_id: String,
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.live.ids().remove(&self.plugin_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_claimed_once_until_its_claim_is_dropped() {
        let live = LiveSessions::default();
        let first = live.claim("com.example.a").expect("free");
        assert!(live.is_live("com.example.a"));
        assert!(live.claim("com.example.a").is_none());
        assert!(live.claim("com.example.b").is_some());
        drop(first);
        assert!(!live.is_live("com.example.a"));
        assert!(live.claim("com.example.a").is_some());
    }
}
