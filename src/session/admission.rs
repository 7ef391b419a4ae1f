//! Admission: the owner's answer to a hello. A [`ManagerSession`](super::ManagerSession) checks
//! what it can alone (the first message is a hello, its protocol version is spoken, the client
//! library may use this transport), then hands the hello to its owner as [`Event::Hello`] and
//! waits for [`Session::admit`](super::Session::admit) with a [`Verdict`].
//!
//! Which plugins are registered, which process may present a plugin's code, and which plugin ids
//! already have a live session are the owner's state, shared by every connection: the session
//! holds none of it, and the verdict is an input like any other, recorded and replayed
//! ([`record`](super::record)). [`Admission`] is that state as the transports' listener keeps it:
//! the owner's [`PluginRegistry`] and the [`LiveSessions`].
//!
//! [`Event::Hello`]: super::Event::Hello

use std::collections::HashMap;
use std::sync::Arc;

use super::live::{Claim, LiveSessions};
use super::manager::Peer;
use super::peer::PeerProcess;
use super::types::Verdict;
use crate::ResponseCode;

/// What the owner has registered: the plugins allowed to connect and each one's per-launch code.
pub trait PluginRegistry: Send + Sync {
    /// The code a plugin with this id must present, or `None` if no such plugin may connect.
    fn plugin_code(&self, plugin_id: &str) -> Option<String>;

    /// Whether the process at the other end (`None` where the transport cannot tell, as on a
    /// WebSocket or in memory) may be the plugin `plugin_id`, asked once its code is right; an
    /// error says why not. Admits any by default.
    fn admits_process(&self, plugin_id: &str, peer: Option<&PeerProcess>) -> Result<(), String> {
        let _ = (plugin_id, peer);
        Ok(())
    }
}

impl PluginRegistry for HashMap<String, String> {
    fn plugin_code(&self, plugin_id: &str) -> Option<String> {
        self.get(plugin_id).cloned()
    }
}

/// Who may connect, and which plugin ids have a live session: what a listener judges hellos by.
/// Clones share the live ids.
#[derive(Clone)]
pub struct Admission {
    registry: Arc<dyn PluginRegistry>,
    live: LiveSessions,
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admission")
            .field("live", &self.live)
            .finish_non_exhaustive()
    }
}

impl Admission {
    /// Admits the plugins of `registry`, one live session each.
    pub fn new(registry: Arc<dyn PluginRegistry>) -> Admission {
        Admission {
            registry,
            live: LiveSessions::default(),
        }
    }

    /// The plugin ids with a live session admitted here.
    pub fn live(&self) -> &LiveSessions {
        &self.live
    }

    /// Judges the hello of `peer`, from `process` where the transport tells it. A plugin is
    /// admitted when it is registered, presents its code (compared in constant time), comes
    /// from a process the registry admits, and has no live session already (`DUPLICATE_NAME`
    /// otherwise: a copy of a plugin, or a program presenting a stolen code, cannot take over
    /// the real one's session). An admitted plugin's id is held by the [`Claim`] returned until
    /// it is dropped: drop it in the call that closes the session. The client library carries
    /// no secret, so the session alone decides whether it may connect; it is accepted here.
    pub fn judge(&self, peer: &Peer, process: Option<&PeerProcess>) -> (Verdict, Option<Claim>) {
        let Peer::Plugin(hello) = peer else {
            return (Verdict::Accept, None);
        };
        let id = &hello.plugin_id;
        let Some(expected) = self.registry.plugin_code(id) else {
            let what = format!("plugin {id:?} is not registered");
            return (Verdict::refuse(ResponseCode::Unauthorized, what), None);
        };
        if !constant_time_eq(expected.as_bytes(), hello.plugin_code.as_bytes()) {
            let what = format!("wrong plugin code for plugin {id:?}");
            return (Verdict::refuse(ResponseCode::Unauthorized, what), None);
        }
        if let Err(why) = self.registry.admits_process(id, process) {
            return (Verdict::refuse(ResponseCode::Unauthorized, why), None);
        }
        match self.live.claim(id) {
            Some(claim) => (Verdict::Accept, Some(claim)),
            None => {
                let what = format!(
                    "plugin {id:?} already has a live session: a second one is refused, not put \
                     in its place (try again once that one has closed)"
                );
                (Verdict::refuse(ResponseCode::DuplicateName, what), None)
            }
        }
    }
}

/// Compares two secrets in time that depends only on their lengths, never on where they differ
/// (plugin codes here; the host's own credentials too).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut difference = u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        difference |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
    }
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::manager::ClientHello;
    use crate::proto::plugin::PluginHello;

    fn admission() -> Admission {
        let registry: HashMap<String, String> = [("com.example.a".into(), "code".into())].into();
        Admission::new(Arc::new(registry))
    }

    fn plugin(id: &str, code: &str) -> Peer {
        Peer::Plugin(PluginHello {
            plugin_id: id.into(),
            plugin_code: code.into(),
            plugin_version: "1.0.0".into(),
            protocol_version: 1,
        })
    }

    fn code_of(verdict: &Verdict) -> Option<ResponseCode> {
        match verdict {
            Verdict::Accept => None,
            Verdict::Refuse { code, .. } => Some(*code),
        }
    }

    #[test]
    fn a_registered_plugin_with_its_code_is_accepted_and_holds_its_id() {
        let admission = admission();
        let (verdict, claim) = admission.judge(&plugin("com.example.a", "code"), None);
        assert_eq!(verdict, Verdict::Accept);
        assert!(claim.is_some());
        assert!(admission.live().is_live("com.example.a"));
        drop(claim);
        assert!(!admission.live().is_live("com.example.a"));
    }

    #[test]
    fn an_unregistered_plugin_or_a_wrong_code_is_refused_unauthorized() {
        let admission = admission();
        for peer in [
            plugin("com.example.b", "code"),
            plugin("com.example.a", "c0de"),
        ] {
            let (verdict, claim) = admission.judge(&peer, None);
            assert_eq!(code_of(&verdict), Some(ResponseCode::Unauthorized));
            assert!(claim.is_none());
        }
        assert!(!admission.live().is_live("com.example.a"));
    }

    #[test]
    fn a_second_hello_for_a_live_id_is_refused_duplicate_name() {
        let admission = admission();
        let (_, first) = admission.judge(&plugin("com.example.a", "code"), None);
        let (verdict, claim) = admission
            .clone()
            .judge(&plugin("com.example.a", "code"), None);
        assert_eq!(code_of(&verdict), Some(ResponseCode::DuplicateName));
        assert!(claim.is_none());
        drop(first);
        let (verdict, _) = admission.judge(&plugin("com.example.a", "code"), None);
        assert_eq!(verdict, Verdict::Accept);
    }

    #[test]
    fn secrets_are_equal_only_when_every_byte_and_the_length_match() {
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(!constant_time_eq(b"s3cret", b"s3creT"));
        assert!(!constant_time_eq(b"s3cret", b"s3cret\0"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn the_client_library_is_accepted_holding_no_id() {
        let (verdict, claim) = admission().judge(&Peer::Client(ClientHello::default()), None);
        assert_eq!(verdict, Verdict::Accept);
        assert!(claim.is_none());
    }
}
