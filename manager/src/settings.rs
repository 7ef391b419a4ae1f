//! Per-plugin key/value settings (seed 5.2-5.3), kept in an SQLite database that survives
//! crashes.
//!
//! Every write is its own transaction, committed in write-ahead-log mode with
//! `synchronous = FULL` before [`SettingsStore::set`] returns: once a plugin's `Settings` request
//! is answered `SUCCESS`, the value survives a `kill -9` of the host and a power cut.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

/// Why the settings database failed.
#[derive(Debug, thiserror::Error)]
#[error("settings database: {0}")]
pub struct SettingsError(#[from] rusqlite::Error);

/// The settings of every plugin.
#[derive(Debug)]
pub struct SettingsStore {
    db: Mutex<Connection>,
}

impl SettingsStore {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<SettingsStore, SettingsError> {
        SettingsStore::with(Connection::open(path)?)
    }

    /// A database in memory, gone when dropped: for tests and throwaway hosts.
    pub fn in_memory() -> Result<SettingsStore, SettingsError> {
        SettingsStore::with(Connection::open_in_memory()?)
    }

    fn with(db: Connection) -> Result<SettingsStore, SettingsError> {
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS settings (
                plugin_id TEXT NOT NULL,
                name TEXT NOT NULL,
                value TEXT NOT NULL,
                PRIMARY KEY (plugin_id, name)
            ) WITHOUT ROWID;",
        )?;
        Ok(SettingsStore { db: Mutex::new(db) })
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-done write: SQLite rolls back.
        self.db
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stores `value` under `name` for `plugin_id`; durable when this returns.
    pub fn set(&self, plugin_id: &str, name: &str, value: &str) -> Result<(), SettingsError> {
        self.db().execute(
            "INSERT INTO settings (plugin_id, name, value) VALUES (?1, ?2, ?3)
             ON CONFLICT (plugin_id, name) DO UPDATE SET value = excluded.value",
            params![plugin_id, name, value],
        )?;
        Ok(())
    }

    /// The value under `name`, if it was ever set.
    pub fn get(&self, plugin_id: &str, name: &str) -> Result<Option<String>, SettingsError> {
        let db = self.db();
        let value = db
            .query_row(
                "SELECT value FROM settings WHERE plugin_id = ?1 AND name = ?2",
                params![plugin_id, name],
                |row| row.get(0),
            )
            .optional()?;
        Ok(value)
    }

    /// Every setting of `plugin_id`, by name.
    pub fn all(&self, plugin_id: &str) -> Result<Vec<(String, String)>, SettingsError> {
        let db = self.db();
        let mut query =
            db.prepare("SELECT name, value FROM settings WHERE plugin_id = ?1 ORDER BY name")?;
        let rows = query.query_map(params![plugin_id], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Forgets every setting of `plugin_id` (on uninstall).
    pub fn remove_plugin(&self, plugin_id: &str) -> Result<(), SettingsError> {
        self.db().execute(
            "DELETE FROM settings WHERE plugin_id = ?1",
            params![plugin_id],
        )?;
        Ok(())
    }
}
