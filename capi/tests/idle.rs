//! An idle handle wakes nobody: the standby thread (`logi-plugin-connection`), which looks
//! every few milliseconds while callbacks come, sleeps once none has come for a second, until
//! the next one. Alone in its test binary, so that no other handle's threads are counted.

#![cfg(target_os = "linux")]

mod support;

use std::time::Duration;

use logi_plugin::*;
use support::Manager;

/// The context switches so far of this process's threads named `name` (as the kernel keeps
/// it: the first 15 bytes).
fn switches_of(name: &str) -> u64 {
    let name = &name[..name.len().min(15)];
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm")).is_ok_and(|comm| comm.trim() == name)
        })
        .filter_map(|task| std::fs::read_to_string(task.path().join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter(|line| line.contains("ctxt_switches"))
                .filter_map(|line| line.split_whitespace().last()?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}

#[test]
fn an_idle_handle_lets_its_standby_thread_sleep() {
    let manager = Manager::start();
    let client = manager.client();
    // SAFETY: the live handle, freed at the end.
    assert_eq!(unsafe { logi_plugin_client_connect(client) }, LOGI_SUCCESS);
    let _connection = manager.handshake(client);
    // The hello's callback was the last: a second and a half later the standby sleeps.
    std::thread::sleep(Duration::from_millis(1_500));
    let before = switches_of("logi-plugin-connection");
    std::thread::sleep(Duration::from_secs(1));
    let woken = switches_of("logi-plugin-connection") - before;
    // SAFETY: the live handle, freed once.
    unsafe { logi_plugin_client_free(client) };
    assert!(
        woken <= 5,
        "the idle standby thread was switched to {woken} times in 1 s"
    );
}
