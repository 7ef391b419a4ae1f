//! The one lock helper of this crate, in a module that imports nothing of it, so that the
//! modules sharing state (the host, the work it hands off the executor) need not import each
//! other for it.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, taking the value even if a panicking thread poisoned it: what these locks
/// guard is plain data, left consistent between statements.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
