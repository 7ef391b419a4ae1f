//! Recording a session from outside it: [`Recorded`] wraps any session the owner drives, hands
//! every [`Session`] call on to it, and, once started, notes the call and every frame the
//! session writes. The sessions know nothing of recording.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{Header, Recorder, Step};
use crate::Message;
use crate::session::{
    CloseReason, Input, InputError, LibrarySession, ManagerSession, Output, PluginSession, Refused,
    Reply, SendError, Session, Stats, Verdict,
};

/// A session whose configuration a recording's header holds.
pub trait Recordable: Session {
    /// The header of a recording of this session.
    fn header(&self) -> Header;
}

impl Recordable for ManagerSession {
    fn header(&self) -> Header {
        Header::manager(self.config())
    }
}

impl Recordable for PluginSession {
    fn header(&self) -> Header {
        Header::plugin(self.config())
    }
}

impl Recordable for LibrarySession {
    fn header(&self) -> Header {
        Header::library(self.config())
    }
}

/// A session, driven through [`Session`] as the session itself is, that records every call and
/// every frame written from [`start_recording`](Self::start_recording) on.
///
/// Only what goes through it is recorded: a call made on [`session_mut`](Self::session_mut) is
/// not, so a replay may differ after one that changes what the session does.
#[derive(Debug)]
pub struct Recorded<S> {
    session: S,
    recorder: Option<Recorder>,
    /// The latest time a call brought since recording began: the time of the frames written
    /// (polling takes none).
    latest: Option<Instant>,
}

impl<S> Recorded<S> {
    /// `session`, not recorded until [`start_recording`](Self::start_recording).
    pub fn new(session: S) -> Recorded<S> {
        Recorded {
            session,
            recorder: None,
            latest: None,
        }
    }

    /// The session.
    pub fn session(&self) -> &S {
        &self.session
    }

    /// The session, for calls that are not recorded.
    pub fn session_mut(&mut self) -> &mut S {
        &mut self.session
    }

    /// The session, no longer recorded.
    pub fn into_session(self) -> S {
        self.session
    }

    /// Whether calls are being recorded.
    pub fn is_recording(&self) -> bool {
        self.recorder.is_some()
    }

    /// The recording's bytes since the last call (none when not recording).
    pub fn take_recording(&mut self) -> Vec<u8> {
        self.recorder
            .as_mut()
            .map(Recorder::take)
            .unwrap_or_default()
    }

    /// Notes `step` (made only when recording), at `now`, or at the latest time seen.
    #[inline]
    fn note(&mut self, now: Option<Instant>, step: impl FnOnce() -> Step) {
        let Some(recorder) = &mut self.recorder else {
            return;
        };
        if now.is_some() {
            self.latest = self.latest.max(now);
        }
        let at = now.or(self.latest).unwrap_or(recorder.started());
        recorder.record(at, &step());
    }
}

impl<S: Recordable> Recorded<S> {
    /// Records from `now` on: a new recording, whose header is the session's configuration.
    pub fn start_recording(&mut self, now: Instant) {
        self.recorder = Some(Recorder::new(now, &self.session.header()));
        self.latest = None;
    }
}

impl<S: Session> Session for Recorded<S> {
    type PeerHello = S::PeerHello;

    fn handle_input(&mut self, now: Instant, input: Input<'_>) -> Result<(), InputError> {
        self.note(Some(now), || match &input {
            Input::Bytes(bytes) => Step::Bytes(Bytes::copy_from_slice(bytes)),
            Input::Frame(frame) => Step::Frame(frame.clone()),
            Input::End => Step::End,
            Input::Failed(what) => Step::Failed(what.clone()),
            Input::Timeout => Step::Timeout,
        });
        self.session.handle_input(now, input)
    }
    fn poll_output(&mut self, unwritten: usize) -> Output<S::PeerHello> {
        let output = self.session.poll_output(unwritten);
        if let Output::Transmit(transmit) = &output {
            self.note(None, || Step::Sent(transmit.frame.clone()));
        }
        output
    }
    fn send_request(
        &mut self,
        now: Instant,
        message: impl Into<Message>,
        timeout: Duration,
    ) -> Result<u32, Refused> {
        let message = message.into();
        self.note(Some(now), || Step::Request(message.clone(), timeout));
        self.session.send_request(now, message, timeout)
    }
    fn send_notification(
        &mut self,
        now: Instant,
        message: impl Into<Message>,
    ) -> Result<(), Refused> {
        let message = message.into();
        self.note(Some(now), || Step::Notify(message.clone()));
        self.session.send_notification(now, message)
    }
    fn respond(&mut self, now: Instant, id: u32, reply: Reply) -> Result<(), SendError> {
        self.note(Some(now), || Step::Respond(id, reply.clone()));
        self.session.respond(now, id, reply)
    }
    fn admit(&mut self, now: Instant, verdict: Verdict) -> Result<(), SendError> {
        self.note(Some(now), || Step::Admit(verdict.clone()));
        self.session.admit(now, verdict)
    }
    fn close(&mut self, now: Instant) {
        self.note(Some(now), || Step::Close);
        self.session.close(now)
    }
    fn is_connected(&self) -> bool {
        self.session.is_connected()
    }
    fn close_reason(&self) -> Option<&CloseReason> {
        self.session.close_reason()
    }
    fn stats(&self) -> &Stats {
        self.session.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::record::read;
    use crate::session::{LibraryConfig, PluginConfig};

    #[test]
    fn a_session_is_recorded_only_from_the_start() {
        let now = Instant::now();
        let config = PluginConfig::new("com.example", "code", "1.0.0");
        let mut session = Recorded::new(PluginSession::new(now, config));
        assert!(
            matches!(session.poll_output(0), Output::Transmit(_)),
            "the hello"
        );
        assert!(session.take_recording().is_empty());
        session.start_recording(now);
        session
            .handle_input(now + Duration::from_millis(3), Input::End)
            .unwrap();
        let (header, records) = read(&session.take_recording()).unwrap();
        assert_eq!(header, Header::plugin(session.session().config()));
        let steps: Vec<&Step> = records.iter().map(|record| &record.step).collect();
        assert_eq!(steps, [&Step::End]);
        assert_eq!(records[0].at, Duration::from_millis(3));
    }

    #[test]
    fn a_frame_written_is_recorded_at_the_latest_time_a_call_brought() {
        let now = Instant::now();
        let config = PluginConfig::new("com.example", "code", "1.0.0");
        let mut session = Recorded::new(PluginSession::new(now, config));
        session.start_recording(now);
        session
            .handle_input(now + Duration::from_millis(5), Input::Timeout)
            .unwrap();
        let Output::Transmit(hello) = session.poll_output(0) else {
            panic!("the hello")
        };
        let (_, records) = read(&session.take_recording()).unwrap();
        let last = records.last().unwrap();
        assert_eq!(last.step, Step::Sent(hello.frame));
        assert_eq!(last.at, Duration::from_millis(5));
    }

    #[test]
    fn the_client_library_records_as_the_client_side() {
        let now = Instant::now();
        let mut session = Recorded::new(LibrarySession::new(
            now,
            LibraryConfig::new("Options+", "1.0"),
        ));
        session.start_recording(now);
        let (header, _) = read(&session.take_recording()).unwrap();
        assert_eq!(header.side, "client");
        assert_eq!(
            &header.library_config().unwrap(),
            session.session().config()
        );
    }
}
