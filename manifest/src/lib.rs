//! The plugin manifest (`manifest.json`, seed chapter 2): its model, and reading it with every
//! problem reported at once, each naming its field path and the bad value.
//!
//! [`Manifest::parse`] checks what the manifest alone can tell; [`Manifest::check_files`] checks
//! the files it names (icons, executables) against the package's contents. Decisions where the
//! seed is garbled or silent are in `docs/manifest.md`. [`localization`] translates the
//! user-facing strings (seed chapter 3).
//!
//! ```no_run
//! use logi_plugin_manifest::Manifest;
//!
//! let text = std::fs::read_to_string("my-plugin/manifest.json").unwrap();
//! match Manifest::parse(&text) {
//!     Ok(manifest) => println!("{} {}", manifest.plugin_id, manifest.version),
//!     // Every problem at once, each naming its field and the bad value.
//!     Err(errors) => eprintln!("{errors}"),
//! }
//! ```

mod model;
mod package_path;
mod problem;
mod read;
mod validate;

pub mod localization;

pub use model::{
    Action, Application, Command, CommandPlatform, Control, GestureAxisInfo, Group, Keystroke,
    KeystrokeModifier, Manifest, OsPlatform, OsRequirement, PlatformKeystroke, Threshold, Version,
};
pub use package_path::is_package_path;
pub use problem::{ManifestError, ManifestErrors, Problem};

impl Manifest {
    /// Reads `manifest.json` text, checking every field the manifest alone can tell about.
    pub fn parse(text: &str) -> Result<Manifest, ManifestErrors> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|error| {
            ManifestErrors(vec![ManifestError {
                path: String::new(),
                problem: Problem::Syntax(error.to_string()),
            }])
        })?;
        validate::manifest(&value)
    }

    /// The files this manifest names that `has_file` says are not in the package: the icons,
    /// the executables and the commands' executables. Paths are relative to the package root,
    /// with `/` separators.
    pub fn check_files(&self, has_file: impl Fn(&str) -> bool) -> Vec<ManifestError> {
        let mut named: Vec<(String, &str)> = vec![("icon".into(), &self.icon)];
        for (i, group) in self.groups.iter().enumerate() {
            if let Some(icon) = &group.icon {
                named.push((format!("groups[{i}].icon"), icon));
            }
        }
        for (i, action) in self.actions.iter().enumerate() {
            if let Some(icon) = &action.icon {
                named.push((format!("actions[{i}].icon"), icon));
            }
        }
        named.extend(self.runnable_files());
        named
            .into_iter()
            .filter(|(_, file)| !has_file(file))
            .map(|(path, file)| ManifestError {
                path,
                problem: Problem::MissingFile(file.to_string()),
            })
            .collect()
    }

    /// The files the host may run, each with the field naming it: the programs (`programPath`
    /// and its platform overrides) and the installation and uninstallation commands'
    /// executables.
    pub fn runnable_files(&self) -> Vec<(String, &str)> {
        let mut named = Vec::new();
        let programs = [
            ("programPath", &self.program_path),
            ("programPathMac", &self.program_path_mac),
            ("programPathWin", &self.program_path_win),
        ];
        for (key, path) in programs {
            if let Some(path) = path {
                named.push((key.into(), path.as_str()));
            }
        }
        let commands = [
            ("installationCommands", &self.installation_commands),
            ("uninstallationCommands", &self.uninstallation_commands),
        ];
        for (key, list) in commands {
            for (i, command) in list.iter().enumerate() {
                named.push((
                    format!("{key}[{i}].executable"),
                    command.executable.as_str(),
                ));
            }
        }
        named
    }
}
