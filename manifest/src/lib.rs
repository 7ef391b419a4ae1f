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
    KeystrokeModifier, Manifest, OsPlatform, OsRequirement, Platform, PlatformKeystroke, Threshold,
    Version,
};
pub use package_path::is_package_path;
pub use problem::{ManifestError, ManifestErrors, MissingFiles, Problem};

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
    /// the programs and the commands' executables. Paths are relative to the package root, with
    /// `/` separators.
    ///
    /// A package may carry one platform's program only (the seed allows a separate package for
    /// macOS and Windows): it runs on the platforms whose program is there, and a file only
    /// the other platforms would need is a warning ([`Problem::MissingElsewhere`]). A file a
    /// platform it runs on needs (an icon, that program, a command run there) is an error, and
    /// so is every missing file when no platform's program is there.
    pub fn check_files(&self, has_file: impl Fn(&str) -> bool) -> MissingFiles {
        let runs_on: Vec<Platform> = Platform::ALL
            .into_iter()
            .filter(|&platform| {
                self.program_on(platform)
                    .is_some_and(|(_, program)| has_file(program))
            })
            .collect();
        let mut missing = MissingFiles::default();
        for (path, file, needed_on) in self.named_files() {
            if has_file(file) {
                continue;
            }
            let elsewhere = !runs_on.is_empty() && !needed_on.iter().any(|p| runs_on.contains(p));
            let (list, problem) = if elsewhere {
                let platforms = needed_on;
                let file = file.to_string();
                let problem = Problem::MissingElsewhere { file, platforms };
                (&mut missing.warnings, problem)
            } else {
                (&mut missing.errors, Problem::MissingFile(file.to_string()))
            };
            list.push(ManifestError { path, problem });
        }
        missing
    }

    /// The files a host on `platform` needs that `has_file` says are not in the package: the
    /// icons, its program and the commands it runs. A package it finds any missing in does not
    /// run there.
    pub fn check_files_on(
        &self,
        platform: Platform,
        has_file: impl Fn(&str) -> bool,
    ) -> Vec<ManifestError> {
        self.named_files()
            .into_iter()
            .filter(|(_, file, needed_on)| needed_on.contains(&platform) && !has_file(file))
            .map(|(path, file, _)| ManifestError {
                path,
                problem: Problem::MissingFile(file.to_string()),
            })
            .collect()
    }

    /// Every file the manifest names, with the field naming it and the platforms that need it.
    fn named_files(&self) -> Vec<(String, &str, Vec<Platform>)> {
        let everywhere = || Platform::ALL.to_vec();
        let mut named = vec![("icon".to_string(), self.icon.as_str(), everywhere())];
        for (i, group) in self.groups.iter().enumerate() {
            if let Some(icon) = &group.icon {
                named.push((format!("groups[{i}].icon"), icon, everywhere()));
            }
        }
        for (i, action) in self.actions.iter().enumerate() {
            if let Some(icon) = &action.icon {
                named.push((format!("actions[{i}].icon"), icon, everywhere()));
            }
        }
        named.extend(self.runnables());
        named
    }

    /// The files the host may run, each with the field naming it: the programs (`programPath`
    /// and its platform overrides) and the installation and uninstallation commands'
    /// executables.
    pub fn runnable_files(&self) -> Vec<(String, &str)> {
        self.runnables()
            .into_iter()
            .map(|(path, file, _)| (path, file))
            .collect()
    }

    /// [`runnable_files`](Self::runnable_files), each with the platforms that run it.
    fn runnables(&self) -> Vec<(String, &str, Vec<Platform>)> {
        let mut named = Vec::new();
        let programs = [
            ("programPath", &self.program_path),
            ("programPathMac", &self.program_path_mac),
            ("programPathWin", &self.program_path_win),
        ];
        for (key, path) in programs {
            if let Some(path) = path {
                let runs_on = Platform::ALL
                    .into_iter()
                    .filter(|&platform| self.program_on(platform).is_some_and(|(f, _)| f == key))
                    .collect();
                named.push((key.into(), path.as_str(), runs_on));
            }
        }
        let commands = [
            ("installationCommands", &self.installation_commands),
            ("uninstallationCommands", &self.uninstallation_commands),
        ];
        for (key, list) in commands {
            for (i, command) in list.iter().enumerate() {
                let runs_on = Platform::ALL
                    .into_iter()
                    .filter(|&platform| command.runs_on(platform))
                    .collect();
                named.push((
                    format!("{key}[{i}].executable"),
                    command.executable.as_str(),
                    runs_on,
                ));
            }
        }
        named
    }
}
