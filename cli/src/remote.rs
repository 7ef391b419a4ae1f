//! `install`, `remove`, `list`, `status`, `invoke`, `logs`: the running manager (`logi-plugin
//! serve`) driven through the client library (seed chapter 9) over its local socket, as the
//! configuration software drives it.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use futures_lite::{StreamExt as _, future};
use logi_plugin_client::{Call, CallError, LibraryEvent, LibraryOptions, PluginManagerClient};
use logi_plugin_core::proto::manager::{Invoke, PluginUpdateResult, invoke, plugin_update_result};
use logi_plugin_core::session::CloseReason;
use logi_plugin_transports::Endpoint;
use serde_json::json;

use crate::files::{Result, read};
use crate::output::Output;
use crate::serve::stop_signals;

/// How long to look for the manager before saying it is not there.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the running manager is.
#[derive(clap::Args)]
pub struct ManagerArgs {
    /// The manager's local socket [default: `LOGI_PLUGIN_ENDPOINT`, or the seed's per-user
    /// endpoint, where `serve` listens by default].
    #[arg(long)]
    endpoint: Option<PathBuf>,
}

/// What to press or turn.
#[derive(clap::Args)]
pub struct InvokeArgs {
    /// The plugin.
    plugin_id: String,
    /// The action or analog control, as in the manifest.
    control_id: String,
    /// The instance of the action or control.
    #[arg(long, default_value = "cli")]
    instance: String,
    /// Release the action instead of pressing it.
    #[arg(long, conflicts_with_all = ["delta", "value"])]
    release: bool,
    /// Turn the control by this much.
    #[arg(long, allow_hyphen_values = true, conflicts_with = "value")]
    delta: Option<f32>,
    /// Set the control to this value.
    #[arg(long, allow_hyphen_values = true)]
    value: Option<f32>,
}

/// Installs a package; the plugin id is read from it first, so a broken package fails here.
pub fn install(package: &PathBuf, manager: &ManagerArgs, out: Output) -> Result<()> {
    let manifest = read(package, None)?.manifest().clone();
    // The manager runs elsewhere: it needs the path from the root.
    let path = std::path::absolute(package)?;
    let spinner = out.spinner(&format!("installing {}", manifest.plugin_id));
    let installed = with_manager(manager, |client| {
        answer(client.install_plugin(&manifest.plugin_id, &path))
    });
    spinner.finish_and_clear();
    installed?;
    out.report(
        json!({ "ok": true, "plugin_id": manifest.plugin_id,
                "version": manifest.version.to_string() }),
        &format!("installed {} {}", manifest.plugin_id, manifest.version),
    );
    Ok(())
}

/// Uninstalls a plugin, keeping its settings unless `purge`.
pub fn remove(plugin_id: &str, purge: bool, manager: &ManagerArgs, out: Output) -> Result<()> {
    with_manager(manager, |client| {
        if purge {
            answer(client.purge_plugin(plugin_id))
        } else {
            answer(client.remove_plugin(plugin_id))
        }
    })?;
    let text = if purge {
        format!("removed {plugin_id} and deleted its settings")
    } else {
        format!("removed {plugin_id}; its settings are kept (--purge deletes them)")
    };
    out.report(
        json!({ "ok": true, "removed": plugin_id, "purged": purge }),
        &text,
    );
    Ok(())
}

/// Lists the plugins, one per line.
pub fn list(manager: &ManagerArgs, out: Output) -> Result<()> {
    let plugins = with_manager(manager, |client| answer(client.plugin_list()))?;
    if plugins.is_empty() {
        out.note("no plugins");
    }
    for plugin in &plugins {
        out.plugin(plugin);
    }
    Ok(())
}

/// One plugin, with why its last run ended.
pub fn status(plugin_id: &str, manager: &ManagerArgs, out: Output) -> Result<()> {
    let plugins = with_manager(manager, |client| answer(client.plugin_list()))?;
    let plugin = plugins
        .iter()
        .find(|plugin| plugin.plugin_id == plugin_id)
        .ok_or_else(|| format!("NOT_FOUND: the manager has no plugin {plugin_id:?}"))?;
    out.status(plugin);
    Ok(())
}

/// Prints a plugin's recent log lines; with `follow`, then each new line as it comes, until
/// Ctrl-C (or SIGTERM) or the manager goes, which both end it successfully.
pub fn logs(plugin_id: &str, follow: bool, manager: &ManagerArgs, out: Output) -> Result<()> {
    // Caught before the lines are asked for, so that no Ctrl-C kills the tool mid-line.
    let mut signals = if follow { Some(stop_signals()?) } else { None };
    with_manager(manager, |client| {
        let recent = answer(client.plugin_log(plugin_id, follow))?;
        for line in &recent {
            out.log_line(line);
        }
        let Some(signals) = &mut signals else {
            return Ok(());
        };
        // A line logged while the answer was made may come again as a notification.
        let printed: HashSet<u32> = recent.iter().map(|line| line.seq).collect();
        let following = async {
            loop {
                match client.next_event().await {
                    Some(LibraryEvent::PluginLog(line)) => {
                        if line.plugin_id == plugin_id && !printed.contains(&line.seq) {
                            out.log_line(&line);
                        }
                    }
                    Some(LibraryEvent::Disconnected(_) | LibraryEvent::Stopped(_)) | None => {
                        return "the plugin manager closed the connection";
                    }
                    Some(_) => {}
                }
            }
        };
        let stopped = async {
            signals.next().await;
            "stopped"
        };
        let why = smol::block_on(future::or(following, stopped));
        out.note(why);
        Ok(())
    })
}

/// Presses, releases or turns, and prints the state the plugin reports.
pub fn invoke(args: &InvokeArgs, manager: &ManagerArgs, out: Output) -> Result<()> {
    let (button, rotation) = match (args.release, args.delta, args.value) {
        (true, _, _) => (invoke::ButtonState::Up, None),
        (false, Some(delta), _) => (
            invoke::ButtonState::None,
            Some(invoke::Rotation::Delta(delta)),
        ),
        (false, None, Some(value)) => (
            invoke::ButtonState::None,
            Some(invoke::Rotation::Absolute(value)),
        ),
        (false, None, None) => (invoke::ButtonState::Down, None),
    };
    let request = Invoke {
        plugin_id: args.plugin_id.clone(),
        action_id: args.control_id.clone(),
        instance_id: args.instance.clone(),
        button_state: button.into(),
        rotation,
        configuration: None,
    };
    let result = with_manager(manager, |client| answer(client.invoke(request)))?;
    report_update(&result, out)
}

fn report_update(result: &PluginUpdateResult, out: Output) -> Result<()> {
    if let Some(outcome) = result.result.as_ref().filter(|outcome| !outcome.is_ok()) {
        let code = outcome.result().as_str_name();
        return Err(format!("{} answered {code}: {}", result.plugin_id, outcome.what).into());
    }
    let (text, value) = match &result.status {
        Some(plugin_update_result::Status::ActionStatus(status)) => (status.text.clone(), None),
        Some(plugin_update_result::Status::AnalogControlStatus(status)) => {
            (status.text.clone(), status.current_value)
        }
        None => (None, None),
    };
    let shown = match (&text, value) {
        (Some(text), _) => text.clone(),
        (None, Some(value)) => value.to_string(),
        (None, None) => "done".to_string(),
    };
    out.report(
        json!({ "ok": true, "plugin_id": result.plugin_id, "text": text, "value": value }),
        &format!("{}: {shown}", result.plugin_id),
    );
    Ok(())
}

/// Runs `call` with a client library connected to the manager, then disconnects cleanly.
fn with_manager<T>(
    manager: &ManagerArgs,
    call: impl FnOnce(&PluginManagerClient) -> Result<T>,
) -> Result<T> {
    let client = connect(manager)?;
    let result = call(&client);
    client.disconnect();
    smol::block_on(future::or(client.wait_for_disconnect(), async {
        async_io::Timer::after(Duration::from_secs(1)).await;
    }));
    result
}

/// A client library connected to the manager, or why there is none.
pub(crate) fn connect(manager: &ManagerArgs) -> Result<PluginManagerClient> {
    let mut options = LibraryOptions::new("logi-plugin", env!("CARGO_PKG_VERSION"));
    if let Some(endpoint) = &manager.endpoint {
        options.endpoint = Endpoint::Local(endpoint.clone());
    }
    let endpoint = match &options.endpoint {
        Endpoint::Local(path) => path.display().to_string(),
        Endpoint::WebSocket(url) => url.clone(),
    };
    let (client, runner) = PluginManagerClient::connect(options);
    smol::spawn(runner).detach();
    let connected = smol::block_on(future::or(
        async { Some(client.wait_connected().await) },
        async {
            async_io::Timer::after(CONNECT_TIMEOUT).await;
            None
        },
    ));
    match connected {
        Some(Ok(())) => Ok(client),
        // Stopped for good: another user's socket (no hello was sent), or a refused hello.
        Some(Err(reason)) => Err(match reason {
            CloseReason::TransportFailed(what) => what,
            reason => format!("the plugin manager on {endpoint} refused this tool: {reason}"),
        }
        .into()),
        None => {
            client.disconnect();
            let why =
                format!("no plugin manager answers on {endpoint}: is `logi-plugin serve` running?");
            Err(why.into())
        }
    }
}

/// Sends a call and waits for its result.
pub(crate) fn answer<T>(
    call: impl Future<Output = std::result::Result<Call<T>, CallError>>,
) -> Result<T> {
    Ok(smol::block_on(async { call.await?.result().await })?)
}
