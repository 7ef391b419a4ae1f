//! The kit playing the manager: it launches a plugin program as the host does (its per-launch
//! secret in `token`, a private local socket in `LOGI_PLUGIN_ENDPOINT`), answers its hello and
//! then provokes each behaviour the protocol asks of a plugin, judging what comes back on the
//! wire and when. The program is killed and reaped at the end, whatever happened.

use std::collections::HashSet;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_lite::future;
use logi_plugin_core::proto::plugin as wire;
use logi_plugin_core::proto::plugin::update_analog_control::UpdateType;
use logi_plugin_core::proto::plugin::{
    AnalogControlStatus, GetAnalogControlValue, ManagerHello, Ping, RetryAfter, SavedData,
    TriggerAction, UpdateAnalogControl,
};
use logi_plugin_core::session::{Format, PROTOCOL_VERSION};
use logi_plugin_core::{Envelope, Message, MessageType, ResponseCode, ResponseInfo};
use logi_plugin_transports::local::LocalListener;
use logi_plugin_transports::ws::{WsListener, WsOptions};
use logi_plugin_transports::{BoxTransport, ENDPOINT_ENV, TOKEN_ENV};

use super::Spec;
use super::exchange::{Exchange, Role};
use super::probes;
use super::wire::{Conn, Incoming, describe, until};
use super::{ConformanceError, DEFAULT_REPLY_TIMEOUT, Finding, Found, Level, Report, fail, skip};

/// How the kit launches and exercises a plugin.
#[derive(Clone, Debug)]
pub struct PluginOptions {
    /// The plugin's program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// The plugin id its hello must carry; `None` admits any.
    pub plugin_id: Option<String>,
    /// An action of the plugin's (its manifest's `actions[].id`), triggered to make it send
    /// something of its own; without one, the `RetryAfter` checks are skipped.
    pub action: Option<String>,
    /// An analog control of the plugin's (`controls[].id`); without one, the analog checks are
    /// skipped.
    pub control: Option<String>,
    /// How long the program has to connect and say hello.
    pub hello_timeout: Duration,
    /// How long the plugin has to answer a request (a `Pong` included).
    pub reply_timeout: Duration,
    /// The interval of the `RetryAfter` the kit sends; the plugin's answers must come inside
    /// it, so it is long enough for a loaded machine.
    pub retry_after: Duration,
    /// How many `UpdateAnalogControl` requests the flood holds (an even number; `--flood`).
    pub flood: u32,
    /// Which failures fail the run.
    pub level: Level,
    /// The mode the plugin is expected to speak. `Binary`: it is given a private local socket,
    /// as the host launches plugins. `Json`: it is given a `ws://` endpoint on loopback and must
    /// speak JSON text there, as a plugin does whose SDK is set to (seed 7.1.2
    /// `set_use_text_format`, the Rust SDK's `ClientConfig::use_text_format`).
    pub format: Format,
}

impl PluginOptions {
    /// The defaults for `program`: any plugin id, no action or control.
    pub fn new(program: impl Into<PathBuf>) -> PluginOptions {
        PluginOptions {
            program: program.into(),
            args: Vec::new(),
            plugin_id: None,
            action: None,
            control: None,
            hello_timeout: Duration::from_secs(10),
            reply_timeout: DEFAULT_REPLY_TIMEOUT,
            retry_after: Duration::from_secs(2),
            flood: 200,
            level: Level::Profile,
            format: Format::Binary,
        }
    }
}

const HELLO: Spec = Spec::seed(
    "hello",
    "the first frame is a PluginHello request with the token; ManagerHello answers it",
    "seed 5.1 Hello message, 7.1 (the secret in the `token` environment variable)",
);
const HEARTBEAT: Spec = Spec::seed(
    "heartbeat",
    "each Ping is answered by a Pong with its id within the reply timeout",
    "seed 5.7 Heartbeat message",
);
const RETRY_AFTER_HOLDS: Spec = Spec::seed(
    "retry-after-holds",
    "after RetryAfter the plugin starts nothing until the interval is over",
    "seed 5.8 Rate limit exceeded",
);
const RETRY_AFTER_ANSWERS: Spec = Spec::profile(
    "retry-after-answers",
    "inside a RetryAfter window the manager's requests are still answered",
    "docs/protocol.md: 5.8 RetryAfter scope (answers are never held)",
);
const ANALOG_FLOOD: Spec = Spec::seed(
    "analog-flood",
    "each UpdateAnalogControl of a flood is answered once, SUCCESS, with its id",
    "seed ch. 5 (a response has its request's id), 5.11",
);
const ANALOG_NET: Spec = Spec::profile(
    "analog-net-movement",
    "a flood's deltas are not lost: deltas summing to zero leave the value as it was",
    "docs/protocol.md: 7.1.12 enable_control_buffering (the net movement is never lost)",
);
const STAYS_UP: Spec = Spec::seed(
    "stays-up",
    "the plugin keeps its connection and its process up through the run",
    "seed ch. 5 (the connection dropped only on a failed hello or a missed Pong)",
);

/// Every check of this side, in the order they run.
const CHECKS: &[Spec] = &[
    HELLO,
    HEARTBEAT,
    probes::UNKNOWN_TYPE,
    probes::MALFORMED_BODY,
    probes::UNKNOWN_RESPONSE,
    RETRY_AFTER_HOLDS,
    RETRY_AFTER_ANSWERS,
    ANALOG_FLOOD,
    ANALOG_NET,
    probes::FRAMES,
    STAYS_UP,
];

/// Launches `options.program` and checks the plugin it runs; an error if it cannot be started.
pub fn check_plugin(options: &PluginOptions) -> Result<Report, ConformanceError> {
    if !options.flood.is_multiple_of(2) {
        return Err(ConformanceError::Option {
            option: "flood",
            value: options.flood.to_string(),
            why: "must be even, so that the flood's deltas sum to zero",
        });
    }
    let dir = tempfile::tempdir().map_err(|error| ConformanceError::Listen {
        path: std::env::temp_dir().display().to_string(),
        reason: error.to_string(),
    })?;
    let (listener, endpoint) = Listener::open(options.format, dir.path())?;
    let token = super::fresh_token();
    let child = Command::new(&options.program)
        .args(&options.args)
        .env(TOKEN_ENV, &token)
        .env(ENDPOINT_ENV, &endpoint)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|source| ConformanceError::Launch {
            program: options.program.display().to_string(),
            source,
        })?;
    let mut child = Reaped(child);
    let report = async_io::block_on(run(options, &listener, &mut child.0, &token));
    drop(child);
    Ok(report)
}

/// Where the kit waits for the plugin to connect.
enum Listener {
    /// A private local socket: binary frames.
    Local(LocalListener),
    /// A loopback WebSocket port: the plugin's first frame sets the mode.
    WebSocket(WsListener),
}

impl Listener {
    /// Listens as `format` asks, a local socket in `dir` or a WebSocket port; with the endpoint
    /// the plugin is given.
    fn open(format: Format, dir: &Path) -> Result<(Listener, String), ConformanceError> {
        let refused = |path: String, reason: String| ConformanceError::Listen { path, reason };
        match format {
            Format::Binary => {
                let socket = dir.join("manager.sock");
                let listener = LocalListener::bind(&socket)
                    .map_err(|error| refused(socket.display().to_string(), error.to_string()))?;
                Ok((Listener::Local(listener), socket.display().to_string()))
            }
            Format::Json => {
                let addr = SocketAddr::from(([127, 0, 0, 1], 0));
                let listener = WsListener::bind(addr, WsOptions::default())
                    .map_err(|error| refused(addr.to_string(), error.to_string()))?;
                let bound = listener
                    .local_addr()
                    .map_err(|error| refused(addr.to_string(), error.to_string()))?;
                Ok((Listener::WebSocket(listener), format!("ws://{bound}")))
            }
            Format::FollowPeer => Err(ConformanceError::Option {
                option: "format",
                value: format!("{format:?}"),
                why: "the plugin's mode is expected, not followed: Binary or Json",
            }),
        }
    }

    /// The plugin's connection.
    async fn accept(&self) -> Result<BoxTransport, String> {
        match self {
            Listener::Local(listener) => match listener.accept().await {
                Ok(transport) => Ok(Box::new(transport)),
                Err(error) => Err(error.to_string()),
            },
            Listener::WebSocket(listener) => {
                let incoming = listener.accept().await.map_err(|e| e.to_string())?;
                match incoming.upgrade().await {
                    Ok(transport) => Ok(Box::new(transport)),
                    Err(error) => Err(format!("its WebSocket upgrade failed: {error}")),
                }
            }
        }
    }
}

/// A child process that is killed and reaped when dropped.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn run(
    options: &PluginOptions,
    listener: &Listener,
    child: &mut Child,
    token: &str,
) -> Report {
    let mut report = Report::new(options.level);
    let mut ex = match connect(options, listener, child, token).await {
        Ok((ex, detail)) => {
            report.push(HELLO, Ok(detail));
            ex
        }
        Err(finding) => {
            report.push(HELLO, Err(finding));
            for &spec in &CHECKS[1..] {
                report.push(spec, skip("no session: the hello check did not pass"));
            }
            return report;
        }
    };
    // What the plugin does on connecting (logs, settings) is over before the checks start.
    ex.settle(Duration::from_millis(300), Duration::from_secs(2))
        .await;
    report.push(HEARTBEAT, heartbeat(&mut ex).await);
    probes::error_answers(&mut report, &mut ex, MessageType::TriggerAction).await;
    let (holds, answers) = retry_after(&mut ex, options).await;
    report.push(RETRY_AFTER_HOLDS, holds);
    report.push(RETRY_AFTER_ANSWERS, answers);
    let (flood, net) = analog(&mut ex, options).await;
    report.push(ANALOG_FLOOD, flood);
    report.push(ANALOG_NET, net);
    report.push(probes::FRAMES, probes::frames(&ex));
    if let Some(log) = ex.conn().frame_log() {
        log.push_checks(&mut report);
    }
    report.push(STAYS_UP, stays_up(&ex, child));
    report
}

/// Waits for the program to connect and say hello, and answers it.
async fn connect(
    options: &PluginOptions,
    listener: &Listener,
    child: &mut Child,
    token: &str,
) -> Result<(Exchange, String), Finding> {
    let deadline = Instant::now() + options.hello_timeout;
    let exited = async {
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(status);
            }
            async_io::Timer::after(Duration::from_millis(50)).await;
        }
    };
    let accepted = until(
        deadline,
        future::or(async { Ok(listener.accept().await) }, exited),
    );
    let transport = match accepted.await {
        None => {
            return fail(format!(
                "the program did not connect within {:?}",
                options.hello_timeout
            ));
        }
        Some(Err(status)) => {
            return fail(format!("the program exited ({status}) without connecting"));
        }
        Some(Ok(Err(error))) => return fail(format!("accepting its connection failed: {error}")),
        Some(Ok(Ok(transport))) => transport,
    };
    let mut conn = Conn::new(transport);
    if let (Format::Json, Some(log)) = (options.format, conn.frame_log()) {
        log.expect(Format::Json);
    }
    let hello = match conn.next(deadline).await {
        None => {
            return fail(format!(
                "connected, then sent nothing within {:?}",
                options.hello_timeout
            ));
        }
        Some((_, Incoming::Closed(how))) => {
            return fail(format!("connected, then sent nothing: {how}"));
        }
        Some((_, Incoming::Unreadable(why))) => {
            return fail(format!("the first frame is unreadable: {why}"));
        }
        Some((_, Incoming::Envelope(envelope))) => *envelope,
    };
    let problem = match (&hello.message, hello.id, &hello.response) {
        (Some(Message::PluginHello(_)), 0, _) => {
            Some("a PluginHello with id 0 (a notification, not a request)".to_string())
        }
        (Some(Message::PluginHello(_)), _, Some(_)) => {
            Some("a PluginHello with a response field (a response, not a request)".to_string())
        }
        (Some(Message::PluginHello(said)), _, None) => hello_problem(said, options, token),
        _ => Some(format!(
            "expected a PluginHello request first; got {}",
            describe(&hello)
        )),
    };
    let mut ex = Exchange::new(
        conn,
        Role::Manager {
            settings: Default::default(),
        },
        options.reply_timeout,
    );
    if let Some(problem) = problem {
        let refusal = ResponseInfo::error(ResponseCode::Unauthorized, problem.clone());
        let _ = ex.send(&Envelope::response(hello.id, refusal, None)).await;
        return fail(problem);
    }
    let Some(Message::PluginHello(said)) = hello.message else {
        unreachable!("checked above")
    };
    let answer = ManagerHello {
        manager_version: format!("logi-plugin conformance {}", env!("CARGO_PKG_VERSION")),
        protocol_version: PROTOCOL_VERSION,
        language_code: "en-US".into(),
        ..ManagerHello::default()
    };
    let sent = ex
        .send(&Envelope::response(
            hello.id,
            ResponseInfo::ok(),
            Some(answer.into()),
        ))
        .await;
    let sent = sent.and(ex.send(&Envelope::request(0, SavedData::default())).await);
    match sent {
        Ok(()) => Ok((
            ex,
            format!("{} {} said hello", said.plugin_id, said.plugin_version),
        )),
        Err(error) => fail(format!(
            "the hello was good, but answering it failed: {error}"
        )),
    }
}

/// What is wrong with a hello, if anything.
fn hello_problem(
    hello: &wire::PluginHello,
    options: &PluginOptions,
    token: &str,
) -> Option<String> {
    if hello.plugin_code != token {
        return Some(format!(
            "plugin_code {:?} is not the `{TOKEN_ENV}` environment variable's value",
            hello.plugin_code
        ));
    }
    match &options.plugin_id {
        Some(id) if hello.plugin_id != *id => {
            return Some(format!("plugin_id {:?}, expected {id:?}", hello.plugin_id));
        }
        None if hello.plugin_id.is_empty() => return Some("plugin_id is empty".into()),
        _ => {}
    }
    (hello.protocol_version != PROTOCOL_VERSION).then(|| {
        format!(
            "protocol_version {}, expected {PROTOCOL_VERSION}",
            hello.protocol_version
        )
    })
}

/// Three `Ping`s, each to be answered by a `Pong` with its id.
async fn heartbeat(ex: &mut Exchange) -> Found {
    const PINGS: u32 = 3;
    let mut slowest = Duration::ZERO;
    for n in 1..=PINGS {
        let sent = Instant::now();
        let answer = ex.call(Ping {}).await.or_else(fail)?;
        match (&answer.message, &answer.response) {
            (Some(Message::Pong(_)), Some(response)) if response.is_ok() => {}
            _ => {
                return fail(format!(
                    "Ping {n} of {PINGS}: expected a SUCCESS response carrying Pong; got {}",
                    describe(&answer)
                ));
            }
        }
        slowest = slowest.max(sent.elapsed());
        async_io::Timer::after(Duration::from_millis(50)).await;
    }
    Ok(format!("{PINGS} Pongs, the slowest after {slowest:.1?}"))
}

/// `RetryAfter`, then a `TriggerAction` to make the plugin send something of its own: what it
/// starts must wait for the window's end, its answer must not.
async fn retry_after(ex: &mut Exchange, options: &PluginOptions) -> (Found, Found) {
    let Some(action) = &options.action else {
        let why = "no action given (--action): nothing to make the plugin send on its own";
        return (skip(why), skip(why));
    };
    if let Err(closed) = probes::closed_before(ex) {
        let again = Finding::Failed(match &closed {
            Finding::Failed(detail) | Finding::Skipped(detail) => detail.clone(),
        });
        return (Err(closed), Err(again));
    }
    let interval = u32::try_from(options.retry_after.as_millis()).unwrap_or(u32::MAX);
    let start = Instant::now();
    let window_end = start + options.retry_after;
    let trigger = TriggerAction {
        action_instance_id: "conformance-cell".into(),
        action_id: action.clone(),
        configuration: None,
    };
    let sent = ex
        .send(&Envelope::request(0, RetryAfter { interval }))
        .await;
    let trigger_id = match sent.and(ex.request(trigger).await) {
        Ok(id) => id,
        Err(error) => return (fail(error.clone()), fail(error)),
    };
    let watch_end = window_end + options.reply_timeout;
    let mut answered = None;
    let mut inside = None;
    let mut after = None;
    while answered.is_none() || (inside.is_none() && after.is_none()) {
        let Some((at, envelope)) = ex.next(watch_end).await else {
            break;
        };
        if envelope.response.is_some() {
            if envelope.id == trigger_id {
                answered = Some((at, describe(&envelope)));
            }
        } else if at < window_end {
            inside.get_or_insert((at, describe(&envelope)));
        } else {
            after.get_or_insert((at, describe(&envelope)));
        }
    }
    let ms = |at: Instant| at.duration_since(start).as_millis();
    let holds = match (inside, after) {
        (Some((at, what)), _) => fail(format!(
            "expected nothing the plugin starts itself for {interval} ms after RetryAfter; got {what} after {} ms",
            ms(at)
        )),
        (None, Some((at, what))) => Ok(format!(
            "its first message of its own, {what}, came after {} ms",
            ms(at)
        )),
        (None, None) => skip(format!(
            "TriggerAction {action:?} made the plugin send nothing of its own within {:?}, so the hold could not be seen",
            watch_end.duration_since(start)
        )),
    };
    let answers = match answered {
        Some((at, what)) if at < window_end => Ok(format!("{what} after {} ms", ms(at))),
        Some((at, what)) => fail(format!(
            "expected the answer to TriggerAction inside the {interval} ms window; {what} came after {} ms",
            ms(at)
        )),
        None => fail(format!(
            "expected an answer to TriggerAction request {trigger_id}; {}",
            ex.nothing(watch_end.duration_since(start))
        )),
    };
    (holds, answers)
}

/// A flood of `UpdateAnalogControl` whose deltas sum to zero, between two readings of the
/// control's value.
async fn analog(ex: &mut Exchange, options: &PluginOptions) -> (Found, Found) {
    let Some(control) = &options.control else {
        let why = "no analog control given (--control)";
        return (skip(why), skip(why));
    };
    let before = match read_value(ex, control).await {
        Ok(status) => status,
        Err(error) => {
            let why = format!("before the flood, {error}");
            return (fail(why), skip("the control's value could not be read"));
        }
    };
    // The first delta moves away from the end of the range the value is at, so that clamping
    // cannot eat it.
    let near_max =
        matches!((before.current_value, before.max_value), (Some(v), Some(max)) if v + 1.0 > max);
    let first = if near_max { -1.0 } else { 1.0 };
    let mut pending: HashSet<u32> = HashSet::new();
    for n in 0..options.flood {
        let update = UpdateAnalogControl {
            analog_control_id: control.clone(),
            instance_id: "conformance-dial".into(),
            configuration: None,
            update_type: Some(UpdateType::Delta(if n % 2 == 0 { first } else { -first })),
        };
        match ex.request(update).await {
            Ok(id) => {
                pending.insert(id);
            }
            Err(error) => return (fail(error), skip("the flood could not be sent")),
        }
    }
    let flood = options.flood;
    let (mut statuses, mut bare) = (0u32, 0u32);
    let mut problems = Vec::new();
    // Each answer gives the plugin another reply timeout: a slow plugin is not a wrong one.
    while !pending.is_empty() {
        let Some((_, envelope)) = ex.next(ex.reply_deadline()).await else {
            break;
        };
        let Some(response) = &envelope.response else {
            continue;
        };
        if !pending.remove(&envelope.id) {
            continue;
        }
        match (&envelope.message, response.is_ok()) {
            (Some(Message::AnalogControlStatus(_)), true) => statuses += 1,
            (None, true) => bare += 1,
            _ => problems.push(describe(&envelope)),
        }
    }
    if !pending.is_empty() {
        let seen = ex.nothing(ex.reply_timeout);
        let flood_found = fail(format!(
            "{} of {flood} updates were never answered; {seen}",
            pending.len()
        ));
        return (flood_found, skip("the flood was not answered"));
    }
    if let Some(first) = problems.first() {
        let found = fail(format!(
            "expected SUCCESS with AnalogControlStatus or nothing; {} of {flood} answers were not, the first {first}",
            problems.len()
        ));
        return (found, skip("the flood was refused"));
    }
    let after = match read_value(ex, control).await {
        Ok(status) => status,
        Err(error) => {
            return (
                fail(format!("after the flood, {error}")),
                skip("the value could not be read again"),
            );
        }
    };
    let flood_found = Ok(format!(
        "{flood} updates answered: {statuses} with a status, {bare} with a bare SUCCESS (merged)"
    ));
    let net = match (before.current_value, after.current_value) {
        (Some(b), Some(a)) if (a - b).abs() < 1e-3 => {
            Ok(format!("the value is {a} before and after"))
        }
        (Some(b), Some(a)) => fail(format!(
            "expected the value to end where it was, {b}, after deltas summing to 0; it is {a}"
        )),
        _ => skip("GetAnalogControlValue's answers carry no current_value"),
    };
    (flood_found, net)
}

/// The control's status, asked with `GetAnalogControlValue`.
async fn read_value(ex: &mut Exchange, control: &str) -> Result<AnalogControlStatus, String> {
    let get = GetAnalogControlValue {
        analog_control_id: control.into(),
        instance_id: "conformance-dial".into(),
        configuration: None,
    };
    let answer = ex.call(get).await?;
    match (answer.message, answer.response) {
        (Some(Message::AnalogControlStatus(status)), Some(response)) if response.is_ok() => {
            Ok(*status)
        }
        (message, response) => Err(format!(
            "expected GetAnalogControlValue answered SUCCESS with AnalogControlStatus; got {}",
            describe(&Envelope {
                id: answer.id,
                message,
                response
            })
        )),
    }
}

fn stays_up(ex: &Exchange, child: &mut Child) -> Found {
    probes::closed_before(ex)?;
    match child.try_wait() {
        Ok(None) => Ok("connected and running".into()),
        Ok(Some(status)) => fail(format!("the program ended ({status}) during the run")),
        Err(error) => fail(format!("the program could not be watched: {error}")),
    }
}
