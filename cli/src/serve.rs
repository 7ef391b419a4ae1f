//! `logi-plugin serve`: the manager daemon, and the composition root of the host library. It
//! starts the host on the plugins installed in its data directory (the local socket, and a
//! loopback WebSocket when asked), opens the front-ends asked for on top of it (the admin port,
//! the marketplace bridge), prints what happens, and on SIGINT or SIGTERM (Ctrl-C on Windows)
//! stops every plugin, closes its listeners and exits 0.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use futures_lite::{StreamExt as _, future};
use logi_plugin_manager::{FrontEndConfig, FrontEnds, Host, HostConfig, LogSink};
use logi_plugin_package::signature::TrustStore;
use serde_json::json;

use crate::files::{Result, read_trust};
use crate::output::Output;

/// How `serve` was asked to run.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Where installed plugins and settings live [default: the user's data folder, e.g.
    /// ~/.local/share/logi-plugin].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The local socket plugins connect to [default: the seed's per-user endpoint].
    #[arg(long)]
    endpoint: Option<PathBuf>,
    /// Also accept plugins over WebSocket on this loopback address (port 0: any free port).
    #[arg(long)]
    websocket: Option<SocketAddr>,
    /// A browser origin allowed to open the WebSocket, e.g. http://localhost:3000 (repeatable).
    #[arg(long = "allow-origin")]
    allow_origins: Vec<String>,
    /// Open the marketplace bridge (seed ch. 10-11) on this loopback address (port 0: any free
    /// port).
    #[arg(long)]
    marketplace: Option<SocketAddr>,
    /// A browser origin allowed to open the marketplace WebSocket (repeatable).
    #[arg(long = "marketplace-origin")]
    marketplace_origins: Vec<String>,
    /// Open the admin HTTP port (provd's plugin-manager API and the developer console at /) on
    /// this loopback address (port 0: any free port).
    #[arg(long)]
    admin: Option<SocketAddr>,
    /// A browser origin allowed to call the admin port besides its own pages (repeatable).
    #[arg(long = "admin-origin")]
    admin_origins: Vec<String>,
    /// Record every session into this folder (`session-<n>.logirec`), for `logi-plugin replay`.
    #[arg(long)]
    record: Option<PathBuf>,
    /// A folder of `<plugin id>-<version>.zip` packages that installs by plugin id take from.
    #[arg(long)]
    package_source: Option<PathBuf>,
    /// The trust store: one `<hex key> <publisher>` per line [default: <data-dir>/trust.txt
    /// when it exists].
    #[arg(long)]
    trust: Option<PathBuf>,
    /// Accept unsigned and untrusted packages, with a warning.
    #[arg(long)]
    development: bool,
    /// The language plugins are told in their hello.
    #[arg(long, default_value = "en-US")]
    language: String,
}

/// Runs the daemon until a stop signal.
pub fn run(args: &ServeArgs, out: Output) -> Result<()> {
    let data_dir = match &args.data_dir {
        Some(dir) => dir.clone(),
        None => default_data_dir()?,
    };
    // Resolved once, here: plugins run in their own folders, and the host resolves the rest
    // of its paths the same way.
    let data_dir = std::path::absolute(&data_dir)
        .map_err(|error| format!("--data-dir {}: {error}", data_dir.display()))?;
    let mut config = HostConfig::new(&data_dir);
    if let Some(endpoint) = &args.endpoint {
        config.endpoint.clone_from(endpoint);
    }
    config.websocket = args.websocket;
    config
        .websocket_options
        .allowed_origins
        .clone_from(&args.allow_origins);
    config.package_source.clone_from(&args.package_source);
    config.record_dir.clone_from(&args.record);
    config.trust = trust_store(args.trust.as_deref(), &data_dir)?;
    config.development = args.development;
    config.language.clone_from(&args.language);
    // Plugin logs reach the output as events; the sink keeps the host's own messages.
    config.log = LogSink::new(|record| {
        if record.plugin_id.is_none() {
            anstream::eprintln!("{record}");
        }
    });
    // Listen for the stop signals first, so that one arriving during the start is not missed.
    let mut signals = stop_signals()?;
    let host = Host::start(config)?;
    let mut front = FrontEndConfig {
        admin: args.admin,
        admin_origins: args.admin_origins.clone(),
        marketplace: args.marketplace,
        ..FrontEndConfig::default()
    };
    front
        .marketplace_options
        .allowed_origins
        .clone_from(&args.marketplace_origins);
    let front_ends = FrontEnds::open(&host, front)?;
    let (plugins, events) = host.watch();
    // The console's address carries the owner's secret, as notebook servers print theirs: the
    // one who started the daemon opens it; the port swaps it for a cookie.
    out.report(
        json!({ "ok": true, "serving": host.endpoint(), "websocket": host.websocket_addr(),
                "marketplace": front_ends.marketplace_addr(), "admin": front_ends.admin_addr(),
                "console": front_ends.console_url(), "data_dir": data_dir, "plugins": plugins.len() }),
        &format!(
            "serving on {}{}{}{} with {} plugins from {}",
            host.endpoint().display(),
            host.websocket_addr()
                .map(|addr| format!(" and ws://{addr}"))
                .unwrap_or_default(),
            front_ends
                .marketplace_addr()
                .map(|addr| format!(", marketplace on ws://{addr}"))
                .unwrap_or_default(),
            front_ends
                .console_url()
                .map(|url| format!(", developer console on {url}"))
                .unwrap_or_default(),
            plugins.len(),
            data_dir.display()
        ),
    );
    for info in &plugins {
        out.plugin(&info.details(&host.language()));
    }
    smol::block_on(async {
        let printing = async {
            while let Ok(event) = events.recv().await {
                out.event(&event);
            }
            future::pending().await
        };
        let stop = async {
            match signals.next().await {
                Some(Ok(signal)) => format!("{signal:?} received"),
                Some(Err(error)) => format!("signal handling failed ({error})"),
                None => "no more signals can arrive".into(),
            }
        };
        let why = future::or(printing, stop).await;
        out.note(&format!("{why}: stopping every plugin"));
        host.shutdown().await;
    });
    drop(front_ends);
    // What the plugins did while stopping.
    while let Ok(event) = events.try_recv() {
        out.event(&event);
    }
    out.report(json!({ "ok": true, "stopped": true }), "stopped");
    Ok(())
}

/// SIGINT and SIGTERM (Ctrl-C on Windows), caught from now on.
#[cfg(unix)]
pub(crate) fn stop_signals() -> Result<async_signal::Signals> {
    use async_signal::Signal;
    Ok(async_signal::Signals::new([Signal::Int, Signal::Term])?)
}

/// Ctrl-C, caught from now on.
#[cfg(windows)]
pub(crate) fn stop_signals() -> Result<async_signal::Signals> {
    Ok(async_signal::Signals::new([async_signal::Signal::Int])?)
}

/// The trust store file given, or `<data_dir>/trust.txt` if there is one, or an empty store.
fn trust_store(path: Option<&Path>, data_dir: &Path) -> Result<TrustStore> {
    let default = data_dir.join("trust.txt");
    match path {
        Some(path) => read_trust(path),
        None if default.exists() => read_trust(&default),
        None => Ok(TrustStore::default()),
    }
}

/// The user's data folder for the manager: `$XDG_DATA_HOME/logi-plugin` (or
/// `~/.local/share/logi-plugin`) on Linux, `~/Library/Application Support/logi-plugin` on
/// macOS, `%LOCALAPPDATA%\logi-plugin` on Windows.
fn default_data_dir() -> Result<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
    };
    let base = if cfg!(windows) {
        var("LOCALAPPDATA")
    } else if cfg!(target_os = "macos") {
        var("HOME").map(|home| home.join("Library/Application Support"))
    } else {
        var("XDG_DATA_HOME").or_else(|| var("HOME").map(|home| home.join(".local/share")))
    };
    let base = base.ok_or("no data folder is known for this user: give --data-dir")?;
    Ok(base.join("logi-plugin"))
}
