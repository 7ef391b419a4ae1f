//! What each fuzz target checks, shared with `tests/fuzz_corpus.rs` so that `cargo test` replays
//! the checked-in corpus through exactly the code the fuzzer ran.
//!
//! Beyond "no panic": whatever decodes must encode again and decode to the same envelope, through
//! either codec.

use bytes::{Bytes, BytesMut};
use logi_plugin_core::Envelope;
use logi_plugin_core::codec::frame::{FrameDecoder, encode_frame};
use logi_plugin_core::codec::{binary, json};

/// A small limit, so that oversized announcements are within the fuzzer's reach.
const FUZZ_MAX_FRAME_LEN: usize = 4096;

/// Splits the input into chunks (sizes taken from its first byte) and runs them through a frame
/// decoder; every frame goes to the binary checks.
pub fn framer(data: &[u8]) {
    let Some((&pattern, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(pattern % 17) + 1;
    let mut decoder = FrameDecoder::new(FUZZ_MAX_FRAME_LEN);
    let mut pushed = 0;
    for piece in stream.chunks(chunk) {
        decoder.push(piece);
        pushed += piece.len();
        assert!(
            decoder.buffered_len() <= pushed,
            "the decoder holds only what it was given"
        );
        loop {
            match decoder.next_frame() {
                Ok(Some(frame)) => {
                    assert!(frame.len() <= FUZZ_MAX_FRAME_LEN);
                    check_binary(frame);
                }
                Ok(None) => break,
                Err(error) => {
                    let _ = error.to_string();
                    assert_eq!(
                        decoder.next_frame(),
                        Err(error),
                        "a failed decoder stays failed"
                    );
                    return;
                }
            }
        }
    }
    let _ = decoder.finish();
}

/// Decodes the input as one binary envelope.
pub fn binary_decode(data: &[u8]) {
    check_binary(Bytes::copy_from_slice(data));
}

/// Decodes the input as one JSON envelope.
pub fn json_decode(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match json::decode(text) {
        Ok(envelope) => check_round_trips(&envelope),
        Err(error) => {
            let _ = error.to_string();
        }
    }
}

fn check_binary(bytes: Bytes) {
    match binary::decode(bytes) {
        Ok(envelope) => check_round_trips(&envelope),
        Err(error) => {
            let _ = error.to_string();
        }
    }
}

/// A decoded envelope survives both codecs and the framer unchanged (compared by its binary
/// encoding, which is exact for NaN too).
fn check_round_trips(envelope: &Envelope) {
    let wire = binary::encode_to_bytes(envelope);
    assert_eq!(wire.len(), binary::encoded_len(envelope));
    let again = binary::decode(wire.clone()).expect("our binary encoding decodes");
    assert_eq!(binary::encode_to_bytes(&again), wire, "binary round trip");

    // JSON has one NaN, so a NaN's payload bits cannot survive it. The text must: the writer maps
    // distinct values to distinct text (NaN payloads aside), so equal text means an equal
    // envelope, and without a NaN the bytes must match too.
    let text = json::encode(envelope);
    let from_json = json::decode(&text).unwrap_or_else(|e| panic!("our JSON decodes: {e}\n{text}"));
    assert_eq!(json::encode(&from_json), text, "JSON round trip");
    if !text.contains("\"NaN\"") {
        assert_eq!(
            binary::encode_to_bytes(&from_json),
            wire,
            "JSON round trip of {text}"
        );
    }

    let mut framed = BytesMut::new();
    if encode_frame(envelope, FUZZ_MAX_FRAME_LEN, &mut framed).is_ok() {
        let mut decoder = FrameDecoder::new(FUZZ_MAX_FRAME_LEN);
        decoder.push(&framed);
        let frame = decoder
            .next_frame()
            .expect("our frame decodes")
            .expect("a whole frame");
        assert_eq!(frame, wire, "framing round trip");
    }
}
