//! The SDK's utilities (seed 7.2): open a page in the user's browser, and keep a plugin's
//! secrets (tokens, passwords) in the operating system's secret store: the keychain on macOS,
//! the credential store on Windows, the Secret Service on Linux.
//!
//! Secrets go through the [`SecretStore`] trait: `OsSecretStore` is the real one,
//! [`MemorySecretStore`] stands in for it in tests and on machines that have none (a headless
//! Linux box usually has no Secret Service: the OS store then says so, it does not pretend).
//! The OS store and the seed's `save_secret`, `load_secret` and `delete_secret` come with the
//! `secrets` feature (on by default), which brings `keyring` and its platform stack.

use std::collections::HashMap;
use std::process::Command;
use std::sync::Mutex;

/// Why a page could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenUrlError {
    /// Only `http` and `https` pages are opened: a plugin may not make the host run other
    /// schemes (`file:`, custom handlers).
    #[error("refusing to open {0:?}: only http:// and https:// URLs are opened")]
    NotWeb(String),
    /// The system's opener could not be started.
    #[error("cannot start {program} to open {url}: {source}")]
    Launch {
        /// The program tried.
        program: &'static str,
        /// The URL.
        url: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Opens `url` in the default browser (seed 7.2.1), without waiting for it.
pub fn open_url(url: &str) -> Result<(), OpenUrlError> {
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(OpenUrlError::NotWeb(url.to_string()));
    }
    let (program, mut command) = if cfg!(target_os = "macos") {
        ("open", Command::new("open"))
    } else if cfg!(windows) {
        // `start`'s first quoted argument is a window title: give an empty one.
        let mut command = Command::new("cmd");
        command.args(["/C", "start", ""]);
        ("cmd", command)
    } else {
        ("xdg-open", Command::new("xdg-open"))
    };
    command
        .arg(url)
        .spawn()
        .map(drop)
        .map_err(|source| OpenUrlError::Launch {
            program,
            url: url.to_string(),
            source,
        })
}

/// Why a secret could not be saved, read or deleted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// This system has no secret store the SDK can use (say, no Secret Service running).
    #[error("no secret store is available on this system: {0}")]
    Unavailable(String),
    /// The store refused or failed.
    #[error("the secret store failed: {0}")]
    Failed(String),
}

/// Where a plugin's secrets are kept, each under the plugin's name and the secret's name.
pub trait SecretStore: Send + Sync {
    /// Saves `value` (seed 7.2.2), replacing any earlier value.
    fn save(&self, plugin_name: &str, name: &str, value: &str) -> Result<(), SecretError>;
    /// The saved value, `None` if there is none (seed 7.2.3).
    fn load(&self, plugin_name: &str, name: &str) -> Result<Option<String>, SecretError>;
    /// Deletes the value; deleting what is not there is not an error (seed 7.2.4).
    fn delete(&self, plugin_name: &str, name: &str) -> Result<(), SecretError>;
}

#[cfg(feature = "secrets")]
/// The operating system's secret store, through `keyring`. Each secret is kept under the
/// service `logi-plugin:<plugin name>` and the account `<name>`.
#[derive(Clone, Copy, Debug, Default)]
pub struct OsSecretStore;

#[cfg(feature = "secrets")]
impl OsSecretStore {
    fn entry(plugin_name: &str, name: &str) -> Result<keyring::Entry, SecretError> {
        // The platform's store is set up once; if that failed, say why on every call.
        if let Err(why) = keyring::Entry::store_status() {
            return Err(SecretError::Unavailable(why.to_string()));
        }
        keyring::Entry::new(&format!("logi-plugin:{plugin_name}"), name).map_err(secret_error)
    }
}

#[cfg(feature = "secrets")]
fn secret_error(error: keyring::Error) -> SecretError {
    match error {
        keyring::Error::NoStorageAccess(_)
        | keyring::Error::PlatformFailure(_)
        | keyring::Error::NoDefaultStore => SecretError::Unavailable(error.to_string()),
        other => SecretError::Failed(other.to_string()),
    }
}

#[cfg(feature = "secrets")]
impl SecretStore for OsSecretStore {
    fn save(&self, plugin_name: &str, name: &str, value: &str) -> Result<(), SecretError> {
        Self::entry(plugin_name, name)?
            .set_password(value)
            .map_err(secret_error)
    }

    fn load(&self, plugin_name: &str, name: &str) -> Result<Option<String>, SecretError> {
        match Self::entry(plugin_name, name)?.get_password() {
            Ok(value) => Ok(Some(value)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(error) => Err(secret_error(error)),
        }
    }

    fn delete(&self, plugin_name: &str, name: &str) -> Result<(), SecretError> {
        match Self::entry(plugin_name, name)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(error) => Err(secret_error(error)),
        }
    }
}

/// Secrets kept in this process only: for tests, and for hosts that bring their own storage.
#[derive(Debug, Default)]
pub struct MemorySecretStore {
    secrets: Mutex<HashMap<(String, String), String>>,
}

impl MemorySecretStore {
    fn secrets(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), String>> {
        self.secrets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SecretStore for MemorySecretStore {
    fn save(&self, plugin_name: &str, name: &str, value: &str) -> Result<(), SecretError> {
        self.secrets()
            .insert((plugin_name.into(), name.into()), value.into());
        Ok(())
    }

    fn load(&self, plugin_name: &str, name: &str) -> Result<Option<String>, SecretError> {
        Ok(self
            .secrets()
            .get(&(plugin_name.into(), name.into()))
            .cloned())
    }

    fn delete(&self, plugin_name: &str, name: &str) -> Result<(), SecretError> {
        self.secrets().remove(&(plugin_name.into(), name.into()));
        Ok(())
    }
}

#[cfg(feature = "secrets")]
/// Saves a secret in the OS store (seed 7.2.2).
pub fn save_secret(plugin_name: &str, name: &str, value: &str) -> Result<(), SecretError> {
    OsSecretStore.save(plugin_name, name, value)
}

#[cfg(feature = "secrets")]
/// Loads a secret from the OS store (seed 7.2.3); `None` if none was saved.
pub fn load_secret(plugin_name: &str, name: &str) -> Result<Option<String>, SecretError> {
    OsSecretStore.load(plugin_name, name)
}

#[cfg(feature = "secrets")]
/// Deletes a secret from the OS store (seed 7.2.4).
pub fn delete_secret(plugin_name: &str, name: &str) -> Result<(), SecretError> {
    OsSecretStore.delete(plugin_name, name)
}
