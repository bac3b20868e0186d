//! The one frame decoder, sans-IO: the driver reads bytes into the buffer it is handed, the
//! decoder turns them into messages. The blocking client ([`super::read_message`]) and the
//! agent's tokio reader both drive it, so framing rules live only here.
//!
//! The buffer handed out is exactly the part of the current frame still missing -- the rest of
//! the prefix, or the rest of the body -- so a driver that reads into it never reads past the
//! frame it is on: the agent relies on that to hold a pipelining client back with the
//! socket's own buffers (backpressure) instead of queueing what it sent.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use super::{PREFIX_LEN, body_len, decode};
use crate::ProtoError;

/// What one [`Decoder::filled`] call produced. Errors returned beside it (`Err`) are fatal:
/// framing is lost or the stream ended mid-frame, so the connection must close.
#[derive(Debug)]
pub enum Step<T> {
    /// The frame is not complete yet: read into [`Decoder::buf`] again.
    Pending,
    /// A whole frame arrived and its body is a valid `T`.
    Message(T),
    /// A whole frame arrived but its body is not a valid `T` (a [`ProtoError::Malformed`]).
    /// Framing is intact, so the next frame can still be read: worth an answer, not a hang-up.
    Invalid(ProtoError),
    /// The stream ended cleanly, between two frames.
    Closed,
}

/// Where the decoder is within the current frame.
#[derive(Debug)]
enum Part {
    /// `got` bytes of the length prefix are in.
    Prefix { got: usize },
    /// The prefix announced `body.len()` bytes, `got` of which are in. Zeroized on drop:
    /// bodies carry client secrets and tokens.
    Body {
        body: Zeroizing<Vec<u8>>,
        got: usize,
    },
}

/// Decodes a stream of frames into messages of type `T`, holding at most one frame at a time.
///
/// Drive it by reading into [`Decoder::buf`] and reporting the count to [`Decoder::filled`]
/// (0 = the stream ended), until it returns something other than [`Step::Pending`]. After a
/// fatal error the stream is out of step and must not be read further.
#[derive(Debug)]
pub struct Decoder<T> {
    prefix: [u8; PREFIX_LEN],
    part: Part,
    _msg: PhantomData<fn() -> T>,
}

impl<T> Default for Decoder<T> {
    fn default() -> Self {
        Decoder {
            prefix: [0; PREFIX_LEN],
            part: Part::Prefix { got: 0 },
            _msg: PhantomData,
        }
    }
}

impl<T: DeserializeOwned> Decoder<T> {
    /// A decoder at the start of a frame.
    pub fn new() -> Self {
        Self::default()
    }

    /// Where the next bytes go: exactly what is still missing from the current frame's prefix
    /// or body, never more, and never empty.
    pub fn buf(&mut self) -> &mut [u8] {
        match &mut self.part {
            Part::Prefix { got } => &mut self.prefix[*got..],
            Part::Body { body, got } => &mut body[*got..],
        }
    }

    /// Whether the decoder is between frames (nothing of the next one read yet).
    pub fn is_idle(&self) -> bool {
        matches!(self.part, Part::Prefix { got: 0 })
    }

    /// Takes note that `n` bytes were read into [`Decoder::buf`]; `n == 0` means the stream
    /// ended. The length prefix is checked against [`super::MAX_FRAME_LEN`] as soon as it is
    /// complete, before a body buffer is allocated.
    pub fn filled(&mut self, n: usize) -> Result<Step<T>, ProtoError> {
        if n == 0 {
            let clean = self.is_idle();
            self.part = Part::Prefix { got: 0 };
            return if clean {
                Ok(Step::Closed)
            } else {
                Err(ProtoError::Truncated)
            };
        }
        match &mut self.part {
            Part::Prefix { got } => {
                // Clamped: a driver that reports more than it was given cannot push `got`
                // past the prefix.
                *got = (*got + n).min(PREFIX_LEN);
                if *got < PREFIX_LEN {
                    return Ok(Step::Pending);
                }
                self.part = Part::Prefix { got: 0 };
                let len = body_len(self.prefix)?;
                if len == 0 {
                    return Ok(finish(&[]));
                }
                self.part = Part::Body {
                    body: Zeroizing::new(vec![0u8; len]),
                    got: 0,
                };
                Ok(Step::Pending)
            }
            Part::Body { body, got } => {
                *got = (*got + n).min(body.len());
                if *got < body.len() {
                    return Ok(Step::Pending);
                }
                let step = finish(body);
                // Dropping the body zeroizes it; between frames nothing is kept.
                self.part = Part::Prefix { got: 0 };
                Ok(step)
            }
        }
    }
}

/// The step for a complete frame body.
fn finish<T: DeserializeOwned>(body: &[u8]) -> Step<T> {
    match decode(body) {
        Ok(msg) => Step::Message(msg),
        Err(e) => Step::Invalid(e),
    }
}
