//! Who is at the other end of a connection, as the operating system tells it (not as the peer
//! says): the identity a local socket binds to a session, so that a plugin's secret alone does
//! not make a process the plugin. The transport learns it when it accepts the connection; the
//! session hands it to the [`PluginRegistry`](super::PluginRegistry) with the hello.

use std::fmt;

/// The process that opened a local-socket connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerProcess {
    /// Its process id.
    pub pid: u32,
    /// The user it runs as.
    pub uid: u32,
    /// Its parent, the parent's parent and so on, nearest first, as far as they could be read
    /// when it connected (a launcher script's child is still the launched plugin).
    pub ancestors: Vec<u32>,
}

impl PeerProcess {
    /// A process with no known ancestors.
    pub fn new(pid: u32, uid: u32) -> PeerProcess {
        PeerProcess {
            pid,
            uid,
            ancestors: Vec::new(),
        }
    }

    /// Whether it is the process `pid` or one that process started (at any depth).
    pub fn is_or_descends_from(&self, pid: u32) -> bool {
        self.pid == pid || self.ancestors.contains(&pid)
    }
}

impl fmt::Display for PeerProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "process {} (user {})", self.pid, self.uid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_descends_from_itself_and_its_ancestors_only() {
        let peer = PeerProcess {
            ancestors: vec![40, 1],
            ..PeerProcess::new(41, 1000)
        };
        assert!(peer.is_or_descends_from(41));
        assert!(peer.is_or_descends_from(40));
        assert!(peer.is_or_descends_from(1));
        assert!(!peer.is_or_descends_from(42));
    }
}
