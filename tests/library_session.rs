//! The client library's session against the manager's (seed chapter 9): its hello, what each
//! side may send, heartbeats, and where the manager admits it at all.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use logi_plugin_core::codec::frame::{DEFAULT_MAX_FRAME_LEN, encode_frame};
use logi_plugin_core::proto::manager::{GetPluginList, PluginList};
use logi_plugin_core::proto::plugin::TriggerAction;
use logi_plugin_core::session::{
    Admission, CloseReason, Event, Input, LibraryConfig, LibrarySession, ManagerConfig,
    ManagerSession, Peer, Reply, Session,
};
use logi_plugin_core::{Envelope, Message, ResponseCode};

mod common;

fn manager_config(accept_clients: bool) -> ManagerConfig {
    let mut config = ManagerConfig::new("0.1.0");
    config.language_code = "fr-FR".into();
    config.accept_clients = accept_clients;
    config
}

/// A manager session and a client library's, wired in memory.
type Pair = common::pair::Pair<ManagerSession, LibrarySession>;

/// The two sessions, made now, driven through the handshake.
fn pair(accept_clients: bool) -> Pair {
    let now = Instant::now();
    let mut pair = Pair::new(
        now,
        ManagerSession::new(now, manager_config(accept_clients)),
        LibrarySession::new(now, LibraryConfig::new("Options+", "1.2.3")),
        Admission::new(Arc::new(HashMap::new())),
    );
    pair.drive();
    pair
}

#[test]
fn the_client_library_says_hello_and_the_manager_knows_it_from_a_plugin() {
    let pair = pair(true);
    assert!(pair.peer.is_connected() && pair.manager.is_connected());
    match &pair.manager_events[..] {
        [Event::Connected(Peer::Client(hello))] => {
            assert_eq!(
                (hello.client_name.as_str(), hello.client_version.as_str()),
                ("Options+", "1.2.3")
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(pair.manager.plugin_id(), None);
    match &pair.peer_events[..] {
        [Event::Connected(hello)] => assert_eq!(hello.language_code, "fr-FR"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_manager_that_does_not_accept_clients_refuses_the_hello_unauthorized() {
    let pair = pair(false);
    match pair.peer.close_reason() {
        Some(CloseReason::HelloRefusedByPeer { code, what }) => {
            assert_eq!(*code, ResponseCode::Unauthorized);
            assert!(what.contains("client library"), "{what}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!pair.manager.is_connected());
}

#[test]
fn a_call_reaches_the_manager_and_its_answer_comes_back_to_the_client() {
    let mut pair = pair(true);
    let id = pair
        .peer
        .send_request(pair.now, GetPluginList {}, Duration::from_secs(5))
        .unwrap();
    pair.drive();
    let Some(Event::Request { id: asked, message }) = pair.manager_events.pop() else {
        panic!("{:?}", pair.manager_events);
    };
    assert_eq!(message, Message::GetPluginList(GetPluginList {}));
    let list = PluginList { plugins: vec![] };
    pair.manager
        .respond(pair.now, asked, Reply::Message(list.clone().into()))
        .unwrap();
    pair.drive();
    match pair.peer_events.pop() {
        Some(Event::Response {
            id: answered,
            message,
            ..
        }) => {
            assert_eq!(answered, id);
            assert_eq!(message, Some(list.into()));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn neither_side_may_send_a_plugin_message_on_a_client_library_session() {
    let mut pair = pair(true);
    let trigger = || Message::from(TriggerAction::default());
    let timeout = Duration::from_secs(5);
    assert!(
        pair.peer
            .send_request(pair.now, trigger(), timeout)
            .is_err()
    );
    assert!(
        pair.manager
            .send_request(pair.now, trigger(), timeout)
            .is_err()
    );
}

#[test]
fn a_plugin_message_from_the_client_library_is_answered_invalid_verb() {
    let mut pair = pair(true);
    let mut bytes = BytesMut::new();
    let trigger = Envelope::request(7, TriggerAction::default());
    encode_frame(&trigger, DEFAULT_MAX_FRAME_LEN, &mut bytes).unwrap();
    pair.manager
        .handle_input(pair.now, Input::Bytes(&bytes))
        .unwrap();
    pair.drive();
    assert_eq!(pair.manager.stats().invalid_verbs, 1);
    assert!(pair.manager_events.len() == 1, "{:?}", pair.manager_events);
}

#[test]
fn the_client_library_answers_pings_and_stays_connected() {
    let mut pair = pair(true);
    pair.advance(Duration::from_secs(120));
    assert!(pair.peer.is_connected() && pair.manager.is_connected());
    // Twelve pings in two minutes, each answered.
    assert!(
        pair.manager.stats().frames_in >= 13,
        "{:?}",
        pair.manager.stats()
    );
}

#[test]
fn the_client_librarys_session_carries_nothing_of_a_plugins() {
    // No analog buffers, no RetryAfter hold, no plugin configuration: only what chapter 9
    // needs (it was a plugin session inside, as large as one).
    assert!(
        std::mem::size_of::<LibrarySession>()
            < std::mem::size_of::<logi_plugin_core::session::PluginSession>(),
        "LibrarySession is {} bytes, PluginSession {}",
        std::mem::size_of::<LibrarySession>(),
        std::mem::size_of::<logi_plugin_core::session::PluginSession>()
    );
}
