//! Memory held by idle plugin sessions: 1,000 plugins say hello over Unix domain sockets to one
//! listener and then stay quiet; the bytes the manager side holds, per session, must stay under
//! 64 KiB. A counting allocator measures them (the plugins are bare sockets that allocate
//! nothing once connected).
#![cfg(unix)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};

use bytes::BytesMut;
use logi_plugin_core::Envelope;
use logi_plugin_core::codec::frame::encode_frame;
use logi_plugin_core::proto::plugin::PluginHello;
use logi_plugin_core::session::{Admission, Event, ManagerConfig};
use logi_plugin_transports::ManagerListener;
use logi_plugin_transports::local::LocalListener;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const SESSIONS: usize = 1_000;
const BUDGET: isize = 64 * 1024;

#[test]
fn a_thousand_idle_sessions_hold_under_64_kib_each() {
    smol::block_on(async {
        let path = std::env::temp_dir().join(format!("logi-idle-{}.sock", std::process::id()));
        // One id per session, the warm-up's included: a plugin id has one live session at most.
        let registry: HashMap<String, String> = (0..=SESSIONS)
            .map(|i| (format!("com.example.idle{i}"), "code".to_string()))
            .collect();
        let admission = Admission::new(Arc::new(registry));
        let mut listener = ManagerListener::new(ManagerConfig::new("1.0.0"), admission)
            .with_local(LocalListener::bind(&path).unwrap());
        // Warm up the executor, the reactor and the listener with one session, then measure.
        let mut held = Vec::new();
        let hello = |i: usize| {
            let mut plugin = UnixStream::connect(&path).unwrap();
            let mut frame = BytesMut::new();
            let hello = PluginHello {
                plugin_id: format!("com.example.idle{i}"),
                plugin_code: "code".into(),
                plugin_version: "1.0.0".into(),
                protocol_version: 1,
            };
            encode_frame(&Envelope::request(1, hello), usize::MAX, &mut frame).unwrap();
            plugin.write_all(&frame).unwrap();
            plugin
        };
        held.push(hello(0));
        let (connection, driver) = listener.accept().await.unwrap();
        let mut tasks = vec![smol::spawn(driver)];
        assert!(matches!(
            connection.next_event().await,
            Some(Event::Connected(_))
        ));
        let mut connections = vec![connection];
        let before = LIVE.load(Ordering::Relaxed);
        for i in 1..=SESSIONS {
            held.push(hello(i));
            let (connection, driver) = listener.accept().await.unwrap();
            tasks.push(smol::spawn(driver));
            assert!(matches!(
                connection.next_event().await,
                Some(Event::Connected(_))
            ));
            connections.push(connection);
        }
        let per_session = (LIVE.load(Ordering::Relaxed) - before) / SESSIONS as isize;
        println!("{SESSIONS} idle sessions: {per_session} bytes each (budget {BUDGET})");
        assert!(per_session < BUDGET, "{per_session} bytes per session");
        drop(connections);
        drop(tasks);
    });
}
