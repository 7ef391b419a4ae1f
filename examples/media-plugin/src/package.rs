//! The example packed as a host installs it: its `package/` folder, with an executable as the
//! program its manifest names for this platform. The demo, the tests and the benches pack it
//! this way (the `logi-plugin` binary doubles as this plugin's program), as
//! `logi-plugin pack examples/media-plugin/package --program BINARY` does.

use std::path::Path;

use logi_plugin_package::{Limits, Package, PackageError};

/// The example media plugin packed for this platform, with `plugin_exe` as its program. The
/// other platform's program is not in it: the package says so in its
/// [`warnings`](Package::warnings).
pub fn packed(plugin_exe: &Path) -> Result<Package, PackageError> {
    Package::from_dir_with_program(&crate::package_dir(), plugin_exe, Limits::default())
}
