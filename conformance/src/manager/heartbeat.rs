//! The manager's heartbeat, judged from the plugin's side: its `Ping`s come, a `Ping` the
//! plugin sends is the wrong direction, and a plugin that stops answering is closed.

use std::time::{Duration, Instant};

use logi_plugin_core::proto::plugin::Ping;
use logi_plugin_core::{Envelope, Message, ResponseCode};

use super::options::ManagerOptions;
use crate::exchange::Exchange;
use crate::probes;
use crate::wire::describe;
use crate::{Found, fail, skip};

/// What the first watch of a session found of the manager's heartbeat.
pub(super) enum Pings {
    /// The check's finding.
    Judged(Found),
    /// The manager closed the session before any `Ping`, the kit having said nothing since the
    /// hello: with how, and when.
    ClosedAfterHello(String),
}

/// Watches a fresh session, saying nothing, for the manager's first `Ping` and then its next:
/// both within `ping_wait` of the one before, each answered by the kit's `Pong`, the session
/// open throughout.
pub(super) async fn manager_pings(ex: &mut Exchange, options: &ManagerOptions) -> Pings {
    let start = Instant::now();
    let wait = options.ping_wait;
    let ms = |at: Instant| at.duration_since(start).as_millis();
    let mut pings: Vec<Instant> = Vec::new();
    while pings.len() < 2 {
        let deadline = pings.last().copied().unwrap_or(start) + wait;
        match ex.next(deadline).await {
            Some((at, envelope)) => {
                if is_ping(&envelope) {
                    pings.push(at);
                }
            }
            None => break,
        }
    }
    let hint = "raise --ping-wait-ms if the manager's interval is longer";
    match (pings.as_slice(), &ex.closed) {
        ([], Some(how)) => {
            Pings::ClosedAfterHello(format!("{} ms after the hello ({how})", ms(Instant::now())))
        }
        ([], None) => Pings::Judged(fail(format!(
            "expected a Ping within {wait:?} after the hello; none came ({hint})"
        ))),
        ([first, ..], Some(how)) => Pings::Judged(fail(format!(
            "a Ping came {} ms after the hello and the kit answered it with a Pong, yet the \
             session closed {} ms after the hello: {how}",
            ms(*first),
            ms(Instant::now())
        ))),
        ([first], None) => Pings::Judged(Ok(format!(
            "a Ping {} ms after the hello, answered; the session open {wait:?} later, with no \
             second Ping yet",
            ms(*first)
        ))),
        ([first, second, ..], None) => Pings::Judged(Ok(format!(
            "Pings {} ms and {} ms after the hello, each answered by a Pong, the session kept",
            ms(*first),
            ms(*second)
        ))),
    }
}

/// Whether `envelope` is a `Ping` request of the manager's.
fn is_ping(envelope: &Envelope) -> bool {
    envelope.response.is_none() && matches!(envelope.message, Some(Message::Ping(_)))
}

/// A `Ping` from the plugin side: the wrong direction.
pub(super) async fn plugin_ping(ex: &mut Exchange) -> Found {
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

/// The kit stops answering `Ping`: the manager must close the session once the `Pong` is late.
pub(super) async fn silent_plugin(ex: &mut Exchange, options: &ManagerOptions) -> Found {
    ex.silent = true;
    let start = Instant::now();
    let ping = loop {
        match ex.next(start + options.ping_wait).await {
            Some((at, envelope)) if is_ping(&envelope) => break at,
            Some(_) => {}
            None => {
                return match &ex.closed {
                    Some(how) => skip(format!(
                        "the session closed before a Ping came to leave unanswered: {how}"
                    )),
                    None => skip(format!(
                        "no Ping came within {:?} to leave unanswered (manager-pings)",
                        options.ping_wait
                    )),
                };
            }
        }
    };
    let deadline = ping + options.silent_wait;
    while ex.next(deadline).await.is_some() {}
    match &ex.closed {
        Some(how) => Ok(format!(
            "closed {} ms after the Ping left unanswered: {how}",
            ping.elapsed().as_millis()
        )),
        None => fail(format!(
            "expected the session closed once the Pong was late; it stayed open {:?} after the \
             unanswered Ping (raise --silent-wait-ms if the manager's Pong deadline is longer)",
            options.silent_wait
        )),
    }
}
