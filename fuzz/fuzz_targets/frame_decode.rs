//! Fuzz target: frame decoding and request parsing as the agent does them (and response
//! parsing as the client does). Any input must give a message or a clean error, never a
//! panic, and whatever decodes must survive a re-encode unchanged.
#![no_main]

use flyte_auth_proto::frame::{Decoder, Step, decode, encode, read_message};
use flyte_auth_proto::{ProtoError, Request, Response};
use libfuzzer_sys::fuzz_target;

/// `decode(encode(msg)) == msg` for a message that decoded from fuzz input.
fn reencodes<T>(msg: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    match encode(msg) {
        Ok(frame) => {
            let back: T = decode(&frame[4..]).expect("a re-encoded message decodes");
            assert_eq!(&back, msg, "re-encoding changed the message");
        }
        // Defaults filled in may push a message near the cap over it: refused, not a bug.
        Err(ProtoError::TooLarge { .. }) => {}
        Err(e) => panic!("a decoded message does not encode: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    // The input as one frame body, the way the agent parses a request once it has its length.
    if let Ok(req) = decode::<Request>(data) {
        reencodes(&req);
    }
    if let Ok(resp) = decode::<Response>(data) {
        reencodes(&resp);
    }
    // The input as a byte stream of frames (prefix checks, truncation, several messages).
    let mut stream = data;
    while let Ok(Some(req)) = read_message::<_, Request>(&mut stream) {
        reencodes(&req);
    }
    // The same stream through the sans-IO decoder in reads of at most `chunk` bytes (the
    // first byte), past bad frames as the agent goes on after answering them: whatever the
    // read sizes, the buffer it hands out stays within one frame.
    if let Some((&chunk, rest)) = data.split_first() {
        decode_in_chunks(rest, usize::from(chunk.max(1)));
    }
});

/// Drives a [`Decoder`] over `stream`, `chunk` bytes at most per read, until it ends or fails.
fn decode_in_chunks(mut stream: &[u8], chunk: usize) {
    let mut decoder = Decoder::<Request>::new();
    loop {
        let buf = decoder.buf();
        assert!(!buf.is_empty() && buf.len() <= flyte_auth_proto::MAX_FRAME_LEN);
        let n = buf.len().min(chunk).min(stream.len());
        buf[..n].copy_from_slice(&stream[..n]);
        stream = &stream[n..];
        match decoder.filled(n) {
            Ok(Step::Pending | Step::Invalid(_)) => {}
            Ok(Step::Message(req)) => reencodes(&req),
            Ok(Step::Closed) | Err(_) => return,
        }
    }
}
