//! What is wrong with a manifest: each problem with the path of its field.

use std::fmt;

use crate::model::Platform;

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
    /// A file that only platforms the package does not run on would need is not in it: a
    /// warning, as a package may carry one platform's program.
    MissingElsewhere {
        /// The file.
        file: String,
        /// The platforms that would need it, where the package does not run.
        platforms: Vec<Platform>,
    },
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
            Problem::MissingElsewhere { file, platforms } => {
                let names: Vec<String> = platforms.iter().map(ToString::to_string).collect();
                write!(
                    f,
                    "file {file:?} is not in the package, so it does not run on {}",
                    names.join(" or ")
                )
            }
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

/// The files a manifest names that are not in its package, as
/// [`Manifest::check_files`](crate::Manifest::check_files) sorts them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MissingFiles {
    /// Files the package cannot do without: each a [`Problem::MissingFile`].
    pub errors: Vec<ManifestError>,
    /// Files only platforms the package does not run on would need: each a
    /// [`Problem::MissingElsewhere`].
    pub warnings: Vec<ManifestError>,
}
