//! The marketplace's text protocol (seed chapters 10-11), with no IO: one message per WebSocket
//! text message, `MessageName <body>`, the body the canonical proto3 JSON of the message's type.
//!
//! Requests are `MPGetInstalledPlugins {}`, `MPInstallPlugin`, `MPUpdatePlugin` and `MPLogin`
//! (each with a `PluginInfo`). The manager answers `MPInstalledPlugins` with a
//! `PluginInstallation`, both to `MPGetInstalledPlugins` and as the broadcast of seed 11.1.
//! Decision (the seed names no error message): a line the manager cannot act on is answered
//! `MPError {"request": <the line's name>, "error": <why>}`, and the connection stays open.

use logi_plugin_core::codec::json::{self, JsonError, JsonOptions};
use logi_plugin_core::proto::marketplace::{PluginInfo, PluginInstallation};

/// The name of the installed-plugins answer and broadcast.
pub const INSTALLED_PLUGINS: &str = "MPInstalledPlugins";

/// The name of the error line.
pub const ERROR: &str = "MPError";

/// What a marketplace view asks.
#[derive(Clone, Debug, PartialEq)]
pub enum MarketRequest {
    /// `MPGetInstalledPlugins`: answered with `MPInstalledPlugins`.
    GetInstalledPlugins,
    /// `MPInstallPlugin`: install the plugin (the version asked, or the newest available).
    InstallPlugin(PluginInfo),
    /// `MPUpdatePlugin`: replace an installed plugin with the version asked, or the newest.
    UpdatePlugin(PluginInfo),
    /// `MPLogin`: start the plugin's login (`InitLogin`).
    Login(PluginInfo),
}

/// Why a line is not a request the manager can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// The line is empty.
    #[error("the line is empty: expected \"MessageName <json>\"")]
    Empty,
    /// The line names no request of the protocol.
    #[error(
        "{0:?} is not a marketplace request (MPGetInstalledPlugins, MPInstallPlugin, MPUpdatePlugin, MPLogin)"
    )]
    UnknownRequest(String),
    /// The body is not the JSON of the request's message.
    #[error("the body of {request} is not a PluginInfo: {source}")]
    Body {
        /// The request's name.
        request: String,
        /// What was wrong, and where.
        source: JsonError,
    },
    /// The body names no plugin.
    #[error("{0} needs a pluginId")]
    NoPluginId(String),
}

impl LineError {
    /// The request name the line started with, if it had one.
    fn request(&self) -> &str {
        match self {
            LineError::Empty => "",
            LineError::UnknownRequest(name)
            | LineError::Body { request: name, .. }
            | LineError::NoPluginId(name) => name,
        }
    }
}

/// Reads one line. A body that is missing counts as `{}`; members the manager does not know are
/// passed over, as a web page may send more than the seed lists.
pub fn parse_request(line: &str) -> Result<MarketRequest, LineError> {
    let line = line.trim();
    if line.is_empty() {
        return Err(LineError::Empty);
    }
    let (name, body) = line.split_once(char::is_whitespace).unwrap_or((line, "{}"));
    let make: fn(PluginInfo) -> MarketRequest = match name {
        "MPGetInstalledPlugins" => {
            read_info(name, body)?;
            return Ok(MarketRequest::GetInstalledPlugins);
        }
        "MPInstallPlugin" => MarketRequest::InstallPlugin,
        "MPUpdatePlugin" => MarketRequest::UpdatePlugin,
        "MPLogin" => MarketRequest::Login,
        other => return Err(LineError::UnknownRequest(other.into())),
    };
    let info = read_info(name, body)?;
    if info.plugin_id.is_empty() {
        return Err(LineError::NoPluginId(name.into()));
    }
    Ok(make(info))
}

fn read_info(request: &str, body: &str) -> Result<PluginInfo, LineError> {
    let options = JsonOptions {
        ignore_unknown_fields: true,
    };
    json::from_str_with(body.trim(), options).map_err(|source| LineError::Body {
        request: request.into(),
        source,
    })
}

/// `MPInstalledPlugins <json>`.
pub fn installed_plugins(installation: &PluginInstallation) -> String {
    format!("{INSTALLED_PLUGINS} {}", json::to_string(installation))
}

/// `MPError <json>`, answering a line that could not be acted on.
pub fn error(request: &str, error: &str) -> String {
    let body = serde_json::json!({ "request": request, "error": error });
    format!("{ERROR} {body}")
}

/// The error line for a line that could not be read.
pub fn line_error(error: &LineError) -> String {
    self::error(error.request(), &error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(plugin_id: &str, version: Option<&str>) -> PluginInfo {
        PluginInfo {
            plugin_id: plugin_id.into(),
            version: version.map(Into::into),
            ..PluginInfo::default()
        }
    }

    #[test]
    fn get_installed_plugins_takes_an_empty_object_or_nothing() {
        for line in [
            "MPGetInstalledPlugins {}",
            "MPGetInstalledPlugins",
            "MPGetInstalledPlugins  {}\n",
        ] {
            assert_eq!(
                parse_request(line).unwrap(),
                MarketRequest::GetInstalledPlugins,
                "{line:?}"
            );
        }
    }

    #[test]
    fn install_carries_the_plugin_info_in_either_field_spelling() {
        let expected = MarketRequest::InstallPlugin(info("com.example.media", Some("1.2.0")));
        for body in [
            r#"{"pluginId": "com.example.media", "version": "1.2.0"}"#,
            r#"{"plugin_id": "com.example.media", "version": "1.2.0"}"#,
        ] {
            assert_eq!(
                parse_request(&format!("MPInstallPlugin {body}")).unwrap(),
                expected
            );
        }
    }

    #[test]
    fn update_and_login_name_their_plugin() {
        assert_eq!(
            parse_request(r#"MPUpdatePlugin {"pluginId": "a.b"}"#).unwrap(),
            MarketRequest::UpdatePlugin(info("a.b", None))
        );
        assert_eq!(
            parse_request(r#"MPLogin {"pluginId": "a.b", "loginRequired": true}"#).unwrap(),
            MarketRequest::Login(PluginInfo {
                login_required: Some(true),
                ..info("a.b", None)
            })
        );
    }

    #[test]
    fn unknown_members_are_passed_over() {
        let line = r#"MPInstallPlugin {"pluginId": "a.b", "iconUrl": "https://example.com/a.png"}"#;
        assert_eq!(
            parse_request(line).unwrap(),
            MarketRequest::InstallPlugin(info("a.b", None))
        );
    }

    #[test]
    fn an_unknown_request_is_named_in_its_error_line() {
        let error = parse_request("MPSelfDestruct {}").unwrap_err();
        assert!(matches!(&error, LineError::UnknownRequest(name) if name == "MPSelfDestruct"));
        let line = line_error(&error);
        let (name, body) = line.split_once(' ').unwrap();
        assert_eq!(name, ERROR);
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["request"], "MPSelfDestruct");
        assert!(body["error"].as_str().unwrap().contains("MPSelfDestruct"));
    }

    #[test]
    fn a_body_that_is_not_json_is_refused_naming_the_request() {
        let error = parse_request("MPInstallPlugin {pluginId: oops").unwrap_err();
        assert!(matches!(&error, LineError::Body { request, .. } if request == "MPInstallPlugin"));
    }

    #[test]
    fn a_request_about_a_plugin_needs_its_id() {
        let error = parse_request(r#"MPLogin {"version": "1.0.0"}"#).unwrap_err();
        assert!(matches!(&error, LineError::NoPluginId(name) if name == "MPLogin"));
        assert!(matches!(parse_request("  "), Err(LineError::Empty)));
    }

    #[test]
    fn installed_plugins_is_the_name_and_the_canonical_json() {
        let installation = PluginInstallation {
            installed_plugins: vec![PluginInfo {
                login_required: Some(false),
                ..info("a.b", Some("1.0.0"))
            }],
        };
        assert_eq!(
            installed_plugins(&installation),
            r#"MPInstalledPlugins {"installedPlugins":[{"pluginId":"a.b","version":"1.0.0","loginRequired":false}]}"#
        );
    }
}
