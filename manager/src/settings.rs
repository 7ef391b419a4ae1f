//! Per-plugin key/value settings (seed 5.2-5.3), kept in an SQLite database that survives
//! crashes.
//!
//! Every write is its own transaction, committed in write-ahead-log mode with
//! `synchronous = FULL` before [`SettingsStore::set`] returns: once a plugin's `Settings` request
//! is answered `SUCCESS`, the value survives a `kill -9` of the host and a power cut.
//!
//! Each setting carries a version, 1 when first stored and one more at every write, so that a
//! write can be made conditional ([`SettingsStore::set_if`]): "only if the setting is still at
//! version n", and a plugin's stale cache can never overwrite a newer value.
//!
//! The same database keeps what each plugin is shown ([`SettingsStore::save_views`]), so that
//! a restarted host can bring a plugin back to it.

use std::path::Path;
use std::sync::Mutex;

use logi_plugin_core::proto::plugin::VisibilityChanged;
use logi_plugin_core::view::View;
use rusqlite::{Connection, OptionalExtension, params};

/// The `side` of a `views` row: what the client asked to be visible, and what the plugin may hold.
const SHOWN: &str = "shown";
const TOLD: &str = "told";

/// Why the settings database failed.
#[derive(Debug, thiserror::Error)]
#[error("settings database: {0}")]
pub struct SettingsError(#[from] rusqlite::Error);

/// A stored setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// Its value.
    pub value: String,
    /// How many times it was written (1 for the first write).
    pub version: u32,
}

/// A conditional write that found the setting elsewhere than expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The setting as it is (`None`: it was never set).
    pub current: Option<Stored>,
}

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
                version INTEGER NOT NULL DEFAULT 1,
                PRIMARY KEY (plugin_id, name)
            ) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS views (
                plugin_id TEXT NOT NULL,
                side TEXT NOT NULL,
                control_id TEXT NOT NULL,
                instance_id TEXT NOT NULL,
                configuration TEXT,
                PRIMARY KEY (plugin_id, side, control_id, instance_id)
            ) WITHOUT ROWID;",
        )?;
        // Databases written before settings had versions: every setting starts at 1.
        let versioned: bool = db.query_row(
            "SELECT count(*) FROM pragma_table_info('settings') WHERE name = 'version'",
            [],
            |row| row.get::<_, i64>(0).map(|count| count > 0),
        )?;
        if !versioned {
            db.execute_batch(
                "ALTER TABLE settings ADD COLUMN version INTEGER NOT NULL DEFAULT 1;",
            )?;
        }
        Ok(SettingsStore { db: Mutex::new(db) })
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-done write: SQLite rolls back.
        self.db
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stores `value` under `name` for `plugin_id`, whatever its version (last writer wins);
    /// durable when this returns. The setting's new version.
    pub fn set(&self, plugin_id: &str, name: &str, value: &str) -> Result<u32, SettingsError> {
        let version = self.db().query_row(
            "INSERT INTO settings (plugin_id, name, value) VALUES (?1, ?2, ?3)
             ON CONFLICT (plugin_id, name)
             DO UPDATE SET value = excluded.value, version = version + 1
             RETURNING version",
            params![plugin_id, name, value],
            |row| row.get(0),
        )?;
        Ok(version)
    }

    /// Stores `value` only if the setting is at version `expected` (0: only if it was never
    /// set); durable when this returns. The new version, or the setting as it is.
    pub fn set_if(
        &self,
        plugin_id: &str,
        name: &str,
        value: &str,
        expected: u32,
    ) -> Result<Result<u32, Conflict>, SettingsError> {
        let mut db = self.db();
        let transaction = db.transaction()?;
        let current = get(&transaction, plugin_id, name)?;
        let found = current.as_ref().map_or(0, |stored| stored.version);
        if found != expected {
            return Ok(Err(Conflict { current }));
        }
        let version = found + 1;
        transaction.execute(
            "INSERT INTO settings (plugin_id, name, value, version) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (plugin_id, name)
             DO UPDATE SET value = excluded.value, version = excluded.version",
            params![plugin_id, name, value, version],
        )?;
        transaction.commit()?;
        Ok(Ok(version))
    }

    /// The setting `name`, if it was ever set.
    pub fn get(&self, plugin_id: &str, name: &str) -> Result<Option<Stored>, SettingsError> {
        Ok(get(&self.db(), plugin_id, name)?)
    }

    /// Every setting of `plugin_id`, by name.
    pub fn all(&self, plugin_id: &str) -> Result<Vec<(String, Stored)>, SettingsError> {
        let db = self.db();
        let mut query = db.prepare(
            "SELECT name, value, version FROM settings WHERE plugin_id = ?1 ORDER BY name",
        )?;
        let rows = query.query_map(params![plugin_id], |row| {
            let stored = Stored {
                value: row.get(1)?,
                version: row.get(2)?,
            };
            Ok((row.get(0)?, stored))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Forgets what `plugin_id` is shown (on uninstall), and with `purge` every setting it
    /// stored too; without, they are kept for a later install of the same id.
    pub fn remove_plugin(&self, plugin_id: &str, purge: bool) -> Result<(), SettingsError> {
        let mut db = self.db();
        let transaction = db.transaction()?;
        if purge {
            transaction.execute(
                "DELETE FROM settings WHERE plugin_id = ?1",
                params![plugin_id],
            )?;
        }
        transaction.execute("DELETE FROM views WHERE plugin_id = ?1", params![plugin_id])?;
        transaction.commit()?;
        Ok(())
    }

    /// Replaces what `plugin_id` is shown: `shown`, the instances its client asked to be
    /// visible, and `told`, those the plugin may hold as visible; durable when this returns.
    pub fn save_views(
        &self,
        plugin_id: &str,
        shown: &View,
        told: &View,
    ) -> Result<(), SettingsError> {
        let mut db = self.db();
        let transaction = db.transaction()?;
        transaction.execute("DELETE FROM views WHERE plugin_id = ?1", params![plugin_id])?;
        let mut insert = transaction.prepare(
            "INSERT INTO views (plugin_id, side, control_id, instance_id, configuration)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for (side, view) in [(SHOWN, shown), (TOLD, told)] {
            for change in view.shown() {
                insert.execute(params![
                    plugin_id,
                    side,
                    change.control_id,
                    change.action_instance_id,
                    change.configuration
                ])?;
            }
        }
        drop(insert);
        transaction.commit()?;
        Ok(())
    }

    /// What `plugin_id` is shown and was told, as last saved (both empty if never).
    pub fn views(&self, plugin_id: &str) -> Result<(View, View), SettingsError> {
        let db = self.db();
        let mut query = db.prepare(
            "SELECT side, control_id, instance_id, configuration FROM views WHERE plugin_id = ?1",
        )?;
        let mut rows = query.query(params![plugin_id])?;
        let (mut shown, mut told) = (View::new(), View::new());
        while let Some(row) = rows.next()? {
            let side: String = row.get(0)?;
            let view = if side == SHOWN { &mut shown } else { &mut told };
            view.apply(&VisibilityChanged {
                control_id: row.get(1)?,
                action_instance_id: row.get(2)?,
                visible: true,
                configuration: row.get(3)?,
            });
        }
        Ok((shown, told))
    }
}

fn get(db: &Connection, plugin_id: &str, name: &str) -> rusqlite::Result<Option<Stored>> {
    db.query_row(
        "SELECT value, version FROM settings WHERE plugin_id = ?1 AND name = ?2",
        params![plugin_id, name],
        |row| {
            Ok(Stored {
                value: row.get(0)?,
                version: row.get(1)?,
            })
        },
    )
    .optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> SettingsStore {
        SettingsStore::in_memory().unwrap()
    }

    #[test]
    fn every_write_raises_the_version_by_one() {
        let store = store();
        assert_eq!(store.set("p", "a", "1").unwrap(), 1);
        assert_eq!(store.set("p", "a", "2").unwrap(), 2);
        let stored = store.get("p", "a").unwrap().unwrap();
        assert_eq!((stored.value.as_str(), stored.version), ("2", 2));
    }

    #[test]
    fn a_conditional_write_at_the_expected_version_is_stored() {
        let store = store();
        assert_eq!(store.set_if("p", "a", "1", 0).unwrap(), Ok(1));
        assert_eq!(store.set_if("p", "a", "2", 1).unwrap(), Ok(2));
        assert_eq!(store.get("p", "a").unwrap().unwrap().value, "2");
    }

    #[test]
    fn a_stale_conditional_write_is_refused_with_the_newer_value() {
        let store = store();
        store.set("p", "a", "mine").unwrap();
        store.set("p", "a", "newer").unwrap();
        let refused = store.set_if("p", "a", "stale", 1).unwrap();
        let current = Some(Stored {
            value: "newer".into(),
            version: 2,
        });
        assert_eq!(refused, Err(Conflict { current }));
        assert_eq!(store.get("p", "a").unwrap().unwrap().value, "newer");
    }

    #[test]
    fn a_write_only_if_never_set_is_refused_once_set() {
        let store = store();
        store.set("p", "a", "x").unwrap();
        assert!(store.set_if("p", "a", "y", 0).unwrap().is_err());
        let conflict = store.set_if("p", "b", "y", 3).unwrap().unwrap_err();
        assert_eq!(conflict.current, None);
    }

    #[test]
    fn a_database_from_before_versions_gets_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite3");
        let old = Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE settings (plugin_id TEXT NOT NULL, name TEXT NOT NULL,
             value TEXT NOT NULL, PRIMARY KEY (plugin_id, name)) WITHOUT ROWID;
             INSERT INTO settings VALUES ('p', 'a', 'kept');",
        )
        .unwrap();
        drop(old);
        let store = SettingsStore::open(&path).unwrap();
        let stored = store.get("p", "a").unwrap().unwrap();
        assert_eq!((stored.value.as_str(), stored.version), ("kept", 1));
        assert_eq!(store.set("p", "a", "next").unwrap(), 2);
    }
}
