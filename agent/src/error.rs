//! The agent's one error type, and how each error looks on the wire.

use flyte_auth_proto::{ErrorKind, WireError};

/// Everything the agent can fail with.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AgentError {
    /// Another agent already serves this socket.
    #[error("another flyte-auth agent is already running on {0}")]
    AlreadyRunning(String),
    /// The socket or its directory could not be set up.
    #[error("cannot listen on {path}: {why}")]
    Listen {
        /// Socket path.
        path: String,
        /// Why.
        why: String,
    },
    /// The profile or the server's settings are unusable.
    #[error("{0}")]
    Config(String),
    /// A human must log in.
    #[error("not logged in to {host}: run `flyte-auth login`")]
    LoginRequired {
        /// Endpoint host.
        host: String,
    },
    /// An interactive login failed or expired; the user has to log in again.
    #[error("{0}")]
    Login(String),
    /// The endpoint or IdP could not be reached, or answered with a server error.
    #[error("cannot reach {host}: {why}")]
    Unreachable {
        /// Host that failed.
        host: String,
        /// Why (never contains a secret).
        why: String,
    },
    /// The IdP refused the request.
    #[error("{host} rejected the request: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Rejected {
        /// Host that refused.
        host: String,
        /// OAuth2 `error` code.
        error: String,
        /// OAuth2 `error_description`, if any.
        description: Option<String>,
    },
    /// The token store (keyring or file) failed; see `store::StoreError`.
    #[error("token store: {0}")]
    Store(String),
    /// Anything unexpected.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AgentError {
    /// The wire form of this error.
    pub fn to_wire(&self) -> WireError {
        let kind = match self {
            AgentError::AlreadyRunning(_)
            | AgentError::Listen { .. }
            | AgentError::Store(_)
            | AgentError::Internal(_) => ErrorKind::Internal,
            AgentError::Config(_) => ErrorKind::Config,
            AgentError::LoginRequired { .. } | AgentError::Login(_) => ErrorKind::LoginRequired,
            AgentError::Unreachable { .. } => ErrorKind::IdpUnreachable,
            AgentError::Rejected { .. } => ErrorKind::IdpRejected,
        };
        WireError::new(kind, self.to_string())
    }
}
