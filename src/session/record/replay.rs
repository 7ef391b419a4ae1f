//! Replaying a recording into a fresh session: the recorded inputs and commands go in at their
//! recorded times, and what the session writes is compared with what was recorded.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{Record, Step};
use crate::session::{Event, Frame, Input, Output, Reply, Session, Verdict, Wake};

/// How much later than a recorded deadline replay accepts the session's own deadline: the gap
/// between a session's creation and the start of its recording.
const BIRTH_SLACK: Duration = Duration::from_millis(5);

/// How many rounds of output a replay takes looking for a frame the recording says was written:
/// a round that handed out an event may hold bulk frames back, never two in a row.
const ROUNDS: usize = 3;

/// What a replay saw.
#[derive(Debug, Default)]
pub struct Replay {
    /// Every step fed and every event the session gave, in order, as text.
    pub lines: Vec<String>,
    /// How many written frames were compared with the recording.
    pub compared: usize,
    /// The first frame the fresh session wrote differently from the recording: its place among
    /// the written frames, what was recorded, and what was written (`None`: nothing).
    pub divergence: Option<(usize, Frame, Option<Frame>)>,
}

/// Feeds the recorded inputs into `session` (begun at `start`, built from the recording's
/// header) at their recorded times, and compares what it writes with what was recorded.
pub fn replay<S: Session>(mut session: S, start: Instant, records: &[Record]) -> Replay
where
    S::PeerHello: std::fmt::Debug,
{
    let mut replay = Replay::default();
    let mut written = Written::default();
    for record in records {
        let now = start + record.at;
        let input = |session: &mut S, input| {
            session
                .handle_input(now, input)
                .map_err(|error| error.to_string())
        };
        let fed = match &record.step {
            Step::Bytes(bytes) => input(&mut session, Input::Bytes(bytes)),
            Step::Frame(frame) => input(&mut session, Input::Frame(frame.clone())),
            Step::End => input(&mut session, Input::End),
            Step::Failed(what) => input(&mut session, Input::Failed(what.clone())),
            Step::Timeout => {
                // A driver handles a deadline once it is due, but its recording may have begun
                // a moment after the session it records: a deadline set at the session's birth
                // is then due a hair after the recorded time.
                let due = written
                    .wake
                    .map(|wake| wake.at)
                    .filter(|due| *due <= now + BIRTH_SLACK);
                let at = due.map_or(now, |due| due.max(now));
                let handled = session.handle_input(at, Input::Timeout);
                handled.map_err(|error| error.to_string())
            }
            Step::Request(message, timeout) => session
                .send_request(now, message.clone(), *timeout)
                .map(drop)
                .map_err(|e| e.to_string()),
            Step::Notify(message) => session
                .send_notification(now, message.clone())
                .map_err(|e| e.to_string()),
            Step::Respond(id, reply) => session
                .respond(now, *id, reply.clone())
                .map_err(|e| e.to_string()),
            Step::Close => {
                session.close(now);
                Ok(())
            }
            Step::Admit(verdict) => session
                .admit(now, verdict.clone())
                .map_err(|e| e.to_string()),
            Step::Sent(expected) => {
                let got = written.take(&mut session, expected, &mut replay.lines);
                if replay.divergence.is_none() && got.as_ref() != Some(expected) {
                    replay.divergence = Some((replay.compared, expected.clone(), got));
                }
                replay.compared += 1;
                continue;
            }
        };
        let mut line = format!(
            "{:>10.3} ms  {}",
            record.at.as_secs_f64() * 1000.0,
            describe(&record.step)
        );
        if let Err(error) = fed {
            line.push_str(&format!(" -> refused: {error}"));
        }
        replay.lines.push(line);
        written.pull(&mut session, &mut replay.lines);
    }
    replay
}

/// What the replayed session has written and the recording has not yet been compared with,
/// and the last time it asked to be woken.
#[derive(Default)]
struct Written {
    frames: VecDeque<Frame>,
    wake: Option<Wake>,
}

impl Written {
    /// Takes one round of the session's output: its events are noted in `lines`, its frames
    /// kept for comparing. `true` if it wrote any.
    fn pull<S: Session>(&mut self, session: &mut S, lines: &mut Vec<String>) -> bool
    where
        S::PeerHello: std::fmt::Debug,
    {
        let mut wrote = false;
        loop {
            match session.poll_output(0) {
                Output::Event(event) => {
                    lines.push(format!("              event {}", event_text(&event)));
                }
                Output::Transmit(transmit) => {
                    self.frames.push_back(transmit.frame);
                    wrote = true;
                }
                Output::Timeout(wake) => {
                    self.wake = Some(wake);
                    return wrote;
                }
                Output::Idle => {
                    self.wake = None;
                    return wrote;
                }
            }
        }
    }

    /// What the session wrote in place of `expected`. A byte stream's bytes are compared as a
    /// stream: how a driver grouped them into writes is not the session's doing.
    fn take<S: Session>(
        &mut self,
        session: &mut S,
        expected: &Frame,
        lines: &mut Vec<String>,
    ) -> Option<Frame>
    where
        S::PeerHello: std::fmt::Debug,
    {
        for _ in 0..ROUNDS {
            if self.frames.is_empty() && !self.pull(session, lines) {
                continue;
            }
            let Frame::Binary(want) = expected else {
                return self.frames.pop_front();
            };
            if !matches!(self.frames.front(), Some(Frame::Binary(_))) {
                return self.frames.pop_front();
            }
            let mut got = Vec::with_capacity(want.len());
            while got.len() < want.len() {
                let Some(Frame::Binary(mut piece)) = self.frames.pop_front() else {
                    break;
                };
                let rest = piece.split_off(piece.len().min(want.len() - got.len()));
                got.extend_from_slice(&piece);
                if !rest.is_empty() {
                    self.frames.push_front(Frame::Binary(rest));
                }
                if got.len() < want.len() && self.frames.is_empty() {
                    self.pull(session, lines);
                }
            }
            return Some(Frame::Binary(Bytes::from(got)));
        }
        None
    }
}

fn describe(step: &Step) -> String {
    match step {
        Step::Bytes(bytes) => format!("read {} bytes", bytes.len()),
        Step::Frame(frame) => format!("read a frame of {} bytes", frame.as_bytes().len()),
        Step::End => "the transport ended".into(),
        Step::Failed(what) => format!("the transport failed: {what}"),
        Step::Timeout => "deadline".into(),
        Step::Request(message, timeout) => {
            format!(
                "owner requests {} (timeout {timeout:?})",
                message.full_name()
            )
        }
        Step::Notify(message) => format!("owner notifies {}", message.full_name()),
        Step::Respond(id, reply) => format!("owner answers {id}: {}", reply_text(reply)),
        Step::Close => "owner closes".into(),
        Step::Admit(Verdict::Accept) => "owner accepts the hello".into(),
        Step::Admit(Verdict::Refuse { code, what }) => {
            format!("owner refuses the hello: {} {what}", code.as_str_name())
        }
        Step::Sent(frame) => format!("wrote a frame of {} bytes", frame.as_bytes().len()),
    }
}

fn reply_text(reply: &Reply) -> String {
    match reply {
        Reply::Ok => "SUCCESS".into(),
        Reply::Message(message) => format!("SUCCESS with {}", message.full_name()),
        Reply::Encoded(encoded) => format!("SUCCESS with {}", encoded.message_type().full_name()),
        Reply::Error(code, what) => format!("{} {what}", code.as_str_name()),
    }
}

fn event_text<H: std::fmt::Debug>(event: &Event<H>) -> String {
    match event {
        Event::Request { id, message } => format!("request {id}: {}", message.full_name()),
        Event::Notification { message } => format!("notification: {}", message.full_name()),
        Event::Response {
            id,
            response,
            message,
        } => format!(
            "response {id}: {}{}",
            response.result().as_str_name(),
            message
                .as_ref()
                .map(|m| format!(" with {}", m.full_name()))
                .unwrap_or_default()
        ),
        other => format!("{other:?}"),
    }
}
