//! Wire protocol shared by the flyte-auth agent and its clients: messages, framing and paths.
//!
//! Sans-IO: one frame [`frame::Decoder`] takes bytes and gives messages, with thin adapters
//! over `std::io` here and over tokio in the agent, so both sides share one implementation.
//! No tokio, no network. The single exception is [`private_dir`], the filesystem check of
//! the socket's directory that both binaries must make the same way.
#![deny(missing_docs)]

pub mod bounded;
pub mod contract;
pub mod error;
pub mod frame;
pub mod message;
pub mod paths;
pub mod private_dir;
pub mod profile;
pub mod state;
pub mod status_page;
pub mod text;

pub use error::ProtoError;
pub use frame::MAX_FRAME_LEN;
pub use message::{
    BROWSER_ENV_VARS, BrowserEnv, ErrorKind, Event, LogoutTarget, Request, Response, SessionStatus,
    StatusReport, TokenResponse, WireError,
};
pub use profile::{AuthMode, Profile, Secret, SessionKey};
pub use state::SessionState;

/// Version of the wire protocol. Bumped on any incompatible change to messages or framing;
/// both sides exchange it in `Hello` and refuse to talk on a mismatch.
pub const PROTOCOL_VERSION: u32 = 1;

/// Default for how long a returned access token must stay valid, in seconds.
pub const DEFAULT_MIN_VALID_SECS: u64 = 60;

/// Longest text (in bytes, before [`text::bounded`] escapes it) of a token's `warning`:
/// the agent keeps room for the longest one when it checks that a token fits a frame.
pub const MAX_WARNING_LEN: usize = 512;
