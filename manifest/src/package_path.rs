//! The rule every path inside a package follows, manifest paths and archive entries alike.

/// Whether `path` names something inside a package: relative, `/`-separated, with no `..` or
/// empty parts, and no `\` or `:` (which Windows reads as separators and drives). Manifest paths
/// and archive entries are held to the same rule.
pub fn is_package_path(path: &str) -> bool {
    !(path.starts_with('/')
        || path.contains('\\')
        || path.contains(':')
        || path.split('/').any(|part| part == ".." || part.is_empty()))
}
