//! The part of a session that does not depend on its side: turning input into envelopes and
//! envelopes into output, numbering this side's requests and ending each once, remembering the
//! peer's requests until they are answered, answering what cannot be served, counting, closing.
//! The plugin and manager sessions own a `Link` and add their handshake and timers.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::BytesMut;

use super::correlation::{RequestTracker, TrackError};
use super::direction::Side;
use super::lanes::{LatestQueue, Queued, Route, lane_of};
use super::output::{Input, Lane, Output, Round, Timer, Timers, Transmit, Wake, earliest};
use super::types::{
    CloseReason, Event, Format, Frame, InputError, Refused, Reply, SendError, Stats, Wire,
};
use crate::codec::frame::{EncodeError, FrameDecoder, encode_frame};
use crate::codec::{DecodeError, binary, json};
use crate::ids::IdSet;
use crate::{Envelope, EnvelopeRef, Message, MessageType, ResponseCode, ResponseInfo};

/// Limits shared by both sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most requests of this side waiting for responses at once.
    pub max_in_flight: usize,
    /// The most peer requests waiting for the owner's answer at once; beyond it the session
    /// answers `NOT_READY` itself, so a flooding peer cannot grow memory.
    pub max_peer_pending: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_in_flight: 1024,
            max_peer_pending: 1024,
        }
    }
}

/// One request this side sent.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sent {
    pub(crate) message_type: MessageType,
    /// Sent by the session itself (hello, ping): its ending is the session's, not the owner's.
    pub(crate) internal: bool,
}

/// A decoded envelope the session must handle itself. Answers to the owner's requests never
/// come out here: they go straight to the owner as [`Event::Response`].
pub(crate) enum Incoming {
    /// The answer to a request the session sent itself (hello, ping).
    InternalResponse {
        response: ResponseInfo,
        message: Option<Message>,
    },
    /// A peer request (`id` != 0) or notification (`id` == 0), not yet checked for direction.
    Message { id: u32, message: Message },
}

#[derive(Debug)]
pub(crate) struct Link<H> {
    side: Side,
    wire: Wire,
    /// The message format in use; `None` until the peer's first frame on `FollowPeer`.
    format: Option<Format>,
    decoder: FrameDecoder,
    /// The latest time seen: time never goes backwards inside.
    now: Option<Instant>,
    requests: RequestTracker<Sent>,
    peer_pending: IdSet,
    max_peer_pending: usize,
    inbox: VecDeque<Result<Envelope, DecodeError>>,
    /// Frames for a message transport.
    transmit: VecDeque<Frame>,
    /// Bytes for a byte stream: every queued prompt frame, handed over in one piece.
    out: BytesMut,
    /// Status and image updates, which leave after every prompt frame ([`super::lanes`]).
    bulk: LatestQueue,
    /// Where frames encoded ahead of sending (held back) are made, to reuse its allocation.
    scratch: BytesMut,
    events: VecDeque<Event<H>>,
    /// The round of output under way: when bulk frames leave ([`super::output`]).
    round: Round,
    /// The session's next deadline as last worked out (`Some(None)`: it has none); `None` when
    /// an input or command may have moved it. Rounds of output with nothing in between (a
    /// driver looking again) then cost no look at every deadline.
    wake: Option<Option<Wake>>,
    stats: Stats,
    closed: Option<CloseReason>,
}

impl<H> Link<H> {
    pub(crate) fn new(side: Side, wire: Wire, limits: Limits) -> Link<H> {
        let (format, max_frame_len) = match wire {
            Wire::Stream { max_frame_len } => (Some(Format::Binary), max_frame_len),
            Wire::Messages {
                format: Format::FollowPeer,
            } => (None, usize::MAX),
            Wire::Messages { format } => (Some(format), usize::MAX),
        };
        Link {
            side,
            wire,
            format,
            decoder: FrameDecoder::new(max_frame_len),
            now: None,
            requests: RequestTracker::new(limits.max_in_flight),
            peer_pending: IdSet::default(),
            max_peer_pending: limits.max_peer_pending,
            inbox: VecDeque::new(),
            transmit: VecDeque::new(),
            out: BytesMut::with_capacity(OUT_CAPACITY),
            bulk: LatestQueue::default(),
            scratch: BytesMut::new(),
            events: VecDeque::new(),
            round: Round::default(),
            wake: None,
            stats: Stats::default(),
            closed: None,
        }
    }

    /// `now`, or the latest time already seen if `now` is earlier.
    ///
    /// Every input and command of a session passes here first, so here the deadlines are marked
    /// as possibly moved.
    pub(crate) fn clock(&mut self, now: Instant) -> Instant {
        self.changed();
        let now = self.now.map_or(now, |seen| seen.max(now));
        self.now = Some(now);
        now
    }

    /// Marks the session's deadlines as possibly moved: the next round works its wake out again.
    #[inline]
    pub(crate) fn changed(&mut self) {
        self.wake = None;
    }

    pub(crate) fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The manager's side once the peer's hello said who it is (a plugin or the client library).
    pub(crate) fn set_side(&mut self, side: Side) {
        self.side = side;
    }

    pub(crate) fn stats_mut(&mut self) -> &mut Stats {
        &mut self.stats
    }

    pub(crate) fn closed(&self) -> Option<&CloseReason> {
        self.closed.as_ref()
    }

    /// What the transport brought (not [`Input::Timeout`], the session's own to act on):
    /// `true` if the peer was heard from.
    #[inline]
    pub(crate) fn take_input(&mut self, input: Input<'_>) -> Result<bool, InputError> {
        match input {
            Input::Bytes(bytes) => self.take_bytes(bytes).map(|()| !bytes.is_empty()),
            Input::Frame(frame) => self.take_frame(frame).map(|()| true),
            Input::End => {
                self.take_eof();
                Ok(false)
            }
            Input::Failed(what) => {
                self.close(CloseReason::TransportFailed(what));
                Ok(false)
            }
            Input::Timeout => Ok(false),
        }
    }

    /// Bytes from a byte stream, split anywhere.
    fn take_bytes(&mut self, bytes: &[u8]) -> Result<(), InputError> {
        if !matches!(self.wire, Wire::Stream { .. }) {
            return Err(InputError::WrongInput(self.wire));
        }
        if self.closed.is_some() {
            return Ok(());
        }
        self.stats.bytes_in += bytes.len() as u64;
        // Frames are decoded as the session takes them (`next_incoming`), not all at once here.
        self.decoder.push(bytes);
        Ok(())
    }

    /// One message from a message transport.
    fn take_frame(&mut self, frame: Frame) -> Result<(), InputError> {
        if matches!(self.wire, Wire::Stream { .. }) {
            return Err(InputError::WrongInput(self.wire));
        }
        if self.closed.is_some() {
            return Ok(());
        }
        let got = match &frame {
            Frame::Binary(_) => Format::Binary,
            Frame::Text(_) => Format::Json,
        };
        let format = *self.format.get_or_insert(got);
        if format != got {
            let name = |f: Format| if f == Format::Json { "text" } else { "binary" };
            self.close(CloseReason::WrongFrameKind {
                expected: name(format),
                got: name(got),
            });
            return Ok(());
        }
        self.stats.frames_in += 1;
        let decoded = match frame {
            Frame::Binary(bytes) => {
                self.stats.bytes_in += bytes.len() as u64;
                binary::decode(bytes)
            }
            Frame::Text(text) => {
                self.stats.bytes_in += text.len() as u64;
                json::decode(&text)
            }
        };
        self.inbox.push_back(decoded);
        Ok(())
    }

    /// The transport ended.
    fn take_eof(&mut self) {
        let reason = match self.decoder.finish() {
            Err(error @ crate::codec::frame::FrameError::Truncated { .. }) => {
                CloseReason::Truncated(error)
            }
            _ => CloseReason::PeerClosed,
        };
        self.close(reason);
    }

    /// The next envelope received that the session must handle itself; what the shared core can
    /// settle alone (answers to the owner's requests, responses that match nothing, bodies that
    /// do not decode) is settled here and skipped.
    // Always: inside the manager's `process`, which has two callers (see there).
    #[inline(always)]
    pub(crate) fn next_incoming(&mut self) -> Option<Incoming> {
        while self.closed.is_none() {
            let item = match self.inbox.pop_front() {
                Some(item) => item,
                None => match self.decoder.next_frame() {
                    Ok(Some(frame)) => {
                        self.stats.frames_in += 1;
                        binary::decode(frame)
                    }
                    Ok(None) => return None,
                    Err(error) => {
                        self.close(CloseReason::MalformedStream(error));
                        return None;
                    }
                },
            };
            if let Some(incoming) = self.sort(item) {
                return Some(incoming);
            }
        }
        self.inbox.clear();
        None
    }

    #[inline(always)]
    fn sort(&mut self, item: Result<Envelope, DecodeError>) -> Option<Incoming> {
        match item {
            Ok(Envelope {
                id,
                message,
                response: Some(response),
            }) => self.answered(id, response, message),
            Ok(Envelope {
                id,
                message: Some(message),
                response: None,
            }) => Some(Incoming::Message { id, message }),
            Ok(Envelope {
                id,
                message: None,
                response: None,
            }) => {
                self.stats.malformed += 1;
                self.answer_unsolicited(
                    id,
                    ResponseCode::InvalidArg,
                    "a request must carry a message".into(),
                );
                None
            }
            Err(DecodeError::Message {
                id,
                response: Some(response),
                source: _,
            }) => {
                // The answer arrived but its body is unreadable: the request still ends, once.
                self.stats.malformed += 1;
                self.answered(id, response, None)
            }
            Err(DecodeError::Message {
                id,
                response: None,
                source,
            }) => {
                self.stats.malformed += 1;
                self.answer_unsolicited(id, source.response_code(), source.to_string());
                None
            }
            Err(error) => {
                // The envelope itself is unreadable, so its id is unknown: answer with id 0.
                self.stats.malformed += 1;
                let what = bounded_text(error.to_string());
                self.send(&Envelope::response(
                    0,
                    ResponseInfo::error(ResponseCode::InvalidArg, what),
                    None,
                ));
                None
            }
        }
    }

    /// Ends request `id` with its answer: the owner's go to the owner, the session's own are
    /// handed back to it.
    #[inline(always)]
    fn answered(
        &mut self,
        id: u32,
        response: ResponseInfo,
        message: Option<Message>,
    ) -> Option<Incoming> {
        let Some(sent) = self.requests.complete(id) else {
            self.stats.unmatched_responses += 1;
            return None;
        };
        if sent.internal {
            return Some(Incoming::InternalResponse { response, message });
        }
        self.emit(Event::Response {
            id,
            response,
            message,
        });
        None
    }

    /// Records a peer request to be answered by the owner: `false` (and the request answered
    /// here) if its id is already waiting or too many are.
    pub(crate) fn accept_peer_request(&mut self, id: u32) -> bool {
        // One look at the set on the way every request takes: inserted, unless it is full.
        let room = self.peer_pending.len() < self.max_peer_pending;
        if room && self.peer_pending.insert(id) {
            return true;
        }
        if room || self.peer_pending.contains(&id) {
            self.answer_unsolicited(
                id,
                ResponseCode::InvalidArg,
                format!("request id {id} is already in use"),
            );
        } else {
            let what = format!(
                "{} requests are already waiting for an answer",
                self.max_peer_pending
            );
            self.answer_unsolicited(id, ResponseCode::NotReady, what);
        }
        false
    }

    /// Answers a peer message the session settles itself (id 0 gets no answer: it was a
    /// notification).
    pub(crate) fn answer_unsolicited(&mut self, id: u32, code: ResponseCode, what: String) {
        if id != 0 {
            self.send(&Envelope::response(
                id,
                ResponseInfo::error(code, bounded_text(what)),
                None,
            ));
        }
    }

    /// Sends this side's request; its id, or the message handed back.
    pub(crate) fn request(
        &mut self,
        now: Instant,
        message: Message,
        timeout: Duration,
        internal: bool,
    ) -> Result<u32, Refused> {
        let id = match self.register(now, &message, timeout, internal) {
            Ok(id) => id,
            Err(error) => return Err(Refused::new(error, message)),
        };
        if let Err(error) = self.try_send(EnvelopeRef::request(id, &message)) {
            self.requests.complete(id);
            return Err(Refused::new(error, message));
        }
        Ok(id)
    }

    /// Numbers a request and checks it fits a frame, without sending it: the caller queues it
    /// later (held back by `RetryAfter`). Its deadline runs from `now` all the same.
    pub(crate) fn prepare_request(
        &mut self,
        now: Instant,
        message: Message,
        timeout: Duration,
        internal: bool,
    ) -> Result<Envelope, Refused> {
        let id = match self.register(now, &message, timeout, internal) {
            Ok(id) => id,
            Err(error) => return Err(Refused::new(error, message)),
        };
        if let Err(error) = self.check_fits(EnvelopeRef::request(id, &message)) {
            self.requests.complete(id);
            return Err(Refused::new(error, message));
        }
        Ok(Envelope::request(id, message))
    }

    /// Checks that a request may be sent and gives it an id.
    fn register(
        &mut self,
        now: Instant,
        message: &Message,
        timeout: Duration,
        internal: bool,
    ) -> Result<u32, SendError> {
        self.check_open()?;
        self.check_direction(message.message_type())?;
        let sent = Sent {
            message_type: message.message_type(),
            internal,
        };
        self.requests
            .register(now, timeout, sent)
            .map_err(|e| match e {
                TrackError::TooManyInFlight { limit } => SendError::TooManyInFlight { limit },
            })
    }

    /// Sends a notification (id 0), in its lane; or hands it back.
    pub(crate) fn notify(&mut self, message: Message) -> Result<(), Refused> {
        let lane = lane_of(&message);
        if lane != Route::Prompt {
            let envelope = self.prepare_notification(message)?;
            self.queue_in(lane, envelope);
            return Ok(());
        }
        let sent = self
            .check_open()
            .and_then(|()| self.check_direction(message.message_type()))
            .and_then(|()| self.try_send(EnvelopeRef::request(0, &message)));
        sent.map_err(|error| Refused::new(error, message))
    }

    /// Checks that a notification may be sent and fits a frame, without sending it; or hands it
    /// back.
    pub(crate) fn prepare_notification(&mut self, message: Message) -> Result<Envelope, Refused> {
        let checked = self
            .check_open()
            .and_then(|()| self.check_direction(message.message_type()))
            .and_then(|()| self.check_fits(EnvelopeRef::request(0, &message)));
        match checked {
            Ok(()) => Ok(Envelope::request(0, message)),
            Err(error) => Err(Refused::new(error, message)),
        }
    }

    /// Answers the peer's request `id`.
    pub(crate) fn respond(&mut self, id: u32, reply: Reply) -> Result<(), SendError> {
        self.check_open()?;
        if !self.peer_pending.remove(&id) {
            return Err(SendError::UnknownRequest(id));
        }
        let (response, message) = reply.parts();
        let sent = match message {
            Some(message) => self.check_direction(message.message_type()),
            None => Ok(()),
        }
        .and_then(|()| {
            self.try_send(EnvelopeRef {
                id,
                message,
                response: Some(&response),
            })
        });
        if sent.is_err() {
            // Refused: the request still waits for an answer.
            self.peer_pending.insert(id);
        }
        sent
    }

    /// Queues an envelope the session itself produced. Their texts are bounded
    /// ([`bounded_text`]), so they fit any sensible frame limit; one that does not is dropped
    /// rather than sent broken.
    pub(crate) fn send<'a>(&mut self, envelope: impl Into<EnvelopeRef<'a>>) {
        let _ = self.try_send(envelope.into());
    }

    /// Sends an envelope now: on a byte stream it is framed straight into the output.
    fn try_send(&mut self, envelope: EnvelopeRef<'_>) -> Result<(), SendError> {
        if self.closed.is_some() {
            return Ok(());
        }
        if let Wire::Stream { max_frame_len } = self.wire {
            let before = self.out.len();
            encode_frame(envelope, max_frame_len, &mut self.out).map_err(oversized)?;
            self.count_out(self.out.len() - before);
            return Ok(());
        }
        let frame = self.encode(envelope)?;
        self.queue(frame);
        Ok(())
    }

    /// Fails as encoding would, without encoding: for an envelope that waits to be encoded as it
    /// leaves. Only a byte stream has a frame limit.
    fn check_fits(&self, envelope: EnvelopeRef<'_>) -> Result<(), SendError> {
        let Wire::Stream { max_frame_len } = self.wire else {
            return Ok(());
        };
        let len = binary::encoded_len(envelope);
        if len > max_frame_len {
            return Err(SendError::Oversized {
                len,
                limit: max_frame_len,
            });
        }
        Ok(())
    }

    /// The envelope as a frame of its own, for this connection's wire.
    fn encode(&mut self, envelope: EnvelopeRef<'_>) -> Result<Frame, SendError> {
        Ok(match (self.wire, self.format) {
            (Wire::Stream { max_frame_len }, _) => {
                encode_frame(envelope, max_frame_len, &mut self.scratch).map_err(oversized)?;
                Frame::Binary(self.scratch.split().freeze())
            }
            (Wire::Messages { .. }, Some(Format::Json)) => Frame::Text(json::encode(envelope)),
            // Binary, or not yet known: a manager following its peer sends nothing before the
            // plugin's hello, whose frame sets the format.
            (Wire::Messages { .. }, _) => Frame::Binary(binary::encode_to_bytes(envelope)),
        })
    }

    /// Queues an envelope checked by [`check_fits`](Self::check_fits) in `lane` (nothing once
    /// the session is closed): a prompt one is encoded now, a bulk one as it leaves. A bulk frame
    /// is counted as sent when it leaves, since a newer one may replace it.
    pub(crate) fn queue_in(&mut self, lane: Route, envelope: Envelope) {
        if self.closed.is_some() {
            return;
        }
        if lane == Route::Prompt {
            return self.send(&envelope);
        }
        match self.bulk.waiting_for(&lane) {
            Some(older) => {
                *older = envelope;
                self.stats.superseded += 1;
            }
            None => self.bulk.push_back(Queued { lane, envelope }),
        }
    }

    /// Queues a prompt frame made by [`encode`](Self::encode) (nothing once the session is
    /// closed).
    pub(crate) fn queue(&mut self, frame: Frame) {
        if self.closed.is_some() {
            return;
        }
        match frame {
            Frame::Binary(bytes) if matches!(self.wire, Wire::Stream { .. }) => {
                self.out.extend_from_slice(&bytes);
                self.count_out(bytes.len());
            }
            Frame::Binary(bytes) => {
                self.count_out(bytes.len());
                self.transmit.push_back(Frame::Binary(bytes));
            }
            Frame::Text(text) => {
                self.count_out(text.len());
                self.transmit.push_back(Frame::Text(text));
            }
        }
    }

    fn count_out(&mut self, bytes: usize) {
        self.stats.frames_out += 1;
        self.stats.bytes_out += bytes as u64;
    }

    fn check_open(&self) -> Result<(), SendError> {
        match &self.closed {
            Some(reason) => Err(SendError::Closed(reason.clone())),
            None => Ok(()),
        }
    }

    fn check_direction(&self, message_type: MessageType) -> Result<(), SendError> {
        if self.side.may_send(message_type) {
            Ok(())
        } else {
            Err(SendError::WrongDirection(message_type.full_name()))
        }
    }

    /// Answers `INVALID_VERB` (and counts it) if the peer's side may not send this message;
    /// `true` if it was refused.
    pub(crate) fn refuse_wrong_direction(&mut self, id: u32, message_type: MessageType) -> bool {
        if self.side.peer().may_send(message_type) {
            return false;
        }
        self.stats.invalid_verbs += 1;
        let what = format!(
            "{} does not send {}",
            self.side.peer().name(),
            message_type.full_name()
        );
        self.answer_unsolicited(id, ResponseCode::InvalidVerb, what);
        true
    }

    /// Decides on a peer message the session does not handle itself: `true` if the owner (or a
    /// buffer on the way) is to receive it. A notification always is; a request of a type the
    /// owner does not handle is answered `NOT_IMPLEMENTED`; any other request is recorded as
    /// waiting. Only the type is looked at, so the message moves once, into its event.
    pub(crate) fn admit(
        &mut self,
        id: u32,
        message_type: MessageType,
        handles: &Option<Vec<MessageType>>,
    ) -> bool {
        if id == 0 {
            return true;
        }
        if handles
            .as_ref()
            .is_some_and(|types| !types.contains(&message_type))
        {
            self.stats.not_implemented += 1;
            let what = format!(
                "{} does not handle {}",
                self.side.name(),
                message_type.full_name()
            );
            self.answer_unsolicited(id, ResponseCode::NotImplemented, what);
            return false;
        }
        self.accept_peer_request(id)
    }

    /// Hands the owner an admitted peer message: a request, or a notification if `id` is 0.
    #[inline]
    pub(crate) fn deliver(&mut self, id: u32, message: Message) {
        self.emit(if id == 0 {
            Event::Notification { message }
        } else {
            Event::Request { id, message }
        });
    }

    /// Ends the requests of this side whose deadline has passed, up to the next of the
    /// session's own (its hello, its `Ping`), whose deadline it returns for the session to act
    /// on; the owner's end with [`Event::Timeout`] on the way.
    pub(crate) fn expire_internal(&mut self, now: Instant) -> Option<Instant> {
        loop {
            let (deadline, _) = self
                .requests
                .next_deadline()
                .filter(|(due, _)| *due <= now)?;
            let (id, sent) = self.requests.expire(now)?;
            self.stats.timeouts += 1;
            if sent.internal {
                return Some(deadline);
            }
            self.emit(Event::Timeout {
                id,
                message_type: sent.message_type,
            });
        }
    }

    /// The earliest deadline of the requests of this side: `(the owner's, the session's own)`,
    /// only the earliest of the two being `Some`, so that each is named for what it is.
    pub(crate) fn next_deadline(&self) -> (Option<Instant>, Option<Instant>) {
        match self.requests.next_deadline() {
            Some((at, sent)) if sent.internal => (None, Some(at)),
            Some((at, _)) => (Some(at), None),
            None => (None, None),
        }
    }

    #[inline]
    pub(crate) fn emit(&mut self, event: Event<H>) {
        self.events.push_back(event);
    }

    /// Ends the session for good: every request still waiting ends with it, and the owner gets
    /// one `Closed` event. Frames already queued stay for the owner to send.
    pub(crate) fn close(&mut self, reason: CloseReason) {
        if self.closed.is_some() {
            return;
        }
        self.requests.drain();
        self.peer_pending.clear();
        self.inbox.clear();
        self.closed = Some(reason.clone());
        self.events.push_back(Event::Closed(reason));
    }

    /// The next output of the link: events first, then prompt frames, then bulk frames as the
    /// round allows (`unwritten`: the bytes the transport has yet to write); `None` ends the
    /// round, for the session to say when it next has work.
    #[inline]
    pub(crate) fn poll_output(&mut self, unwritten: usize) -> Option<Output<H>> {
        if let Some(event) = self.events.pop_front() {
            self.round.handed_event();
            return Some(Output::Event(event));
        }
        // Only frames change what the transport holds, so its state as the round's first frame
        // is asked for is its state as the round began.
        self.round.poll(unwritten);
        if let Some(frame) = self.poll_prompt() {
            return Some(Output::Transmit(Transmit {
                frame,
                lane: Lane::Prompt,
            }));
        }
        if !self.bulk.is_empty() && self.round.bulk_goes(self.closed.is_some()) {
            // Checked to fit as it was queued, so encoding cannot fail; skipped all the same if
            // it did.
            while let Some(queued) = self.bulk.pop_front() {
                if let Ok(frame) = self.encode(EnvelopeRef::from(&queued.envelope)) {
                    let len = frame.as_bytes().len();
                    self.count_out(len);
                    self.round.took_bulk(len);
                    return Some(Output::Transmit(Transmit {
                        frame,
                        lane: Lane::Bulk,
                    }));
                }
            }
        }
        self.round.end();
        None
    }

    /// The next prompt frame to write.
    #[inline]
    fn poll_prompt(&mut self) -> Option<Frame> {
        if matches!(self.wire, Wire::Stream { .. }) {
            return (!self.out.is_empty()).then(|| Frame::Binary(self.out.split().freeze()));
        }
        self.transmit.pop_front()
    }
}

/// The output that ends a round of `session`'s: when it next has work, the earliest of its
/// timers (looked at again only if an input or command came since the last round); none once
/// closed.
#[inline]
pub(crate) fn end_round<S: Timers, H>(
    session: &mut S,
    link: fn(&mut S) -> &mut Link<H>,
) -> Output<H> {
    let state = link(session);
    if state.closed.is_some() {
        return Output::Idle;
    }
    // Bulk held back for an event, with the transport idle, goes in the next round: say so, or
    // a driver waiting for input would leave it waiting.
    if state.round.held_last()
        && !state.bulk.is_empty()
        && let Some(at) = state.now
    {
        return Output::Timeout(Wake {
            at,
            timer: Timer::Bulk,
        });
    }
    let wake = match link(session).wake {
        Some(wake) => {
            debug_assert_eq!(
                wake,
                earliest(session),
                "the wake kept is the earliest deadline"
            );
            wake
        }
        None => {
            let wake = earliest(session);
            link(session).wake = Some(wake);
            wake
        }
    };
    wake.map_or(Output::Idle, Output::Timeout)
}

/// The room `out` starts with. Each prompt frame polled hands its bytes over and `out` writes on
/// in the room behind them; when the room runs out, the buffer is reused as soon as the owner has
/// dropped the bytes handed over, so small frames cost no allocation each.
const OUT_CAPACITY: usize = 8 * 1024;

/// The longest description the session puts in an answer it makes itself.
const MAX_ANSWER_TEXT: usize = 1024;

/// `text` cut to [`MAX_ANSWER_TEXT`] bytes at a character boundary: descriptions can quote what
/// the peer sent (a type URL, a value), which must not make the answer larger than a frame.
pub(crate) fn bounded_text(mut text: String) -> String {
    if text.len() > MAX_ANSWER_TEXT {
        let mut end = MAX_ANSWER_TEXT - 3;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("...");
    }
    text
}

fn oversized(error: EncodeError) -> SendError {
    match error {
        EncodeError::Oversized { len, limit } => SendError::Oversized { len, limit },
    }
}
