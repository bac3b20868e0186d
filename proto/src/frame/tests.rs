//! Framing: encoding limits, the blocking reader, and the decoder driven byte by byte.

use super::*;
use crate::Request;

#[test]
fn frame_round_trips_through_a_stream() {
    let mut buf = Vec::new();
    write_message(&mut buf, &Request::Status).unwrap();
    write_message(&mut buf, &Request::Shutdown).unwrap();
    let mut r = &buf[..];
    assert_eq!(
        read_message::<_, Request>(&mut r).unwrap(),
        Some(Request::Status)
    );
    assert_eq!(
        read_message::<_, Request>(&mut r).unwrap(),
        Some(Request::Shutdown)
    );
    assert_eq!(read_message::<_, Request>(&mut r).unwrap(), None);
}

#[test]
fn oversized_prefix_is_rejected_before_reading_the_body() {
    let prefix = ((MAX_FRAME_LEN + 1) as u32).to_be_bytes();
    // No body follows: if the reader tried to allocate and read it, it would report
    // Truncated instead of TooLarge.
    let mut r = &prefix[..];
    let err = read_message::<_, Request>(&mut r).unwrap_err();
    assert!(matches!(err, ProtoError::TooLarge { len, .. } if len == MAX_FRAME_LEN + 1));
    assert!(body_len(u32::MAX.to_be_bytes()).is_err());
    assert_eq!(
        body_len((MAX_FRAME_LEN as u32).to_be_bytes()).unwrap(),
        MAX_FRAME_LEN
    );
}

#[test]
fn oversized_message_is_refused_when_writing() {
    let big = Request::Hello {
        version: 1,
        client: "x".repeat(MAX_FRAME_LEN),
    };
    assert!(matches!(encode(&big), Err(ProtoError::TooLarge { .. })));
    let mut sink = Vec::new();
    assert!(write_message(&mut sink, &big).is_err());
    assert!(
        sink.is_empty(),
        "nothing may be written for a refused message"
    );
}

#[test]
fn truncated_frames_are_errors() {
    let frame = encode(&Request::Status).unwrap();
    for cut in [1, 3, PREFIX_LEN + 1, frame.len() - 1] {
        let mut r = &frame[..cut];
        let err = read_message::<_, Request>(&mut r).unwrap_err();
        assert!(matches!(err, ProtoError::Truncated), "cut at {cut}: {err}");
    }
}

#[test]
fn invalid_json_is_malformed() {
    let body = b"{not json";
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(body);
    let err = read_message::<_, Request>(&mut &frame[..]).unwrap_err();
    assert!(matches!(err, ProtoError::Malformed(_)), "{err}");
    let err = decode::<Request>(br#"{"type":"get_token"}"#).unwrap_err();
    assert!(
        matches!(err, ProtoError::Malformed(_)),
        "missing fields: {err}"
    );
}

/// Feeds `bytes` to `decoder` in pieces of at most `chunk`, as a driver would, checking that
/// the buffer it hands out never reaches past the frame; the steps other than `Pending`.
fn drive(decoder: &mut Decoder<Request>, bytes: &[u8], chunk: usize) -> Vec<Step<Request>> {
    let mut steps = Vec::new();
    let mut at = 0;
    loop {
        let buf = decoder.buf();
        assert!(!buf.is_empty(), "the decoder always wants something");
        let n = buf.len().min(chunk).min(bytes.len() - at);
        buf[..n].copy_from_slice(&bytes[at..at + n]);
        at += n;
        match decoder.filled(n) {
            Ok(Step::Pending) => {}
            Ok(Step::Closed) => return steps,
            Ok(step) => steps.push(step),
            Err(e) => panic!("fatal after {at} bytes: {e}"),
        }
    }
}

#[test]
fn the_decoder_gives_the_same_messages_whatever_the_read_sizes() {
    let mut stream = Vec::new();
    for req in [
        Request::Status,
        Request::StatusPage { offset: 3 },
        Request::Shutdown,
    ] {
        stream.extend_from_slice(&encode(&req).unwrap());
    }
    for chunk in [1, 2, 3, 5, 4096] {
        let steps = drive(&mut Decoder::new(), &stream, chunk);
        let msgs: Vec<_> = steps
            .into_iter()
            .map(|s| match s {
                Step::Message(m) => m,
                other => panic!("chunk {chunk}: {other:?}"),
            })
            .collect();
        let want = [
            Request::Status,
            Request::StatusPage { offset: 3 },
            Request::Shutdown,
        ];
        assert_eq!(msgs, want, "chunk {chunk}");
    }
}

#[test]
fn the_decoder_never_hands_out_room_past_the_current_frame() {
    let frame = encode(&Request::Status).unwrap();
    let mut d = Decoder::<Request>::new();
    assert!(d.is_idle());
    assert_eq!(d.buf().len(), PREFIX_LEN, "the prefix first, nothing more");
    d.buf()[..3].copy_from_slice(&frame[..3]);
    assert!(matches!(d.filled(3), Ok(Step::Pending)));
    assert_eq!(d.buf().len(), 1, "the rest of the prefix only");
    d.buf()[0] = frame[3];
    assert!(matches!(d.filled(1), Ok(Step::Pending)));
    assert!(!d.is_idle());
    let body = &frame[PREFIX_LEN..];
    assert_eq!(d.buf().len(), body.len(), "exactly the announced body");
    d.buf().copy_from_slice(body);
    assert!(matches!(
        d.filled(body.len()),
        Ok(Step::Message(Request::Status))
    ));
    assert!(d.is_idle());
    assert_eq!(d.buf().len(), PREFIX_LEN, "back at the next prefix");
}

#[test]
fn bad_json_is_recoverable_and_the_next_frame_still_decodes() {
    let mut stream = 9u32.to_be_bytes().to_vec();
    stream.extend_from_slice(b"{not json");
    stream.extend_from_slice(&0u32.to_be_bytes()); // empty body: also not JSON
    stream.extend_from_slice(&encode(&Request::Status).unwrap());
    let steps = drive(&mut Decoder::new(), &stream, 7);
    assert!(
        matches!(&steps[0], Step::Invalid(ProtoError::Malformed(_))),
        "{steps:?}"
    );
    assert!(
        matches!(&steps[1], Step::Invalid(ProtoError::Malformed(_))),
        "{steps:?}"
    );
    assert!(
        matches!(&steps[2], Step::Message(Request::Status)),
        "{steps:?}"
    );
    assert_eq!(steps.len(), 3);
}

#[test]
fn the_end_of_the_stream_is_clean_between_frames_and_truncated_within_one() {
    let mut d = Decoder::<Request>::new();
    assert!(matches!(d.filled(0), Ok(Step::Closed)));
    let frame = encode(&Request::Status).unwrap();
    for cut in [1, PREFIX_LEN, PREFIX_LEN + 1, frame.len() - 1] {
        let mut d = Decoder::<Request>::new();
        let mut at = 0;
        while at < cut {
            let buf = d.buf();
            let n = buf.len().min(cut - at);
            buf[..n].copy_from_slice(&frame[at..at + n]);
            at += n;
            assert!(matches!(d.filled(n), Ok(Step::Pending)), "cut at {cut}");
        }
        assert!(
            matches!(d.filled(0), Err(ProtoError::Truncated)),
            "cut at {cut}"
        );
    }
}

#[test]
fn an_oversized_prefix_is_fatal_before_a_body_buffer_exists() {
    let mut d = Decoder::<Request>::new();
    d.buf().copy_from_slice(&u32::MAX.to_be_bytes());
    let err = d.filled(PREFIX_LEN).unwrap_err();
    assert!(matches!(err, ProtoError::TooLarge { len, .. } if len == u32::MAX as usize));
    // No body was allocated: the decoder asks for a prefix again, not for 4 GiB.
    assert_eq!(d.buf().len(), PREFIX_LEN);
}
