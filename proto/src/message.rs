//! Requests, responses and events exchanged between client and agent.
//!
//! Every message is a JSON object with a `type` tag. Unknown fields are ignored (forward
//! compatibility); an unknown `type` decodes to the `Unknown` variant so the receiver can answer
//! with a clear error instead of dropping the connection. Every request gets exactly one final
//! response; `Event`s only ever precede a final response.

use serde::{Deserialize, Serialize};

use crate::profile::{AuthMode, Profile, Secret};

mod logout;
mod status;

pub use logout::LogoutTarget;
pub use status::{SessionStatus, StatusReport};

/// Client → agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// First message on every connection.
    Hello {
        /// The client's [`crate::PROTOCOL_VERSION`].
        version: u32,
        /// Free-form client name and version, for logs.
        client: String,
    },
    /// Ask for an access token for `profile`, valid for at least `min_valid_secs`.
    GetToken {
        /// The session to get a token for (boxed: it dwarfs every other request).
        profile: Box<Profile>,
        /// Minimum remaining validity of the returned token, in seconds.
        #[serde(default = "default_min_valid")]
        min_valid_secs: u64,
        /// Whether the client can show a login prompt to a human (its stderr is a terminal).
        /// If no token can be had without a login, only an interactive request starts one
        /// (or a PKCE request when the agent can open a browser).
        #[serde(default)]
        interactive: bool,
        /// The client's display environment, for opening a browser (see [`BrowserEnv`]).
        #[serde(default, deserialize_with = "crate::bounded::short_list")]
        browser_env: BrowserEnv,
    },
    /// Log in (again) now, with `method` or the profile's mode. Joins a login in progress.
    Login {
        /// The session to log in.
        profile: Box<Profile>,
        /// `Pkce` (browser) or `DeviceFlow`; `None` = the profile's mode.
        #[serde(default)]
        method: Option<AuthMode>,
        /// Instead of a new login, take over the tokens Flyte's Python SDKs left in the
        /// keyring for this endpoint.
        #[serde(default)]
        import: bool,
        /// The client's display environment, for opening a browser.
        #[serde(default, deserialize_with = "crate::bounded::short_list")]
        browser_env: BrowserEnv,
    },
    /// Forget a session (or all); clients waiting on it get "login required".
    Logout {
        /// Which sessions; on the wire, the `profile` and `all` fields of this object.
        #[serde(flatten)]
        target: LogoutTarget,
    },
    /// Describe every session (never a token). With many sessions the answer is the first
    /// page; its [`StatusReport::next_offset`] says where [`Request::StatusPage`] goes on.
    Status,
    /// The page of `status` that starts at session number `offset` (sorted by endpoint).
    /// `Status` is the same as `StatusPage { offset: 0 }`.
    StatusPage {
        /// Index of the first session to describe.
        #[serde(default)]
        offset: u32,
    },
    /// Ask the agent to exit.
    Shutdown,
    /// A request type this agent does not know.
    #[serde(other)]
    Unknown,
}

fn default_min_valid() -> u64 {
    crate::DEFAULT_MIN_VALID_SECS
}

/// Agent → client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    /// Answer to [`Request::Hello`].
    Hello {
        /// The agent's [`crate::PROTOCOL_VERSION`].
        version: u32,
        /// The agent's package version.
        agent_version: String,
        /// The agent's process id.
        pid: u32,
    },
    /// An access token.
    Token(TokenResponse),
    /// Answer to [`Request::Login`].
    LoggedIn {
        /// Endpoint logged in to.
        endpoint: String,
        /// Who, from the token's claims (unverified), if known.
        subject: Option<String>,
        /// Expiry of the new access token, Unix seconds.
        expires_at: u64,
    },
    /// Answer to [`Request::Logout`].
    LoggedOut {
        /// How many sessions were forgotten.
        sessions: u32,
    },
    /// Something the user must see while a request is in progress (login prompts).
    Event {
        /// The event.
        event: Event,
    },
    /// Answer to [`Request::Status`].
    Status(StatusReport),
    /// The request was carried out and has nothing to return.
    Ok,
    /// The request failed.
    Error(WireError),
    /// A response type this client does not know.
    #[serde(other)]
    Unknown,
}

/// Environment variables of the requesting client that decide how a browser is opened
/// (`DISPLAY`, `WAYLAND_DISPLAY`, `BROWSER`, `FLYTE_AUTH_BROWSER`, ...). The agent may run
/// under a service manager without the user's display; it opens the browser where the asking
/// terminal would have.
pub type BrowserEnv = Vec<(String, String)>;

/// Names of the variables a client puts in [`BrowserEnv`].
pub const BROWSER_ENV_VARS: &[&str] = &[
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "BROWSER",
    "FLYTE_AUTH_BROWSER",
    "DBUS_SESSION_BUS_ADDRESS",
    "XDG_RUNTIME_DIR",
    "XDG_CURRENT_DESKTOP",
];

/// An access token and how to send it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The bearer token itself.
    pub access_token: Secret,
    /// Token type, normally `Bearer`.
    pub token_type: String,
    /// Expiry as Unix seconds.
    pub expires_at: u64,
    /// Header (gRPC metadata key) the server wants the token in.
    pub header_key: String,
    /// Something the user should know about this token, e.g. that it is valid for less than
    /// asked because the IdP does not answer; `flyte-auth token` prints it on stderr.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// Progress shown to the user while a request waits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// Open this URL in a browser (PKCE).
    OpenUrl {
        /// The authorization URL.
        url: String,
        /// Whether the agent already opened a browser itself.
        opened: bool,
    },
    /// Visit a URL and enter a code (device flow).
    DeviceCode {
        /// Where to go.
        verification_uri: String,
        /// The code to enter.
        user_code: String,
        /// A URL with the code filled in, when the server gives one.
        verification_uri_complete: Option<String>,
        /// When the code expires, Unix seconds.
        expires_at: u64,
    },
    /// A human-readable progress line.
    Progress {
        /// The message.
        message: String,
    },
    /// An event type this client does not know.
    #[serde(other)]
    Unknown,
}

/// Error classes; the client maps them to exit codes and hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request was malformed or of an unknown type.
    BadRequest,
    /// Client and agent speak different protocol versions.
    VersionMismatch,
    /// The profile or the server's settings are unusable.
    Config,
    /// A human must log in (`flyte-auth login`).
    LoginRequired,
    /// The IdP or Flyte endpoint could not be reached.
    IdpUnreachable,
    /// The IdP answered with an error (e.g. `invalid_client`).
    IdpRejected,
    /// The agent is at capacity or shutting down.
    Busy,
    /// The connecting user is not the agent's owner.
    PermissionDenied,
    /// A bug or unexpected failure in the agent.
    Internal,
    /// A kind this client does not know.
    #[serde(other)]
    Unknown,
}

impl ErrorKind {
    /// Every kind, in declaration order (for tests and exhaustive tables).
    pub const ALL: [ErrorKind; 10] = [
        ErrorKind::BadRequest,
        ErrorKind::VersionMismatch,
        ErrorKind::Config,
        ErrorKind::LoginRequired,
        ErrorKind::IdpUnreachable,
        ErrorKind::IdpRejected,
        ErrorKind::Busy,
        ErrorKind::PermissionDenied,
        ErrorKind::Internal,
        ErrorKind::Unknown,
    ];
}

/// A typed error on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireError {
    /// Class of error.
    pub kind: ErrorKind,
    /// Human-readable message; never contains a secret.
    pub message: String,
}

impl WireError {
    /// Builds an error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        WireError {
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests;
