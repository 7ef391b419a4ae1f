//! The host's state as one structure: every plugin with its info, views and diagnostics, the
//! statuses plugins reported, and the host's subscribers. A change is a call on [`HostCore`]
//! that makes it and queues the events it owes the subscribers; it takes `now` where time
//! matters. The core reads no clock and does no IO.
//!
//! The host keeps its core under one lock and delivers the queued events before it lets go
//! (`Shared::core`), so "changed under the lock, told after it, in the order it was changed"
//! holds by construction: nothing else can tell a subscriber anything, and a subscriber that
//! joins ([`HostCore::subscribe`]) gets a snapshot and every change after it, nothing in
//! between.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use logi_plugin_core::Message;
use logi_plugin_core::proto::manager::{
    ContainerState, InstallationEventNotice, InstallationType, LogSource,
};
use logi_plugin_core::proto::plugin::log_event::LogLevel;
use logi_plugin_core::view::View;
use logi_plugin_manifest::Manifest;
use logi_plugin_manifest::localization::Localizations;
use logi_plugin_package::{MANIFEST_PATH, Package};
use logi_plugin_transports::ManagerConnection;

use super::diagnostics::{Diagnostics, Ending};
use super::event::HostEvent;
use super::folder::Folder;
use super::info::PluginInfo;
use super::installing::Installing;
use super::recent::{self, LogLine, RecentLog};
use super::supervisor::Supervisor;

/// A plugin as the host holds it.
pub(super) struct Plugin {
    pub(super) info: PluginInfo,
    /// Its files, for an installed plugin.
    pub(super) folder: Option<Folder>,
    pub(super) connection: Option<ManagerConnection>,
    /// Stops the supervisor of what runs it; closed when the supervisor ends.
    pub(super) supervisor: Option<Supervisor>,
    /// What is noted of its current run, for its next stop report.
    pub(super) diagnostics: Diagnostics,
    /// What it is shown, across its sessions.
    pub(super) views: Views,
    /// The install that brought it, until its first run says hello.
    pub(super) installing: Option<Installing>,
}

impl Plugin {
    pub(super) fn new(
        manifest: Manifest,
        installation: InstallationType,
        state: ContainerState,
        folder: Option<Folder>,
    ) -> Plugin {
        Plugin {
            info: PluginInfo {
                manifest,
                installation,
                state,
                connected: false,
                problem: None,
                login_required: false,
                manifest_file: None,
                localizations: Localizations::default(),
                last_stop: None,
                linked: folder
                    .as_ref()
                    .filter(|folder| folder.is_linked())
                    .map(|folder| folder.dir.clone()),
            },
            folder,
            connection: None,
            supervisor: None,
            diagnostics: Diagnostics::default(),
            views: Views::default(),
            installing: None,
        }
    }

    /// A plugin installed from `package` into `folder`.
    pub(super) fn installed(package: &Package, state: ContainerState, folder: Folder) -> Plugin {
        let manifest = package.manifest().clone();
        let mut plugin = Plugin::new(manifest, InstallationType::Installed, state, Some(folder));
        plugin.info.manifest_file = package
            .files()
            .get(MANIFEST_PATH)
            .map(|file| String::from_utf8_lossy(&file.bytes).into_owned());
        plugin.info.localizations = package.localizations().clone();
        plugin
    }
}

/// What a plugin is shown, across its sessions (`views.rs` keeps it in step with the plugin and
/// the database), and its turn.
#[derive(Default)]
pub(super) struct Views {
    /// What the client asked to be visible.
    pub(super) shown: View,
    /// What the plugin may hold as visible.
    pub(super) told: View,
    /// Whether the two were read from the database yet.
    pub(super) loaded: bool,
    /// Held while a change or a resync is sent.
    pub(super) turn: Arc<smol::lock::Mutex<()>>,
}

/// The host's state, and the events its changes owe the subscribers.
#[derive(Default)]
pub(super) struct HostCore {
    plugins: BTreeMap<String, Plugin>,
    /// The latest status each action or control instance reported, by plugin and instance
    /// (seed 9.5.3 `action_status`).
    statuses: HashMap<(String, String), Message>,
    /// Each listed plugin's recent log, kept apart from its [`Plugin`] so that it outlives a
    /// reload or an upgrade, which list the plugin anew.
    logs: HashMap<String, RecentLog>,
    /// The number of the last line kept.
    log_seq: u32,
    /// Whoever listens; the owner delivers [`HostCore::take_events`] to them.
    pub(super) subscribers: Vec<async_channel::Sender<HostEvent>>,
    /// Told nobody yet.
    events: Vec<HostEvent>,
}

impl HostCore {
    /// The events the changes since the last call owe the subscribers, in order.
    pub(super) fn take_events(&mut self) -> Vec<HostEvent> {
        std::mem::take(&mut self.events)
    }

    /// Adds a subscriber: every plugin as it is now, and from now on every change.
    pub(super) fn subscribe(
        &mut self,
        subscriber: async_channel::Sender<HostEvent>,
    ) -> Vec<PluginInfo> {
        self.subscribers.push(subscriber);
        self.infos()
    }

    /// Every plugin, by id.
    pub(super) fn infos(&self) -> Vec<PluginInfo> {
        self.plugins
            .values()
            .map(|plugin| plugin.info.clone())
            .collect()
    }

    pub(super) fn plugin(&self, plugin_id: &str) -> Option<&Plugin> {
        self.plugins.get(plugin_id)
    }

    /// The plugin, for a change nobody is told of (its diagnostics, views, supervisor).
    pub(super) fn plugin_mut(&mut self, plugin_id: &str) -> Option<&mut Plugin> {
        self.plugins.get_mut(plugin_id)
    }

    pub(super) fn plugins(&self) -> impl Iterator<Item = &Plugin> {
        self.plugins.values()
    }

    pub(super) fn plugins_mut(&mut self) -> impl Iterator<Item = &mut Plugin> {
        self.plugins.values_mut()
    }

    /// Lists a plugin and tells its state.
    pub(super) fn list(&mut self, plugin: Plugin) {
        let (plugin_id, state) = (plugin.info.manifest.plugin_id.clone(), plugin.info.state);
        self.list_supervised(plugin);
        self.tell(HostEvent::State { plugin_id, state });
    }

    /// Lists a plugin whose state its supervisor is about to tell. One that replaces an entry
    /// (a reload, an upgrade, a relink) keeps why the run before it ended, until its own run
    /// ends: the reason a reload was needed is still worth reading after it.
    pub(super) fn list_supervised(&mut self, mut plugin: Plugin) {
        let plugin_id = plugin.info.manifest.plugin_id.clone();
        if let Some(before) = self.plugins.get_mut(&plugin_id)
            && plugin.info.last_stop.is_none()
        {
            plugin.info.last_stop = before.info.last_stop.take();
        }
        self.plugins.insert(plugin_id, plugin);
    }

    /// Takes a plugin off the list (uninstalled: its installation notice tells it), its recent
    /// log with it.
    pub(super) fn remove(&mut self, plugin_id: &str) -> Option<Plugin> {
        self.logs.remove(plugin_id);
        self.plugins.remove(plugin_id)
    }

    /// A plugin's process is in a new state (told even for a plugin no longer listed, whose
    /// supervisor is winding down).
    pub(super) fn set_state(&mut self, plugin_id: &str, state: ContainerState) {
        if let Some(plugin) = self.plugins.get_mut(plugin_id) {
            plugin.info.state = state;
        }
        self.tell(HostEvent::State {
            plugin_id: plugin_id.into(),
            state,
        });
    }

    /// A plugin is listed `STOPPED`, with the problem that keeps it from running.
    pub(super) fn list_stopped(&mut self, plugin_id: &str, problem: String) {
        if let Some(plugin) = self.plugins.get_mut(plugin_id) {
            plugin.info.problem = Some(problem);
        }
        self.set_state(plugin_id, ContainerState::Stopped);
    }

    /// A run ended: its report is kept as the plugin's last stop.
    pub(super) fn stopped(&mut self, plugin_id: &str, ending: Ending, quarantined: bool) {
        if let Some(plugin) = self.plugins.get_mut(plugin_id) {
            let report = plugin.diagnostics.report(ending, quarantined);
            plugin.info.last_stop = Some(report);
        }
    }

    /// A line of the plugin's log from `source`, got at `time` and cut at 4 KiB: kept in its
    /// recent log under the next number and for its stop report (if the plugin is listed), and
    /// told.
    pub(super) fn log(
        &mut self,
        plugin_id: &str,
        source: LogSource,
        level: LogLevel,
        message: String,
        time: SystemTime,
    ) {
        let message = recent::cut(message);
        self.logged(plugin_id, level, &recent::tagged(source, &message));
        self.log_seq = self.log_seq.wrapping_add(1);
        let seq = self.log_seq;
        if self.plugins.contains_key(plugin_id) {
            let line = LogLine {
                seq,
                time,
                level,
                source,
                message: message.clone(),
            };
            self.logs.entry(plugin_id.into()).or_default().push(line);
        }
        self.tell(HostEvent::Log {
            plugin_id: plugin_id.into(),
            level,
            message,
            source,
            time,
            seq,
        });
    }

    /// A listed plugin's recent log, oldest first.
    pub(super) fn recent_log(&self, plugin_id: &str) -> Option<Vec<LogLine>> {
        self.plugins.get(plugin_id)?;
        Some(
            self.logs
                .get(plugin_id)
                .map(RecentLog::lines)
                .unwrap_or_default(),
        )
    }

    /// A line of the plugin's log kept for its stop report only (its subscribers are told by
    /// an event of its own, or the line was dropped from the log).
    pub(super) fn logged(&mut self, plugin_id: &str, level: LogLevel, message: &str) {
        if let Some(plugin) = self.plugins.get_mut(plugin_id) {
            plugin.diagnostics.logged(level, message);
        }
    }

    /// A plugin's session said hello: it is connected on `connection`. Its installation type,
    /// or `None` for a plugin not listed (its session is not served).
    pub(super) fn connected(
        &mut self,
        plugin_id: &str,
        connection: ManagerConnection,
        version: String,
    ) -> Option<InstallationType> {
        let plugin = self.plugins.get_mut(plugin_id)?;
        plugin.connection = Some(connection);
        plugin.info.connected = true;
        plugin.diagnostics.connected();
        let installation = plugin.info.installation;
        self.tell(HostEvent::Connected {
            plugin_id: plugin_id.into(),
            version,
        });
        Some(installation)
    }

    /// Forgets a plugin's closed session; a newer one that already took its place stays.
    /// Whether it forgot one.
    pub(super) fn forget_session(&mut self, plugin_id: &str) -> bool {
        let Some(plugin) = self.plugins.get_mut(plugin_id) else {
            return false;
        };
        let closed = plugin
            .connection
            .as_ref()
            .is_some_and(|connection| connection.close_reason().is_some());
        if closed {
            plugin.info.connected = false;
            plugin.connection = None;
        }
        closed
    }

    /// A plugin's session closed: forgotten and told, unless a newer session already took its
    /// place (then neither).
    pub(super) fn disconnected(&mut self, plugin_id: &str, reason: String) {
        if self.forget_session(plugin_id) {
            self.tell(HostEvent::Disconnected {
                plugin_id: plugin_id.into(),
                reason,
            });
        }
    }

    /// The latest status a plugin reported for an instance.
    pub(super) fn status(&self, plugin_id: &str, instance_id: &str) -> Option<&Message> {
        let key = (plugin_id.to_string(), instance_id.to_string());
        self.statuses.get(&key)
    }

    /// A plugin reported a status of its own: kept and told.
    pub(super) fn status_reported(&mut self, plugin_id: &str, message: Message) {
        self.remember_status(plugin_id, &message);
        self.tell(HostEvent::Status {
            plugin_id: plugin_id.into(),
            message,
        });
    }

    /// Keeps a status (each status of a list) as the latest of its instance.
    pub(super) fn remember_status(&mut self, plugin_id: &str, message: &Message) {
        let instance = match message {
            Message::ActionCellStatus(status) => &status.action_instance_id,
            Message::AnalogControlStatus(status) => &status.analog_control_instance_id,
            Message::AnalogControlStatusList(list) => {
                let statuses = list.statuses.iter().cloned().map(Message::from);
                let actions = list.action_statuses.iter().cloned().map(Message::from);
                for status in statuses.chain(actions) {
                    self.remember_status(plugin_id, &status);
                }
                return;
            }
            _ => return,
        };
        let key = (plugin_id.to_string(), instance.clone());
        self.statuses.insert(key, message.clone());
    }

    /// Notes whether a plugin's configuration scheme asks for a login; a plugin that starts
    /// asking is told ([`HostEvent::LoginRequired`]).
    pub(super) fn remember_login(&mut self, plugin_id: &str, message: &Message) {
        let Message::PluginActionConfigurationSchemeResponse(scheme) = message else {
            return;
        };
        // The seed keeps a misspelt twin of the field "for compatibility": either counts.
        let Some(required) = scheme.login_required.or(scheme.loging_required) else {
            return;
        };
        let newly = match self.plugins.get_mut(plugin_id) {
            Some(plugin) => !std::mem::replace(&mut plugin.info.login_required, required),
            None => false,
        };
        if required && newly {
            self.tell(HostEvent::LoginRequired {
                plugin_id: plugin_id.into(),
            });
        }
    }

    /// An installation event (seed 9.5.1) for the client library.
    pub(super) fn notice(&mut self, notice: InstallationEventNotice) {
        self.tell(HostEvent::Installation(notice));
    }

    /// The program of a plugin just installed runs, at `now`: its launch is timed until now,
    /// its hello from now. Only the install's first launch counts.
    pub(super) fn install_launched(&mut self, plugin_id: &str, now: Instant) {
        let installing = self
            .plugins
            .get_mut(plugin_id)
            .and_then(|plugin| plugin.installing.as_mut())
            .filter(|installing| installing.running_since.is_none());
        if let Some(installing) = installing {
            installing.phases.launch = Some(now - installing.launching_since);
            installing.running_since = Some(now);
        }
    }

    /// A plugin's run said hello at `now` (or, with `ended`, ended without one, saying how): a
    /// plugin just installed has its install told whole, with the phases measured. The line
    /// for the log, when there is one.
    pub(super) fn install_done(
        &mut self,
        plugin_id: &str,
        ended: Option<&str>,
        now: Instant,
    ) -> Option<String> {
        let installing = self
            .plugins
            .get_mut(plugin_id)
            .and_then(|plugin| plugin.installing.take())?;
        Some(self.installed(plugin_id, installing, ended, now))
    }

    /// A plugin just installed that has no program to launch is up as soon as its install is
    /// complete: its install is told whole. The line for the log, when there is one.
    pub(super) fn install_done_without_program(
        &mut self,
        plugin_id: &str,
        now: Instant,
    ) -> Option<String> {
        let installing = self
            .plugins
            .get_mut(plugin_id)
            .filter(|plugin| plugin.info.state == ContainerState::NotApplicable)
            .and_then(|plugin| plugin.installing.take())?;
        Some(self.installed(plugin_id, installing, None, now))
    }

    /// Tells an install whole ([`HostEvent::Installed`]); its line, `installed <id> <version>
    /// in N ms: read a ms, ...`, is kept for the plugin's stop report and returned for the log.
    fn installed(
        &mut self,
        plugin_id: &str,
        mut installing: Installing,
        ended: Option<&str>,
        now: Instant,
    ) -> String {
        if ended.is_none() {
            installing.phases.hello = installing.running_since.map(|since| now - since);
        }
        installing.phases.total = now - installing.began;
        let Installing {
            version, phases, ..
        } = installing;
        let mut message = format!("installed {plugin_id} {version} {phases}");
        if let Some(how) = ended {
            message.push_str(&format!("; its first run said no hello: {how}"));
        }
        self.logged(plugin_id, LogLevel::Info, &message);
        self.tell(HostEvent::Installed {
            plugin_id: plugin_id.into(),
            version,
            phases,
        });
        message
    }

    fn tell(&mut self, event: HostEvent) {
        self.events.push(event);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use logi_plugin_core::proto::plugin::{
        ActionCellStatus, AnalogControlStatus, AnalogControlStatusList,
        PluginActionConfigurationSchemeResponse,
    };

    use super::*;
    use crate::host::diagnostics::KEPT_LOG_LINES;
    use crate::host::phases::InstallPhases;
    use crate::host::recent::RECENT_LOG_LINES;
    use crate::host::stderr::MAX_LINE;

    fn manifest(plugin_id: &str) -> Manifest {
        let text = serde_json::json!({
            "plugin_id": plugin_id,
            "name": "Test",
            "author": "Tests",
            "description": "A plugin of the core's tests",
            "icon": "icon.png",
            "version": "1.0.0",
            "OS": [{ "platform": "mac", "minimumVersion": "10.15" }],
            "platformVersion": "0.1",
            "requiredCapabilities": ["base"],
        });
        Manifest::parse(&text.to_string()).unwrap()
    }

    fn listed(plugin_id: &str, state: ContainerState) -> HostCore {
        let mut core = HostCore::default();
        let installation = InstallationType::External;
        core.list(Plugin::new(manifest(plugin_id), installation, state, None));
        core.take_events();
        core
    }

    fn scheme(login_required: Option<bool>) -> Message {
        PluginActionConfigurationSchemeResponse {
            login_required,
            ..Default::default()
        }
        .into()
    }

    #[test]
    fn a_state_change_is_made_then_told() {
        let mut core = listed("com.example.a", ContainerState::Launching);
        core.set_state("com.example.a", ContainerState::Running);
        assert_eq!(
            core.plugin("com.example.a").unwrap().info.state,
            ContainerState::Running
        );
        assert_eq!(
            core.take_events(),
            [HostEvent::State {
                plugin_id: "com.example.a".into(),
                state: ContainerState::Running,
            }]
        );
        assert!(core.take_events().is_empty());
    }

    #[test]
    fn a_subscriber_gets_the_plugins_as_they_are_and_only_later_changes() {
        let mut core = listed("com.example.a", ContainerState::Running);
        core.set_state("com.example.a", ContainerState::Crashed);
        let (tx, _rx) = async_channel::unbounded();
        let snapshot = core.subscribe(tx);
        assert_eq!(snapshot[0].state, ContainerState::Crashed);
        // The change before the subscription is still owed to the earlier subscribers.
        assert_eq!(core.take_events().len(), 1);
        assert_eq!(core.subscribers.len(), 1);
    }

    #[test]
    fn a_login_is_told_once_when_a_plugin_starts_asking_for_it() {
        let mut core = listed("com.example.a", ContainerState::Running);
        let told = |core: &mut HostCore| core.take_events().len();
        core.remember_login("com.example.a", &scheme(Some(true)));
        assert_eq!(told(&mut core), 1);
        core.remember_login("com.example.a", &scheme(Some(true)));
        assert_eq!(told(&mut core), 0);
        core.remember_login("com.example.a", &scheme(None));
        assert_eq!(told(&mut core), 0);
        core.remember_login("com.example.a", &scheme(Some(false)));
        core.remember_login("com.example.a", &scheme(Some(true)));
        assert_eq!(told(&mut core), 1);
    }

    #[test]
    fn each_status_of_a_list_is_kept_for_its_instance() {
        let mut core = listed("com.example.a", ContainerState::Running);
        let list = AnalogControlStatusList {
            statuses: vec![AnalogControlStatus {
                analog_control_instance_id: "dial-1".into(),
                ..Default::default()
            }],
            action_statuses: vec![ActionCellStatus {
                action_instance_id: "key-1".into(),
                ..Default::default()
            }],
        };
        core.remember_status("com.example.a", &list.into());
        assert!(matches!(
            core.status("com.example.a", "dial-1"),
            Some(Message::AnalogControlStatus(_))
        ));
        assert!(matches!(
            core.status("com.example.a", "key-1"),
            Some(Message::ActionCellStatus(_))
        ));
        assert!(core.take_events().is_empty(), "answers are kept, not told");
    }

    #[test]
    fn a_status_a_plugin_sends_on_its_own_is_kept_and_told() {
        let mut core = listed("com.example.a", ContainerState::Running);
        let status: Message = ActionCellStatus {
            action_instance_id: "key-1".into(),
            ..Default::default()
        }
        .into();
        core.status_reported("com.example.a", status.clone());
        assert_eq!(core.status("com.example.a", "key-1"), Some(&status));
        assert!(matches!(core.take_events()[..], [HostEvent::Status { .. }]));
    }

    #[test]
    fn a_session_that_is_still_open_is_not_forgotten_nor_told() {
        let mut core = listed("com.example.a", ContainerState::Running);
        core.disconnected("com.example.a", "replaced".into());
        assert!(core.take_events().is_empty());
    }

    /// Logs `message` about `com.example.a`, from `source`, at `time`.
    fn log(
        core: &mut HostCore,
        source: LogSource,
        level: LogLevel,
        message: &str,
        time: SystemTime,
    ) {
        core.log("com.example.a", source, level, message.into(), time);
    }

    #[test]
    fn a_plugins_recent_log_keeps_its_last_lines_with_their_time_level_and_source() {
        let mut core = listed("com.example.a", ContainerState::Running);
        let at = |seconds| SystemTime::UNIX_EPOCH + Duration::from_secs(seconds);
        for i in 0..RECENT_LOG_LINES as u64 + 5 {
            log(
                &mut core,
                LogSource::Stderr,
                LogLevel::Info,
                &format!("line {i}"),
                at(i),
            );
        }
        let crashed = "crashed (exit status: 3)";
        log(
            &mut core,
            LogSource::Host,
            LogLevel::Error,
            crashed,
            at(1_000),
        );
        let lines = core.recent_log("com.example.a").unwrap();
        assert_eq!(lines.len(), RECENT_LOG_LINES);
        assert_eq!(
            (lines[0].message.as_str(), lines[0].time),
            ("line 6", at(6))
        );
        let last = lines.last().unwrap();
        assert_eq!(
            (last.level, last.source, last.time, last.message.as_str()),
            (LogLevel::Error, LogSource::Host, at(1_000), crashed)
        );
        assert!(lines.windows(2).all(|pair| pair[0].seq < pair[1].seq));
        // The stop report keeps its own last lines, stderr's saying so.
        let plugin = core.plugin("com.example.a").unwrap();
        let report = plugin.diagnostics.report(Ending::default(), false);
        assert_eq!(report.last_log.len(), KEPT_LOG_LINES);
        let first = format!("INFO: stderr: line {}", RECENT_LOG_LINES - 14);
        assert_eq!(report.last_log[0], first);
    }

    #[test]
    fn each_line_is_told_with_the_number_it_is_kept_under() {
        let mut core = listed("com.example.a", ContainerState::Running);
        let now = SystemTime::now();
        log(&mut core, LogSource::Plugin, LogLevel::Info, "hello", now);
        let kept = core.recent_log("com.example.a").unwrap();
        assert_eq!(
            core.take_events(),
            [HostEvent::Log {
                plugin_id: "com.example.a".into(),
                level: LogLevel::Info,
                message: "hello".into(),
                source: LogSource::Plugin,
                time: now,
                seq: kept[0].seq,
            }]
        );
    }

    #[test]
    fn a_plugins_recent_log_outlives_its_replacement_but_not_its_removal() {
        let mut core = listed("com.example.a", ContainerState::Running);
        let now = SystemTime::now();
        log(&mut core, LogSource::Host, LogLevel::Info, "reloading", now);
        // A reload or an upgrade lists the plugin anew.
        let (installation, state) = (InstallationType::Installed, ContainerState::Launching);
        let again = Plugin::new(manifest("com.example.a"), installation, state, None);
        core.list_supervised(again);
        assert_eq!(core.recent_log("com.example.a").unwrap().len(), 1);
        core.remove("com.example.a");
        assert_eq!(core.recent_log("com.example.a"), None);
        // A line about a plugin the host does not list is told, not kept.
        log(
            &mut core,
            LogSource::Host,
            LogLevel::Info,
            "stopped by the host",
            now,
        );
        assert_eq!(core.recent_log("com.example.a"), None);
        assert!(matches!(core.take_events()[..], [_, HostEvent::Log { .. }]));
    }

    #[test]
    fn a_plugin_listed_anew_keeps_why_its_last_run_ended() {
        let mut core = listed("com.example.a", ContainerState::Running);
        core.stopped(
            "com.example.a",
            "crashed (exit status: 101)".to_string().into(),
            false,
        );
        // A reload or an upgrade lists the plugin anew.
        let (installation, state) = (InstallationType::Installed, ContainerState::Launching);
        let again = Plugin::new(manifest("com.example.a"), installation, state, None);
        core.list_supervised(again);
        let info = &core.plugin("com.example.a").unwrap().info;
        let how = info.last_stop.as_ref().map(|stop| stop.ending.how.as_str());
        assert_eq!(how, Some("crashed (exit status: 101)"));
    }

    #[test]
    fn a_long_line_is_kept_and_told_cut() {
        let mut core = listed("com.example.a", ContainerState::Running);
        let long = "x".repeat(MAX_LINE * 3);
        log(
            &mut core,
            LogSource::Plugin,
            LogLevel::Info,
            &long,
            SystemTime::now(),
        );
        let kept = &core.recent_log("com.example.a").unwrap()[0].message;
        assert!(kept.len() < MAX_LINE + 40, "{} bytes kept", kept.len());
        let [HostEvent::Log { message, .. }] = &core.take_events()[..] else {
            panic!("no Log event");
        };
        assert_eq!(message, kept);
    }

    #[test]
    fn an_install_is_told_whole_with_its_launch_and_hello_timed_on_the_given_clock() {
        let mut core = listed("com.example.a", ContainerState::Launching);
        let began = Instant::now();
        let ms = Duration::from_millis;
        core.plugin_mut("com.example.a").unwrap().installing = Some(Installing {
            version: "1.0.0".into(),
            phases: InstallPhases::default(),
            began,
            launching_since: began + ms(100),
            running_since: None,
        });
        core.install_launched("com.example.a", began + ms(130));
        // Only the first launch counts.
        core.install_launched("com.example.a", began + ms(900));
        let line = core
            .install_done("com.example.a", None, began + ms(180))
            .unwrap();
        assert!(
            line.starts_with("installed com.example.a 1.0.0 in 180 ms"),
            "{line}"
        );
        let [HostEvent::Installed { phases, .. }] = &core.take_events()[..] else {
            panic!("no Installed event");
        };
        assert_eq!(
            (phases.launch, phases.hello, phases.total),
            (Some(ms(30)), Some(ms(50)), ms(180))
        );
        // Told once.
        assert!(
            core.install_done("com.example.a", None, began + ms(200))
                .is_none()
        );
    }
}
