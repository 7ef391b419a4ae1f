//! Plugins the host application registers instead of installing from a package (Kortex
//! `InstallationType`):
//!
//! - `CORE`: a plain Rust type built into the host, run in-process on the plugin SDK
//!   ([`PluginClient`]) over the in-memory transport. Its task is its container: `LAUNCHING`
//!   until its hello, `RUNNING`, `CRASHED` and restarted if it panics, `STOPPED` if it returns.
//!   It cannot be uninstalled.
//! - `EXTERNAL`: runs outside the host and connects by itself (a JavaScript plugin over the
//!   WebSocket, say) with the code it was registered with. The host runs nothing for it, so its
//!   container state is `NOT_APPLICABLE`.
//!
//! Neither is remembered across runs: the host application registers them at each start.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use futures_lite::FutureExt as _;
use logi_plugin_core::proto::manager::{ContainerState, InstallationType};
use logi_plugin_manifest::Manifest;
use logi_plugin_sdk::{ClientConfig, PluginClient};

use super::core::Plugin;
use super::diagnostics::Ending;
use super::process::{self, Container};
use super::shared::Shared;
use super::{Host, HostError};

/// A CORE plugin's body: given a connected-to-be client, runs the plugin until it returns.
type Run = Arc<dyn Fn(PluginClient) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

impl Host {
    /// Registers a CORE plugin: `run` is called with a [`PluginClient`] connected to this host
    /// in-process (and again after a panic, with a fresh one). The plugin runs until `run`
    /// returns or the host shuts down.
    pub fn add_core<F, Fut>(&self, manifest: Manifest, run: F) -> Result<(), HostError>
    where
        F: Fn(PluginClient) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let plugin_id = manifest.plugin_id.clone();
        let version = manifest.version.to_string();
        // Its states come from its supervisor, `LAUNCHING` first.
        self.shared
            .register(manifest, InstallationType::Core, ContainerState::Launching)?;
        let run: Run = Arc::new(move |client| Box::pin(run(client)));
        let core = Core {
            plugin_id: plugin_id.clone(),
            version,
            run,
        };
        process::supervise(&self.shared, &plugin_id, core);
        Ok(())
    }

    /// Registers an EXTERNAL plugin, admitted when it says hello with `code` over any of the
    /// host's transports. [`Host::uninstall`] removes it again.
    pub fn add_external(
        &self,
        manifest: Manifest,
        code: impl Into<String>,
    ) -> Result<(), HostError> {
        let plugin_id = manifest.plugin_id.clone();
        let state = ContainerState::NotApplicable;
        self.shared
            .register(manifest, InstallationType::External, state)?;
        self.shared.codes.set(&plugin_id, Some(code.into()));
        self.shared.set_state(&plugin_id, state);
        Ok(())
    }
}

impl Shared {
    /// Adds a registered plugin in `state`, unless its id is taken.
    fn register(
        &self,
        manifest: Manifest,
        installation: InstallationType,
        state: ContainerState,
    ) -> Result<(), HostError> {
        let plugin_id = manifest.plugin_id.clone();
        self.core(|core| {
            if let Some(existing) = core.plugin(&plugin_id) {
                return Err(HostError::Taken {
                    plugin_id,
                    installation: existing.info.installation,
                });
            }
            // Told when its supervisor (CORE) or its code (EXTERNAL) is in place.
            core.list_supervised(Plugin::new(manifest, installation, state, None));
            Ok(())
        })
    }
}

/// A CORE plugin's container: its task.
struct Core {
    plugin_id: String,
    version: String,
    run: Run,
}

/// One run of a CORE plugin.
struct CoreRun {
    client: PluginClient,
    task: smol::Task<Result<(), String>>,
}

impl Container for Core {
    type Running = CoreRun;

    fn start(&self, shared: &Arc<Shared>, token: &str) -> Result<CoreRun, String> {
        shared.codes.set(&self.plugin_id, Some(token.into()));
        let mut config = ClientConfig::new(&self.plugin_id, &self.version, token);
        config.connector = Some(shared.memory.clone().into());
        let (client, runner) = PluginClient::new(config);
        // The plugin's code may panic making its future as well as running it.
        let body = std::panic::catch_unwind(AssertUnwindSafe(|| (self.run)(client.clone())))
            .map_err(panicked)?;
        let stopper = client.clone();
        let task = smol::spawn(async move {
            let runner = smol::spawn(runner);
            let ended = AssertUnwindSafe(body).catch_unwind().await;
            stopper.disconnect();
            runner.await;
            ended.map_err(panicked)
        });
        Ok(CoreRun { client, task })
    }

    async fn wait(running: &mut CoreRun) -> Result<(), Ending> {
        (&mut running.task).await.map_err(Ending::from)
    }

    fn ask_to_stop(running: &CoreRun) {
        running.client.disconnect();
    }

    async fn kill(running: CoreRun) {
        running.task.cancel().await;
    }
}

/// How a panic is reported: with its message, when it has one.
fn panicked(panic: Box<dyn std::any::Any + Send>) -> String {
    let what = panic
        .downcast_ref::<&str>()
        .map(|text| text.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into());
    format!("panicked: {what}")
}
