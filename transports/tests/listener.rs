//! The manager listener under a crowd: idle TCP connections to the plugin WebSocket port do not
//! keep a real plugin out.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use async_io::Timer;
use futures_lite::future;
use logi_plugin_core::session::Event;
use support::{Harness, Kind};

/// Idle connections opened before the plugin: far more than the upgrades the listener runs at
/// once.
const CROWD: usize = 500;

/// How long the plugin may take to get in: a liveness bound, not a performance claim (before
/// the crowd was evicted, it waited behind every idle connection's upgrade timeout).
const GET_IN_WITHIN: Duration = Duration::from_secs(3);

#[test]
fn a_plugin_gets_in_past_a_crowd_of_idle_connections_to_the_websocket_port() {
    smol::block_on(async {
        let harness = Harness::start(Kind::WsBinary, |_| {}).await;
        let addr = SocketAddr::from(([127, 0, 0, 1], harness.ws_port()));
        let crowd = idle_connections(addr, CROWD).await;

        let connected = future::or(
            async {
                // A plugin session that has said hello, seen from both ends.
                let _plugin = harness.frozen_plugin().await;
                let manager = harness.next_connection().await;
                matches!(manager.next_event().await, Some(Event::Connected(_)))
            },
            async {
                Timer::after(GET_IN_WITHIN).await;
                false
            },
        )
        .await;

        assert!(
            connected,
            "the plugin did not get in within {GET_IN_WITHIN:?} past {} idle connections",
            crowd.len()
        );
        assert!(harness.evicted_upgrades() > 0);
    });
}

/// Up to `count` TCP connections to `addr` that send nothing, opened side by side (a listener
/// that stops accepting leaves those past its backlog hanging in their handshake); those not
/// open after 5 s are given up.
async fn idle_connections(addr: SocketAddr, count: usize) -> Vec<smol::net::TcpStream> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let opening: Vec<_> = (0..count)
        .map(|_| {
            smol::spawn(future::or(
                async move { smol::net::TcpStream::connect(addr).await.ok() },
                async move {
                    Timer::at(deadline).await;
                    None
                },
            ))
        })
        .collect();
    let mut open = Vec::new();
    for task in opening {
        open.extend(task.await);
    }
    open
}
