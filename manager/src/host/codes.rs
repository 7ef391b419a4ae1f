//! Who may say hello as which plugin: its per-launch code, and, for a program the host
//! launched, the process too. On a local socket that reports its peer (Linux), a hello with the
//! right code from a process that is neither the launched program nor one it started is refused
//! `UNAUTHORIZED`: a leaked code does not make another program the plugin. Where the transport
//! cannot tell (a WebSocket, another platform), and for CORE and EXTERNAL plugins, the code alone
//! admits.

use std::collections::HashMap;
use std::sync::Mutex;

use logi_plugin_core::session::{PeerProcess, PluginRegistry};

use logi_plugin_transports::lock::lock;

/// The plugins allowed to connect now.
#[derive(Default)]
pub(super) struct Codes(Mutex<HashMap<String, Admitted>>);

/// What a plugin's hello must match.
struct Admitted {
    code: String,
    /// The process the host launched for it, if it did.
    pid: Option<u32>,
}

impl Codes {
    /// Admits `plugin_id` with `code` from any process, or (with `None`) no longer.
    pub(super) fn set(&self, plugin_id: &str, code: Option<String>) {
        let mut codes = lock(&self.0);
        match code {
            Some(code) => codes.insert(plugin_id.to_string(), Admitted { code, pid: None }),
            None => codes.remove(plugin_id),
        };
    }

    /// Starts the program of `plugin_id` with `launch` (which gives the run and its pid) and
    /// admits `code` from that process and its descendants only. The table is locked while it
    /// starts, so that no hello is checked before the pid is known.
    pub(super) fn launch<T>(
        &self,
        plugin_id: &str,
        code: &str,
        launch: impl FnOnce() -> Result<(T, u32), String>,
    ) -> Result<T, String> {
        let mut codes = lock(&self.0);
        codes.remove(plugin_id);
        let (running, pid) = launch()?;
        let admitted = Admitted {
            code: code.into(),
            pid: Some(pid),
        };
        codes.insert(plugin_id.to_string(), admitted);
        Ok(running)
    }
}

impl PluginRegistry for Codes {
    fn plugin_code(&self, plugin_id: &str) -> Option<String> {
        lock(&self.0).get(plugin_id).map(|a| a.code.clone())
    }

    fn admits_process(&self, plugin_id: &str, peer: Option<&PeerProcess>) -> Result<(), String> {
        let launched = lock(&self.0).get(plugin_id).and_then(|a| a.pid);
        match (launched, peer) {
            (Some(pid), Some(peer)) if !peer.is_or_descends_from(pid) => Err(format!(
                "plugin {plugin_id:?} must connect from the process the host launched for it \
                 (pid {pid}) or one it started; {peer} is neither"
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLUGIN: &str = "com.example.media";

    fn launched(pid: u32) -> Codes {
        let codes = Codes::default();
        codes.launch(PLUGIN, "code", || Ok(((), pid))).unwrap();
        codes
    }

    #[test]
    fn a_launched_plugin_is_admitted_from_its_process_and_its_children_only() {
        let codes = launched(4242);
        let child = PeerProcess {
            ancestors: vec![4242, 1],
            ..PeerProcess::new(4300, 1000)
        };
        assert_eq!(codes.admits_process(PLUGIN, Some(&child)), Ok(()));
        let other = PeerProcess::new(777, 1000);
        let refused = codes.admits_process(PLUGIN, Some(&other)).unwrap_err();
        assert!(refused.contains("pid 4242"), "{refused}");
        assert!(refused.contains("process 777"), "{refused}");
    }

    #[test]
    fn where_the_transport_cannot_tell_the_code_alone_admits() {
        assert_eq!(launched(4242).admits_process(PLUGIN, None), Ok(()));
    }

    #[test]
    fn a_plugin_registered_by_code_is_admitted_from_any_process() {
        let codes = Codes::default();
        codes.set(PLUGIN, Some("code".into()));
        let any = PeerProcess::new(777, 1000);
        assert_eq!(codes.admits_process(PLUGIN, Some(&any)), Ok(()));
    }

    #[test]
    fn a_launch_that_fails_admits_nothing() {
        let codes = launched(4242);
        let failed = codes.launch::<()>(PLUGIN, "new code", || Err("no such file".into()));
        assert_eq!(failed, Err("no such file".into()));
        assert_eq!(codes.plugin_code(PLUGIN), None);
    }
}
