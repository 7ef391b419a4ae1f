//! The one lock helper of the workspace, in a module that imports nothing, so that the modules
//! sharing state (the driver, the event queues, the reconnect loop here; the SDK client; the
//! host) need not import each other for it.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, taking the value even if a panicking thread poisoned it: what these locks
/// guard is plain data, left consistent between statements.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
