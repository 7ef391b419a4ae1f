//! Which side of the protocol may send which message (seed chapter 5 between a plugin and the
//! manager, chapter 9 between the client library and the manager; the tables in
//! `docs/protocol.md`). Used both ways: a peer message its side may not send is answered
//! `INVALID_VERB`, and an owner sending a message its own side may not send gets a `SendError`.

use crate::{Message, MessageType};

/// One side of a connection to the manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    /// The plugin process.
    Plugin,
    /// The plugin manager, facing a plugin.
    Manager,
    /// The client library inside the configuration software (seed chapter 9).
    Client,
    /// The plugin manager, facing the client library: the seed's "Plugin Manager agent".
    Agent,
}

impl Side {
    /// The other side.
    pub(crate) fn peer(self) -> Side {
        match self {
            Side::Plugin => Side::Manager,
            Side::Manager => Side::Plugin,
            Side::Client => Side::Agent,
            Side::Agent => Side::Client,
        }
    }

    /// How answers name this side.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Side::Plugin => "the plugin",
            Side::Manager | Side::Agent => "the manager",
            Side::Client => "the client library",
        }
    }

    /// Whether this side may send `message_type`, as a request, a notification or an answer.
    pub(crate) fn may_send(self, message_type: MessageType) -> bool {
        use MessageType as T;
        match self {
            Side::Plugin => matches!(
                message_type,
                T::PluginHello
                    | T::Settings
                    | T::SettingsRequest
                    | T::LogEvent
                    | T::ActionCellStatus
                    | T::AnalogControlStatus
                    | T::AnalogControlStatusList
                    | T::PluginActionConfigurationSchemeResponse
                    | T::UserInfoList
                    | T::Pong
            ),
            Side::Manager => matches!(
                message_type,
                T::ManagerHello
                    | T::Settings
                    | T::SavedData
                    | T::Ping
                    | T::RetryAfter
                    | T::TriggerAction
                    | T::ReleaseAction
                    | T::UpdateAnalogControl
                    | T::GetAnalogControlValue
                    | T::VisibilityChanged
                    | T::VisibilityChangedList
                    | T::PluginActionConfigurationSchemeRequest
                    | T::PluginActionConfigurationResponse
                    | T::InitLogin
                    | T::OauthResponse
                    | T::Logout
                    | T::GetUserInfoList
            ),
            Side::Client => matches!(
                message_type,
                T::ClientHello
                    | T::Pong
                    | T::GetPluginList
                    | T::InstallPlugin
                    | T::RemovePlugin
                    | T::Invoke
                    | T::AnalogControlId
                    | T::ActionConfigurationRequest
                    | T::SetActionConfiguration
                    | T::InvokeLogin
                    | T::InvokeLogout
                    | T::GetDevelopmentMode
                    | T::DevelopmentMode
                    | T::LanguageChanged
                    | T::VisibilityUpdate
                    | T::GetPluginLog
                    | T::LinkPlugin
            ),
            Side::Agent => matches!(
                message_type,
                T::ManagerHello
                    | T::Ping
                    | T::PluginList
                    | T::PluginDetails
                    | T::PluginRemoved
                    | T::PluginUpdateResult
                    | T::PluginUpdateResultList
                    | T::InstallationEventNotice
                    | T::ActionConfiguration
                    | T::DevelopmentMode
                    | T::PluginLog
                    | T::PluginLogLine
            ),
        }
    }
}

/// For a status update (seed 5.5, 5.6), its type and the action or control instance it is for:
/// a newer update for the same instance replaces an older one not yet delivered.
pub(crate) fn status_of(message: &Message) -> Option<(MessageType, &str)> {
    match message {
        Message::ActionCellStatus(s) => {
            Some((MessageType::ActionCellStatus, &s.action_instance_id))
        }
        Message::AnalogControlStatus(s) => Some((
            MessageType::AnalogControlStatus,
            &s.analog_control_instance_id,
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_settings_travel_both_ways() {
        let both: Vec<MessageType> = MessageType::ALL
            .iter()
            .copied()
            .filter(|&t| Side::Plugin.may_send(t) && Side::Manager.may_send(t))
            .collect();
        assert_eq!(both, [MessageType::Settings]);
    }

    #[test]
    fn client_library_and_marketplace_messages_never_travel_between_plugin_and_manager() {
        for &t in MessageType::ALL {
            if !t.full_name().starts_with("logi.plugin.protocol.") {
                assert!(
                    !Side::Plugin.may_send(t) && !Side::Manager.may_send(t),
                    "{}",
                    t.full_name()
                );
            }
        }
    }

    #[test]
    fn plugin_messages_never_travel_between_client_and_agent_but_hellos_and_heartbeats() {
        for &t in MessageType::ALL {
            let shared = matches!(
                t,
                MessageType::ManagerHello | MessageType::Ping | MessageType::Pong
            );
            if t.full_name().starts_with("logi.plugin.protocol.") && !shared {
                assert!(
                    !Side::Client.may_send(t) && !Side::Agent.may_send(t),
                    "{}",
                    t.full_name()
                );
            }
        }
    }

    #[test]
    fn only_development_mode_travels_both_ways_between_client_and_agent() {
        let both: Vec<MessageType> = MessageType::ALL
            .iter()
            .copied()
            .filter(|&t| Side::Client.may_send(t) && Side::Agent.may_send(t))
            .collect();
        assert_eq!(both, [MessageType::DevelopmentMode]);
    }
}
