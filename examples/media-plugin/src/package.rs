//! The example packed as a host installs it: its `package/` folder, its manifest narrowed to the
//! platform it runs on, and an executable as its program. The demo, the tests and the benches
//! pack it this way (the `logi-plugin` binary doubles as this plugin's program).

use std::error::Error;
use std::path::Path;

use logi_plugin_package::{Limits, Package};

use crate::PROGRAM_PATH;

/// The example media plugin packed for this platform, with `plugin_exe` as its program; the
/// package's files are staged in the folder `staging`.
pub fn packed(plugin_exe: &Path, staging: &Path) -> Result<Package, Box<dyn Error>> {
    copy_dir(&crate::package_dir(), staging)?;
    only_this_platform(&staging.join("manifest.json"))?;
    let program = staging.join(PROGRAM_PATH);
    std::fs::create_dir_all(program.parent().expect("the program is in bin/"))?;
    std::fs::copy(plugin_exe, &program)?;
    Ok(Package::from_dir(staging, Limits::default())?)
}

/// The example's manifest names an executable per platform; the demo packs one, built here, so
/// the manifest it packs names only that one.
fn only_this_platform(manifest: &Path) -> Result<(), Box<dyn Error>> {
    let mut value: serde_json::Value = serde_json::from_slice(&std::fs::read(manifest)?)?;
    let fields = value
        .as_object_mut()
        .ok_or("the manifest is not a JSON object")?;
    let other = if cfg!(windows) {
        "programPath"
    } else {
        "programPathWin"
    };
    fields.remove(other);
    std::fs::write(manifest, serde_json::to_vec_pretty(&value)?)?;
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
