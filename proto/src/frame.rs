//! Framing: a `u32` big-endian length prefix followed by a JSON body of at most [`MAX_FRAME_LEN`].
//!
//! The limit is enforced on both sides and before any allocation: a reader looks at the four
//! prefix bytes with [`body_len`] and refuses an oversized frame without reading its body.
//! Buffers that may hold secrets (profiles carry client secrets, responses carry tokens) are
//! zeroized when dropped.

use std::io::{self, Read, Write};

use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::ProtoError;

/// Largest body a frame may carry, in bytes (the prefix is not counted).
pub const MAX_FRAME_LEN: usize = 64 * 1024;

/// Length of the frame prefix in bytes.
pub const PREFIX_LEN: usize = 4;

/// Serializes `msg` into a complete frame (prefix + body).
pub fn encode<T: Serialize>(msg: &T) -> Result<Zeroizing<Vec<u8>>, ProtoError> {
    let mut buf = Zeroizing::new(vec![0u8; PREFIX_LEN]);
    serde_json::to_writer(&mut *buf, msg).map_err(|e| ProtoError::Malformed(e.to_string()))?;
    let len = buf.len() - PREFIX_LEN;
    if len > MAX_FRAME_LEN {
        return Err(ProtoError::TooLarge {
            len,
            max: MAX_FRAME_LEN,
        });
    }
    let prefix = u32::try_from(len).map_err(|_| ProtoError::TooLarge {
        len,
        max: MAX_FRAME_LEN,
    })?;
    buf[..PREFIX_LEN].copy_from_slice(&prefix.to_be_bytes());
    Ok(buf)
}

/// Validates a length prefix and returns the body length it announces.
pub fn body_len(prefix: [u8; PREFIX_LEN]) -> Result<usize, ProtoError> {
    let len = u32::from_be_bytes(prefix) as usize;
    if len > MAX_FRAME_LEN {
        return Err(ProtoError::TooLarge {
            len,
            max: MAX_FRAME_LEN,
        });
    }
    Ok(len)
}

/// Parses a frame body (without its prefix).
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ProtoError> {
    serde_json::from_slice(body).map_err(|e| ProtoError::Malformed(e.to_string()))
}

/// Writes one message as a frame and flushes.
pub fn write_message<W: Write, T: Serialize>(w: &mut W, msg: &T) -> Result<(), ProtoError> {
    let frame = encode(msg)?;
    w.write_all(&frame)?;
    w.flush()?;
    Ok(())
}

/// Reads one message. Returns `Ok(None)` when the peer closed the stream cleanly between frames.
pub fn read_message<R: Read, T: DeserializeOwned>(r: &mut R) -> Result<Option<T>, ProtoError> {
    let mut prefix = [0u8; PREFIX_LEN];
    match read_full(r, &mut prefix)? {
        0 => return Ok(None),
        PREFIX_LEN => {}
        _ => return Err(ProtoError::Truncated),
    }
    let len = body_len(prefix)?;
    let mut body = Zeroizing::new(vec![0u8; len]);
    if read_full(r, &mut body)? != len {
        return Err(ProtoError::Truncated);
    }
    decode(&body).map(Some)
}

/// Reads until `buf` is full or EOF; returns how many bytes were read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
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
}
