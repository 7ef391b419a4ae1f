//! A plugin in development (`Host::link`): an author's package folder linked to the host runs
//! from where it is, is linked again to reload, survives a restart, is never replaced by a
//! package, and is unlinked, not deleted, by a removal.

#![cfg(unix)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{host_config, script_archive, script_package};
use logi_plugin_core::proto::manager::ContainerState;
use logi_plugin_manager::{Host, HostError};

const PLUGIN_ID: &str = "com.example.script";

/// A host on `data`, in development mode or not, stopping plugins quickly.
fn start(data: &Path, development: bool) -> Host {
    let mut config = host_config(data);
    config.development = development;
    config.stop_grace = Duration::from_millis(100);
    Host::start(config).unwrap()
}

/// A script that says `word` on stderr, then waits to be stopped.
fn saying(word: &str) -> String {
    format!("#!/bin/sh\necho {word} >&2\nexec sleep 30\n")
}

/// An author's package folder in `dir`, whose program says `word`.
fn folder(dir: &Path, word: &str) -> PathBuf {
    let folder = dir.join("package");
    script_package(&saying(word)).extract(&folder).unwrap();
    folder
}

/// Waits until the plugin's log has a line containing `text` (at most 10 s).
fn until_logged(host: &Host, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lines = host.logs(PLUGIN_ID).unwrap_or_default();
        if lines.iter().any(|line| line.message.contains(text)) {
            return;
        }
        let messages: Vec<&str> = lines.iter().map(|line| line.message.as_str()).collect();
        assert!(Instant::now() < deadline, "no {text:?} in {messages:#?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn link_file(data: &Path) -> PathBuf {
    data.join(format!("plugins/{PLUGIN_ID}.link"))
}

#[test]
fn a_linked_folder_runs_as_it_is_and_linking_again_runs_what_it_holds_now() {
    let (data, work) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let host = start(data.path(), true);
    let folder = folder(work.path(), "first");
    smol::block_on(host.link(&folder, None)).unwrap();
    until_logged(&host, "first");
    assert_eq!(host.plugin(PLUGIN_ID).unwrap().linked, Some(folder.clone()));
    assert!(
        !data.path().join("plugins").join(PLUGIN_ID).exists(),
        "the folder was copied"
    );

    std::fs::write(folder.join("run.sh"), saying("second")).unwrap();
    smol::block_on(host.link(&folder, None)).unwrap();
    until_logged(&host, "second");
    smol::block_on(host.shutdown());
}

#[test]
fn a_linked_program_elsewhere_is_what_runs() {
    let (data, work) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let host = start(data.path(), true);
    let folder = folder(work.path(), "packaged");
    std::fs::remove_file(folder.join("run.sh")).unwrap();
    let built = work.path().join("target/debug/script");
    std::fs::create_dir_all(built.parent().unwrap()).unwrap();
    std::fs::write(&built, saying("built")).unwrap();
    std::fs::set_permissions(&built, std::fs::Permissions::from_mode(0o755)).unwrap();
    smol::block_on(host.link(&folder, Some(&built))).unwrap();
    until_logged(&host, "built");
    smol::block_on(host.shutdown());
}

#[test]
fn linking_needs_development_mode() {
    let (data, work) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let host = start(data.path(), false);
    let folder = folder(work.path(), "first");
    let error = smol::block_on(host.link(&folder, None)).unwrap_err();
    assert!(
        matches!(error, HostError::LinkNeedsDevelopment(_)),
        "{error}"
    );
    assert!(error.to_string().contains("serve --development"), "{error}");
    assert!(host.plugins().is_empty());
    assert!(!link_file(data.path()).exists());
    smol::block_on(host.shutdown());
}

#[test]
fn a_folder_that_no_longer_reads_keeps_the_last_good_version_running() {
    let (data, work) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let host = start(data.path(), true);
    let folder = folder(work.path(), "good");
    smol::block_on(host.link(&folder, None)).unwrap();
    until_logged(&host, "good");
    std::fs::write(folder.join("manifest.json"), "{ broken").unwrap();

    let error = smol::block_on(host.link(&folder, None)).unwrap_err();
    assert!(error.to_string().contains("manifest"), "{error}");
    // Still the run that said "good" (a script says no hello: it stays LAUNCHING).
    let info = host.plugin(PLUGIN_ID).unwrap();
    assert_eq!(info.state, ContainerState::Launching, "{:?}", info.problem);
    assert_eq!(info.problem, None);
    let lines = host.logs(PLUGIN_ID).unwrap();
    let runs = lines.iter().filter(|line| line.message == "good").count();
    assert_eq!(runs, 1, "it was restarted");
    smol::block_on(host.shutdown());
}

#[test]
fn a_package_from_the_source_does_not_replace_a_linked_plugin() {
    let (data, work) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let source = work.path().join("source");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::write(
        source.join(format!("{PLUGIN_ID}-1.0.0.zip")),
        script_archive(&saying("packaged")),
    )
    .unwrap();
    let mut config = host_config(data.path());
    config.development = true;
    config.stop_grace = Duration::from_millis(100);
    config.package_source = Some(source);
    let host = Host::start(config).unwrap();
    let folder = folder(work.path(), "linked");
    smol::block_on(host.link(&folder, None)).unwrap();

    let error = smol::block_on(host.install_from_source(PLUGIN_ID, None)).unwrap_err();
    assert!(matches!(error, HostError::Linked { .. }), "{error}");
    assert!(error.to_string().contains("logi-plugin dev"), "{error}");
    let archive = script_archive(&saying("packaged"));
    let error = smol::block_on(host.install(&archive)).unwrap_err();
    assert!(matches!(error, HostError::Linked { .. }), "{error}");
    until_logged(&host, "linked");
    assert!(link_file(data.path()).exists());
    smol::block_on(host.shutdown());
}

#[test]
fn linking_over_an_installed_package_is_refused() {
    let (data, work) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let host = start(data.path(), true);
    smol::block_on(host.install(&script_archive(&saying("installed")))).unwrap();
    let folder = folder(work.path(), "linked");

    let error = smol::block_on(host.link(&folder, None)).unwrap_err();
    assert!(matches!(error, HostError::InstalledNotLinked(_)), "{error}");
    assert!(error.to_string().contains("logi-plugin remove"), "{error}");
    assert!(!link_file(data.path()).exists());
    smol::block_on(host.shutdown());
}

#[test]
fn removing_a_linked_plugin_unlinks_it_and_leaves_its_folder() {
    let (data, work) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let host = start(data.path(), true);
    let folder = folder(work.path(), "first");
    smol::block_on(host.link(&folder, None)).unwrap();
    smol::block_on(host.uninstall(PLUGIN_ID)).unwrap();

    assert!(host.plugin(PLUGIN_ID).is_none());
    assert!(!link_file(data.path()).exists());
    assert!(folder.join("manifest.json").exists() && folder.join("run.sh").exists());
    smol::block_on(host.shutdown());
    let host = start(data.path(), true);
    assert!(host.plugins().is_empty());
    smol::block_on(host.shutdown());
}

#[test]
fn a_link_is_kept_across_a_restart() {
    let (data, work) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let host = start(data.path(), true);
    let folder = folder(work.path(), "first");
    smol::block_on(host.link(&folder, None)).unwrap();
    smol::block_on(host.shutdown());
    std::fs::write(folder.join("run.sh"), saying("again")).unwrap();

    let host = start(data.path(), true);
    until_logged(&host, "again");
    smol::block_on(host.shutdown());
}

#[test]
fn a_link_is_not_run_by_a_host_out_of_development_mode() {
    let (data, work) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let host = start(data.path(), true);
    smol::block_on(host.link(&folder(work.path(), "first"), None)).unwrap();
    smol::block_on(host.shutdown());

    let host = start(data.path(), false);
    let info = host.plugin(PLUGIN_ID).expect("the link is listed");
    assert_eq!(info.state, ContainerState::Stopped);
    let problem = info.problem.unwrap_or_default();
    assert!(problem.contains("development mode"), "{problem}");
    smol::block_on(host.shutdown());
}
