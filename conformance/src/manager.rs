//! The kit playing a plugin against a running manager (`logi-plugin serve`, or another
//! implementation): it connects as a plugin the manager admits, over the manager's local socket
//! or a `ws://` endpoint, and checks what the protocol asks of a manager, from a refused code to
//! the frame limit, on several connections in turn.

use std::time::{Duration, Instant};

use bytes::Bytes;
use logi_plugin_core::codec::frame::DEFAULT_MAX_FRAME_LEN;
use logi_plugin_core::proto::plugin::{Ping, PluginHello, Settings, SettingsRequest};
use logi_plugin_core::session::{Format, Frame, PROTOCOL_VERSION, Wire};
use logi_plugin_core::{Message, MessageType, ResponseCode};
use logi_plugin_transports::Endpoint;

use super::Spec;
use super::exchange::{Exchange, Role};
use super::probes;
use super::wire::{Conn, code_name, describe};
use super::{ConformanceError, DEFAULT_REPLY_TIMEOUT, Found, Report, fail, skip};

/// How the kit reaches a manager and who it says it is.
#[derive(Clone, Debug)]
pub struct ManagerOptions {
    /// Where the manager listens.
    pub endpoint: Endpoint,
    /// A plugin id the manager admits.
    pub plugin_id: String,
    /// That plugin's code.
    pub code: String,
    /// How long the manager has to answer a request.
    pub reply_timeout: Duration,
    /// The most requests sent to reach the rate limit.
    pub flood: u32,
    /// The longest `RetryAfter` window the kit waits out to see requests served again.
    pub longest_retry_wait: Duration,
    /// What the kit speaks over a `ws://` endpoint: `Binary` protobuf or `Json` text (a local
    /// socket carries binary only).
    pub format: Format,
}

impl ManagerOptions {
    /// The defaults for a manager at `endpoint` admitting `plugin_id` with `code`.
    pub fn new(endpoint: Endpoint, plugin_id: impl Into<String>, code: impl Into<String>) -> Self {
        ManagerOptions {
            endpoint,
            plugin_id: plugin_id.into(),
            code: code.into(),
            reply_timeout: DEFAULT_REPLY_TIMEOUT,
            flood: 2000,
            longest_retry_wait: Duration::from_secs(5),
            format: Format::Binary,
        }
    }
}

const BAD_CODE: Spec = (
    "bad-code",
    "a hello with a wrong code is refused UNAUTHORIZED and the connection closed",
);
const HELLO: Spec = (
    "hello",
    "a hello with an admitted id and code is answered SUCCESS with ManagerHello",
);
const HEARTBEAT: Spec = (
    "heartbeat",
    "Ping is the manager's: one from the plugin is refused INVALID_VERB, the session kept",
);
const SETTINGS: Spec = (
    "settings",
    "a Settings write is answered SUCCESS and SettingsRequest reads the value back",
);
const RATE_LIMIT: Spec = (
    "rate-limit",
    "over the limit: NOT_READY answers and a RetryAfter, nothing dropped or closed; served after",
);
const OVERSIZED: Spec = (
    "oversized-frame",
    "a frame over the size limit closes that connection",
);
const FRESH: Spec = (
    "fresh-connection",
    "after the oversized frame, a new connection is served as usual",
);

/// How many requests the rate-limit check sends before reading their answers: few, so that the
/// kit, like a plugin, stops soon after the `RetryAfter`.
const BATCH: u32 = 16;

/// How long a fresh connection retries a hello refused `DUPLICATE_NAME` while the manager is
/// still closing the kit's previous session.
const DUPLICATE_RETRY: Duration = Duration::from_secs(3);

/// The setting the kit writes and reads back.
const PROBE_SETTING: &str = "logi-plugin-conformance.probe";

/// Checks the manager at `options.endpoint`; an error if it cannot be reached at all.
pub fn check_manager(options: &ManagerOptions) -> Result<Report, ConformanceError> {
    let refused = match (options.format, &options.endpoint) {
        (Format::FollowPeer, _) => Some("the kit speaks first: Binary or Json"),
        (Format::Json, Endpoint::Local(_)) => {
            Some("JSON text is a WebSocket mode: a local socket carries binary frames only")
        }
        _ => None,
    };
    if let Some(why) = refused {
        return Err(ConformanceError::Option {
            option: "format",
            value: format!("{:?}", options.format),
            why,
        });
    }
    async_io::block_on(run(options))
}

async fn run(options: &ManagerOptions) -> Result<Report, ConformanceError> {
    let mut report = Report::default();
    // Reaching the manager at all is not a check: without it there is nothing to judge.
    let first = options
        .endpoint
        .connect(options.format)
        .await
        .map_err(|error| ConformanceError::Connect {
            endpoint: options.endpoint.to_string(),
            reason: error.to_string(),
        })?;
    report.push(BAD_CODE, bad_code(options, first).await);
    let mut ex = match hello(options).await {
        Ok((ex, detail)) => {
            report.push(HELLO, Ok(detail));
            ex
        }
        Err(error) => {
            report.push(HELLO, fail(error));
            let needing_a_session = [
                HEARTBEAT,
                probes::UNKNOWN_TYPE,
                probes::MALFORMED_BODY,
                probes::UNKNOWN_RESPONSE,
                SETTINGS,
                RATE_LIMIT,
                probes::FRAMES,
            ];
            for spec in needing_a_session {
                report.push(spec, skip("no session: the hello check did not pass"));
            }
            let (oversized, fresh) = oversized(options).await;
            report.push(OVERSIZED, oversized);
            report.push(FRESH, fresh);
            return Ok(report);
        }
    };
    report.push(HEARTBEAT, heartbeat(&mut ex).await);
    probes::error_answers(&mut report, &mut ex, MessageType::SettingsRequest).await;
    report.push(SETTINGS, settings(&mut ex).await);
    report.push(RATE_LIMIT, rate_limit(&mut ex, options).await);
    report.push(probes::FRAMES, probes::frames(&ex));
    if let Some(log) = ex.conn().frame_log() {
        log.push_checks(&mut report);
    }
    // The next checks need the plugin id free again.
    ex.close().await;
    let (oversized, fresh) = oversized(options).await;
    report.push(OVERSIZED, oversized);
    report.push(FRESH, fresh);
    Ok(report)
}

/// A hello on `transport` with a code that is not the plugin's.
async fn bad_code(
    options: &ManagerOptions,
    transport: logi_plugin_transports::BoxTransport,
) -> Found {
    let mut ex = Exchange::new(Conn::new(transport), Role::Plugin, options.reply_timeout);
    let hello = plugin_hello(options, &format!("{}-wrong", options.code));
    let answer = ex.call(hello).await.or_else(fail)?;
    let response = answer.response.as_ref().expect("a response");
    if response.result != ResponseCode::Unauthorized as i32 {
        return fail(format!(
            "expected UNAUTHORIZED for a wrong code; got {}",
            describe(&answer)
        ));
    }
    let deadline = ex.reply_deadline();
    while ex.next(deadline).await.is_some() {}
    match &ex.closed {
        Some(_) => Ok(format!("UNAUTHORIZED ({:?}), then closed", response.what)),
        None => fail(format!(
            "refused UNAUTHORIZED, but the connection stayed open for {:?}",
            ex.reply_timeout
        )),
    }
}

/// A hello with the plugin's id and code, answered `ManagerHello`.
fn plugin_hello(options: &ManagerOptions, code: &str) -> PluginHello {
    PluginHello {
        plugin_id: options.plugin_id.clone(),
        plugin_code: code.into(),
        plugin_version: env!("CARGO_PKG_VERSION").into(),
        protocol_version: PROTOCOL_VERSION,
    }
}

/// Connects and says hello as the plugin, retrying while the manager still holds the kit's
/// previous session (`DUPLICATE_NAME`).
async fn hello(options: &ManagerOptions) -> Result<(Exchange, String), String> {
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

/// A `Ping` from the plugin side: the wrong direction.
async fn heartbeat(ex: &mut Exchange) -> Found {
    probes::closed_before(ex)?;
    let answer = ex.call(Ping {}).await.or_else(fail)?;
    let response = answer.response.as_ref().expect("a response");
    if response.result != ResponseCode::InvalidVerb as i32 {
        return fail(format!(
            "expected INVALID_VERB for a Ping from the plugin; got {}",
            describe(&answer)
        ));
    }
    ex.settle(Duration::from_millis(100), Duration::from_millis(500))
        .await;
    probes::closed_before(ex)?;
    Ok(format!(
        "INVALID_VERB, session kept; the manager's own Pings so far: {}, each answered",
        ex.pings
    ))
}

/// A setting written and read back.
async fn settings(ex: &mut Exchange) -> Found {
    probes::closed_before(ex)?;
    let value = format!("written at {:?}", std::time::SystemTime::now());
    let write = Settings {
        setting_name: PROBE_SETTING.into(),
        setting_value: value.clone(),
        ..Settings::default()
    };
    let answer = ex.call(write).await.or_else(fail)?;
    if !answer.response.as_ref().is_some_and(|r| r.is_ok()) {
        return fail(format!(
            "expected SUCCESS for a Settings write; got {}",
            describe(&answer)
        ));
    }
    let read = SettingsRequest {
        setting_name: PROBE_SETTING.into(),
    };
    let answer = ex.call(read).await.or_else(fail)?;
    match (&answer.message, &answer.response) {
        (Some(Message::Settings(read)), Some(r))
            if r.is_ok() && read.setting_value == value && read.setting_name == PROBE_SETTING =>
        {
            Ok(format!(
                "{PROBE_SETTING} read back as written{}",
                read.version
                    .map(|v| format!(", version {v}"))
                    .unwrap_or_default()
            ))
        }
        (Some(Message::Settings(read)), Some(r)) if r.is_ok() => fail(format!(
            "expected {PROBE_SETTING} = {value:?} read back; got {} = {:?}",
            read.setting_name, read.setting_value
        )),
        _ => fail(format!(
            "expected SUCCESS with the Settings written; got {}",
            describe(&answer)
        )),
    }
}

/// Requests in small batches until the manager says `RetryAfter`; then, after the window,
/// one more that must be served.
async fn rate_limit(ex: &mut Exchange, options: &ManagerOptions) -> Found {
    probes::closed_before(ex)?;
    let (mut sent, mut refused) = (0u32, 0u32);
    let mut retry = None;
    while retry.is_none() && sent < options.flood {
        let mut pending = Vec::new();
        for _ in 0..BATCH.min(options.flood - sent) {
            let request = SettingsRequest {
                setting_name: PROBE_SETTING.into(),
            };
            pending.push(ex.request(request).await.or_else(fail)?);
            sent += 1;
        }
        while !pending.is_empty() {
            let Some((at, envelope)) = ex.next(ex.reply_deadline()).await else {
                let seen = ex.nothing(ex.reply_timeout);
                return fail(format!(
                    "after {sent} requests, {} were never answered (dropped?); {seen}",
                    pending.len()
                ));
            };
            match (&envelope.message, &envelope.response) {
                (Some(Message::RetryAfter(r)), None) => {
                    retry.get_or_insert((at, r.interval));
                }
                (_, Some(response)) if pending.contains(&envelope.id) => {
                    pending.retain(|&id| id != envelope.id);
                    refused += u32::from(response.result == ResponseCode::NotReady as i32);
                }
                _ => {}
            }
        }
    }
    let Some((at, interval)) = retry else {
        return fail(format!(
            "expected a RetryAfter within {sent} requests sent {BATCH} at a time; none came \
             ({refused} answered NOT_READY). Raise --flood if the manager's limit is higher"
        ));
    };
    if refused == 0 {
        return fail(format!(
            "RetryAfter came after {sent} requests, but none was answered NOT_READY"
        ));
    }
    let window = Duration::from_millis(interval.into());
    if window > options.longest_retry_wait {
        return Ok(format!(
            "RetryAfter {interval} ms after {sent} requests, {refused} answered NOT_READY; the \
             window is longer than {:?}, so serving after it was not checked",
            options.longest_retry_wait
        ));
    }
    // Waited out answering the manager (its Pings), as a plugin would.
    let end = at + window;
    while ex.next(end).await.is_some() {}
    probes::closed_before(ex)?;
    let answer = ex
        .call(SettingsRequest {
            setting_name: PROBE_SETTING.into(),
        })
        .await
        .or_else(fail)?;
    let response = answer.response.as_ref().expect("a response");
    if response.result == ResponseCode::NotReady as i32 {
        return fail(format!(
            "the {interval} ms window is over, yet a request was refused NOT_READY: {:?}",
            response.what
        ));
    }
    Ok(format!(
        "RetryAfter {interval} ms after {sent} requests, {refused} answered NOT_READY; served \
         again after the window ({})",
        code_name(response)
    ))
}

/// A frame past any limit on a fresh session, then another fresh session.
async fn oversized(options: &ManagerOptions) -> (Found, Found) {
    let mut ex = match hello(options).await {
        Ok((ex, _)) => ex,
        Err(error) => {
            let why = format!("the hello on a new connection failed: {error}");
            return (fail(why), skip("the oversized frame could not be sent"));
        }
    };
    let frame = match ex.conn().wire() {
        // A length prefix announcing 4 GiB, then a little of it.
        Wire::Stream { .. } => {
            let mut bytes = Vec::new();
            prost::encoding::encode_varint(1 << 32, &mut bytes);
            bytes.extend_from_slice(&[0; 16]);
            bytes
        }
        // One byte over the default message limit, in the connection's mode.
        Wire::Messages { .. } => vec![b' '; DEFAULT_MAX_FRAME_LEN + 1],
    };
    let frame = match ex.conn().writes_text() {
        true => Frame::Text(String::from_utf8(frame).expect("spaces are text")),
        false => Frame::Binary(Bytes::from(frame)),
    };
    let deadline = ex.reply_deadline();
    let sent = ex.conn().send_frame(frame, deadline).await;
    // A manager may close before it has read the whole frame: that is the point.
    let _ = sent;
    while ex.next(deadline).await.is_some() {}
    let oversized = match &ex.closed {
        Some(how) => Ok(format!("closed: {how}")),
        None => fail(format!(
            "expected the connection closed; it stayed open for {:?} after the frame",
            ex.reply_timeout
        )),
    };
    drop(ex);
    let fresh = match hello(options).await {
        Ok((ex, detail)) => {
            ex.close().await;
            Ok(detail)
        }
        Err(error) => fail(error),
    };
    (oversized, fresh)
}
