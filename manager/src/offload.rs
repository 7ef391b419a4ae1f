//! File and `/proc` work done off the executor: reading and hashing packages (tens of
//! megabytes), walking `/proc`. It runs on a thread of its own, which ends with the work.
//!
//! Not on `blocking`'s pool (`smol::unblock`): a thread of that pool, once started, stays for
//! good and wakes every 500 ms to see whether it may end, which it may not (blocking 1.7); an
//! idle daemon would wake twice a second, forever, after its first install.

use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use logi_plugin_transports::lock::lock;

/// Runs `work` off the executor and returns what it returns (a panic in it is resumed here).
/// Where no thread can be started (the system's limit reached), it runs here, on the executor:
/// slower for the others, but done.
pub(crate) async fn off_executor<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (done, result) = async_channel::bounded(1);
    let work = Arc::new(Mutex::new(Some(work)));
    let on_thread = work.clone();
    let started = std::thread::Builder::new()
        .name("logi-plugin-io".into())
        .spawn(move || {
            if let Some(work) = lock(&on_thread).take() {
                let _ = done.send_blocking(panic::catch_unwind(AssertUnwindSafe(work)));
            }
        });
    if started.is_err()
        && let Some(work) = lock(&work).take()
    {
        return work();
    }
    match result.recv().await {
        Ok(Ok(value)) => value,
        Ok(Err(panicked)) => panic::resume_unwind(panicked),
        Err(_) => unreachable!("the thread sends its outcome before it ends"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn work_done_off_the_executor_leaves_no_thread_behind() {
        use std::time::{Duration, Instant};
        let task = smol::block_on(off_executor(|| {
            std::fs::read_link("/proc/thread-self").unwrap()
        }));
        let task = std::path::Path::new("/proc").join(task);
        let deadline = Instant::now() + Duration::from_secs(3);
        while task.exists() {
            assert!(
                Instant::now() < deadline,
                "the thread that did the work ({}) still waits for more after 3 s",
                task.display()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn a_panic_in_the_work_is_resumed_in_the_caller() {
        let caught =
            std::panic::catch_unwind(|| smol::block_on(off_executor(|| panic!("the work failed"))));
        let panic = caught.unwrap_err();
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"the work failed"));
    }
}
