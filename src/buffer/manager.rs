//! The buffer manager (seed 7.3): knows which buffer each registered control uses and channels
//! updates, answers and time to them.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use super::{
    Admission, AnalogBuffer, BufferConfig, BufferError, SlotMap, THROUGHPUT, TIMER,
    ThroughputBuffer, TimerBuffer,
};
use crate::proto::plugin::UpdateAnalogControl;

/// Counts of what the manager did with the updates it received.
///
/// Every update received is dispatched, superseded, carried by a delivered update, or still
/// pending: `received == dispatched + superseded + delivered + pending_len()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BufferStats {
    /// Updates given to `on_update`.
    pub received: u64,
    /// Updates dispatched at once: unregistered controls, first updates, slots over the cap.
    pub dispatched: u64,
    /// Updates merged into a newer one, their requests answered as coalesced.
    pub superseded: u64,
    /// Merged updates handed out by `poll_ready`.
    pub delivered: u64,
}

/// Routes each registered control's updates to its buffer (seed 7.3); updates for other controls
/// pass straight through.
///
/// It starts with the built-in buffers [`THROUGHPUT`] and [`TIMER`]; controls registered to the
/// same key share one buffer, each instance in its own slot. Methods come in the order of the
/// sans-IO rule: getters, commands, inputs, outputs (drained after every input).
pub struct BufferManager {
    /// The buffers, in registration order; never removed, so indices stay valid.
    buffers: Vec<Box<dyn AnalogBuffer>>,
    /// The key of each buffer, by index.
    names: Vec<String>,
    /// Buffer index by key.
    keys: HashMap<String, usize>,
    /// Buffer index by registered control id.
    controls: SlotMap<String, usize>,
    /// The last control looked up and its buffer: a flood is one dial's updates in a row, so a
    /// string comparison usually stands in for hashing.
    last_control: Option<(String, usize)>,
    /// The indices of the buffers any control was ever registered to: only those can hold
    /// anything, so only those are told of answers and time (most sessions use one or none).
    in_use: Vec<usize>,
    /// The position in `in_use` that `poll_ready` asks first, so that one busy buffer cannot
    /// starve the others.
    next_poll: usize,
    max_slots: usize,
    stats: BufferStats,
}

impl fmt::Debug for BufferManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufferManager")
            .field("buffers", &self.names)
            .field("controls", &self.controls.len())
            .field("pending_len", &self.pending_len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Default for BufferManager {
    fn default() -> Self {
        BufferManager::new()
    }
}

impl BufferManager {
    /// A manager with the built-in buffers in their default configuration.
    pub fn new() -> BufferManager {
        BufferManager::with_config(BufferConfig::default())
    }

    /// A manager with the built-in buffers configured by `config`.
    pub fn with_config(config: BufferConfig) -> BufferManager {
        let mut manager = BufferManager {
            buffers: Vec::new(),
            names: Vec::new(),
            keys: HashMap::new(),
            controls: SlotMap::default(),
            last_control: None,
            in_use: Vec::new(),
            next_poll: 0,
            max_slots: config.max_slots,
            stats: BufferStats::default(),
        };
        manager.add(
            THROUGHPUT.into(),
            Box::new(ThroughputBuffer::new(config.max_slots)),
        );
        manager.add(
            TIMER.into(),
            Box::new(TimerBuffer::new(config.timer_interval, config.max_slots)),
        );
        manager
    }

    /// Whether any control is registered for buffering (seed 7.3.1).
    pub fn is_buffering_enabled(&self) -> bool {
        !self.controls.is_empty()
    }

    /// The key of the buffer `control_id` is registered to, if it is.
    pub fn buffer_key(&self, control_id: &str) -> Option<&str> {
        let index = *self.controls.get(control_id)?;
        self.names.get(index).map(String::as_str)
    }

    /// The keys of every buffer, in registration order (the built-in ones first).
    pub fn buffer_keys(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// What the manager did with the updates it received.
    pub fn stats(&self) -> BufferStats {
        self.stats
    }

    /// The number of updates held by all buffers and not yet delivered.
    pub fn pending_len(&self) -> usize {
        self.used().map(|b| b.pending_len()).sum()
    }

    /// Registers controls for buffering (seed 7.1.12, 7.3.2): each `(control_id, buffer_key)`
    /// sends that control's updates to the buffer under that key, replacing any earlier
    /// registration of the control.
    ///
    /// If any key names no buffer, nothing is registered and the error names the first such
    /// control and its key. A control moved to another buffer keeps nothing behind: updates its
    /// old buffer still holds are delivered from there.
    pub fn register_controls<I, C, K>(&mut self, controls: I) -> Result<(), BufferError>
    where
        I: IntoIterator<Item = (C, K)>,
        C: Into<String>,
        K: AsRef<str>,
    {
        let mut resolved = Vec::new();
        for (control_id, buffer_key) in controls {
            let control_id = control_id.into();
            let buffer_key = buffer_key.as_ref();
            let Some(&index) = self.keys.get(buffer_key) else {
                return Err(BufferError::UnknownBufferKey {
                    control_id,
                    buffer_key: buffer_key.to_owned(),
                });
            };
            resolved.push((control_id, index));
        }
        for &(_, index) in &resolved {
            if !self.in_use.contains(&index) {
                self.in_use.push(index);
            }
        }
        self.controls.extend(resolved);
        self.last_control = None;
        Ok(())
    }

    /// Registers an app's own buffer under `name` (seed 7.3.3), for `register_controls` to use.
    ///
    /// A name already taken (the built-in ones included) is an error: replacing a buffer would
    /// drop what it holds.
    pub fn register_custom_buffer(
        &mut self,
        name: impl Into<String>,
        buffer: Box<dyn AnalogBuffer>,
    ) -> Result<(), BufferError> {
        let name = name.into();
        if self.keys.contains_key(&name) {
            return Err(BufferError::BufferKeyTaken { buffer_key: name });
        }
        self.add(name, buffer);
        Ok(())
    }

    /// Registers a further [`TimerBuffer`] with windows of `interval` under `name`, with the
    /// manager's slot cap.
    pub fn register_timer_buffer(
        &mut self,
        name: impl Into<String>,
        interval: Duration,
    ) -> Result<(), BufferError> {
        let buffer = TimerBuffer::new(interval, self.max_slots);
        self.register_custom_buffer(name, Box::new(buffer))
    }

    /// Takes an update received as request `request_id` and decides what happens to it now:
    /// dispatched if its control is not registered, otherwise as its buffer decides.
    pub fn on_update(
        &mut self,
        now: Instant,
        request_id: u32,
        update: UpdateAnalogControl,
    ) -> Admission {
        self.stats.received += 1;
        let index = match &self.last_control {
            Some((control, index)) if *control == update.analog_control_id => Some(*index),
            _ => {
                let index = self.controls.get(&update.analog_control_id).copied();
                if let Some(index) = index {
                    self.last_control = Some((update.analog_control_id.clone(), index));
                }
                index
            }
        };
        let buffer = index.and_then(|index| self.buffers.get_mut(index));
        let admission = match buffer {
            Some(buffer) => buffer.on_update(now, request_id, update),
            None => Admission::Dispatch(update),
        };
        match admission {
            Admission::Dispatch(_) => self.stats.dispatched += 1,
            Admission::Held {
                superseded: Some(_),
            } => self.stats.superseded += 1,
            Admission::Held { superseded: None } => {}
        }
        admission
    }

    /// The app answered request `request_id` (any request: ids the buffers did not hand out are
    /// ignored).
    pub fn on_response(&mut self, now: Instant, request_id: u32) {
        // An answer carries only its id, not the control, so every buffer is told (seed 7.3.4:
        // all responses go through the manager); there are few buffers.
        for &index in &self.in_use {
            self.buffers[index].on_response(now, request_id);
        }
    }

    /// Time has reached `now`. Calling it early or twice does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        for &index in &self.in_use {
            self.buffers[index].handle_timeout(now);
        }
    }

    /// The next merged update due for delivery, with the request id to deliver it under.
    #[must_use]
    pub fn poll_ready(&mut self, now: Instant) -> Option<(u32, UpdateAnalogControl)> {
        let count = self.in_use.len();
        for step in 0..count {
            let position = (self.next_poll + step) % count;
            if let Some(ready) = self.buffers[self.in_use[position]].poll_ready(now) {
                self.next_poll = (position + 1) % count;
                self.stats.delivered += 1;
                return Some(ready);
            }
        }
        None
    }

    /// The earliest time at which `handle_timeout` or `poll_ready` has work; `None` when nothing
    /// waits on time.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        for buffer in self.used() {
            if let Some(at) = buffer.poll_timeout()
                && next.is_none_or(|next| at < next)
            {
                next = Some(at);
            }
        }
        next
    }

    fn used(&self) -> impl Iterator<Item = &dyn AnalogBuffer> {
        self.in_use.iter().map(|&index| &*self.buffers[index])
    }

    /// Adds a buffer under a key known to be free.
    fn add(&mut self, name: String, buffer: Box<dyn AnalogBuffer>) {
        self.keys.insert(name.clone(), self.buffers.len());
        self.names.push(name);
        self.buffers.push(buffer);
    }
}
