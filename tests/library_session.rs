//! The client library's session against the manager's (seed chapter 9): its hello, what each
//! side may send, heartbeats, and where the manager admits it at all.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use logi_plugin_core::codec::frame::{DEFAULT_MAX_FRAME_LEN, encode_frame};
use logi_plugin_core::proto::manager::{GetPluginList, PluginList};
use logi_plugin_core::proto::plugin::{ManagerHello, TriggerAction};
use logi_plugin_core::session::{
    CloseReason, Event, LibraryConfig, LibrarySession, ManagerConfig, ManagerSession, Peer, Reply,
    Session,
};
use logi_plugin_core::{Envelope, Message, ResponseCode};

fn manager_config(accept_clients: bool) -> ManagerConfig {
    let mut config = ManagerConfig::new(Arc::new(HashMap::new()), "0.1.0");
    config.language_code = "fr-FR".into();
    config.accept_clients = accept_clients;
    config
}

/// A client library session and a manager session wired in memory.
struct Pair {
    now: Instant,
    client: LibrarySession,
    manager: ManagerSession,
    client_events: Vec<Event<ManagerHello>>,
    manager_events: Vec<Event<Peer>>,
}

impl Pair {
    fn new(accept_clients: bool) -> Pair {
        let now = Instant::now();
        let mut pair = Pair {
            now,
            client: LibrarySession::new(now, LibraryConfig::new("Options+", "1.2.3")),
            manager: ManagerSession::new(now, manager_config(accept_clients)),
            client_events: Vec::new(),
            manager_events: Vec::new(),
        };
        pair.drive();
        pair
    }

    fn drive(&mut self) {
        loop {
            let mut moved = false;
            while let Some(frame) = self.client.poll_transmit() {
                moved = true;
                let bytes = frame.as_bytes().to_vec();
                self.manager.handle_bytes(self.now, &bytes).unwrap();
            }
            while let Some(frame) = self.manager.poll_transmit() {
                moved = true;
                let bytes = frame.as_bytes().to_vec();
                Session::handle_bytes(&mut self.client, self.now, &bytes).unwrap();
            }
            self.client_events
                .extend(std::iter::from_fn(|| self.client.poll_event()));
            self.manager_events
                .extend(std::iter::from_fn(|| self.manager.poll_event()));
            if !moved {
                return;
            }
        }
    }

    fn advance(&mut self, by: Duration) {
        let end = self.now + by;
        while let Some(next) = [self.client.poll_timeout(), self.manager.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .filter(|next| *next <= end)
        {
            self.now = self.now.max(next);
            self.client.handle_timeout(self.now);
            self.manager.handle_timeout(self.now);
            self.drive();
        }
        self.now = end;
    }
}

#[test]
fn the_client_library_says_hello_and_the_manager_knows_it_from_a_plugin() {
    let pair = Pair::new(true);
    assert!(pair.client.is_connected() && pair.manager.is_connected());
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
    match &pair.client_events[..] {
        [Event::Connected(hello)] => assert_eq!(hello.language_code, "fr-FR"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_manager_that_does_not_accept_clients_refuses_the_hello_unauthorized() {
    let pair = Pair::new(false);
    match pair.client.close_reason() {
        Some(CloseReason::HelloRefused { code, what }) => {
            assert_eq!(*code, ResponseCode::Unauthorized);
            assert!(what.contains("client library"), "{what}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!pair.manager.is_connected());
}

#[test]
fn a_call_reaches_the_manager_and_its_answer_comes_back_to_the_client() {
    let mut pair = Pair::new(true);
    let id = pair
        .client
        .send_request(pair.now, GetPluginList {}.into(), Duration::from_secs(5))
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
    match pair.client_events.pop() {
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
    let mut pair = Pair::new(true);
    let trigger = || Message::from(TriggerAction::default());
    let timeout = Duration::from_secs(5);
    assert!(
        pair.client
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
    let mut pair = Pair::new(true);
    let mut bytes = BytesMut::new();
    let trigger = Envelope::request(7, TriggerAction::default());
    encode_frame(&trigger, DEFAULT_MAX_FRAME_LEN, &mut bytes).unwrap();
    pair.manager.handle_bytes(pair.now, &bytes).unwrap();
    pair.drive();
    assert_eq!(pair.manager.stats().invalid_verbs, 1);
    assert!(pair.manager_events.len() == 1, "{:?}", pair.manager_events);
}

#[test]
fn the_client_library_answers_pings_and_stays_connected() {
    let mut pair = Pair::new(true);
    pair.advance(Duration::from_secs(120));
    assert!(pair.client.is_connected() && pair.manager.is_connected());
    // Twelve pings in two minutes, each answered.
    assert!(
        pair.manager.stats().frames_in >= 13,
        "{:?}",
        pair.manager.stats()
    );
}
