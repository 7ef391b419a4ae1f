//! Why a host operation failed: each error names the plugin, the file or the value at fault,
//! and maps to the seed's result code the client library answers with.

use std::net::SocketAddr;
use std::path::PathBuf;

use logi_plugin_core::proto::manager::InstallationType;
use logi_plugin_package::PackageError;
use logi_plugin_package::signature::SignatureError;
use logi_plugin_transports::RequestError;
use logi_plugin_transports::local::LocalError;
use logi_plugin_transports::ws::WsListenError;

use crate::settings::SettingsError;

/// Why a host operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// The package cannot be read.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// The package's signature is not accepted.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The settings database failed.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The local socket cannot be opened.
    #[error(transparent)]
    Listen(#[from] LocalError),
    /// The WebSocket port cannot be opened.
    #[error(transparent)]
    ListenWs(#[from] WsListenError),
    /// Another host holds the data directory.
    #[error(
        "the data directory {} is in use by another manager{}: stop it, or give this one \
         another --data-dir", dir.display(), holder.map(|pid| format!(" (pid {pid})")).unwrap_or_default()
    )]
    DataDirInUse {
        /// The data directory.
        dir: PathBuf,
        /// The holder's process id, as it wrote it in the lock file.
        holder: Option<u32>,
    },
    /// The admin port was asked for on an address that is not loopback.
    #[error("refusing to open the admin port on {0}: it binds loopback addresses only")]
    NotLoopback(SocketAddr),
    /// A file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// An installation or uninstallation command failed.
    #[error("{plugin_id}: command {executable:?} {outcome}")]
    Command {
        /// The plugin.
        plugin_id: String,
        /// The command's executable.
        executable: String,
        /// How it ended.
        outcome: String,
    },
    /// No plugin has this id.
    #[error("no plugin {0:?} is installed")]
    UnknownPlugin(String),
    /// An install names a plugin but no package, and the host has no package source.
    #[error("cannot install {0:?} by its id: this manager has no package source")]
    NoPackageSource(String),
    /// The package source has no package of the plugin (at that version).
    #[error("{} has no package {plugin_id}-{}.zip", dir.display(), version.as_deref().unwrap_or("<version>"))]
    NotInSource {
        /// The plugin.
        plugin_id: String,
        /// The version asked, if one was.
        version: Option<String>,
        /// The package source.
        dir: PathBuf,
    },
    /// The plugin is built into the host.
    #[error(
        "{0:?} is a CORE plugin, built into the host: it cannot be uninstalled, replaced or \
         reloaded"
    )]
    CorePlugin(String),
    /// A reloaded plugin's folder now holds another plugin.
    #[error("the folder of {plugin_id:?} now holds {found:?}: install that as a plugin of its own")]
    IdChanged {
        /// The plugin reloaded.
        plugin_id: String,
        /// The id its manifest now has.
        found: String,
    },
    /// Another plugin has the id.
    #[error("{plugin_id:?} is already taken by a plugin of installation type {}", .installation.as_str_name())]
    Taken {
        /// The plugin.
        plugin_id: String,
        /// How the plugin holding the id came to the host.
        installation: InstallationType,
    },
    /// A folder was to be linked, and the host is not in development mode.
    #[error(
        "linking {} needs development mode, where unsigned code runs: start the manager with \
         `logi-plugin serve --development`",
        .0.display()
    )]
    LinkNeedsDevelopment(PathBuf),
    /// A package was to replace a plugin linked to an author's folder for development.
    #[error(
        "{plugin_id:?} is linked to the development folder {}: a package does not replace it; \
         end `logi-plugin dev` (or `logi-plugin remove {plugin_id}`) first",
        dir.display()
    )]
    Linked {
        /// The plugin.
        plugin_id: String,
        /// The author's folder.
        dir: PathBuf,
    },
    /// A folder was to be linked with the id of a plugin installed from a package.
    #[error(
        "{0:?} is installed from a package, which linking does not replace: \
         `logi-plugin remove {0}` first (its settings are kept)"
    )]
    InstalledNotLinked(String),
    /// Some plugins could not be uninstalled by [`Host::uninstall_all`](super::Host::uninstall_all); the others were.
    #[error("uninstalling every plugin failed for some: {0}")]
    UninstallAll(String),
    /// A language code that is empty or has characters no language tag has.
    #[error("{0:?} is not a language code (e.g. \"de-DE\")")]
    Language(String),
    /// The plugin is installed but not connected.
    #[error("plugin {0:?} is not connected")]
    NotConnected(String),
    /// The plugin did not answer.
    #[error("plugin {plugin_id:?}: {error}")]
    Request {
        /// The plugin.
        plugin_id: String,
        /// Why there is no answer.
        error: RequestError,
    },
}
