//! Framing: a `u32` big-endian length prefix followed by a JSON body of at most [`MAX_FRAME_LEN`].
//!
//! The limit is enforced on both sides and before any allocation: the [`Decoder`] looks at the
//! four prefix bytes with [`body_len`] and refuses an oversized frame without reading its body.
//! Reading is implemented once, in the sans-IO [`Decoder`]; [`read_message`] is its blocking
//! adapter (the agent has a tokio one). Buffers that may hold secrets (profiles carry client
//! secrets, responses carry tokens) are zeroized when dropped.

use std::io::{self, Read, Write};

use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::ProtoError;

mod decoder;

pub use decoder::{Decoder, Step};

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

/// Reads one message. Returns `Ok(None)` when the peer closed the stream cleanly between
/// frames. A blocking adapter of [`Decoder`]: it reads nothing past the message it returns.
pub fn read_message<R: Read, T: DeserializeOwned>(r: &mut R) -> Result<Option<T>, ProtoError> {
    let mut decoder = Decoder::new();
    loop {
        let n = match r.read(decoder.buf()) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        match decoder.filled(n)? {
            Step::Pending => {}
            Step::Message(msg) => return Ok(Some(msg)),
            Step::Invalid(e) => return Err(e),
            Step::Closed => return Ok(None),
        }
    }
}

#[cfg(test)]
mod tests;
