//! The driver and `block_on`, beneath the scenarios: wakes, timers and deadlines.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

use futures_lite::future;
use logi_plugin_core::ResponseCode;
use logi_plugin_core::proto::plugin::{ActionCellStatus, TriggerAction};
use logi_plugin_core::session::{
    Admission, CloseReason, Event, ManagerConfig, ManagerSession, Peer, PluginConfig,
    PluginSession, Reply, SendError, Verdict,
};
use logi_plugin_transports::driver::{CommandError, RequestError};
use logi_plugin_transports::memory::{self, MemoryStream};
use logi_plugin_transports::{Admitting, Connection, Driver, StreamTransport, block_on, connect};

/// A manager session on `end`, as the tests' plugin's peer.
fn manager_over(end: MemoryStream) -> (Connection<ManagerSession>, Over<ManagerSession>) {
    connect(
        ManagerSession::new(Instant::now(), ManagerConfig::new("1.0.0")),
        StreamTransport::new(end),
    )
}

/// The tests' plugin, `com.example.driver` with code `code`, on `end`.
fn plugin_over(end: MemoryStream) -> (Connection<PluginSession>, Over<PluginSession>) {
    connect(
        PluginSession::new(
            Instant::now(),
            PluginConfig::new("com.example.driver", "code", "1.0.0"),
        ),
        StreamTransport::new(end),
    )
}

/// A driver over one end of an in-memory pair.
type Over<S> = Driver<S, StreamTransport<MemoryStream>>;

#[test]
fn block_on_returns_what_another_thread_sends_later() {
    let (sender, receiver) = async_channel::bounded(1);
    let sending = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        sender.send_blocking(7).unwrap();
    });
    assert_eq!(block_on(receiver.recv()), Ok(7));
    sending.join().unwrap();
}

#[test]
fn block_on_finishes_a_future_that_keeps_waking_itself() {
    let yields = block_on(async {
        for _ in 0..10_000 {
            future::yield_now().await;
        }
        10_000
    });
    assert_eq!(yields, 10_000);
}

#[test]
fn block_on_serves_timers() {
    let start = Instant::now();
    block_on(async_io::Timer::after(Duration::from_millis(30)));
    assert!(start.elapsed() >= Duration::from_millis(30));
}

/// The driver arms its timer lazily: a deadline later than the armed one waits for the armed one
/// to fire. The later deadline must still be kept.
#[test]
fn a_later_deadline_fires_after_an_earlier_one_is_cleared() {
    let (manager_end, plugin_end) = memory::pair();
    let registry: HashMap<String, String> =
        [("com.example.driver".to_string(), "code".to_string())].into();
    let (manager, manager_driver) = manager_over(manager_end);
    let manager_driver =
        manager_driver.with_judge(Admitting::new(Admission::new(Arc::new(registry))));
    let (plugin, plugin_driver) = plugin_over(plugin_end);
    // The plugin answers the first request only.
    let plugin_app = async {
        let mut answered = false;
        while let Some(event) = plugin.next_event().await {
            if let Event::Request { id, .. } = event
                && !answered
            {
                answered = true;
                let status = Reply::Message(ActionCellStatus::default().into());
                plugin.respond(id, status).await.unwrap();
            }
        }
    };
    let manager_app = async {
        while !matches!(manager.next_event().await, Some(Event::Connected(_))) {}
        let short = manager.request(TriggerAction::default(), Duration::from_millis(200));
        assert!(short.await.is_ok(), "the first request is answered");
        let start = Instant::now();
        let long = manager.request(TriggerAction::default(), Duration::from_millis(600));
        assert_eq!(long.await, Err(RequestError::TimedOut));
        start.elapsed()
    };
    let drivers = async {
        future::zip(future::zip(manager_driver, plugin_driver), plugin_app).await;
        panic!("the drivers ended");
    };
    let give_up = async {
        async_io::Timer::after(Duration::from_secs(10)).await;
        panic!("the second request never timed out");
    };
    let waited = block_on(future::or(manager_app, future::or(drivers, give_up)));
    assert!(
        waited >= Duration::from_millis(600),
        "timed out early: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(5),
        "timed out late: {waited:?}"
    );
}

/// The driver polls its timer only for a new waker: one polled first in one task and then run
/// in another must still be woken by its deadline in the second.
#[test]
fn a_driver_moved_to_another_task_still_wakes_at_its_deadline() {
    let (manager_end, _silent_plugin) = memory::pair();
    let mut config = ManagerConfig::new("1.0.0");
    config.hello_timeout = Duration::from_millis(100);
    let start = Instant::now();
    let (_manager, mut driver) = connect(
        ManagerSession::new(start, config),
        StreamTransport::new(manager_end),
    );
    // The first task polls it once, arming the timer with a waker nothing will answer, and ends.
    let mut first_task = Context::from_waker(Waker::noop());
    assert!(Pin::new(&mut driver).poll(&mut first_task).is_pending());
    // Polled first, so the driver must finish before this fires, not in the wake-up it causes.
    let give_up = async {
        async_io::Timer::after(Duration::from_secs(5)).await;
        panic!("the hello deadline never woke the driver");
    };
    let reason = async_io::block_on(future::or(give_up, driver));
    assert!(
        reason.to_string().contains("hello"),
        "closed for another reason: {reason}"
    );
    assert!(start.elapsed() >= Duration::from_millis(100));
}

/// A manager connection whose driver has no judge hands the hello to its owner, who answers it
/// through the connection; a refusal reaches the plugin with its code.
#[test]
fn an_owner_without_a_judge_answers_the_hello_through_the_connection() {
    let (manager_end, plugin_end) = memory::pair();
    let (manager, manager_driver) = manager_over(manager_end);
    let (plugin, plugin_driver) = plugin_over(plugin_end);
    let owner = async {
        let hello = manager.next_event().await;
        let Some(Event::Hello(Peer::Plugin(hello))) = hello else {
            panic!("the hello is the owner's to judge: {hello:?}")
        };
        assert_eq!(hello.plugin_id, "com.example.driver");
        let verdict = Verdict::refuse(ResponseCode::Unauthorized, "not on this machine");
        manager.admit(verdict).await.unwrap();
        // Judged once: the session has closed (or its driver has already ended).
        let again = manager.admit(Verdict::Accept).await;
        assert!(
            matches!(
                again,
                Err(CommandError::Send(SendError::Closed(_)) | CommandError::Gone)
            ),
            "{again:?}"
        );
        plugin.closed().await
    };
    let drivers = async {
        future::zip(manager_driver, plugin_driver).await;
        std::future::pending::<CloseReason>().await
    };
    let give_up = async {
        async_io::Timer::after(Duration::from_secs(10)).await;
        panic!("the plugin never heard the verdict");
    };
    let closed = block_on(future::or(owner, future::or(drivers, give_up)));
    assert_eq!(
        closed,
        CloseReason::HelloRefusedByPeer {
            code: ResponseCode::Unauthorized,
            what: "not on this machine".into()
        }
    );
}

/// A message the session refuses comes back through the connection with why: here, sent before
/// the handshake; the same holds for backpressure.
#[test]
fn a_refused_message_is_handed_back_through_the_connection() {
    let (plugin_end, _silent_manager) = memory::pair();
    let (plugin, driver) = plugin_over(plugin_end);
    let status = ActionCellStatus {
        text: Some("Muted".into()),
        ..ActionCellStatus::default()
    };
    let owner = async {
        let notified = plugin.notify(status.clone()).await;
        let requested = plugin.request(status.clone(), Duration::from_secs(1)).await;
        (notified, requested)
    };
    let (notified, requested) = block_on(future::or(owner, async {
        driver.await;
        panic!("the driver ended");
    }));
    let Err(CommandError::Refused(refused)) = notified else {
        panic!("{notified:?}")
    };
    assert_eq!(refused.error, SendError::NotConnected);
    assert_eq!(refused.into_message(), status.clone().into());
    let Err(RequestError::Refused(refused)) = requested else {
        panic!("{requested:?}")
    };
    assert_eq!(refused.into_message(), status.into());
}
