//! Where things are in a package, from its root.

/// Where the manifest is, from the package root.
pub const MANIFEST_PATH: &str = "manifest.json";

/// The folder of localization files, `<locale>.yaml` (seed chapter 3).
pub const LOCALIZATION_DIR: &str = "localization/";

/// Where the signature is kept in an archive. It is not one of the package's files.
pub const SIGNATURE_PATH: &str = "META-INF/signature.json";
