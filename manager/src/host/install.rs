//! Installing and uninstalling packages (Kortex seed): checked, signature verified, unpacked
//! beside the installed plugins and moved into place only once the installation commands have
//! succeeded, so a failed install leaves the previous state; each outcome is an installation
//! event for the subscribers. Installs, uninstalls and reloads run one at a time, so that two
//! never stop, unpack or launch the same plugin at once. At each start the installed plugins are
//! read back and their kept signatures checked again; one that fails, or whose folder no longer
//! reads as a package, is listed with the reason and not launched. What an install interrupted
//! by a crash left in its staging folder is removed then. Before every launch of a program
//! (after an install, at a start, after a crash, at a reload) its folder has just been checked
//! (`process.rs`): by the supervisor, or by what launches it (a start, a reload), or, after an
//! install that ran no command in the folder, by the install itself, whose verified bytes are
//! what the folder holds.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use logi_plugin_core::proto::manager::{
    ContainerState, InstallationEventNotice, InstallationType, PluginInstallationEvent,
};
use logi_plugin_core::proto::plugin::log_event::LogLevel;
use logi_plugin_manifest::{Command, Manifest, Platform};

use super::core::Plugin;
use super::folder::{self, Folder, removed};
use super::installing::Installing;
use super::process::{self, Process};
use super::shared::Shared;
use super::{Host, HostError, InstallPhases};
use crate::offload::off_executor;
use logi_plugin_package::signature::Trust;
use logi_plugin_package::{self as package, Package, PackageError};

impl Host {
    /// Installs (or replaces) a plugin from a package archive and launches it. Emits
    /// `INSTALLATION_COMPLETED` or `INSTALLATION_FAILED`, and once its first run has said
    /// hello [`HostEvent::Installed`](super::HostEvent::Installed) with how long each phase took (also written to the log).
    pub async fn install(&self, archive: &[u8]) -> Result<Manifest, HostError> {
        let began = Instant::now();
        let limits = self.shared.config.limits;
        self.install_unpacked(Unpacked::new(archive, limits, None, began))
            .await
    }

    /// Installs a package archive file, as [`install`](Self::install) does, reading it as
    /// [`package::read_archive`] reads it; its phases include the read. A file that cannot
    /// be read is an error with no installation event (nothing was installed or tried).
    pub async fn install_file(&self, path: &Path) -> Result<Manifest, HostError> {
        let unpacked = self.unpack_file(path).await?;
        self.install_unpacked(unpacked).await
    }

    /// Reads and unpacks a package archive file, off the executor, timing both.
    pub(crate) async fn unpack_file(&self, path: &Path) -> Result<Unpacked, HostError> {
        let (path, limits) = (path.to_path_buf(), self.shared.config.limits);
        off_executor(move || {
            let began = Instant::now();
            let archive = package::read_archive(&path, limits)?;
            let read = began.elapsed();
            Ok(Unpacked::new(&archive, limits, Some(read), began))
        })
        .await
    }

    /// Installs what [`unpack_file`](Self::unpack_file) or [`install`](Self::install)
    /// unpacked, with its installation event.
    pub(crate) async fn install_unpacked(&self, unpacked: Unpacked) -> Result<Manifest, HostError> {
        let Unpacked {
            package,
            phases,
            began,
        } = unpacked;
        let plugin_id = package
            .as_ref()
            .map(|package| package.manifest().plugin_id.clone())
            .unwrap_or_default();
        let result = match package {
            Ok(package) => self.install_package(package, phases, began).await,
            Err(error) => Err(error.into()),
        };
        let (event, description) = match &result {
            Ok(_) => (PluginInstallationEvent::InstallationCompleted, None),
            Err(error) => (
                PluginInstallationEvent::InstallationFailed,
                Some(error.to_string()),
            ),
        };
        self.shared.notice(event, &plugin_id, description);
        if result.is_ok() {
            self.shared.install_done_without_program(&plugin_id);
        }
        result
    }

    async fn install_package(
        &self,
        package: Package,
        mut phases: InstallPhases,
        began: Instant,
    ) -> Result<Manifest, HostError> {
        let _one_at_a_time = self.shared.lifecycle.lock().await;
        let config = &self.shared.config;
        let manifest = package.manifest().clone();
        let plugin_id = manifest.plugin_id.clone();
        package.check_platform(Platform::current())?;
        // A package for one platform lacks the other's program: said, not refused.
        for warning in package.warnings() {
            let message = format!("manifest.json: {warning}");
            self.shared.log(&plugin_id, LogLevel::Warning, message);
        }
        let verifying = Instant::now();
        let trust = package.verify(&config.trust, self.development_mode())?;
        phases.verify = verifying.elapsed();
        match trust {
            Trust::Publisher { name, .. } => {
                let message = format!("signed by {name}");
                self.shared.log(&plugin_id, LogLevel::Info, message);
            }
            Trust::Development(why) => {
                let message = format!("accepted in development mode: {why}");
                self.shared.log(&plugin_id, LogLevel::Warning, message);
            }
        }
        let holder = self.shared.core(|core| {
            core.plugin(&plugin_id)
                .map(|plugin| (plugin.info.installation, plugin.info.linked.clone()))
        });
        match holder {
            Some((InstallationType::Core, _)) => return Err(HostError::CorePlugin(plugin_id)),
            Some((installation @ InstallationType::External, _)) => {
                return Err(HostError::Taken {
                    plugin_id,
                    installation,
                });
            }
            // An author's folder in development is not replaced behind their back.
            Some((_, Some(dir))) => return Err(HostError::Linked { plugin_id, dir }),
            _ => {}
        }
        let plugins_dir = config.data_dir.join("plugins");
        let staging = plugins_dir.join(format!("{STAGING_PREFIX}{plugin_id}"));
        let writing = Instant::now();
        remove_dir(&staging)?;
        package.extract(&staging)?;
        package.keep_signature(&staging)?;
        phases.write = writing.elapsed();
        let commanding = Instant::now();
        let commands_run = match run_commands(
            &self.shared,
            &plugin_id,
            &manifest.installation_commands,
            &staging,
        )
        .await
        {
            Ok(run) => run,
            Err(error) => {
                let _ = remove_dir(&staging);
                return Err(error);
            }
        };
        phases.commands = commanding.elapsed();
        self.stop(&plugin_id).await;
        let target = plugins_dir.join(&plugin_id);
        remove_dir(&target)?;
        std::fs::rename(&staging, &target).map_err(|source| HostError::Io {
            what: format!("moving {} into place", staging.display()),
            source,
        })?;
        let installing = Installing {
            version: manifest.version.to_string(),
            phases,
            began,
            launching_since: Instant::now(),
            running_since: None,
        };
        // The folder holds the very bytes just verified, unless a command ran in it: its first
        // launch need not read and hash it all again (a program may be tens of megabytes).
        let checked = commands_run == 0;
        let folder = Folder::installed(target);
        self.shared.add(&package, folder, checked, Some(installing));
        // Its files (a program may be tens of megabytes) are freed off the executor, which
        // launches the program meanwhile.
        smol::spawn(off_executor(move || drop(package))).detach();
        Ok(manifest)
    }

    /// Stops and removes a plugin: its process, its files (after its uninstallation commands)
    /// and what it is shown; an EXTERNAL plugin is disconnected and forgotten; a plugin linked
    /// for development is unlinked, its folder left as it is. Its settings are
    /// kept, as package managers keep configuration on remove: a later install of the same id
    /// finds them ([`purge`](Self::purge) deletes them too). Emits `UNINSTALLATION_COMPLETED`
    /// or `UNINSTALLATION_FAILED`.
    pub async fn uninstall(&self, plugin_id: &str) -> Result<(), HostError> {
        self.remove(plugin_id, false).await
    }

    /// Uninstalls a plugin as [`uninstall`](Self::uninstall) does, and deletes its settings.
    pub async fn purge(&self, plugin_id: &str) -> Result<(), HostError> {
        self.remove(plugin_id, true).await
    }

    /// Uninstalls a plugin, deleting its settings with `purge`, with its installation event.
    async fn remove(&self, plugin_id: &str, purge: bool) -> Result<(), HostError> {
        let result = self.uninstall_plugin(plugin_id, purge).await;
        let (event, description) = match &result {
            Ok(()) => (PluginInstallationEvent::UninstallationCompleted, None),
            Err(error) => (
                PluginInstallationEvent::UninstallationFailed,
                Some(error.to_string()),
            ),
        };
        self.shared.notice(event, plugin_id, description);
        result
    }

    async fn uninstall_plugin(&self, plugin_id: &str, purge: bool) -> Result<(), HostError> {
        let _one_at_a_time = self.shared.lifecycle.lock().await;
        let (manifest, folder, installation) = self.shared.with_plugin(plugin_id, |plugin| {
            let info = &plugin.info;
            (
                info.manifest.clone(),
                plugin.folder.clone(),
                info.installation,
            )
        })?;
        if installation == InstallationType::Core {
            return Err(HostError::CorePlugin(plugin_id.into()));
        }
        self.stop(plugin_id).await;
        // An EXTERNAL plugin has no folder; its code goes, and its session with it.
        self.shared.withdraw(plugin_id);
        let plugins_dir = self.shared.config.data_dir.join("plugins");
        if folder.as_ref().is_some_and(Folder::is_linked) {
            // The author's folder is theirs: no command is run in it, nothing of it deleted.
            folder::remove_link(&plugins_dir, plugin_id)?;
        } else if let Some(folder) = &folder {
            let dir = &folder.dir;
            // Its commands are run only as they were signed: a changed one is not the
            // publisher's code.
            match self.shared.check_installed(folder).await {
                Ok(_) => {
                    let commands = &manifest.uninstallation_commands;
                    run_commands(&self.shared, plugin_id, commands, dir).await?;
                }
                Err(problem) => {
                    let message = format!("its uninstallation commands are not run: {problem}");
                    self.shared.log(plugin_id, LogLevel::Warning, message);
                }
            }
            remove_dir(dir)?;
        }
        self.shared.settings.remove_plugin(plugin_id, purge)?;
        self.shared.core(|core| core.remove(plugin_id));
        Ok(())
    }

    /// Uninstalls every plugin but the CORE ones (keeping their settings), each with its own
    /// events, then emits
    /// `UNINSTALL_ALL_COMPLETED`, or `UNINSTALL_ALL_FAILED` naming each plugin that could not
    /// be removed (the others are removed all the same).
    pub async fn uninstall_all(&self) -> Result<(), HostError> {
        let plugin_ids: Vec<String> = self.shared.core(|core| {
            core.plugins()
                .filter(|plugin| plugin.info.installation != InstallationType::Core)
                .map(|plugin| plugin.info.manifest.plugin_id.clone())
                .collect()
        });
        let mut failures = Vec::new();
        for plugin_id in &plugin_ids {
            if let Err(error) = self.uninstall(plugin_id).await {
                failures.push(error.to_string());
            }
        }
        if failures.is_empty() {
            self.shared
                .notice(PluginInstallationEvent::UninstallAllCompleted, "", None);
            Ok(())
        } else {
            let description = failures.join("; ");
            let event = PluginInstallationEvent::UninstallAllFailed;
            self.shared.notice(event, "", Some(description.clone()));
            Err(HostError::UninstallAll(description))
        }
    }

    /// Stops a plugin's process, if it has one, and waits for it to exit.
    pub(super) async fn stop(&self, plugin_id: &str) {
        let supervisor = self.shared.core(|core| {
            core.plugin_mut(plugin_id)
                .and_then(|plugin| plugin.supervisor.take())
        });
        if let Some(supervisor) = supervisor {
            supervisor.stop().await;
        }
    }

    /// Registers and launches the plugins installed by earlier runs, and removes the staging
    /// folders of installs that never finished.
    pub(super) fn load_installed(&self) -> Result<(), HostError> {
        let plugins_dir = self.shared.config.data_dir.join("plugins");
        let entries = std::fs::read_dir(&plugins_dir).map_err(|source| HostError::Io {
            what: format!("reading {}", plugins_dir.display()),
            source,
        })?;
        // The listeners are already open: an install asked for meanwhile waits, so that its
        // staging folder is not taken for a stale one.
        let _one_at_a_time = self.shared.lifecycle.lock_blocking();
        let log = |level, message: String| self.shared.config.log.write(None, level, &message);
        for entry in entries.flatten() {
            let dir = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if !dir.is_dir() {
                if dir
                    .extension()
                    .is_some_and(|ext| ext == folder::LINK_EXTENSION)
                {
                    match Folder::read_link(&dir) {
                        Ok(linked) => self.load(linked),
                        Err(problem) => log(LogLevel::Error, format!("skipping it: {problem}")),
                    }
                }
                continue;
            }
            if name.starts_with(STAGING_PREFIX) {
                // Installs run in this process only, and none has begun: this one was
                // interrupted (a crash, `kill -9`) before its folder was moved into place.
                match remove_dir(&dir) {
                    Ok(()) => log(
                        LogLevel::Warning,
                        format!("removed {}, left by an unfinished install", dir.display()),
                    ),
                    Err(error) => log(LogLevel::Error, error.to_string()),
                }
                continue;
            }
            if name.starts_with('.') {
                continue;
            }
            self.load(Folder::installed(dir));
        }
        Ok(())
    }

    /// Reads an installed plugin's folder back and launches it, or lists it with the reason.
    fn load(&self, folder: Folder) {
        // Checked again, not trusted blindly: a folder edited since install is reported.
        match folder.read(self.shared.config.limits) {
            Ok(package) => {
                // A plugin refused is listed with the reason; the others still start.
                let _ = self.launch_installed(&package, folder);
            }
            Err(error) => self.list_unreadable(folder, error),
        }
    }

    /// Lists an installed plugin whose folder no longer reads as a package (a file its
    /// manifest names was removed, say), not launched, with the reason, so that it can be
    /// seen and uninstalled. A folder whose manifest does not read either does not say which
    /// plugin it holds: it is skipped, with a line in the log.
    fn list_unreadable(&self, folder: Folder, error: PackageError) {
        let problem = format!(
            "{} no longer reads as a package: {error}",
            folder.dir.display()
        );
        match package::read_manifest(&folder.dir, self.shared.config.limits) {
            Ok((manifest, text)) => {
                let state = ContainerState::Stopped;
                let mut plugin =
                    Plugin::new(manifest, InstallationType::Installed, state, Some(folder));
                plugin.info.manifest_file = Some(text);
                self.shared.list_refused(plugin, problem);
            }
            Err(_) => {
                let message = format!("skipping it: {problem}");
                self.shared
                    .config
                    .log
                    .write(None, LogLevel::Error, &message);
            }
        }
    }

    /// Launches an installed plugin read back from its folder if its kept signature still
    /// holds (or in development mode, with a warning); else lists it, not launched, with the
    /// reason. That check is its first launch's: the supervisor checks the folder again before
    /// each launch after it.
    pub(super) fn launch_installed(
        &self,
        package: &Package,
        folder: Folder,
    ) -> Result<(), HostError> {
        if let Err(error) = package.check_platform(Platform::current()) {
            self.shared.refuse(package, folder, error.to_string());
            return Err(error.into());
        }
        if folder.is_linked() && !self.development_mode() {
            let error = HostError::LinkNeedsDevelopment(folder.dir.clone());
            self.shared.refuse(package, folder, error.to_string());
            return Err(error);
        }
        let trust = &self.shared.config.trust;
        match package.verify_installed(trust, self.development_mode()) {
            Ok(trust) => {
                if let Trust::Development(why) = trust {
                    let message = format!("launched in development mode: {why}");
                    let plugin_id = &package.manifest().plugin_id;
                    self.shared.log(plugin_id, LogLevel::Warning, message);
                }
                self.shared.add(package, folder, true, None);
            }
            Err(error) => {
                self.shared.refuse(package, folder, error.to_string());
                return Err(error.into());
            }
        }
        Ok(())
    }

    /// Reloads a plugin, the development workflow (provd's reload): an INSTALLED plugin's
    /// folder is read and checked again, as at start, and its program restarted with the
    /// manifest found there; an EXTERNAL plugin's session is closed, so that it reconnects.
    /// A CORE plugin is built into the host and cannot be reloaded. A folder that no longer
    /// reads is refused with its problems, and the plugin left running as it was.
    pub async fn reload(&self, plugin_id: &str) -> Result<(), HostError> {
        let _one_at_a_time = self.shared.lifecycle.lock().await;
        let (installation, folder) = self.shared.with_plugin(plugin_id, |plugin| {
            (plugin.info.installation, plugin.folder.clone())
        })?;
        let folder = match (installation, folder) {
            (InstallationType::Core, _) => return Err(HostError::CorePlugin(plugin_id.into())),
            (InstallationType::Installed, Some(folder)) => folder,
            _ => {
                self.shared.close_session(plugin_id);
                return Ok(());
            }
        };
        let (read, limits) = (folder.clone(), self.shared.config.limits);
        let package = off_executor(move || read.read(limits)).await?;
        let found = &package.manifest().plugin_id;
        if found != plugin_id {
            return Err(HostError::IdChanged {
                plugin_id: plugin_id.into(),
                found: found.clone(),
            });
        }
        package.check_platform(Platform::current())?;
        self.stop(plugin_id).await;
        let message = format!("reloading from {}", folder.dir.display());
        self.shared.log(plugin_id, LogLevel::Info, message);
        self.launch_installed(&package, folder)
    }
}

/// A package archive unpacked for an install, with the phases timed so far.
pub(crate) struct Unpacked {
    /// The package, or why the archive does not read as one.
    pub(crate) package: Result<Package, PackageError>,
    /// The read and the unpack.
    pub(super) phases: InstallPhases,
    /// When the install began (its read, if it had one).
    pub(super) began: Instant,
}

impl Unpacked {
    /// Unpacks `archive` (read in `read`, when it was read from a file), timing it.
    fn new(
        archive: &[u8],
        limits: package::Limits,
        read: Option<Duration>,
        began: Instant,
    ) -> Unpacked {
        let unpacking = Instant::now();
        let package = Package::from_zip(archive, limits);
        let phases = InstallPhases {
            read,
            unpack: unpacking.elapsed(),
            archive_bytes: archive.len() as u64,
            unpacked_bytes: package.as_ref().map_or(0, Package::size),
            ..InstallPhases::default()
        };
        Unpacked {
            package,
            phases,
            began,
        }
    }
}

impl Shared {
    /// An installed plugin's folder read again and checked against the signature kept at its
    /// install (or let through in development mode, saying why): what runs from it must be what
    /// was signed. Read and hashed off the executor, as a program may be tens of megabytes.
    pub(super) async fn check_installed(&self, folder: &Folder) -> Result<Trust, String> {
        let (folder, limits) = (folder.clone(), self.config.limits);
        let trust = self.config.trust.clone();
        let development = self.development.load(std::sync::atomic::Ordering::Acquire);
        off_executor(move || {
            let package = folder.read(limits).map_err(|error| error.to_string())?;
            package
                .verify_installed(&trust, development)
                .map_err(|error| error.to_string())
        })
        .await
    }

    /// Registers an installed plugin and launches its program, if it has one; `checked` when
    /// its folder was checked against its signature just now, so that the first launch need
    /// not read and hash it again; `installing` when an install brought it, told whole once
    /// its first run says hello.
    fn add(
        self: &Arc<Shared>,
        package: &Package,
        folder: Folder,
        checked: bool,
        installing: Option<Installing>,
    ) {
        let manifest = package.manifest().clone();
        let plugin_id = manifest.plugin_id.clone();
        let program = folder.program(&manifest);
        let state = if program.is_some() {
            ContainerState::Launching
        } else {
            ContainerState::NotApplicable
        };
        let mut plugin = Plugin::installed(package, state, folder.clone());
        plugin.installing = installing;
        match program {
            Some(program) => {
                // A launched plugin's states come from its supervisor, `LAUNCHING` first.
                let process = Process {
                    plugin_id: plugin_id.clone(),
                    program,
                    folder,
                    checked: AtomicBool::new(checked),
                };
                self.core(|core| core.list_supervised(plugin));
                process::supervise(self, &plugin_id, process);
            }
            None => self.core(|core| core.list(plugin)),
        }
    }

    /// Lists an installed plugin that must not run, saying why; uninstalling or installing it
    /// again are the ways out.
    fn refuse(&self, package: &Package, folder: Folder, problem: String) {
        let plugin = Plugin::installed(package, ContainerState::Stopped, folder);
        self.list_refused(plugin, problem);
    }

    /// Lists `plugin`, stopped, with the reason it is not launched.
    fn list_refused(&self, mut plugin: Plugin, problem: String) {
        let plugin_id = plugin.info.manifest.plugin_id.clone();
        self.log(
            &plugin_id,
            LogLevel::Error,
            format!("not launched: {problem}"),
        );
        plugin.info.problem = Some(problem);
        self.core(|core| core.list(plugin));
    }

    pub(super) fn notice(
        &self,
        event: PluginInstallationEvent,
        plugin_id: &str,
        description: Option<String>,
    ) {
        self.core(|core| {
            core.notice(InstallationEventNotice {
                event: event.into(),
                plugin_id: plugin_id.into(),
                description,
            })
        });
    }
}

/// Runs the commands meant for this platform, in order, in the plugin's folder; the first that
/// fails stops the rest. How many ran.
async fn run_commands(
    shared: &Shared,
    plugin_id: &str,
    commands: &[Command],
    dir: &Path,
) -> Result<usize, HostError> {
    let mut run = 0;
    for command in commands {
        if !command.runs_on(Platform::current()) {
            continue;
        }
        let failed = |outcome: String| HostError::Command {
            plugin_id: plugin_id.into(),
            executable: command.executable.clone(),
            outcome,
        };
        if command.run_as_admin {
            // Elevation needs the user's consent through the OS, which a daemon cannot ask for.
            let message = format!(
                "command {:?} asks for runAsAdmin; it runs as the current user, elevation is \
                 not supported",
                command.executable
            );
            shared.log(plugin_id, LogLevel::Warning, message);
        }
        let mut process = smol::process::Command::new(dir.join(&command.executable));
        process
            .args(&command.parameters)
            .current_dir(dir)
            .stdin(std::process::Stdio::null());
        let status = status_of_unpacked(&mut process)
            .await
            .map_err(|error| failed(format!("could not be started: {error}")))?;
        if !status.success() {
            return Err(failed(format!("failed ({status})")));
        }
        run += 1;
    }
    Ok(run)
}

/// How often, at most, a program just unpacked is started again while it is "text file busy".
const BUSY_ATTEMPTS: u32 = 8;

/// Runs `command`, whose program was just written (unpacked), to its end. Starting it fails with
/// "text file busy" while a child that another thread forked (a plugin launched, a test's
/// process) still holds the file open for writing, until it calls `exec`: a moment, so the start
/// is tried again after a short, doubling pause.
async fn status_of_unpacked(
    command: &mut smol::process::Command,
) -> std::io::Result<std::process::ExitStatus> {
    let mut pause = std::time::Duration::from_millis(1);
    let mut attempts = 1;
    loop {
        match command.status().await {
            Err(error) if is_text_file_busy(&error) && attempts < BUSY_ATTEMPTS => {
                async_io::Timer::after(pause).await;
                pause *= 2;
                attempts += 1;
            }
            ended => return ended,
        }
    }
}

/// Whether `error` is `ETXTBSY`.
#[cfg(unix)]
fn is_text_file_busy(error: &std::io::Error) -> bool {
    error.raw_os_error() == Some(rustix::io::Errno::TXTBSY.raw_os_error())
}

#[cfg(not(unix))]
fn is_text_file_busy(_: &std::io::Error) -> bool {
    false
}

/// What an install's staging folder is named, before the plugin id: a hidden folder beside
/// the installed plugins, so that the move into place is a rename on one file system.
const STAGING_PREFIX: &str = ".staging-";

/// Removes a folder and everything in it; a folder that is not there is fine.
fn remove_dir(dir: &Path) -> Result<(), HostError> {
    removed(dir, std::fs::remove_dir_all(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn a_program_held_open_for_writing_a_moment_still_runs() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("run.sh");
        std::fs::write(&program, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        // As a child forked by another thread holds it until its own exec.
        let writer = std::fs::OpenOptions::new()
            .write(true)
            .open(&program)
            .unwrap();
        let holder = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            drop(writer);
        });
        let status = smol::block_on(status_of_unpacked(&mut smol::process::Command::new(
            &program,
        )));
        holder.join().unwrap();
        assert!(status.unwrap().success());
    }
}
