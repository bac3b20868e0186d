//! Errors from framing, decoding and the private-directory check.

use std::path::PathBuf;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum ProtoError {
    /// A frame's length prefix (or an outgoing message) exceeds [`crate::MAX_FRAME_LEN`].
    #[error("message of {len} bytes exceeds the {max}-byte limit")]
    TooLarge {
        /// The offending length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The peer closed the connection in the middle of a frame.
    #[error("connection closed in the middle of a message")]
    Truncated,
    /// The frame body is not valid JSON for the expected message type.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// Reading or writing the underlying stream failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// A private directory is unsafe to use (wrong owner or permissions); see
    /// [`crate::private_dir`].
    #[error("refusing to use {path}: {why}")]
    UnsafeDir {
        /// The directory.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
}
