//! Identity bound to the connection (issue 7 item 4), the session part: a plugin id has at most
//! one live manager session; a second hello for it is refused `DUPLICATE_NAME`, and the id is
//! free again in the very call that closes the first session; and the process a local socket
//! reports is handed to the registry, which may refuse it `UNAUTHORIZED` though the code is
//! right.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use logi_plugin_core::codec::binary;
use logi_plugin_core::codec::frame::{DEFAULT_MAX_FRAME_LEN, FrameDecoder, encode_frame};
use logi_plugin_core::proto::plugin::PluginHello;
use logi_plugin_core::session::{
    CloseReason, Input, ManagerConfig, ManagerSession, Output, PeerProcess, PluginRegistry, Session,
};
use logi_plugin_core::{Envelope, ResponseCode};

const PLUGIN: &str = "com.example.media";
const CODE: &str = "per-launch-secret";

fn config() -> ManagerConfig {
    let registry: HashMap<String, String> = [(PLUGIN.to_string(), CODE.to_string())].into();
    ManagerConfig::new(Arc::new(registry), "1.0.0")
}

/// A manager session from `config` that has been sent the plugin's hello; the hello's answer.
fn hello(config: &ManagerConfig, now: Instant) -> (ManagerSession, Envelope) {
    let mut session = ManagerSession::new(now, config.clone());
    let hello = PluginHello {
        plugin_id: PLUGIN.into(),
        plugin_code: CODE.into(),
        plugin_version: "1.0.0".into(),
        protocol_version: 1,
    };
    let mut bytes = BytesMut::new();
    encode_frame(
        &Envelope::request(1, hello),
        DEFAULT_MAX_FRAME_LEN,
        &mut bytes,
    )
    .unwrap();
    session.handle_input(now, Input::Bytes(&bytes)).unwrap();
    let mut decoder = FrameDecoder::default();
    loop {
        match session.poll_output(0) {
            Output::Transmit(transmit) => decoder.push(transmit.frame.as_bytes()),
            Output::Event(_) => {}
            Output::Timeout(_) | Output::Idle => break,
        }
    }
    let answer = binary::decode(decoder.next_frame().unwrap().unwrap()).unwrap();
    (session, answer)
}

fn code(answer: &Envelope) -> ResponseCode {
    answer.response.as_ref().unwrap().result()
}

#[test]
fn a_second_hello_for_a_live_plugin_id_is_refused_duplicate_name() {
    let config = config();
    let now = Instant::now();
    let (first, answer) = hello(&config, now);
    assert_eq!(code(&answer), ResponseCode::Success);
    assert!(first.is_connected());
    let (second, answer) = hello(&config, now);
    assert_eq!(code(&answer), ResponseCode::DuplicateName);
    assert!(matches!(
        second.close_reason(),
        Some(CloseReason::HelloRefused { code: ResponseCode::DuplicateName, what })
            if what.contains(PLUGIN)
    ));
    assert!(first.is_connected(), "the live session is not replaced");
}

#[test]
fn the_plugin_id_is_free_again_in_the_call_that_closes_its_session() {
    let config = config();
    let now = Instant::now();
    let (mut first, _) = hello(&config, now);
    first.handle_input(now, Input::End).unwrap();
    assert!(!config.live.is_live(PLUGIN));
    let (second, answer) = hello(&config, now);
    assert_eq!(code(&answer), ResponseCode::Success);
    assert!(second.is_connected());
}

#[test]
fn dropping_a_live_session_frees_its_plugin_id() {
    let config = config();
    let now = Instant::now();
    let (first, _) = hello(&config, now);
    assert!(config.live.is_live(PLUGIN));
    drop(first);
    assert!(!config.live.is_live(PLUGIN));
}

#[test]
fn sessions_from_separate_configs_do_not_share_live_ids() {
    let now = Instant::now();
    let (_first, _) = hello(&config(), now);
    let (_, answer) = hello(&config(), now);
    assert_eq!(code(&answer), ResponseCode::Success);
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

fn launched_as(pid: u32, peer: PeerProcess) -> ManagerConfig {
    let mut config = ManagerConfig::new(Arc::new(LaunchedAs(pid)), "1.0.0");
    config.peer_process = Some(peer);
    config
}

#[test]
fn a_right_code_from_another_process_is_refused_unauthorized_naming_it() {
    let config = launched_as(4242, PeerProcess::new(777, 1000));
    let (session, answer) = hello(&config, Instant::now());
    assert_eq!(code(&answer), ResponseCode::Unauthorized);
    let what = &answer.response.as_ref().unwrap().what;
    assert!(what.contains("process 777"), "{what}");
    assert!(!session.is_connected());
    assert!(
        !config.live.is_live(PLUGIN),
        "a refused hello claims nothing"
    );
}

#[test]
fn a_child_of_the_launched_process_is_admitted() {
    let peer = PeerProcess {
        ancestors: vec![4242, 1],
        ..PeerProcess::new(4300, 1000)
    };
    let (session, answer) = hello(&launched_as(4242, peer), Instant::now());
    assert_eq!(code(&answer), ResponseCode::Success);
    assert!(session.is_connected());
}
