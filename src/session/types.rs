//! What the two sessions have in common on their surface: frames, wire formats, events, replies,
//! close reasons, counters and errors.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::codec::frame::{DEFAULT_MAX_FRAME_LEN, FrameError};
use crate::{Body, EncodedMessage, Message, MessageType, ResponseCode, ResponseInfo};

/// What a transport moves: on a byte stream, bytes to write as they are (length prefixes
/// included); on a message transport (WebSocket), one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// Bytes, or a binary message carrying one protobuf envelope.
    Binary(Bytes),
    /// A text message carrying one canonical-JSON envelope.
    Text(String),
}

impl Frame {
    /// The frame's bytes, as they go on the wire (a text frame's are its UTF-8).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Frame::Binary(bytes) => bytes,
            Frame::Text(text) => text.as_bytes(),
        }
    }
}

/// How envelopes travel on a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    /// A byte stream (named pipe, Unix domain socket): binary envelopes, each preceded by its
    /// varint length. Frames longer than `max_frame_len` are refused.
    Stream {
        /// The largest frame accepted or sent.
        max_frame_len: usize,
    },
    /// A message transport (WebSocket): one envelope per message.
    Messages {
        /// Binary protobuf, JSON text, or whatever the peer's first message is.
        format: Format,
    },
}

impl Default for Wire {
    fn default() -> Self {
        Wire::Stream {
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
        }
    }
}

/// The encoding of envelopes on a message transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Binary messages of protobuf bytes.
    Binary,
    /// Text messages of canonical JSON (seed 7.1.2 `set_use_text_format`).
    Json,
    /// The format of the first message the peer sends (the manager side of a WebSocket).
    FollowPeer,
}

/// What a session tells its owner. `H` is what the handshake delivered: the peer's hello
/// ([`Peer`](super::Peer)) on the manager side, the `ManagerHello` on the plugin and client
/// library sides.
#[derive(Clone, Debug, PartialEq)]
pub enum Event<H> {
    /// The peer said hello (manager side only), and the session found nothing wrong with it
    /// alone: the owner judges it and answers with
    /// [`Session::admit`](super::Session::admit). Nothing else comes before.
    Hello(H),
    /// The handshake succeeded; requests can flow.
    Connected(H),
    /// The peer asks something: answer it with `respond(id, ..)`.
    Request {
        /// The peer's request id.
        id: u32,
        /// What it asks.
        message: Message,
    },
    /// The peer tells something that needs no answer (id 0).
    Notification {
        /// What it tells.
        message: Message,
    },
    /// The answer to a request this side sent.
    Response {
        /// The id `send_request` returned.
        id: u32,
        /// The outcome.
        response: ResponseInfo,
        /// The message it carried, if any (`None` too if it could not be decoded, which is
        /// counted in [`Stats::malformed`]).
        message: Option<Message>,
    },
    /// A request this side sent got no answer by its deadline. It gets no other ending.
    Timeout {
        /// The id `send_request` returned.
        id: u32,
        /// What the request was.
        message_type: MessageType,
    },
    /// The manager asked the plugin to hold back (`RetryAfter`, seed 5.8): what the plugin starts
    /// on its own is held until `until` and then sent by itself; answers still go out at once.
    Throttled {
        /// When held messages go out.
        until: Instant,
    },
    /// The session is over, for good. Frames queued before (such as an error answer explaining
    /// why) still come out of `poll_output`.
    Closed(CloseReason),
}

/// An answer to a peer's request.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// `SUCCESS` with no message.
    Ok,
    /// `SUCCESS` with a message.
    Message(Message),
    /// `SUCCESS` with a message already encoded: a binary wire takes its bytes as they are. A
    /// recording keeps it as the message it encodes, and plays it back as a [`Reply::Message`].
    Encoded(EncodedMessage),
    /// An error code of seed chapter 6 and a description.
    Error(ResponseCode, String),
}

impl Reply {
    /// The response field and message of the answer.
    pub(crate) fn parts(&self) -> (ResponseInfo, Option<Body<'_>>) {
        match self {
            Reply::Ok => (ResponseInfo::ok(), None),
            Reply::Message(message) => (ResponseInfo::ok(), Some(Body::Message(message))),
            Reply::Encoded(encoded) => (ResponseInfo::ok(), Some(Body::Encoded(encoded))),
            Reply::Error(code, what) => (ResponseInfo::error(*code, what.clone()), None),
        }
    }
}

/// The owner's answer to a hello.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Answer `ManagerHello`: the session is connected.
    Accept,
    /// Answer the hello with this error code (not `SUCCESS`) and description, and close.
    Refuse {
        /// Why, as seed chapter 6 codes it (`UNAUTHORIZED`, `DUPLICATE_NAME`, ...).
        code: ResponseCode,
        /// What the peer is told.
        what: String,
    },
}

impl Verdict {
    /// A refusal with `code`, telling the peer `what`.
    pub fn refuse(code: ResponseCode, what: impl Into<String>) -> Verdict {
        Verdict::Refuse {
            code,
            what: what.into(),
        }
    }
}

/// Why a session ended.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CloseReason {
    /// The owner closed it.
    #[error("closed by this side")]
    Local,
    /// The transport ended (the peer closed the connection).
    #[error("the peer closed the connection")]
    PeerClosed,
    /// The transport ended in the middle of a frame.
    #[error("the peer closed the connection inside a frame: {0}")]
    Truncated(FrameError),
    /// The byte stream could not be split into frames, so nothing after can be trusted.
    #[error("unreadable byte stream: {0}")]
    MalformedStream(FrameError),
    /// A frame of the wrong kind for this connection (text on a binary connection, ...).
    #[error("a {got} frame on a connection that carries {expected}")]
    WrongFrameKind {
        /// What the connection carries.
        expected: &'static str,
        /// What arrived.
        got: &'static str,
    },
    /// The plugin sent no hello within the deadline.
    #[error("no hello within {0:?}")]
    HelloTimeout(Duration),
    /// The plugin's first message was not its hello.
    #[error("the first message was {0}, not the plugin's hello")]
    MessageBeforeHello(String),
    /// This side (the manager) refused the peer's hello.
    #[error("the peer's hello refused with {code:?}: {what}")]
    HelloRefused {
        /// The error code sent.
        code: ResponseCode,
        /// Why.
        what: String,
    },
    /// The peer (the manager) refused this side's hello, or answered it with no hello of its
    /// own.
    #[error("this side's hello refused with {code:?}: {what}")]
    HelloRefusedByPeer {
        /// The error code the manager answered with.
        code: ResponseCode,
        /// Why.
        what: String,
    },
    /// This side's hello could not be sent (it is larger than the connection's frame limit).
    #[error("the hello could not be sent: {0}")]
    HelloNotSent(String),
    /// The plugin did not answer a `Ping` in time.
    #[error("no Pong within {0:?}")]
    HeartbeatTimeout(Duration),
    /// The plugin heard nothing from the manager for too long.
    #[error("nothing heard from the manager for {0:?}")]
    ManagerSilent(Duration),
    /// The plugin kept sending inside `RetryAfter` windows past the limit.
    #[error("{0} messages sent inside RetryAfter windows")]
    RateLimitViolations(u32),
    /// The transport failed (a read or write error, a refused upgrade, ...).
    #[error("the transport failed: {0}")]
    TransportFailed(String),
    /// The host stopped the plugin (a stop, an uninstall, a reload, its shutdown): the
    /// manager closed a session it had admitted, then refused the hello that followed
    /// `UNAUTHORIZED`, saying this. Told by a reconnecting plugin client, which ends.
    #[error("the host stopped this plugin: its hello was refused after it had been admitted ({0})")]
    StoppedByHost(String),
}

/// Who is at fault when a session ends or a call fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The peer broke the protocol: an unreadable stream, a message before its hello, a wrong
    /// secret, no `Pong` in time, a flood past `RetryAfter`.
    Peer,
    /// The peer speaks no protocol version this side does, or answers in a way this side
    /// cannot use.
    Incompatible,
    /// This side's owner: a call the session cannot take now or ever, a configuration the peer
    /// refuses (a wrong secret, an id already connected).
    Caller,
    /// The connection ended or failed under both sides.
    Transport,
}

impl CloseReason {
    /// Who is at fault for the end of the session; `None` when nobody is (this side's owner
    /// closed it, the host stopped the plugin).
    pub fn fault(&self) -> Option<Fault> {
        Some(match self {
            CloseReason::Local | CloseReason::StoppedByHost(_) => return None,
            CloseReason::PeerClosed
            | CloseReason::Truncated(_)
            | CloseReason::TransportFailed(_) => Fault::Transport,
            CloseReason::MalformedStream(_)
            | CloseReason::WrongFrameKind { .. }
            | CloseReason::HelloTimeout(_)
            | CloseReason::MessageBeforeHello(_)
            | CloseReason::HeartbeatTimeout(_)
            | CloseReason::ManagerSilent(_)
            | CloseReason::RateLimitViolations(_) => Fault::Peer,
            // A version outside the range is refused `INVALID_ARG`; anything else (a wrong
            // secret, an id already live, the client library on a transport that does not take
            // it) is the peer's to mend.
            CloseReason::HelloRefused { code, .. } if *code == ResponseCode::InvalidArg => {
                Fault::Incompatible
            }
            CloseReason::HelloRefused { .. } => Fault::Peer,
            CloseReason::HelloRefusedByPeer { code, .. } if *code == ResponseCode::InvalidArg => {
                Fault::Incompatible
            }
            CloseReason::HelloRefusedByPeer { .. } | CloseReason::HelloNotSent(_) => Fault::Caller,
        })
    }
}

impl SendError {
    /// Who is at fault: the caller, for every refusal but backpressure (`None`: too many
    /// requests in flight, held back by `RetryAfter`), which passes, and a closed session,
    /// whose reason says.
    pub fn fault(&self) -> Option<Fault> {
        match self {
            SendError::Closed(reason) => reason.fault(),
            SendError::TooManyInFlight { .. } | SendError::Throttled { .. } => None,
            _ => Some(Fault::Caller),
        }
    }
}

/// A message the session did not send, handed back with why. Nothing was sent: a caller held
/// back by backpressure ([`SendError::TooManyInFlight`], [`SendError::Throttled`]) sends the
/// same message again later, without having kept a copy of it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{error}")]
pub struct Refused {
    /// Why it was not sent.
    pub error: SendError,
    /// The message, as the caller gave it (boxed: the `Ok` of a send stays small).
    pub message: Box<Message>,
}

impl Refused {
    /// `message`, refused for `error`.
    // Cold: a refusal is off the path every send takes, and kept out of it.
    #[cold]
    #[inline(never)]
    pub fn new(error: SendError, message: Message) -> Refused {
        Refused {
            error,
            message: Box::new(message),
        }
    }

    /// The message handed back.
    pub fn into_message(self) -> Message {
        *self.message
    }
}

/// Counters the owner can read at any time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames (envelopes) received.
    pub frames_in: u64,
    /// Frames (envelopes) sent.
    pub frames_out: u64,
    /// Bytes received.
    pub bytes_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Requests of this side that timed out.
    pub timeouts: u64,
    /// Times the session found time had jumped far past a heartbeat deadline (the machine
    /// slept) and gave the peer a fresh chance instead of closing: the manager pings again, the
    /// plugin waits one more interval to hear from the manager.
    pub reprobes: u64,
    /// Responses matching no request in flight (late, repeated or never asked): dropped.
    pub unmatched_responses: u64,
    /// Envelopes or bodies that could not be decoded.
    pub malformed: u64,
    /// Messages the peer may not send (answered `INVALID_VERB`, or dropped if id 0).
    pub invalid_verbs: u64,
    /// Peer requests answered by the session itself because the owner does not handle them.
    pub not_implemented: u64,
    /// Peer messages refused by the rate limit (manager side).
    pub rate_limited: u64,
    /// `RetryAfter` notifications sent (manager side) or received (plugin side).
    pub retry_after: u64,
    /// Messages held back by `RetryAfter` (plugin side), status updates replaced by newer ones
    /// included.
    pub held: u64,
    /// Status updates replaced, while they waited in the bulk lane, by a newer one for the same
    /// instance: never sent, since only an instance's latest state is worth drawing.
    pub superseded: u64,
    /// Status updates refused by the rate limit and kept to be delivered when the bucket allows
    /// (manager side), newer ones for the same instance replacing them included.
    pub deferred: u64,
}

/// Why a command was refused. Nothing was sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The handshake has not finished yet.
    #[error("the session is not connected yet")]
    NotConnected,
    /// The session is closed.
    #[error("the session is closed: {0}")]
    Closed(CloseReason),
    /// This side may not send this message.
    #[error("{0} is not sent from this side of the protocol")]
    WrongDirection(&'static str),
    /// As many requests as allowed are waiting for their responses.
    #[error("{limit} requests are already waiting for a response")]
    TooManyInFlight {
        /// The limit.
        limit: usize,
    },
    /// The envelope is larger than the connection's frame limit.
    #[error("envelope of {len} bytes exceeds the frame limit of {limit} bytes")]
    Oversized {
        /// Its encoded length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// `admit` was called with no hello waiting for a verdict (none came yet, or it was
    /// judged already).
    #[error("no hello is waiting for a verdict")]
    NoHelloWaiting,
    /// A refusal must carry an error code, not `SUCCESS`.
    #[error("a hello is refused with an error code, not SUCCESS")]
    SuccessRefusal,
    /// There is no peer request with this id waiting for an answer.
    #[error("no request {0} of the peer is waiting for an answer")]
    UnknownRequest(u32),
    /// The manager asked to hold back and the queue of held messages is full: try again after
    /// `retry_in`.
    #[error(
        "held back by the manager's RetryAfter and the hold queue is full; retry in {retry_in:?}"
    )]
    Throttled {
        /// How long until held messages go out.
        retry_in: Duration,
    },
}

/// Why bytes or a frame could not be taken in.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// `Input::Bytes` on a message transport, or `Input::Frame` on a byte stream.
    #[error("this session's wire is {0:?}; use the other input method")]
    WrongInput(Wire),
}

#[cfg(test)]
mod fault_tests {
    use super::*;

    #[test]
    fn each_close_reason_names_who_is_at_fault() {
        let second = Duration::from_secs(1);
        let cases = [
            (CloseReason::Local, None),
            (CloseReason::StoppedByHost("stopped".into()), None),
            (CloseReason::PeerClosed, Some(Fault::Transport)),
            (
                CloseReason::TransportFailed("reset".into()),
                Some(Fault::Transport),
            ),
            (CloseReason::HeartbeatTimeout(second), Some(Fault::Peer)),
            (CloseReason::ManagerSilent(second), Some(Fault::Peer)),
            (
                CloseReason::MessageBeforeHello("x".into()),
                Some(Fault::Peer),
            ),
            (CloseReason::RateLimitViolations(3), Some(Fault::Peer)),
            (
                CloseReason::HelloNotSent("too large".into()),
                Some(Fault::Caller),
            ),
        ];
        for (reason, fault) in cases {
            assert_eq!(reason.fault(), fault, "{reason}");
        }
    }

    #[test]
    fn backpressure_is_nobodys_fault_and_a_misused_call_is_the_callers() {
        assert_eq!(SendError::TooManyInFlight { limit: 64 }.fault(), None);
        let throttled = SendError::Throttled {
            retry_in: Duration::from_millis(10),
        };
        assert_eq!(throttled.fault(), None);
        assert_eq!(SendError::NotConnected.fault(), Some(Fault::Caller));
        assert_eq!(SendError::UnknownRequest(7).fault(), Some(Fault::Caller));
        let closed = SendError::Closed(CloseReason::TransportFailed("reset".into()));
        assert_eq!(closed.fault(), Some(Fault::Transport));
    }
}
