//! The kit playing a plugin against a running manager (`logi-plugin serve`, or another
//! implementation): it connects as a plugin the manager admits, over the manager's local socket
//! or a `ws://` endpoint, and checks what the protocol asks of a manager, from a refused code to
//! the frame limit, on several connections in turn.

mod connect;
mod frame_limit;
mod heartbeat;
mod options;

use std::time::{Duration, Instant};

use logi_plugin_core::proto::plugin::{Settings, SettingsRequest};
use logi_plugin_core::session::Format;
use logi_plugin_core::{Message, MessageType, ResponseCode};
use logi_plugin_transports::Endpoint;

use self::connect::{hello, plugin_hello};
use self::frame_limit::oversized;
use self::heartbeat::{Pings, manager_pings, plugin_ping, silent_plugin};
pub use self::options::ManagerOptions;
use super::Spec;
use super::exchange::{Exchange, Role};
use super::probes;
use super::text;
use super::wire::{Conn, code_name, describe};
use super::{ConformanceError, Finding, Found, Report, fail, skip};

/// Where this project writes down the error answers it asks for.
const ERROR_ANSWERS: &str = "docs/protocol.md: Error answers, by cause";
/// Where this project writes down its frame limit.
const FRAME_LIMIT: &str = "docs/protocol.md: Error answers, by cause (a frame over the limit)";

const BAD_CODE: Spec = Spec::seed(
    "bad-code",
    "a hello with a wrong code is not admitted: no ManagerHello, the connection dropped",
    "seed 5.1 Hello message",
);
const BAD_CODE_ANSWER: Spec = Spec::profile(
    "bad-code-answer",
    "a hello with a wrong code is answered UNAUTHORIZED before the connection closes",
    ERROR_ANSWERS,
);
const HELLO: Spec = Spec::seed(
    "hello",
    "a hello with an admitted id and code is answered SUCCESS with ManagerHello",
    "seed 5.1 Hello message",
);
const MANAGER_PINGS: Spec = Spec::seed(
    "manager-pings",
    "the manager sends Ping within the wait after the hello, and an answered Pong keeps the session",
    "seed 5.7 Heartbeat message",
);
const PLUGIN_PING: Spec = Spec::profile(
    "plugin-ping",
    "Ping is the manager's: one from the plugin is refused INVALID_VERB, the session kept",
    "docs/protocol.md: Error answers, by cause (a Ping from a plugin)",
);
const SETTINGS: Spec = Spec::seed(
    "settings",
    "a Settings write is answered SUCCESS and SettingsRequest reads the value back",
    "seed 5.2 Setting settings, 5.3 Getting settings",
);
const RATE_LIMIT: Spec = Spec::profile(
    "rate-limit",
    "over the limit: NOT_READY answers and a RetryAfter, nothing dropped or closed; served after",
    "docs/protocol.md: Error answers, by cause (a request over the rate limit)",
);
const SESSION_KEPT: Spec = Spec::seed(
    "session-kept",
    "the session stays open after the hello through the run, closed only where a check's probe closed it",
    "seed ch. 5 (the connection dropped on a failed hello, 5.1, or a missed Pong, 5.7)",
);
const SILENT_PLUGIN: Spec = Spec::seed(
    "silent-plugin",
    "a plugin that leaves a Ping unanswered is closed after the Pong deadline, within the wait",
    "seed 5.7 Heartbeat message",
);
const OVERSIZED: Spec = Spec::profile(
    "oversized-frame",
    "a frame one byte over the limit closes that connection, unanswered",
    FRAME_LIMIT,
);
const FRESH: Spec = Spec::profile(
    "fresh-connection",
    "a connection opened before the oversized frame is served after it",
    FRAME_LIMIT,
);

/// The checks that need a session, after the hello, in the order they run.
const SESSION_CHECKS: &[Spec] = &[
    MANAGER_PINGS,
    PLUGIN_PING,
    probes::UNKNOWN_TYPE,
    probes::MALFORMED_BODY,
    probes::UNKNOWN_RESPONSE,
    SETTINGS,
    RATE_LIMIT,
    probes::FRAMES,
    SESSION_KEPT,
    SILENT_PLUGIN,
    OVERSIZED,
    FRESH,
];

/// How many requests the rate-limit check sends before reading their answers: few, so that the
/// kit, like a plugin, stops soon after the `RetryAfter`.
const BATCH: u32 = 16;

/// The setting the kit writes and reads back.
const PROBE_SETTING: &str = "logi-plugin-conformance.probe";

/// The check `$check` run on the session's live conversation `$ex`, or skipped when there is
/// none.
macro_rules! on_live {
    ($session:expr, $ex:ident => $check:expr) => {
        match $session.live() {
            Ok($ex) => $check.await,
            Err(finding) => Err(finding),
        }
    };
}
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
    let mut report = Report::new(options.level);
    // Reaching the manager at all is not a check: without it there is nothing to judge.
    let first = options
        .endpoint
        .connect(options.format)
        .await
        .map_err(|error| ConformanceError::Connect {
            endpoint: options.endpoint.to_string(),
            reason: error.to_string(),
        })?;
    let (refused, answered) = bad_code(options, first).await;
    report.push(BAD_CODE, refused);
    report.push(BAD_CODE_ANSWER, answered);
    let mut ex = match hello(options).await {
        Ok((ex, detail)) => {
            report.push(HELLO, Ok(detail));
            ex
        }
        Err(error) => {
            report.push(HELLO, fail(error));
            let why = "no session: the hello check did not pass";
            for &spec in SESSION_CHECKS {
                report.push(spec, skip(why));
            }
            if let Endpoint::WebSocket(_) = options.endpoint {
                text::skip_checks(&mut report, options.format, why);
            }
            return Ok(report);
        }
    };
    let since = Instant::now();
    match manager_pings(&mut ex, options).await {
        Pings::Judged(found) => report.push(MANAGER_PINGS, found),
        Pings::ClosedAfterHello(how) => {
            report.push(
                MANAGER_PINGS,
                skip("the session closed before a Ping could come"),
            );
            let dropped = format!(
                "the manager closed the session {how}, the kit having sent nothing since the \
                 hello but Pongs"
            );
            for &spec in &SESSION_CHECKS[1..] {
                let found = match spec.name == SESSION_KEPT.name {
                    true => fail(dropped.clone()),
                    false => {
                        skip("no session: the manager closes it after the hello (session-kept)")
                    }
                };
                report.push(spec, found);
            }
            // What came before the close is still judged.
            if let Some(log) = ex.conn().frame_log() {
                log.push_checks(&mut report);
            }
            return Ok(report);
        }
    }
    let mut session = Session::new(ex, since);
    session.after(MANAGER_PINGS, options).await;
    let found = on_live!(session, ex => plugin_ping(ex));
    report.push(PLUGIN_PING, found);
    session.after(PLUGIN_PING, options).await;
    let found = on_live!(session, ex => probes::unknown_type(ex));
    report.push(probes::UNKNOWN_TYPE, found);
    session.after(probes::UNKNOWN_TYPE, options).await;
    let found = on_live!(session, ex => probes::malformed_body(ex, MessageType::SettingsRequest));
    report.push(probes::MALFORMED_BODY, found);
    session.after(probes::MALFORMED_BODY, options).await;
    let found = on_live!(session, ex => probes::stray_response(ex));
    report.push(probes::UNKNOWN_RESPONSE, found);
    session.after(probes::UNKNOWN_RESPONSE, options).await;
    let found = on_live!(session, ex => settings(ex));
    report.push(SETTINGS, found);
    session.after(SETTINGS, options).await;
    let found = on_live!(session, ex => rate_limit(ex, options));
    report.push(RATE_LIMIT, found);
    session.after(RATE_LIMIT, options).await;
    report.push(probes::FRAMES, session.frames());
    // Over WebSocket: each frame in the connection's mode, and JSON text by the mapping.
    if let Ok(ex) = &mut session.ex
        && let Some(log) = ex.conn().frame_log()
    {
        log.push_checks(&mut report);
    }
    report.push(SESSION_KEPT, session.kept());
    let found = on_live!(session, ex => silent_plugin(ex, options));
    report.push(SILENT_PLUGIN, found);
    // The next checks need the plugin id free again.
    if let Ok(ex) = session.ex {
        ex.close().await;
    }
    let (oversized, fresh) = oversized(options).await;
    report.push(OVERSIZED, oversized);
    report.push(FRESH, fresh);
    Ok(report)
}

/// The kit's session as a plugin, said hello again whenever a check's probe made the manager
/// close it, so that one fault fails one check and not every check after it.
struct Session {
    /// The live conversation, or why there is none.
    ex: Result<Exchange, String>,
    /// Since when the current session is open.
    since: Instant,
    /// The checks whose probe closed a session, with how.
    closed_by: Vec<(&'static str, String)>,
    /// Frames that could not be read on the sessions closed so far.
    unreadable: Vec<String>,
    /// The manager's requests the kit answered on the sessions closed so far.
    answered: u32,
}

impl Session {
    /// The session `ex`, open since `since`.
    fn new(ex: Exchange, since: Instant) -> Session {
        Session {
            ex: Ok(ex),
            since,
            closed_by: Vec::new(),
            unreadable: Vec::new(),
            answered: 0,
        }
    }

    /// The live conversation, for the next check.
    fn live(&mut self) -> Result<&mut Exchange, Finding> {
        match &mut self.ex {
            Ok(ex) => Ok(ex),
            Err(why) => skip(why.clone()),
        }
    }

    /// After `check`: if the manager closed the session during it, notes that and says hello
    /// again on a new connection.
    async fn after(&mut self, check: Spec, options: &ManagerOptions) {
        let Ok(ex) = &mut self.ex else { return };
        let Some(how) = ex.closed.clone() else { return };
        self.unreadable.append(&mut ex.unreadable);
        self.answered += ex.answered;
        self.closed_by.push((check.name, how));
        self.ex = match hello(options).await {
            Ok((ex, _)) => {
                self.since = Instant::now();
                Ok(ex)
            }
            Err(error) => Err(format!(
                "no session: the manager closed it during {}, and a new hello failed: {error}",
                check.name
            )),
        };
    }

    /// Every frame of the run's sessions was readable.
    fn frames(&mut self) -> Found {
        let Ok(ex) = &mut self.ex else {
            return probes::readable(&self.unreadable, self.answered);
        };
        let mut unreadable = self.unreadable.clone();
        unreadable.extend(ex.unreadable.iter().cloned());
        probes::readable(&unreadable, self.answered + ex.answered)
    }

    /// The session stayed open, but where a check's probe closed it (that check judged it).
    fn kept(&self) -> Found {
        let ex = self.ex.as_ref().or_else(|why| skip(why.clone()))?;
        probes::closed_before(ex)?;
        let open = format!("open {:.1?} since its hello", self.since.elapsed());
        if self.closed_by.is_empty() {
            return Ok(format!("{open}, through every check"));
        }
        let by: Vec<String> = self
            .closed_by
            .iter()
            .map(|(check, how)| format!("{check} ({how})"))
            .collect();
        Ok(format!(
            "{open}; closed before only by the probes of {}, judged there",
            by.join(", ")
        ))
    }
}

/// A hello on `transport` with a code that is not the plugin's: judged once for the seed's
/// rule (not admitted, the connection dropped) and once for this project's (`UNAUTHORIZED`
/// said before the close).
async fn bad_code(
    options: &ManagerOptions,
    transport: logi_plugin_transports::BoxTransport,
) -> (Found, Found) {
    let mut ex = Exchange::new(Conn::new(transport), Role::Plugin, options.reply_timeout);
    let hello = plugin_hello(options, &format!("{}-wrong", options.code));
    let answer = ex.call(hello).await;
    let answered = match &answer {
        Ok(answer) => {
            let response = answer.response.as_ref().expect("a response");
            if matches!(answer.message, Some(Message::ManagerHello(_))) && response.is_ok() {
                let admitted = "a hello with a wrong code was answered SUCCESS with ManagerHello";
                return (
                    fail(admitted),
                    skip("the wrong code was admitted (bad-code)"),
                );
            }
            if response.result == ResponseCode::Unauthorized as i32 {
                Ok(format!("UNAUTHORIZED ({:?})", response.what))
            } else {
                fail(format!(
                    "expected UNAUTHORIZED for a wrong code; got {}",
                    describe(answer)
                ))
            }
        }
        Err(seen) => fail(format!("expected UNAUTHORIZED for a wrong code; {seen}")),
    };
    let deadline = ex.reply_deadline();
    while ex.next(deadline).await.is_some() {}
    let refused = match (&ex.closed, &answer) {
        (Some(how), Ok(answer)) => Ok(format!("{}, then closed: {how}", describe(answer))),
        (Some(how), Err(_)) => Ok(format!("closed without an answer: {how}")),
        (None, _) => fail(format!(
            "not admitted, but the connection stayed open for {:?}",
            ex.reply_timeout
        )),
    };
    (refused, answered)
}

/// A setting written and read back.
async fn settings(ex: &mut Exchange) -> Found {
    let value = probe_value(std::time::SystemTime::now());
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
                "{PROBE_SETTING} = {value:?} read back as written{}",
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

/// The value the settings check writes, saying when, as plain text.
fn probe_value(now: std::time::SystemTime) -> String {
    let since = now
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "written at {}.{:03} s since the Unix epoch",
        since.as_secs(),
        since.subsec_millis()
    )
}

/// Requests in small batches until the manager says `RetryAfter`; then, after the window,
/// one more that must be served.
async fn rate_limit(ex: &mut Exchange, options: &ManagerOptions) -> Found {
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
