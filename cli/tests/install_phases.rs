//! An install told whole, with how long each phase took (read, unpack, verify, write, launch,
//! hello), as an event and one line of the log; and the first launch after an install, which
//! does not read and hash again the folder the install has just written and checked, unless
//! an installation command ran in it.
#![cfg(unix)]

use std::path::Path;
use std::sync::{Arc, Mutex};

use logi_plugin_core::proto::manager::ContainerState;
use logi_plugin_manager::{Host, HostConfig, HostEvent, InstallPhases, LogSink};
use logi_plugin_package::Package;
use logi_plugin_package::signature::{SecretKey, TrustStore};

mod common;
use common::{host_config, script_package, script_package_with, until, until_state};

const LOGI_PLUGIN: &str = env!("CARGO_BIN_EXE_logi-plugin");

/// A host whose log lines are kept, in development mode or trusting `key`.
fn logging_host(data: &Path, key: Option<&SecretKey>) -> (Host, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let kept = lines.clone();
    let mut config: HostConfig = host_config(data);
    config.log = LogSink::new(move |record| kept.lock().unwrap().push(record.to_string()));
    match key {
        Some(key) => {
            config.trust = TrustStore::default();
            config.trust.add(key.public_key(), "Tests");
        }
        None => config.development = true,
    }
    (Host::start(config).unwrap(), lines)
}

/// A package of the example media plugin whose program is a script that runs the example's
/// executable (this package's `logi-plugin`, under the name `media-plugin`, kept in `dir`): a
/// plugin that says hello, packed small.
fn saying_hello(dir: &Path) -> Package {
    let program = dir.join("media-plugin");
    if std::fs::hard_link(LOGI_PLUGIN, &program).is_err() {
        std::fs::copy(LOGI_PLUGIN, &program).unwrap();
    }
    let script = format!("#!/bin/sh\nexec {}\n", program.display());
    let id = serde_json::json!({ "plugin_id": logi_example_media::PLUGIN_ID });
    script_package_with(&script, id)
}

/// The log once a line `wanted` accepts is in it (at most 10 s): the host writes an install's
/// line to its sink just after it tells the `Installed` event, from its own thread.
fn logged(log: &Mutex<Vec<String>>, wanted: impl Fn(&str) -> bool) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let lines = log.lock().unwrap().clone();
        if lines.iter().any(|line| wanted(line)) || std::time::Instant::now() >= deadline {
            return lines;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

fn installed_phases(event: HostEvent) -> InstallPhases {
    match event {
        HostEvent::Installed { phases, .. } => phases,
        other => panic!("not an install told whole: {other:?}"),
    }
}

#[test]
fn an_install_is_told_with_its_phases_once_its_plugin_says_hello() {
    let (data, bin) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (host, log) = logging_host(data.path(), None);
    let events = host.subscribe();
    let archive = saying_hello(bin.path()).to_zip().unwrap();
    smol::block_on(host.install(&archive)).unwrap();
    let plugin_id = logi_example_media::PLUGIN_ID;
    until_state(&events, plugin_id, ContainerState::Running);
    let installed = until(&events, |event| {
        matches!(event, HostEvent::Installed { .. })
    });
    let HostEvent::Installed {
        plugin_id: id,
        version,
        phases,
    } = installed
    else {
        unreachable!("only an install told whole is accepted");
    };
    assert_eq!((id.as_str(), version.as_str()), (plugin_id, "1.0.0"));
    // Handed over in memory: nothing was read.
    assert_eq!(phases.read, None);
    assert!(
        phases.launch.is_some() && phases.hello.is_some(),
        "{phases:?}"
    );
    assert_eq!(phases.archive_bytes, archive.len() as u64);
    let measured = [phases.unpack, phases.verify, phases.write, phases.commands];
    let sum = measured.into_iter().sum::<std::time::Duration>()
        + phases.launch.unwrap()
        + phases.hello.unwrap();
    assert!(phases.total >= sum, "{phases:?}");
    let line = format!("installed {plugin_id} 1.0.0 in ");
    let log = logged(&log, |l| l.contains(&line));
    let told: Vec<_> = log.iter().filter(|l| l.contains(&line)).collect();
    assert_eq!(told.len(), 1, "{log:#?}");
    for phase in ["unpack", "verify", "write", "launch", "hello"] {
        assert!(told[0].contains(&format!(" {phase} ")), "{}", told[0]);
    }
    smol::block_on(host.shutdown());
}

#[test]
fn an_install_whose_program_says_no_hello_is_told_with_how_its_first_run_ended() {
    let data = tempfile::tempdir().unwrap();
    let (host, log) = logging_host(data.path(), None);
    let events = host.subscribe();
    let archive = script_package("#!/bin/sh\nexit 0\n").to_zip().unwrap();
    smol::block_on(host.install(&archive)).unwrap();
    let phases = installed_phases(until(&events, |e| matches!(e, HostEvent::Installed { .. })));
    assert!(phases.launch.is_some(), "{phases:?}");
    assert_eq!(phases.hello, None);
    let log = logged(&log, |l| {
        l.contains("installed com.example.script 1.0.0 in ")
    });
    assert!(
        log.iter().any(
            |line| line.contains("installed com.example.script 1.0.0 in ")
                && line.ends_with("its first run said no hello: ended on its own")
        ),
        "{log:#?}"
    );
}

#[test]
fn an_install_from_a_file_counts_its_read() {
    let data = tempfile::tempdir().unwrap();
    let (host, _log) = logging_host(data.path(), None);
    let events = host.subscribe();
    let archive = data.path().join("script.zip");
    let bytes = script_package("#!/bin/sh\nexit 0\n").to_zip().unwrap();
    std::fs::write(&archive, &bytes).unwrap();
    smol::block_on(host.install_file(&archive)).unwrap();
    let phases = installed_phases(until(&events, |e| matches!(e, HostEvent::Installed { .. })));
    assert!(phases.read.is_some(), "{phases:?}");
    assert_eq!(phases.archive_bytes, bytes.len() as u64);
}

#[test]
fn the_first_launch_after_an_install_does_not_check_the_folder_again() {
    let data = tempfile::tempdir().unwrap();
    // In development mode each check of an unsigned package says so in the log.
    let (host, log) = logging_host(data.path(), None);
    let events = host.subscribe();
    let archive = script_package("#!/bin/sh\nexit 0\n").to_zip().unwrap();
    smol::block_on(host.install(&archive)).unwrap();
    until_state(&events, "com.example.script", ContainerState::Stopped);
    let log = log.lock().unwrap();
    let checks: Vec<_> = log
        .iter()
        .filter(|line| line.contains("in development mode"))
        .collect();
    assert_eq!(
        checks.len(),
        1,
        "the install's check, and no other: {checks:#?}"
    );
    assert!(
        checks[0].contains("accepted in development mode"),
        "{checks:#?}"
    );
}

#[test]
fn an_installation_command_that_changes_a_listed_file_keeps_the_plugin_from_its_first_launch() {
    let data = tempfile::tempdir().unwrap();
    let marks = tempfile::tempdir().unwrap();
    let marker = marks.path().join("ran");
    // Run as the installation command, the script rewrites itself; run as the plugin, the new
    // one would leave the marker.
    let script = format!(
        "#!/bin/sh\nprintf '#!/bin/sh\\ntouch {}\\n' > run.new\nchmod +x run.new\nmv run.new run.sh\n",
        marker.display()
    );
    let commands = serde_json::json!({
        "installationCommands": [{ "executable": "run.sh", "parameters": [] }]
    });
    let mut package = script_package_with(&script, commands);
    let key = SecretKey::generate().unwrap();
    package.sign("Tests", &key);
    let (host, _log) = logging_host(data.path(), Some(&key));
    let events = host.subscribe();
    smol::block_on(host.install(&package.to_zip().unwrap())).unwrap();
    until_state(&events, "com.example.script", ContainerState::Stopped);
    let problem = host.plugin("com.example.script").unwrap().problem;
    assert!(
        problem
            .as_deref()
            .is_some_and(|p| p.contains("run.sh was changed or removed since it was installed")),
        "{problem:?}"
    );
    assert!(!marker.exists(), "the changed program was run");
    smol::block_on(host.shutdown());
}
