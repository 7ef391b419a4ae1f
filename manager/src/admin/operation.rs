//! Operations in progress (provd's "operation in progress" resource): an install or upgrade is
//! answered `201 Created` with a `Location` at once, and that resource says how far it got,
//! in provd's status format `label|state;current/end(sub)(sub)...`, e.g.
//! `install|progress;1/3(fetch|success)(install|progress)(start|waiting)`.
//!
//! A finished operation stays until it is deleted (as in provd); past [`KEPT`] operations the
//! oldest finished ones are let go, so a client that never deletes cannot grow the host without
//! bound.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use logi_plugin_transports::lock::lock;

/// How many operations are kept before finished ones are dropped, oldest first.
pub(crate) const KEPT: usize = 256;

/// Where an operation or one of its steps is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    Waiting,
    Progress,
    Success,
    Fail,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Waiting => "waiting",
            State::Progress => "progress",
            State::Success => "success",
            State::Fail => "fail",
        }
    }
}

/// One operation: a label and its steps, run in order.
#[derive(Clone, Debug)]
pub(crate) struct Operation {
    label: &'static str,
    steps: Vec<(&'static str, State)>,
    error: Option<String>,
}

impl Operation {
    /// An operation whose steps all wait.
    pub fn new(label: &'static str, steps: &[&'static str]) -> Operation {
        Operation {
            label,
            steps: steps.iter().map(|step| (*step, State::Waiting)).collect(),
            error: None,
        }
    }

    /// The operation's own state: failed if a step failed, done when every step is.
    pub fn state(&self) -> State {
        let states = || self.steps.iter().map(|(_, state)| *state);
        if states().any(|state| state == State::Fail) {
            State::Fail
        } else if states().all(|state| state == State::Success) {
            State::Success
        } else {
            State::Progress
        }
    }

    /// `step` has started.
    pub fn begin(&mut self, step: &str) {
        self.set(step, State::Progress);
    }

    /// `step` is done.
    pub fn finish(&mut self, step: &str) {
        self.set(step, State::Success);
    }

    /// The step in progress failed, for `error`.
    pub fn fail(&mut self, error: String) {
        if let Some(step) = self.steps.iter_mut().find(|(_, s)| *s == State::Progress) {
            step.1 = State::Fail;
        } else if let Some(step) = self.steps.iter_mut().find(|(_, s)| *s == State::Waiting) {
            step.1 = State::Fail;
        }
        self.error = Some(error);
    }

    fn set(&mut self, step: &str, state: State) {
        if let Some(found) = self.steps.iter_mut().find(|(name, _)| *name == step) {
            found.1 = state;
        }
    }

    /// provd's status string.
    pub fn status(&self) -> String {
        let done = self
            .steps
            .iter()
            .filter(|(_, state)| *state == State::Success)
            .count();
        let mut status = format!(
            "{}|{};{done}/{}",
            self.label,
            self.state().as_str(),
            self.steps.len()
        );
        for (name, state) in &self.steps {
            status.push_str(&format!("({name}|{})", state.as_str()));
        }
        status
    }

    /// The resource: `{"status": ...}`, and why it failed when it did (not in provd, which
    /// keeps the reason in its log).
    pub fn to_json(&self) -> Value {
        match &self.error {
            Some(error) => json!({ "status": self.status(), "error": error }),
            None => json!({ "status": self.status() }),
        }
    }
}

/// An operation that its task updates while the resource reads it.
pub(crate) type Shared = Arc<Mutex<Operation>>;

/// The operations of one admin port, by number.
#[derive(Default)]
pub(crate) struct Operations {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next: u64,
    /// Each operation's resource path and state.
    by_number: BTreeMap<u64, (String, Shared)>,
}

impl Operations {
    /// Keeps `operation` at `<base>/<n>`; returns that path and the handle to update it by.
    pub fn create(&self, base: &str, operation: Operation) -> (String, Shared) {
        let mut inner = lock(&self.inner);
        if inner.by_number.len() >= KEPT {
            let finished = inner
                .by_number
                .iter()
                .find(|(_, (_, op))| lock(op).state() != State::Progress)
                .map(|(number, _)| *number);
            if let Some(number) = finished {
                inner.by_number.remove(&number);
            }
        }
        inner.next += 1;
        let number = inner.next;
        let location = format!("{base}/{number}");
        let shared = Arc::new(Mutex::new(operation));
        inner
            .by_number
            .insert(number, (location.clone(), shared.clone()));
        (location, shared)
    }

    /// The operation at `path`, if there is one.
    pub fn get(&self, path: &str) -> Option<Value> {
        let inner = lock(&self.inner);
        let (_, op) = inner.by_number.get(&number(path)?)?;
        (op_path(&inner, path)).then(|| lock(op).to_json())
    }

    /// Forgets the operation at `path` (it goes on running); whether there was one.
    pub fn delete(&self, path: &str) -> bool {
        let mut inner = lock(&self.inner);
        let Some(number) = number(path).filter(|_| op_path(&inner, path)) else {
            return false;
        };
        inner.by_number.remove(&number).is_some()
    }
}

/// Whether `path` is the path of the operation its number names.
fn op_path(inner: &Inner, path: &str) -> bool {
    number(path)
        .and_then(|number| inner.by_number.get(&number))
        .is_some_and(|(location, _)| location == path)
}

fn number(path: &str) -> Option<u64> {
    path.rsplit('/').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_operation_is_in_progress_with_every_step_waiting() {
        let op = Operation::new("install", &["fetch", "install"]);
        assert_eq!(
            op.status(),
            "install|progress;0/2(fetch|waiting)(install|waiting)"
        );
        assert_eq!(op.to_json(), json!({"status": op.status()}));
    }

    #[test]
    fn steps_advance_to_success() {
        let mut op = Operation::new("install", &["fetch", "install"]);
        op.begin("fetch");
        op.finish("fetch");
        op.begin("install");
        assert_eq!(
            op.status(),
            "install|progress;1/2(fetch|success)(install|progress)"
        );
        op.finish("install");
        assert_eq!(
            op.status(),
            "install|success;2/2(fetch|success)(install|success)"
        );
    }

    #[test]
    fn a_failed_step_fails_the_operation_with_its_reason() {
        let mut op = Operation::new("upgrade", &["fetch", "install"]);
        op.begin("fetch");
        op.fail("no package".into());
        assert_eq!(op.state(), State::Fail);
        assert_eq!(
            op.to_json(),
            json!({"status": "upgrade|fail;0/2(fetch|fail)(install|waiting)", "error": "no package"})
        );
    }

    #[test]
    fn an_operation_is_found_only_at_its_own_path_until_deleted() {
        let ops = Operations::default();
        let (location, _) = ops.create("/a/install", Operation::new("install", &["x"]));
        assert_eq!(location, "/a/install/1");
        assert!(ops.get("/a/install/1").is_some());
        assert!(ops.get("/b/install/1").is_none());
        assert!(ops.get("/a/install/2").is_none());
        assert!(!ops.delete("/b/install/1"));
        assert!(ops.delete("/a/install/1"));
        assert!(ops.get("/a/install/1").is_none());
    }

    #[test]
    fn past_the_bound_the_oldest_finished_operation_goes() {
        let ops = Operations::default();
        let (_, first) = ops.create("/op", Operation::new("install", &["x"]));
        let (_, second) = ops.create("/op", Operation::new("install", &["x"]));
        lock(&second).finish("x");
        for _ in 2..KEPT {
            ops.create("/op", Operation::new("install", &["x"]));
        }
        ops.create("/op", Operation::new("install", &["x"]));
        // The first is still running, so the second (finished) made room.
        assert!(ops.get("/op/1").is_some());
        assert!(ops.get("/op/2").is_none());
        drop(first);
    }
}
