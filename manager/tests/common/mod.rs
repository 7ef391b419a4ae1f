//! What the host tests share: a host on a temporary data directory, and waiting for its events.

#![allow(dead_code)] // Each test file uses its own part.

use std::time::Duration;

use futures_lite::future;
use logi_plugin_core::proto::manager::ContainerState;
use logi_plugin_manager::{FrontEndConfig, FrontEnds, Host, HostConfig, HostEvent};
use logi_plugin_manifest::Manifest;
use logi_plugin_package::signature::SecretKey;
use logi_plugin_package::{Limits, Package};

/// A host on a fresh data directory with its own socket, restarting crashed plugins quickly;
/// `configure` adjusts the rest.
pub fn host_with(configure: impl FnOnce(&mut HostConfig)) -> (Host, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let mut config = host_config(data.path());
    configure(&mut config);
    (Host::start(config).unwrap(), data)
}

/// The configuration [`host_with`] starts from: a host on `data`, with its socket there,
/// restarting crashed plugins quickly. Two hosts started one after the other from it share
/// their data, as one host restarted does.
pub fn host_config(data: &std::path::Path) -> HostConfig {
    let mut config = HostConfig::new(data);
    config.endpoint = data.join("manager.sock");
    config.restart.initial = Duration::from_millis(20);
    config
}

/// [`host_with`], with the example media plugin running in it as a CORE plugin.
pub fn media_host(configure: impl FnOnce(&mut HostConfig)) -> (Host, tempfile::TempDir) {
    let (host, data) = host_with(configure);
    let events = host.subscribe();
    host.add_core(media_manifest(), logi_example_media::run)
        .unwrap();
    until_state(
        &events,
        logi_example_media::PLUGIN_ID,
        ContainerState::Running,
    );
    (host, data)
}

/// The first event `wanted` accepts (at most 10 s).
pub fn until(
    events: &async_channel::Receiver<HostEvent>,
    wanted: impl Fn(&HostEvent) -> bool,
) -> HostEvent {
    smol::block_on(future::or(
        async {
            loop {
                let event = events.recv().await.expect("the host stopped reporting");
                if wanted(&event) {
                    return event;
                }
            }
        },
        async {
            async_io::Timer::after(Duration::from_secs(10)).await;
            panic!("no such event within 10 s");
        },
    ))
}

/// The states reported, until `count` have been seen (at most 10 s).
pub fn states(events: &async_channel::Receiver<HostEvent>, count: usize) -> Vec<ContainerState> {
    (0..count)
        .map(
            |_| match until(events, |e| matches!(e, HostEvent::State { .. })) {
                HostEvent::State { state, .. } => state,
                _ => unreachable!("only states are accepted"),
            },
        )
        .collect()
}

/// Waits until `plugin_id` reports `state`.
pub fn until_state(
    events: &async_channel::Receiver<HostEvent>,
    plugin_id: &str,
    state: ContainerState,
) {
    until(
        events,
        |event| matches!(event, HostEvent::State { plugin_id: id, state: s } if id == plugin_id && *s == state),
    );
}

/// The example media plugin's manifest, as its package folder holds it.
pub fn media_manifest() -> Manifest {
    let path = logi_example_media::package_dir().join("manifest.json");
    Manifest::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A package `com.example.script` whose program is a shell script.
#[cfg(unix)]
pub fn script_package(script: &str) -> Package {
    script_package_with(script, serde_json::json!({}))
}

/// [`script_package`] with more manifest fields.
#[cfg(unix)]
pub fn script_package_with(script: &str, fields: serde_json::Value) -> Package {
    script_package_files(script, fields, &[])
}

/// [`script_package_with`] with more files, `(path, text)`.
#[cfg(unix)]
pub fn script_package_files(
    script: &str,
    fields: serde_json::Value,
    files: &[(&str, &str)],
) -> Package {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let mut manifest = serde_json::json!({
        "plugin_id": "com.example.script", "name": "Script", "author": "Tests",
        "description": "A script", "icon": "icon.png", "version": "1.0.0",
        "OS": [{ "platform": "mac", "minimumVersion": "10.15" }], "platformVersion": "0.1",
        "programPath": "run.sh", "requiredCapabilities": ["base"]
    });
    for (name, value) in fields.as_object().unwrap() {
        manifest[name] = value.clone();
    }
    std::fs::write(dir.path().join("manifest.json"), manifest.to_string()).unwrap();
    std::fs::write(dir.path().join("icon.png"), b"png").unwrap();
    let program = dir.path().join("run.sh");
    std::fs::write(&program, script).unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    Package::from_dir(dir.path(), Limits::default()).unwrap()
}

/// [`script_package`], unsigned, as an archive.
#[cfg(unix)]
pub fn script_archive(script: &str) -> Vec<u8> {
    script_package(script).to_zip().unwrap()
}

/// A host trusting `key`, on `data`, stopping plugins quickly.
pub fn trusting_host(data: &std::path::Path, key: &SecretKey) -> Host {
    let mut config = HostConfig::new(data);
    config.endpoint = data.join("manager.sock");
    config.trust.add(key.public_key(), "Tests");
    config.stop_grace = Duration::from_millis(100);
    Host::start(config).unwrap()
}

/// Installs `package`, signed with a fresh key, on `data` through a host that then shuts down;
/// returns the key.
pub fn install_signed(data: &std::path::Path, mut package: Package) -> SecretKey {
    let key = SecretKey::generate().unwrap();
    package.sign("Tests", &key);
    let host = trusting_host(data, &key);
    smol::block_on(host.install(&package.to_zip().unwrap())).unwrap();
    smol::block_on(host.shutdown());
    key
}

/// Installs a script plugin on a host that quarantines after 3 crashes in a row; the host's
/// events from before the install.
pub fn crashing(script: &str) -> (Host, tempfile::TempDir, async_channel::Receiver<HostEvent>) {
    let (host, data) = host_with(|config| {
        config.development = true;
        config.crash_loop_limit = 3;
    });
    let events = host.subscribe();
    let archive = script_package(script).to_zip().unwrap();
    smol::block_on(host.install(&archive)).unwrap();
    (host, data, events)
}

/// A host with its front-ends open, as `logi-plugin serve` runs it: everything a [`Host`] does,
/// and where its front-ends are.
pub struct Served {
    pub host: Host,
    pub front_ends: FrontEnds,
}

impl std::ops::Deref for Served {
    type Target = Host;

    fn deref(&self) -> &Host {
        &self.host
    }
}

impl Served {
    pub fn admin_addr(&self) -> Option<std::net::SocketAddr> {
        self.front_ends.admin_addr()
    }

    pub fn marketplace_addr(&self) -> Option<std::net::SocketAddr> {
        self.front_ends.marketplace_addr()
    }

    pub fn admin_token(&self) -> Option<&str> {
        self.front_ends.admin_token()
    }

    pub fn console_url(&self) -> Option<String> {
        self.front_ends.console_url()
    }
}

/// Opens the front-ends `configure` asks for on `host` (starting from none).
pub fn serving(host: Host, configure: impl FnOnce(&mut FrontEndConfig)) -> Served {
    let mut config = FrontEndConfig::default();
    configure(&mut config);
    let front_ends = FrontEnds::open(&host, config).unwrap();
    Served { host, front_ends }
}

/// A loopback address on a free port.
pub fn loopback() -> Option<std::net::SocketAddr> {
    Some("127.0.0.1:0".parse().unwrap())
}
