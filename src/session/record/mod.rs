//! Recordings of a session, and their replay into a fresh one: every input a session was given
//! (bytes or frames from the transport, its end or failure, the time reaching a deadline, the
//! owner's requests, notifications, answers, verdict on a hello and close) and every frame it
//! wrote, each with the time since the session began. Replaying feeds the same inputs at the
//! same times into a new session of the same configuration, on this sans-IO core with no
//! sockets, and checks that it writes the same frames: a bug seen once is reproduced as often as
//! needed.
//!
//! The format (`.logirec`): the magic `LOGIREC1`, a `u32` little-endian length and the header
//! as JSON (which side, and the configuration the session had), then records, each a tag byte,
//! the time in nanoseconds (`u64` LE), a payload length (`u32` LE) and the payload. Messages
//! are carried as binary envelopes. A recording holds whatever the wire held, the plugin's
//! per-launch secret in its hello included: keep it as private as the session was.
//!
//! Recording sits on top of the sessions, which know nothing of it: the owner wraps the session
//! it drives in a [`Recorded`] and starts it ([`Recorded::start_recording`]); the header is
//! written from the session's configuration type ([`Header`]). The sessions are driven the same
//! way either way:
//!
//! ```
//! # use std::time::Instant;
//! # use logi_plugin_core::session::{Output, PluginConfig, PluginSession, Session};
//! # use logi_plugin_core::session::record::{self, Recorded};
//! let now = Instant::now();
//! let mut session = Recorded::new(PluginSession::new(now, PluginConfig::new("com.example", "code", "1.0.0")));
//! session.start_recording(now);
//! while let Output::Transmit(transmit) = session.poll_output(0) { /* write transmit.frame */ }
//! let (header, records) = record::read(&session.take_recording()).unwrap();
//! assert_eq!((header.side.as_str(), records.len()), ("plugin", 1));
//! ```

use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};

use super::{Frame, Reply, Verdict};
use crate::codec::frame::{DEFAULT_MAX_FRAME_LEN, FrameDecoder};
use crate::codec::{binary, json};
use crate::{Envelope, EnvelopeRef, Message, ResponseCode, ResponseInfo};

mod header;
mod recorded;
mod replay;

pub use header::Header;
pub use recorded::{Recordable, Recorded};
pub use replay::{Replay, replay};

const MAGIC: &[u8; 8] = b"LOGIREC1";

/// One thing that happened to a session.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Bytes read from a byte stream.
    Bytes(Bytes),
    /// A frame read from a message transport.
    Frame(Frame),
    /// The transport ended.
    End,
    /// The transport failed, saying this.
    Failed(String),
    /// Time reached the session's deadline.
    Timeout,
    /// The owner sent a request, with this timeout.
    Request(Message, Duration),
    /// The owner sent a notification.
    Notify(Message),
    /// The owner answered the peer's request `id`.
    Respond(u32, Reply),
    /// The owner closed the session.
    Close,
    /// The owner judged the peer's hello (manager side).
    Admit(Verdict),
    /// The session wrote this frame.
    Sent(Frame),
}

/// A step and when it happened, since the session began.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// Time since the session began.
    pub at: Duration,
    /// What happened.
    pub step: Step,
}

/// Why a recording cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// Not a recording.
    #[error("not a session recording (no LOGIREC1 at the start)")]
    NotARecording,
    /// It ends in the middle of something.
    #[error("the recording is cut short at byte {0}")]
    Truncated(usize),
    /// The header is not what a recording's header is.
    #[error("the recording's header: {0}")]
    Header(String),
    /// A record cannot be read.
    #[error("record {index} (at byte {offset}): {what}")]
    Record {
        /// Its place among the records.
        index: usize,
        /// Where it starts.
        offset: usize,
        /// What is wrong.
        what: String,
    },
}

fn millis(duration: Duration) -> u64 {
    duration.as_millis().try_into().unwrap_or(u64::MAX)
}

/// Writes a recording: the header first, then records as they happen. Pure: the owner takes
/// the bytes ([`take`](Self::take)) and stores them.
#[derive(Debug)]
pub struct Recorder {
    start: Instant,
    out: Vec<u8>,
}

impl Recorder {
    /// A recording of a session that began at `start`.
    pub fn new(start: Instant, header: &Header) -> Recorder {
        let mut out = MAGIC.to_vec();
        let text = json!({ "side": header.side, "config": header.config }).to_string();
        out.extend_from_slice(&(text.len() as u32).to_le_bytes());
        out.extend_from_slice(text.as_bytes());
        Recorder { start, out }
    }

    /// When the recorded session began.
    pub fn started(&self) -> Instant {
        self.start
    }

    /// Notes `step`, happening at `now`.
    pub fn record(&mut self, now: Instant, step: &Step) {
        let at = now.saturating_duration_since(self.start);
        let (tag, payload): (u8, Bytes) = match step {
            Step::Bytes(bytes) => (1, bytes.clone()),
            Step::Frame(Frame::Binary(bytes)) => (2, bytes.clone()),
            Step::Frame(Frame::Text(text)) => (3, Bytes::copy_from_slice(text.as_bytes())),
            Step::End => (4, Bytes::new()),
            Step::Failed(what) => (5, Bytes::copy_from_slice(what.as_bytes())),
            Step::Timeout => (6, Bytes::new()),
            Step::Request(message, timeout) => {
                let mut payload = millis(*timeout).to_le_bytes().to_vec();
                payload.extend_from_slice(&binary::encode_to_bytes(&Envelope::request(
                    0,
                    message.clone(),
                )));
                (7, payload.into())
            }
            Step::Notify(message) => (
                8,
                binary::encode_to_bytes(&Envelope::request(0, message.clone())),
            ),
            Step::Respond(id, reply) => {
                let (info, message) = reply.parts();
                let envelope = EnvelopeRef {
                    id: *id,
                    message,
                    response: Some(&info),
                };
                (9, binary::encode_to_bytes(envelope))
            }
            Step::Close => (10, Bytes::new()),
            Step::Admit(verdict) => {
                let info = match verdict {
                    Verdict::Accept => ResponseInfo::ok(),
                    Verdict::Refuse { code, what } => ResponseInfo::error(*code, what.clone()),
                };
                (
                    13,
                    binary::encode_to_bytes(&Envelope::response(0, info, None)),
                )
            }
            Step::Sent(Frame::Binary(bytes)) => (11, bytes.clone()),
            Step::Sent(Frame::Text(text)) => (12, Bytes::copy_from_slice(text.as_bytes())),
        };
        self.out.push(tag);
        let nanos: u64 = at.as_nanos().try_into().unwrap_or(u64::MAX);
        self.out.extend_from_slice(&nanos.to_le_bytes());
        self.out
            .extend_from_slice(&(payload.len() as u32).to_le_bytes());
        self.out.extend_from_slice(&payload);
    }

    /// The bytes written since the last call.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }
}

/// Reads a whole recording.
pub fn read(bytes: &[u8]) -> Result<(Header, Vec<Record>), RecordError> {
    if !bytes.starts_with(MAGIC) {
        return Err(RecordError::NotARecording);
    }
    let mut at = MAGIC.len();
    let header_len = u32_at(bytes, at)? as usize;
    at += 4;
    let text = bytes
        .get(at..at + header_len)
        .ok_or(RecordError::Truncated(at))?;
    at += header_len;
    let value: Value =
        serde_json::from_slice(text).map_err(|error| RecordError::Header(error.to_string()))?;
    let header = Header {
        side: value["side"]
            .as_str()
            .ok_or_else(|| RecordError::Header("no side".into()))?
            .into(),
        config: value["config"].clone(),
    };
    let mut records = Vec::new();
    while at < bytes.len() {
        let offset = at;
        let tag = bytes[at];
        let nanos = u64::from_le_bytes(
            bytes
                .get(at + 1..at + 9)
                .ok_or(RecordError::Truncated(at))?
                .try_into()
                .expect("eight bytes"),
        );
        let len = u32_at(bytes, at + 9)? as usize;
        let payload = bytes
            .get(at + 13..at + 13 + len)
            .ok_or(RecordError::Truncated(at))?;
        at += 13 + len;
        let failed = |what: String| RecordError::Record {
            index: records.len(),
            offset,
            what,
        };
        let step = step(tag, payload).map_err(failed)?;
        records.push(Record {
            at: Duration::from_nanos(nanos),
            step,
        });
    }
    Ok((header, records))
}

fn u32_at(bytes: &[u8], at: usize) -> Result<u32, RecordError> {
    let four = bytes.get(at..at + 4).ok_or(RecordError::Truncated(at))?;
    Ok(u32::from_le_bytes(four.try_into().expect("four bytes")))
}

fn step(tag: u8, payload: &[u8]) -> Result<Step, String> {
    let text = || String::from_utf8(payload.to_vec()).map_err(|error| error.to_string());
    let envelope = |bytes: &[u8]| {
        binary::decode(Bytes::copy_from_slice(bytes)).map_err(|error| error.to_string())
    };
    let message = |bytes: &[u8]| {
        envelope(bytes)?
            .message
            .ok_or_else(|| "an owner message record carries no message".to_string())
    };
    Ok(match tag {
        1 => Step::Bytes(Bytes::copy_from_slice(payload)),
        2 => Step::Frame(Frame::Binary(Bytes::copy_from_slice(payload))),
        3 => Step::Frame(Frame::Text(text()?)),
        4 => Step::End,
        5 => Step::Failed(text()?),
        6 => Step::Timeout,
        7 => {
            let millis = payload
                .get(..8)
                .ok_or("a request record is too short")?
                .try_into()
                .map(u64::from_le_bytes)
                .expect("eight bytes");
            Step::Request(message(&payload[8..])?, Duration::from_millis(millis))
        }
        8 => Step::Notify(message(payload)?),
        9 => {
            let envelope = envelope(payload)?;
            let info = envelope.response.unwrap_or_default();
            let reply = match info.result() {
                ResponseCode::Success => envelope.message.map_or(Reply::Ok, Reply::Message),
                code => Reply::Error(code, info.what),
            };
            Step::Respond(envelope.id, reply)
        }
        10 => Step::Close,
        11 => Step::Sent(Frame::Binary(Bytes::copy_from_slice(payload))),
        12 => Step::Sent(Frame::Text(text()?)),
        13 => {
            let info = envelope(payload)?.response.unwrap_or_default();
            Step::Admit(match info.result() {
                ResponseCode::Success => Verdict::Accept,
                code => Verdict::Refuse {
                    code,
                    what: info.what,
                },
            })
        }
        other => return Err(format!("tag {other} names no step")),
    })
}

/// The plugin hellos a recording holds, read from the frames on either side: what a replay of
/// the plugin side needs to say the same hello again (its secret is kept out of the header).
pub fn hellos(header: &Header, records: &[Record]) -> Vec<crate::proto::plugin::PluginHello> {
    let stream = header.is_stream();
    let mut decoders = [
        FrameDecoder::new(DEFAULT_MAX_FRAME_LEN),
        FrameDecoder::new(DEFAULT_MAX_FRAME_LEN),
    ];
    let mut envelopes = Vec::new();
    for record in records {
        let (side, frame) = match &record.step {
            Step::Bytes(bytes) => (0, Frame::Binary(bytes.clone())),
            Step::Frame(frame) => (0, frame.clone()),
            Step::Sent(frame) => (1, frame.clone()),
            _ => continue,
        };
        match frame {
            Frame::Text(text) => envelopes.extend(json::decode(&text).ok()),
            // A message transport's binary frame is one envelope; a byte stream's bytes are
            // length-prefixed frames, split anywhere.
            Frame::Binary(bytes) if !stream => envelopes.extend(binary::decode(bytes).ok()),
            Frame::Binary(bytes) => {
                let decoder = &mut decoders[side];
                decoder.push(&bytes);
                while let Ok(Some(frame)) = decoder.next_frame() {
                    envelopes.extend(binary::decode(frame).ok());
                }
            }
        }
    }
    envelopes
        .into_iter()
        .filter_map(|envelope| match envelope.message {
            Some(Message::PluginHello(hello)) => Some(hello),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::plugin::TriggerAction;

    #[test]
    fn every_step_reads_back_as_written() {
        let start = Instant::now();
        let header = Header {
            side: "manager".into(),
            config: json!({ "x": 1 }),
        };
        let trigger = Message::from(TriggerAction::default());
        let steps = [
            Step::Bytes(Bytes::from_static(b"\x02ab")),
            Step::Frame(Frame::Text("{}".into())),
            Step::End,
            Step::Failed("reset".into()),
            Step::Timeout,
            Step::Request(trigger.clone(), Duration::from_millis(1500)),
            Step::Notify(trigger.clone()),
            Step::Respond(7, Reply::Message(trigger)),
            Step::Respond(8, Reply::Error(ResponseCode::NotFound, "gone".into())),
            Step::Respond(9, Reply::Ok),
            Step::Close,
            Step::Admit(Verdict::Accept),
            Step::Admit(Verdict::refuse(ResponseCode::DuplicateName, "live")),
            Step::Sent(Frame::Binary(Bytes::from_static(b"out"))),
        ];
        let mut recorder = Recorder::new(start, &header);
        for (i, step) in steps.iter().enumerate() {
            recorder.record(start + Duration::from_millis(i as u64), step);
        }
        let (read_header, records) = read(&recorder.take()).unwrap();
        assert_eq!(read_header, header);
        let read_steps: Vec<Step> = records.iter().map(|r| r.step.clone()).collect();
        assert_eq!(read_steps, steps);
        assert_eq!(records[3].at, Duration::from_millis(3));
    }

    #[test]
    fn an_answer_already_encoded_reads_back_as_the_message_it_encodes() {
        let start = Instant::now();
        let header = Header {
            side: "plugin".into(),
            config: json!({}),
        };
        let trigger = Message::from(TriggerAction {
            action_id: "count".into(),
            ..Default::default()
        });
        let mut recorder = Recorder::new(start, &header);
        let encoded = crate::EncodedMessage::from(&trigger);
        recorder.record(start, &Step::Respond(7, Reply::Encoded(encoded)));
        let (_, records) = read(&recorder.take()).unwrap();
        assert_eq!(records[0].step, Step::Respond(7, Reply::Message(trigger)));
    }

    #[test]
    fn a_cut_recording_says_where() {
        let mut recorder = Recorder::new(
            Instant::now(),
            &Header {
                side: "plugin".into(),
                config: json!({}),
            },
        );
        recorder.record(
            Instant::now(),
            &Step::Sent(Frame::Binary(Bytes::from_static(b"abc"))),
        );
        let bytes = recorder.take();
        let error = read(&bytes[..bytes.len() - 1]).unwrap_err();
        assert!(matches!(error, RecordError::Truncated(_)), "{error}");
        assert!(matches!(read(b"nothing"), Err(RecordError::NotARecording)));
    }
}
