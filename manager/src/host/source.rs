//! The package source: a folder of packages named `<plugin id>-<version>.zip`, where installs
//! that name a plugin but no file find it (the marketplace, the client library).

use std::path::{Path, PathBuf};

use logi_plugin_manifest::{Manifest, Version};

use super::{Host, HostError};
use crate::offload::off_executor;
use logi_plugin_package as package;

impl Host {
    /// Installs `plugin_id` from the package source: the package of `version`, or the newest
    /// there when `version` is `None`.
    pub async fn install_from_source(
        &self,
        plugin_id: &str,
        version: Option<&str>,
    ) -> Result<Manifest, HostError> {
        let path = self.find_in_source(plugin_id, version)?;
        self.install_file(&path).await
    }

    /// The package archive of `plugin_id` in the package source: of `version`, or the newest.
    pub async fn fetch_from_source(
        &self,
        plugin_id: &str,
        version: Option<&str>,
    ) -> Result<Vec<u8>, HostError> {
        let path = self.find_in_source(plugin_id, version)?;
        let limits = self.shared.config.limits;
        Ok(off_executor(move || package::read_archive(&path, limits)).await?)
    }

    /// The package archive file of `plugin_id` in the package source: of `version`, or the
    /// newest.
    fn find_in_source(&self, plugin_id: &str, version: Option<&str>) -> Result<PathBuf, HostError> {
        let Some(dir) = &self.shared.config.package_source else {
            return Err(HostError::NoPackageSource(plugin_id.into()));
        };
        find(dir, plugin_id, version)
    }
}

/// The package of `plugin_id` in `dir`: at `version`, or the newest.
fn find(dir: &Path, plugin_id: &str, version: Option<&str>) -> Result<PathBuf, HostError> {
    let not_found = || HostError::NotInSource {
        plugin_id: plugin_id.into(),
        version: version.map(Into::into),
        dir: dir.to_path_buf(),
    };
    let wanted = match version {
        Some(version) => Some(version.parse::<Version>().map_err(|_| not_found())?),
        None => None,
    };
    packages(dir)?
        .into_iter()
        .filter(|package| package.plugin_id == plugin_id)
        .filter(|package| wanted.is_none_or(|wanted| package.version == wanted))
        .max_by_key(|package| package.version)
        .map(|package| package.path)
        .ok_or_else(not_found)
}

/// A package in the package source, as its file name gives it.
#[derive(Clone, Debug, PartialEq)]
pub struct SourcePackage {
    /// The plugin it holds.
    pub plugin_id: String,
    /// Its version.
    pub version: Version,
    /// The file.
    pub path: PathBuf,
}

impl Host {
    /// Every package in the package source (none when there is no source), by file name:
    /// `<plugin id>-<version>.zip`; other files are passed over.
    pub fn source_packages(&self) -> Result<Vec<SourcePackage>, HostError> {
        match &self.shared.config.package_source {
            Some(dir) => packages(dir),
            None => Ok(Vec::new()),
        }
    }
}

fn packages(dir: &Path) -> Result<Vec<SourcePackage>, HostError> {
    let entries = std::fs::read_dir(dir).map_err(|source| HostError::Io {
        what: format!("listing the package source {}", dir.display()),
        source,
    })?;
    // Versions hold no '-', so the last one ends the plugin id.
    Ok(entries
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            let (plugin_id, version) = name.strip_suffix(".zip")?.rsplit_once('-')?;
            Some(SourcePackage {
                plugin_id: plugin_id.into(),
                version: version.parse().ok()?,
                path: dir.join(&name),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(names: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for name in names {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        dir
    }

    #[test]
    fn the_newest_version_is_taken_when_none_is_named() {
        let dir = source(&[
            "a.b-1.2.0.zip",
            "a.b-1.10.0.zip",
            "a.b-1.9.3.zip",
            "a.bc-9.0.0.zip",
        ]);
        let found = find(dir.path(), "a.b", None).unwrap();
        assert_eq!(found, dir.path().join("a.b-1.10.0.zip"));
    }

    #[test]
    fn a_named_version_is_taken_exactly() {
        let dir = source(&["a.b-1.2.0.zip", "a.b-1.10.0.zip"]);
        let found = find(dir.path(), "a.b", Some("1.2.0")).unwrap();
        assert_eq!(found, dir.path().join("a.b-1.2.0.zip"));
    }

    #[test]
    fn a_missing_plugin_or_version_names_the_folder() {
        let dir = source(&["a.b-1.2.0.zip", "notes.txt"]);
        for (plugin, version) in [("c.d", None), ("a.b", Some("2.0.0")), ("a.b", Some("x"))] {
            let error = find(dir.path(), plugin, version).unwrap_err();
            assert!(matches!(error, HostError::NotInSource { .. }), "{error}");
            assert!(
                error
                    .to_string()
                    .contains(&dir.path().display().to_string())
            );
        }
    }
}
