//! Admission by the owner (issue 7 item 4, issue 31 item 4), the session part: the manager
//! session hands a hello it finds nothing wrong with to its owner ([`Event::Hello`]) and reads
//! nothing past it until the owner's verdict; the owner ([`Admission`]) holds which plugin ids
//! are live, so a second hello for one is refused `DUPLICATE_NAME`, and judges the process a
//! local socket reports, which it may refuse `UNAUTHORIZED` though the code is right.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use logi_plugin_core::codec::binary;
use logi_plugin_core::codec::frame::{DEFAULT_MAX_FRAME_LEN, FrameDecoder, encode_frame};
use logi_plugin_core::proto::plugin::{LogEvent, PluginHello};
use logi_plugin_core::session::{
    Admission, Claim, CloseReason, Event, Input, ManagerConfig, ManagerSession, Output, Peer,
    PeerProcess, PluginRegistry, SendError, Session, Timer, Verdict,
};
use logi_plugin_core::{Envelope, Message, ResponseCode};

const PLUGIN: &str = "com.example.media";
const CODE: &str = "per-launch-secret";

fn admission() -> Admission {
    let registry: HashMap<String, String> = [(PLUGIN.to_string(), CODE.to_string())].into();
    Admission::new(Arc::new(registry))
}

fn plugin_hello() -> PluginHello {
    PluginHello {
        plugin_id: PLUGIN.into(),
        plugin_code: CODE.into(),
        plugin_version: "1.0.0".into(),
        protocol_version: 1,
    }
}

/// Hands `session` these envelopes at `now`, as its plugin would write them to a byte stream.
fn read(session: &mut ManagerSession, now: Instant, envelopes: &[Envelope]) {
    let mut bytes = BytesMut::new();
    for envelope in envelopes {
        encode_frame(envelope, DEFAULT_MAX_FRAME_LEN, &mut bytes).unwrap();
    }
    session.handle_input(now, Input::Bytes(&bytes)).unwrap();
}

/// What one round of a session's output held: its events and the envelopes it wrote.
fn take(session: &mut ManagerSession) -> (Vec<Event<Peer>>, Vec<Envelope>) {
    let (mut events, mut decoder) = (Vec::new(), FrameDecoder::default());
    loop {
        match session.poll_output(0) {
            Output::Transmit(transmit) => decoder.push(transmit.frame.as_bytes()),
            Output::Event(event) => events.push(event),
            Output::Timeout(_) | Output::Idle => break,
        }
    }
    let mut envelopes = Vec::new();
    while let Some(frame) = decoder.next_frame().unwrap() {
        envelopes.push(binary::decode(frame).unwrap());
    }
    (events, envelopes)
}

/// A manager session made with `config` that has been sent the plugin's hello and judged by
/// `admission`, as the transports' listener judges it: the session, the claim on the plugin id
/// if admitted, and the hello's answer.
fn hello(
    admission: &Admission,
    config: ManagerConfig,
    now: Instant,
) -> (ManagerSession, Option<Claim>, Envelope) {
    let mut session = ManagerSession::new(now, config);
    read(&mut session, now, &[Envelope::request(1, plugin_hello())]);
    let (events, written) = take(&mut session);
    assert!(written.is_empty(), "nothing is answered before the verdict");
    let [Event::Hello(peer)] = &events[..] else {
        panic!("the hello is handed to the owner: {events:?}")
    };
    let process = session.config().peer_process.clone();
    let (verdict, claim) = admission.judge(peer, process.as_ref());
    session.admit(now, verdict).unwrap();
    let (_, mut written) = take(&mut session);
    (session, claim, written.remove(0))
}

fn code(answer: &Envelope) -> ResponseCode {
    answer.response.as_ref().unwrap().result()
}

#[test]
fn a_second_hello_for_a_live_plugin_id_is_refused_duplicate_name() {
    let admission = admission();
    let now = Instant::now();
    let (first, _claim, answer) = hello(&admission, ManagerConfig::new("1.0.0"), now);
    assert_eq!(code(&answer), ResponseCode::Success);
    assert!(first.is_connected());
    let (second, claim, answer) = hello(&admission, ManagerConfig::new("1.0.0"), now);
    assert_eq!(code(&answer), ResponseCode::DuplicateName);
    assert!(claim.is_none());
    assert!(matches!(
        second.close_reason(),
        Some(CloseReason::HelloRefused { code: ResponseCode::DuplicateName, what })
            if what.contains(PLUGIN)
    ));
    assert!(first.is_connected(), "the live session is not replaced");
}

#[test]
fn the_plugin_id_is_free_again_once_the_owner_drops_the_closed_sessions_claim() {
    let admission = admission();
    let now = Instant::now();
    let (mut first, claim, _) = hello(&admission, ManagerConfig::new("1.0.0"), now);
    first.handle_input(now, Input::End).unwrap();
    assert!(first.close_reason().is_some());
    drop(claim);
    assert!(!admission.live().is_live(PLUGIN));
    let (second, _claim, answer) = hello(&admission, ManagerConfig::new("1.0.0"), now);
    assert_eq!(code(&answer), ResponseCode::Success);
    assert!(second.is_connected());
}

#[test]
fn separate_admissions_do_not_share_live_ids() {
    let now = Instant::now();
    let (_first, _claim, _) = hello(&admission(), ManagerConfig::new("1.0.0"), now);
    let (_, _, answer) = hello(&admission(), ManagerConfig::new("1.0.0"), now);
    assert_eq!(code(&answer), ResponseCode::Success);
}

#[test]
fn nothing_sent_behind_the_hello_is_read_before_the_verdict() {
    let now = Instant::now();
    let mut session = ManagerSession::new(now, ManagerConfig::new("1.0.0"));
    let log = LogEvent {
        log_level: 2,
        message: "behind the hello".into(),
    };
    let hello = Envelope::request(1, plugin_hello());
    read(
        &mut session,
        now,
        &[hello, Envelope::request(0, log.clone())],
    );
    let (events, written) = take(&mut session);
    assert!(
        matches!(&events[..], [Event::Hello(Peer::Plugin(_))]),
        "{events:?}"
    );
    assert!(written.is_empty());
    session.admit(now, Verdict::Accept).unwrap();
    let (events, written) = take(&mut session);
    assert!(
        matches!(
            &events[..],
            [Event::Connected(_), Event::Notification { message: Message::LogEvent(got) }]
                if *got == log
        ),
        "{events:?}"
    );
    assert_eq!(code(&written[0]), ResponseCode::Success);
}

#[test]
fn a_refused_hello_leaves_what_came_behind_it_unread() {
    let now = Instant::now();
    let mut session = ManagerSession::new(now, ManagerConfig::new("1.0.0"));
    let hello = Envelope::request(1, plugin_hello());
    read(
        &mut session,
        now,
        &[hello, Envelope::request(0, LogEvent::default())],
    );
    take(&mut session);
    let verdict = Verdict::refuse(ResponseCode::Unauthorized, "not today");
    session.admit(now, verdict).unwrap();
    let (events, written) = take(&mut session);
    assert!(
        matches!(&events[..], [Event::Closed(CloseReason::HelloRefused { code: ResponseCode::Unauthorized, what })] if what == "not today"),
        "{events:?}"
    );
    assert_eq!(written.len(), 1, "only the refusal is written");
    assert_eq!(code(&written[0]), ResponseCode::Unauthorized);
}

#[test]
fn a_verdict_with_no_hello_waiting_or_a_refusal_coded_success_is_refused() {
    let now = Instant::now();
    let mut session = ManagerSession::new(now, ManagerConfig::new("1.0.0"));
    assert_eq!(
        session.admit(now, Verdict::Accept),
        Err(SendError::NoHelloWaiting)
    );
    read(&mut session, now, &[Envelope::request(1, plugin_hello())]);
    take(&mut session);
    assert_eq!(
        session.admit(now, Verdict::refuse(ResponseCode::Success, "fine")),
        Err(SendError::SuccessRefusal)
    );
    session.admit(now, Verdict::Accept).unwrap();
    assert!(session.is_connected());
    assert_eq!(
        session.admit(now, Verdict::Accept),
        Err(SendError::NoHelloWaiting),
        "judged once"
    );
}

#[test]
fn an_owner_that_never_answers_lets_the_hello_deadline_close_the_session() {
    let start = Instant::now();
    let mut session = ManagerSession::new(start, ManagerConfig::new("1.0.0"));
    let hello = Envelope::request(1, plugin_hello());
    read(&mut session, start + Duration::from_secs(1), &[hello]);
    let mut wake = None;
    while wake.is_none() {
        if let Output::Timeout(at) = session.poll_output(0) {
            wake = Some(at);
        }
    }
    let wake = wake.unwrap();
    assert_eq!(
        (wake.at, wake.timer),
        (start + Duration::from_secs(10), Timer::Hello)
    );
    session.handle_input(wake.at, Input::Timeout).unwrap();
    assert_eq!(
        session.close_reason(),
        Some(&CloseReason::HelloTimeout(Duration::from_secs(10)))
    );
}

#[test]
fn the_session_checks_the_version_before_asking_the_owner() {
    let now = Instant::now();
    let mut session = ManagerSession::new(now, ManagerConfig::new("1.0.0"));
    let hello = PluginHello {
        protocol_version: 99,
        ..plugin_hello()
    };
    read(&mut session, now, &[Envelope::request(1, hello)]);
    let (events, written) = take(&mut session);
    assert!(
        matches!(
            &events[..],
            [Event::Closed(CloseReason::HelloRefused {
                code: ResponseCode::InvalidArg,
                ..
            })]
        ),
        "{events:?}"
    );
    assert_eq!(code(&written[0]), ResponseCode::InvalidArg);
}

/// The plugin, admitted only from the process 4242 or its descendants.
struct LaunchedAs(u32);

impl PluginRegistry for LaunchedAs {
    fn plugin_code(&self, plugin_id: &str) -> Option<String> {
        (plugin_id == PLUGIN).then(|| CODE.to_string())
    }

    fn admits_process(&self, _: &str, peer: Option<&PeerProcess>) -> Result<(), String> {
        match peer {
            Some(peer) if !peer.is_or_descends_from(self.0) => {
                Err(format!("{peer} is not the plugin's process {}", self.0))
            }
            _ => Ok(()),
        }
    }
}

/// A session that knows its peer is `peer`.
fn from_process(peer: PeerProcess) -> ManagerConfig {
    let mut config = ManagerConfig::new("1.0.0");
    config.peer_process = Some(peer);
    config
}

#[test]
fn a_right_code_from_another_process_is_refused_unauthorized_naming_it() {
    let admission = Admission::new(Arc::new(LaunchedAs(4242)));
    let config = from_process(PeerProcess::new(777, 1000));
    let (session, claim, answer) = hello(&admission, config, Instant::now());
    assert_eq!(code(&answer), ResponseCode::Unauthorized);
    let what = &answer.response.as_ref().unwrap().what;
    assert!(what.contains("process 777"), "{what}");
    assert!(!session.is_connected());
    assert!(claim.is_none());
    assert!(
        !admission.live().is_live(PLUGIN),
        "a refused hello claims nothing"
    );
}

#[test]
fn a_child_of_the_launched_process_is_admitted() {
    let peer = PeerProcess {
        ancestors: vec![4242, 1],
        ..PeerProcess::new(4300, 1000)
    };
    let admission = Admission::new(Arc::new(LaunchedAs(4242)));
    let (session, _claim, answer) = hello(&admission, from_process(peer), Instant::now());
    assert_eq!(code(&answer), ResponseCode::Success);
    assert!(session.is_connected());
}
