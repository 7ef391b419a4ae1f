//! Priority lanes through the driver (issue 7 item 3): while its transport is busy, the driver
//! leaves image updates waiting in the session, so that a press's answer queued after them
//! passes them; and input that never pauses does not starve them. A manager and a plugin over
//! the in-memory pipe, on one thread.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_lite::future;
use logi_plugin_core::Envelope;
use logi_plugin_core::codec::frame::{DEFAULT_MAX_FRAME_LEN, encode_frame};
use logi_plugin_core::proto::plugin::update_analog_control::UpdateType;
use logi_plugin_core::proto::plugin::{ActionCellStatus, TriggerAction, UpdateAnalogControl};
use logi_plugin_core::session::{
    Admission, Event, ManagerConfig, ManagerSession, PluginConfig, PluginSession, Reply, Session,
};
use logi_plugin_transports::memory::{MemoryStream, PIPE_CAPACITY};
use logi_plugin_transports::{
    Admitting, Connection, Driver, StreamTransport, block_on, connect, memory,
};

const PLUGIN: &str = "com.example.lanes";
const IMAGE: usize = 64 * 1024;
const IMAGES: usize = 40;

fn image(instance: usize) -> ActionCellStatus {
    ActionCellStatus {
        action_instance_id: format!("cover-{instance}"),
        action_id: "com.example.lanes.cover".into(),
        image: Some("A".repeat(IMAGE)),
        ..ActionCellStatus::default()
    }
}

/// The bytes `update` takes on a byte stream, length prefix included.
fn framed_len(update: &ActionCellStatus) -> usize {
    let mut out = bytes::BytesMut::new();
    let envelope = Envelope::request(0, update.clone());
    encode_frame(&envelope, DEFAULT_MAX_FRAME_LEN, &mut out).unwrap();
    out.len()
}

/// Waits for `work` while `beside` runs, failing the test after 10 seconds.
fn run<T>(work: impl Future<Output = T>, beside: impl Future<Output = ()>) -> T {
    block_on(future::or(
        future::or(work, async {
            beside.await;
            panic!("a driver ended");
        }),
        async {
            async_io::Timer::after(Duration::from_secs(10)).await;
            panic!("timed out");
        },
    ))
}

type Side<S> = (Connection<S>, Driver<S, StreamTransport<MemoryStream>>);

/// A manager (with no rate limit) and a plugin over the in-memory pipe, handshaken.
fn connected_pair() -> (Side<ManagerSession>, Side<PluginSession>) {
    let (manager_end, plugin_end) = memory::pair();
    let registry: HashMap<String, String> = [(PLUGIN.to_string(), "code".to_string())].into();
    let mut manager_config = ManagerConfig::new("1.0.0");
    manager_config.rate_limit = None;
    let (manager, manager_driver) = connect(
        ManagerSession::new(Instant::now(), manager_config),
        StreamTransport::new(manager_end),
    );
    let admitting = Admitting::new(Admission::new(Arc::new(registry)));
    let mut manager_driver = manager_driver.with_judge(admitting);
    let (plugin, mut plugin_driver) = connect(
        PluginSession::new(Instant::now(), PluginConfig::new(PLUGIN, "code", "1.0.0")),
        StreamTransport::new(plugin_end),
    );
    let connected = async {
        while !matches!(plugin.next_event().await, Some(Event::Connected(_))) {}
        while !matches!(manager.next_event().await, Some(Event::Connected(_))) {}
    };
    run(connected, async {
        future::zip(&mut manager_driver, &mut plugin_driver).await;
    });
    ((manager, manager_driver), (plugin, plugin_driver))
}

#[test]
fn a_press_answer_passes_an_image_flood_the_manager_has_not_read_yet() {
    let ((manager, mut manager_driver), (plugin, mut plugin_driver)) = connected_pair();

    // The plugin floods while its manager reads nothing: the pipe fills, and the rest waits.
    let frames_before = run(
        plugin.with(|session, _| session.stats().frames_out),
        async {
            (&mut plugin_driver).await;
        },
    )
    .unwrap();
    let flood = plugin.with(|session, now| {
        for instance in 0..IMAGES {
            session.send_notification(now, image(instance)).unwrap();
        }
    });
    let settle = async {
        flood.await.unwrap();
        async_io::Timer::after(Duration::from_millis(100)).await;
    };
    run(settle, async {
        (&mut plugin_driver).await;
    });
    let left = run(
        plugin.with(|session, _| session.stats().frames_out),
        async {
            (&mut plugin_driver).await;
        },
    )
    .unwrap()
        - frames_before;
    // The pipe takes three images and all but a few hundred bytes of a fourth; no fifth is
    // queued behind that unfinished one, where a press's answer would wait for it too.
    let room = PIPE_CAPACITY.div_ceil(framed_len(&image(0)));
    assert!(
        (left as usize) <= room,
        "{left} images left the session with no room for them (at most {room} fit)"
    );

    // Now a press: the plugin answers it, and the answer passes the images still waiting.
    let images_seen = Arc::new(AtomicUsize::new(0));
    let seen_at_answer = Arc::new(AtomicUsize::new(usize::MAX));
    let plugin_app = async {
        while let Some(event) = plugin.next_event().await {
            if let Event::Request { id, .. } = event {
                plugin.respond(id, Reply::Ok).await.unwrap();
            }
        }
    };
    let manager_app = async {
        let (seen, at_answer) = (images_seen.clone(), seen_at_answer.clone());
        let waiting = manager.events();
        // Run by the driver as the answer arrives: images taken, and images delivered before it
        // and not yet taken.
        let on_answer = move |answer: Result<_, _>| {
            assert!(answer.is_ok(), "the press was not answered: {answer:?}");
            let ahead = seen.load(Ordering::SeqCst) + waiting.len();
            at_answer.store(ahead, Ordering::SeqCst);
        };
        manager
            .request_with_callback(TriggerAction::default(), Duration::from_secs(5), on_answer)
            .await
            .unwrap();
        while images_seen.load(Ordering::SeqCst) < IMAGES {
            if let Some(Event::Notification { .. }) = manager.next_event().await {
                images_seen.fetch_add(1, Ordering::SeqCst);
            }
        }
    };
    let drivers = future::zip(&mut manager_driver, &mut plugin_driver);
    run(manager_app, async {
        future::zip(drivers, plugin_app).await;
    });
    let ahead = seen_at_answer.load(Ordering::SeqCst);
    assert!(
        ahead < IMAGES / 2,
        "the answer came after {ahead} of {IMAGES} images"
    );
}

#[test]
fn a_status_update_still_leaves_while_the_manager_streams_input_without_a_pause() {
    // About 700 KiB of dial updates, queued at once: the plugin finds input on every read.
    const DIALS: usize = 8_000;
    let ((manager, mut manager_driver), (plugin, mut plugin_driver)) = connected_pair();
    let dials_seen = AtomicUsize::new(0);
    let seen_at_status = AtomicUsize::new(usize::MAX);
    let dial = || UpdateAnalogControl {
        analog_control_id: "volume".into(),
        instance_id: "dial-1".into(),
        configuration: None,
        update_type: Some(UpdateType::Delta(1.0)),
    };
    let plugin_app = async {
        while let Some(event) = plugin.next_event().await {
            if let Event::Notification { .. } = event
                && dials_seen.fetch_add(1, Ordering::SeqCst) == 0
            {
                // The plugin draws the new volume after the first step, as the stream goes on.
                plugin.notify(image(0)).await.unwrap();
            }
        }
    };
    let manager_app = async {
        manager
            .with(move |session, now| {
                for _ in 0..DIALS {
                    session.send_notification(now, dial()).unwrap();
                }
            })
            .await
            .unwrap();
        while !matches!(manager.next_event().await, Some(Event::Notification { .. })) {}
        seen_at_status.store(dials_seen.load(Ordering::SeqCst), Ordering::SeqCst);
    };
    let drivers = future::zip(&mut manager_driver, &mut plugin_driver);
    run(manager_app, async {
        future::zip(drivers, plugin_app).await;
    });
    let seen = seen_at_status.load(Ordering::SeqCst);
    assert!(
        seen < DIALS / 2,
        "the status update waited until {seen} of {DIALS} dial updates were taken"
    );
}

#[test]
fn image_updates_keep_leaving_when_the_driver_runs_on_an_executor_that_does_not_spin() {
    // The plugin's driver alone on a thread of `async_io::block_on`, as under `smol::spawn` or
    // tokio: no spin polls it again, so only its own wakes move the images on.
    const UPDATES: usize = 20;
    let ((manager, mut manager_driver), (plugin, plugin_driver)) = connected_pair();
    let plugin_thread = std::thread::spawn(move || async_io::block_on(plugin_driver));
    let received = async {
        plugin
            .with(|session, now| {
                for instance in 0..UPDATES {
                    session.send_notification(now, image(instance)).unwrap();
                }
            })
            .await
            .unwrap();
        let mut received = 0;
        while received < UPDATES {
            if let Some(Event::Notification { .. }) = manager.next_event().await {
                received += 1;
            }
        }
    };
    // Well inside the plugin's first heartbeat, the next thing that would have woken it.
    let started = Instant::now();
    run(received, async {
        (&mut manager_driver).await;
    });
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the images took {:?}",
        started.elapsed()
    );
    drop((plugin, manager, manager_driver));
    plugin_thread.join().unwrap();
}
