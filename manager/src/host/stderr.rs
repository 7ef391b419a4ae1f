//! A plugin's stderr on its way to the host's log, within limits. Lines are cut at
//! [`MAX_LINE`] bytes and pass a token bucket ([`LINES_PER_SECOND`], bursts of [`BURST`]);
//! the others are dropped, counted in a note at most every [`NOTE_EVERY`] (and when stderr
//! closes), and the last of them kept for the stop report. A flood costs the host the reading
//! and a scan for line ends, never memory beyond one cut line, and the plugin never waits on a
//! full pipe.
//!
//! Sans-IO: the bytes read and the time come in, what to log comes out; the reading is done in
//! `process.rs`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::diagnostics::KEPT_LOG_LINES;

/// How many stderr lines a plugin may log a second, once its burst is spent.
pub(super) const LINES_PER_SECOND: u32 = 20;

/// How many stderr lines a plugin may log at once, after a quiet spell.
pub(super) const BURST: u32 = 200;

/// The longest stderr line logged, in bytes; the rest of a longer line is cut.
pub(super) const MAX_LINE: usize = 4096;

/// How often, at most, dropped lines are counted in the log while they are being dropped.
pub(super) const NOTE_EVERY: Duration = Duration::from_secs(5);

/// How much of stderr is read at a time.
pub(super) const CHUNK: usize = 64 * 1024;

/// What became of the lines of one read, in the order they were written.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Batch {
    /// Lines to log.
    pub(super) logged: Vec<String>,
    /// The last lines not logged (at most [`KEPT_LOG_LINES`]), oldest first, for the stop
    /// report; they came after every line of `logged`.
    pub(super) dropped: Vec<String>,
    /// How many lines were dropped since the last such note, when it is time to say so; it
    /// comes after the lines above.
    pub(super) note: Option<String>,
}

/// Turns a plugin's stderr into lines to log.
#[derive(Debug)]
pub(super) struct StderrFilter {
    /// Lines that may be logged now (a token bucket).
    tokens: f64,
    /// When `tokens` was last refilled.
    refilled: Instant,
    /// The line being read, up to [`MAX_LINE`] bytes.
    line: Vec<u8>,
    /// How many bytes of it were past [`MAX_LINE`].
    cut: usize,
    /// Lines dropped since the last note.
    dropped: u64,
    /// When the first of them was dropped.
    dropping_since: Option<Instant>,
    /// The last dropped lines, oldest first; their buffers are reused.
    tail: VecDeque<Vec<u8>>,
}

impl StderrFilter {
    /// A filter whose burst is whole at `now`.
    pub(super) fn new(now: Instant) -> StderrFilter {
        StderrFilter {
            tokens: f64::from(BURST),
            refilled: now,
            line: Vec::new(),
            cut: 0,
            dropped: 0,
            dropping_since: None,
            tail: VecDeque::with_capacity(KEPT_LOG_LINES),
        }
    }

    /// Takes `bytes` read from stderr at `now`.
    pub(super) fn feed(&mut self, now: Instant, bytes: &[u8]) -> Batch {
        self.refill(now);
        let mut logged = Vec::new();
        let mut rest = bytes;
        while let Some(end) = rest.iter().position(|&byte| byte == b'\n') {
            self.take(&rest[..end]);
            if let Some(line) = self.end_line(now) {
                logged.push(line);
            }
            rest = &rest[end + 1..];
        }
        self.take(rest);
        self.batch(now, logged, false)
    }

    /// When the count of dropped lines is due, if lines were dropped since the last note.
    pub(super) fn note_due(&self) -> Option<Instant> {
        self.dropping_since.map(|since| since + NOTE_EVERY)
    }

    /// What is due at `now`: the count of dropped lines once [`note_due`](Self::note_due) has
    /// come.
    pub(super) fn poll(&mut self, now: Instant) -> Batch {
        self.batch(now, Vec::new(), false)
    }

    /// Stderr closed at `now`: its unfinished last line, and the count of dropped lines.
    pub(super) fn finish(&mut self, now: Instant) -> Batch {
        self.refill(now);
        let mut logged = Vec::new();
        if (!self.line.is_empty() || self.cut > 0)
            && let Some(line) = self.end_line(now)
        {
            logged.push(line);
        }
        self.batch(now, logged, true)
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        let tokens = self.tokens + elapsed * f64::from(LINES_PER_SECOND);
        self.tokens = tokens.min(f64::from(BURST));
        self.refilled = now;
    }

    /// Adds `bytes` to the line being read, cutting it at [`MAX_LINE`].
    fn take(&mut self, bytes: &[u8]) {
        let room = MAX_LINE - self.line.len();
        let kept = bytes.len().min(room);
        self.line.extend_from_slice(&bytes[..kept]);
        self.cut += bytes.len() - kept;
    }

    /// Ends the line being read: the line to log, or `None` when it is dropped.
    fn end_line(&mut self, now: Instant) -> Option<String> {
        if self.line.last() == Some(&b'\r') && self.cut == 0 {
            self.line.pop();
        }
        let cut = std::mem::take(&mut self.cut);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            let mut line = String::from_utf8_lossy(&self.line).into_owned();
            if cut > 0 {
                line.push_str(&format!(" [{cut} more bytes cut]"));
            }
            self.line.clear();
            return Some(line);
        }
        self.dropped += 1;
        self.dropping_since.get_or_insert(now);
        let reused = if self.tail.len() == KEPT_LOG_LINES {
            self.tail.pop_front()
        } else {
            None
        };
        let mut kept = reused.unwrap_or_default();
        kept.clear();
        std::mem::swap(&mut kept, &mut self.line);
        self.tail.push_back(kept);
        None
    }

    /// The batch of `logged` lines at `now`, with the lines dropped since the last batch and,
    /// when it is due (or at the `end`), the count of those dropped since the last note.
    fn batch(&mut self, now: Instant, logged: Vec<String>, end: bool) -> Batch {
        let dropped = self
            .tail
            .drain(..)
            .map(|line| String::from_utf8_lossy(&line).into_owned())
            .collect();
        let due = self.note_due().is_some_and(|due| due <= now);
        let note = (self.dropped > 0 && (due || end)).then(|| {
            let count = std::mem::take(&mut self.dropped);
            self.dropping_since = None;
            format!(
                "stderr: {count} lines dropped (over {LINES_PER_SECOND} lines a second, in \
                 bursts of {BURST}); the last are kept for the stop report"
            )
        });
        Batch {
            logged,
            dropped,
            note,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(count: usize, text: &str) -> Vec<u8> {
        (0..count)
            .flat_map(|i| format!("{text} {i}\n").into_bytes())
            .collect()
    }

    #[test]
    fn a_burst_is_logged_whole_then_lines_pass_at_the_rate() {
        let start = Instant::now();
        let mut filter = StderrFilter::new(start);
        let first = filter.feed(start, &lines(BURST as usize + 30, "line"));
        assert_eq!(first.logged.len(), BURST as usize);
        assert_eq!(first.logged[0], "line 0");
        assert_eq!(first.dropped.len(), KEPT_LOG_LINES);
        assert_eq!(
            first.dropped.last().map(String::as_str),
            Some(format!("line {}", BURST + 29).as_str())
        );
        assert_eq!(first.note, None);
        let later = filter.feed(start + Duration::from_secs(1), &lines(100, "later"));
        assert_eq!(later.logged.len(), LINES_PER_SECOND as usize);
    }

    #[test]
    fn dropped_lines_are_counted_every_few_seconds_and_at_the_end() {
        let start = Instant::now();
        let mut filter = StderrFilter::new(start);
        let flood = lines(BURST as usize + 10, "flood");
        assert_eq!(filter.feed(start, &flood).note, None);
        assert_eq!(filter.note_due(), Some(start + NOTE_EVERY));
        let due = filter.poll(start + NOTE_EVERY);
        let note = due.note.unwrap();
        assert!(note.starts_with("stderr: 10 lines dropped"), "{note}");
        assert_eq!(filter.note_due(), None);
        // Over again once what came back meanwhile is spent, then stderr closes before the
        // next note is due.
        let again = start + NOTE_EVERY;
        let refilled = LINES_PER_SECOND as usize * NOTE_EVERY.as_secs() as usize;
        let batch = filter.feed(again, &lines(refilled + 3, "again"));
        assert_eq!(batch.logged.len(), refilled);
        assert_eq!(batch.note, None);
        let end = filter.finish(again).note.unwrap();
        assert!(end.starts_with("stderr: 3 lines dropped"), "{end}");
    }

    #[test]
    fn a_long_line_is_cut_even_across_reads() {
        let start = Instant::now();
        let mut filter = StderrFilter::new(start);
        let long = vec![b'x'; MAX_LINE + 100];
        let (first, second) = long.split_at(MAX_LINE - 10);
        assert!(filter.feed(start, first).logged.is_empty());
        assert!(filter.feed(start, second).logged.is_empty());
        let batch = filter.feed(start, b"\nnext\r\n");
        assert_eq!(batch.logged.len(), 2);
        assert_eq!(
            batch.logged[0],
            format!("{} [100 more bytes cut]", "x".repeat(MAX_LINE))
        );
        assert_eq!(batch.logged[1], "next");
    }

    #[test]
    fn an_unfinished_last_line_is_logged_when_stderr_closes() {
        let start = Instant::now();
        let mut filter = StderrFilter::new(start);
        assert!(filter.feed(start, b"no newline").logged.is_empty());
        assert_eq!(filter.finish(start).logged, ["no newline"]);
    }
}
