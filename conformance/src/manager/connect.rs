//! The kit's hello as the plugin: on a fresh connection, retried while the manager still holds
//! the kit's previous session.

use std::time::{Duration, Instant};

use logi_plugin_core::proto::plugin::PluginHello;
use logi_plugin_core::session::PROTOCOL_VERSION;
use logi_plugin_core::{Message, ResponseCode};

use super::options::ManagerOptions;
use crate::exchange::{Exchange, Role};
use crate::wire::{Conn, describe};

/// How long a fresh connection retries a hello refused `DUPLICATE_NAME` while the manager is
/// still closing the kit's previous session.
const DUPLICATE_RETRY: Duration = Duration::from_secs(3);

/// A hello with the plugin's id and code, answered `ManagerHello`.
pub(super) fn plugin_hello(options: &ManagerOptions, code: &str) -> PluginHello {
    PluginHello {
        plugin_id: options.plugin_id.clone(),
        plugin_code: code.into(),
        plugin_version: env!("CARGO_PKG_VERSION").into(),
        protocol_version: PROTOCOL_VERSION,
    }
}

/// Connects and says hello as the plugin, retrying while the manager still holds the kit's
/// previous session (`DUPLICATE_NAME`).
pub(super) async fn hello(options: &ManagerOptions) -> Result<(Exchange, String), String> {
    let give_up = Instant::now() + DUPLICATE_RETRY;
    loop {
        let transport = options
            .endpoint
            .connect(options.format)
            .await
            .map_err(|error| format!("connecting failed: {error}"))?;
        let mut ex = Exchange::new(Conn::new(transport), Role::Plugin, options.reply_timeout);
        let answer = ex.call(plugin_hello(options, &options.code)).await?;
        let response = answer.response.as_ref().expect("a response");
        if response.result == ResponseCode::DuplicateName as i32 && Instant::now() < give_up {
            async_io::Timer::after(Duration::from_millis(100)).await;
            continue;
        }
        return match (&answer.message, response.is_ok()) {
            (Some(Message::ManagerHello(hello)), true)
                if hello.protocol_version == PROTOCOL_VERSION =>
            {
                Ok((
                    ex,
                    format!(
                        "manager {} speaks protocol {}",
                        hello.manager_version, hello.protocol_version
                    ),
                ))
            }
            (Some(Message::ManagerHello(hello)), true) => Err(format!(
                "ManagerHello names protocol_version {}, expected {PROTOCOL_VERSION}",
                hello.protocol_version
            )),
            _ => Err(format!(
                "expected SUCCESS with ManagerHello; got {} ({:?})",
                describe(&answer),
                response.what
            )),
        };
    }
}
