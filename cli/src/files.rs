//! What the commands read and write: packages, trust stores, secret keys; their errors name
//! the file.

use std::path::Path;

use logi_plugin_package::signature::{SecretKey, TrustStore};
use logi_plugin_package::{Limits, Package, PackageError};

/// What a command returns: its error is printed, and the tool exits 1.
pub(crate) type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A package from a folder or an archive; its errors name the package, or the file in it.
/// `program`, for a folder only, is the program its manifest names for this platform
/// ([`read_dir`]).
pub(crate) fn read(path: &Path, program: Option<&Path>) -> Result<Package> {
    if path.is_dir() {
        return read_dir(path, program);
    }
    if program.is_some() {
        let message = format!(
            "{}: --program is for a package folder; an archive holds its program already",
            path.display()
        );
        return Err(message.into());
    }
    let package = Package::from_zip_file(path, Limits::default());
    Ok(package.map_err(|error| named(path, &error))?)
}

/// A package folder, with `program` (a build's output, wherever it is) as the program its
/// manifest names for this platform when given. A folder lacking its program says how to give
/// it.
pub(crate) fn read_dir(dir: &Path, program: Option<&Path>) -> Result<Package> {
    let package = match program {
        Some(program) => Package::from_dir_with_program(dir, program, Limits::default()),
        None => Package::from_dir(dir, Limits::default()),
    };
    package.map_err(|error| {
        let lacks_program = matches!(&error, PackageError::Invalid { manifest, .. }
            if manifest.iter().any(|problem| problem.path.starts_with("programPath")));
        let hint = if lacks_program && program.is_none() {
            "\n(a program built elsewhere is given with --program BINARY)"
        } else {
            ""
        };
        format!("{}{hint}", named(dir, &error)).into()
    })
}

/// A package's error, naming the package unless it names a file already.
fn named(package: &Path, error: &PackageError) -> String {
    match error.path() {
        Some(_) => error.to_string(),
        None => format!("{}: {error}", package.display()),
    }
}

/// A trust store file; its errors name the file, not the package checked against it.
pub(crate) fn read_trust(path: &Path) -> Result<TrustStore> {
    let text =
        std::fs::read_to_string(path).map_err(|error| format!("{}: {error}", path.display()))?;
    Ok(TrustStore::parse(&text).map_err(|error| format!("{}: {error}", path.display()))?)
}

pub(crate) fn read_key(path: &Path) -> Result<SecretKey> {
    let text =
        std::fs::read_to_string(path).map_err(|error| format!("{}: {error}", path.display()))?;
    Ok(SecretKey::parse(&text)?)
}

pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|error| format!("{}: {error}", path.display()).into())
}

/// Writes a secret key readable by its owner only.
pub(crate) fn write_secret(path: &Path, text: &str) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|error| format!("{}: {error}", path.display()))?;
    std::io::Write::write_all(&mut file, format!("{text}\n").as_bytes())?;
    Ok(())
}
