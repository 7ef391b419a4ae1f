//! The plugin manifest (`manifest.json`, seed chapter 2): its model, and reading it with every
//! problem reported at once, each naming its field path and the bad value.
//!
//! [`Manifest::parse`] checks what the manifest alone can tell; [`Manifest::check_files`] checks
//! the files it names (icons, executables) against the package's contents. Decisions where the
//! seed is garbled or silent are in `docs/manifest.md`. [`localization`] translates the
//! user-facing strings (seed chapter 3).

mod model;
mod read;
mod validate;

pub mod localization;

use std::fmt;

pub use model::{
    Action, Application, Command, CommandPlatform, Control, GestureAxisInfo, Group, Keystroke,
    KeystrokeModifier, Manifest, OsPlatform, OsRequirement, PlatformKeystroke, Threshold, Version,
};

/// Whether `path` names something inside a package: relative, `/`-separated, with no `..` or
/// empty parts, and no `\` or `:` (which Windows reads as separators and drives). Manifest paths
/// and archive entries are held to the same rule.
pub fn is_package_path(path: &str) -> bool {
    !(path.starts_with('/')
        || path.contains('\\')
        || path.contains(':')
        || path.split('/').any(|part| part == ".." || part.is_empty()))
}

/// One thing wrong with a manifest: where, and what.
#[derive(Clone, Debug, PartialEq)]
pub struct ManifestError {
    /// The field's path, as `actions[2].id`; empty for the manifest as a whole.
    pub path: String,
    /// What is wrong there.
    pub problem: Problem,
}

/// What is wrong with a field.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Problem {
    /// The text is not JSON at all.
    Syntax(String),
    /// A required field is missing (or `null`).
    Missing,
    /// The field has the wrong JSON type.
    WrongType {
        /// What it must be.
        expected: &'static str,
        /// What it is.
        found: &'static str,
    },
    /// A string that must say something is empty.
    Empty,
    /// The value is of the right type but not allowed.
    Invalid {
        /// The value, as written.
        value: String,
        /// Why it is refused.
        reason: String,
    },
    /// The id is already used, at `first`.
    Duplicate {
        /// The id.
        value: String,
        /// Where it was first used.
        first: String,
    },
    /// A group id that no entry of `groups` has.
    UnknownGroup(String),
    /// A file the manifest names is not in the package.
    MissingFile(String),
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        match &self.problem {
            Problem::Syntax(error) => write!(f, "not valid JSON: {error}"),
            Problem::Missing => write!(f, "is required"),
            Problem::WrongType { expected, found } => {
                write!(f, "must be {expected}, found {found}")
            }
            Problem::Empty => write!(f, "must not be empty"),
            Problem::Invalid { value, reason } => write!(f, "{value:?} {reason}"),
            Problem::Duplicate { value, first } => {
                write!(f, "id {value:?} is already used by {first}")
            }
            Problem::UnknownGroup(id) => write!(f, "group {id:?} is not declared in groups"),
            Problem::MissingFile(file) => write!(f, "file {file:?} is not in the package"),
        }
    }
}

/// Every problem found in a manifest.
#[derive(Clone, Debug, PartialEq)]
pub struct ManifestErrors(pub Vec<ManifestError>);

impl fmt::Display for ManifestErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the manifest has {} problem(s):", self.0.len())?;
        for error in &self.0 {
            write!(f, "\n  {error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ManifestErrors {}

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
