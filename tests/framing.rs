//! Length-delimited stream framing: limits checked before any buffering, errors that name the
//! announced length, the limit and the stream offset, and a decoder that stays failed.

use bytes::BytesMut;
use logi_plugin_core::Envelope;
use logi_plugin_core::codec::binary;
use logi_plugin_core::codec::frame::{
    DEFAULT_MAX_FRAME_LEN, EncodeError, FrameDecoder, FrameError, encode_frame,
};
use logi_plugin_core::proto::plugin::{Ping, TriggerAction};

fn frame(envelope: &Envelope) -> BytesMut {
    let mut buf = BytesMut::new();
    encode_frame(envelope, DEFAULT_MAX_FRAME_LEN, &mut buf).unwrap();
    buf
}

#[test]
fn the_default_limit_is_eight_mebibytes() {
    assert_eq!(DEFAULT_MAX_FRAME_LEN, 8 * 1024 * 1024);
    assert_eq!(
        FrameDecoder::default().max_frame_len(),
        DEFAULT_MAX_FRAME_LEN
    );
}

#[test]
fn a_frame_is_the_varint_length_then_the_envelope() {
    let envelope = Envelope::request(1, Ping {});
    let body = binary::encode_to_bytes(&envelope);
    let framed = frame(&envelope);
    assert_eq!(framed[0] as usize, body.len());
    assert_eq!(&framed[1..], &body[..]);
}

#[test]
fn an_oversized_announcement_is_refused_before_the_body_arrives() {
    let mut decoder = FrameDecoder::new(1024);
    decoder.push(&[0x80, 0x80, 0x04]); // 65536
    assert_eq!(
        decoder.next_frame(),
        Err(FrameError::Oversized {
            announced: 65536,
            limit: 1024,
            offset: 0
        })
    );
    assert_eq!(decoder.buffered_len(), 0);
    assert_eq!(
        decoder.next_frame().unwrap_err().to_string(),
        "frame at stream offset 0 announces 65536 bytes, over the limit of 1024 bytes"
    );
}

#[test]
fn the_error_names_the_offset_of_the_bad_frame() {
    let good = frame(&Envelope::request(1, Ping {}));
    let mut decoder = FrameDecoder::new(64);
    decoder.push(&good);
    decoder.push(&[0xc8, 0x01]); // 200
    assert!(decoder.next_frame().unwrap().is_some());
    assert_eq!(
        decoder.next_frame(),
        Err(FrameError::Oversized {
            announced: 200,
            limit: 64,
            offset: good.len() as u64
        })
    );
}

#[test]
fn a_frame_exactly_at_the_limit_is_accepted() {
    let envelope = Envelope::request(
        1,
        TriggerAction {
            action_id: "x".repeat(100),
            ..TriggerAction::default()
        },
    );
    let len = binary::encoded_len(&envelope);
    let mut decoder = FrameDecoder::new(len);
    decoder.push(&frame(&envelope));
    assert_eq!(
        binary::decode(decoder.next_frame().unwrap().unwrap()).unwrap(),
        envelope
    );
}

#[test]
fn encoding_refuses_an_envelope_over_the_limit_without_writing() {
    let envelope = Envelope::request(
        1,
        TriggerAction {
            action_id: "x".repeat(100),
            ..TriggerAction::default()
        },
    );
    let len = binary::encoded_len(&envelope);
    let mut buf = BytesMut::new();
    assert_eq!(
        encode_frame(&envelope, len - 1, &mut buf),
        Err(EncodeError::Oversized {
            len,
            limit: len - 1
        })
    );
    assert!(buf.is_empty());
}

#[test]
fn a_length_prefix_of_more_than_ten_bytes_is_malformed() {
    let mut decoder = FrameDecoder::default();
    decoder.push(&[0xff; 11]);
    assert!(matches!(
        decoder.next_frame(),
        Err(FrameError::MalformedLength { offset: 0, .. })
    ));
}

#[test]
fn a_length_prefix_past_u64_is_malformed() {
    let mut decoder = FrameDecoder::default();
    decoder.push(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]);
    assert!(matches!(
        decoder.next_frame(),
        Err(FrameError::MalformedLength { .. })
    ));
}

#[test]
fn a_non_minimal_length_prefix_is_accepted_as_protobuf_does() {
    let body = binary::encode_to_bytes(&Envelope::request(1, Ping {}));
    let mut decoder = FrameDecoder::default();
    decoder.push(&[0x80 | body.len() as u8, 0x80, 0x00]);
    decoder.push(&body);
    assert_eq!(decoder.next_frame().unwrap().unwrap(), body);
}

#[test]
fn after_an_error_the_decoder_stays_failed_and_drops_input() {
    let mut decoder = FrameDecoder::new(4);
    decoder.push(&[0x05]);
    let error = decoder.next_frame().unwrap_err();
    decoder.push(&frame(&Envelope::request(1, Ping {})));
    assert_eq!(decoder.buffered_len(), 0);
    assert_eq!(decoder.next_frame(), Err(error.clone()));
    assert_eq!(decoder.finish(), Err(error));
}

#[test]
fn a_zero_length_frame_is_an_empty_envelope() {
    let mut decoder = FrameDecoder::default();
    decoder.push(&[0x00]);
    assert_eq!(
        binary::decode(decoder.next_frame().unwrap().unwrap()).unwrap(),
        Envelope::default()
    );
}

#[test]
fn a_stream_ending_inside_a_frame_is_truncated() {
    let whole = frame(&Envelope::request(1, Ping {}));
    let mut decoder = FrameDecoder::default();
    decoder.push(&whole[..whole.len() - 2]);
    assert_eq!(decoder.next_frame(), Ok(None));
    assert_eq!(
        decoder.finish(),
        Err(FrameError::Truncated {
            expected: Some(whole.len()),
            received: whole.len() - 2,
            offset: 0
        })
    );

    let mut decoder = FrameDecoder::default();
    decoder.push(&whole);
    decoder.push(&[0x80]);
    assert!(decoder.next_frame().unwrap().is_some());
    assert_eq!(decoder.next_frame(), Ok(None));
    assert_eq!(
        decoder.finish().unwrap_err().to_string(),
        format!(
            "stream ended inside the frame at stream offset {}: 1 bytes received of an unfinished length prefix",
            whole.len()
        )
    );
}
