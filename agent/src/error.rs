//! The agent's one error type, and how each error looks on the wire.
//!
//! Text that came from the network (an IdP's `error_description`, a body quote) is made
//! printable where these errors are built (see [`flyte_auth_proto::text`]), and once more
//! in [`AgentError::to_wire`], so no escape sequence reaches a log or a terminal.

use flyte_auth_proto::text::printable;
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
    /// The endpoint or IdP could not be reached (connection, TLS, timeout).
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
    /// The server answered with an HTTP error status and no OAuth error we act on.
    #[error("{host} answered HTTP {status} to the {what}{}", if detail.is_empty() { String::new() } else { format!(": {detail}") })]
    Http {
        /// Host that answered.
        host: String,
        /// Which request ("token request", "device authorization request", ...).
        what: String,
        /// Status code and reason, e.g. `500 Internal Server Error`.
        status: String,
        /// The OAuth error in the body, or a short printable quote of it.
        detail: String,
        /// Whether trying again later may work (server errors, rate limits).
        transient: bool,
    },
    /// The server answered, but with something that cannot be used: not the expected JSON,
    /// too large, an empty or non-Bearer token.
    #[error("{host}'s {what} {why}")]
    BadAnswer {
        /// Host that answered.
        host: String,
        /// Which answer ("token response", "device authorization", ...).
        what: String,
        /// What is wrong with it, e.g. "is larger than 256 KiB".
        why: String,
    },
    /// The token store (keyring or file) failed; see `store::StoreError`.
    #[error("token store: {0}")]
    Store(String),
    /// Anything unexpected.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AgentError {
    /// Whether the failure was on the server's side (unreachable, a 5xx or rate limit, an
    /// unusable answer), so that trying again later may work and repeated tries must back
    /// off; a refusal (bad secret, revoked grant) is not.
    pub fn is_transient(&self) -> bool {
        match self {
            AgentError::Unreachable { .. } | AgentError::BadAnswer { .. } => true,
            AgentError::Http { transient, .. } => *transient,
            _ => false,
        }
    }

    /// The wire form of this error.
    pub fn to_wire(&self) -> WireError {
        let kind = match self {
            AgentError::AlreadyRunning(_)
            | AgentError::Listen { .. }
            | AgentError::Store(_)
            | AgentError::Internal(_) => ErrorKind::Internal,
            AgentError::Config(_) => ErrorKind::Config,
            AgentError::LoginRequired { .. } | AgentError::Login(_) => ErrorKind::LoginRequired,
            AgentError::Unreachable { .. } | AgentError::BadAnswer { .. } => {
                ErrorKind::IdpUnreachable
            }
            AgentError::Http { transient, .. } if *transient => ErrorKind::IdpUnreachable,
            AgentError::Rejected { .. } | AgentError::Http { .. } => ErrorKind::IdpRejected,
        };
        WireError::new(kind, printable(&self.to_string()))
    }

    /// The IdP refused: its OAuth `error` and `error_description`, made printable and short.
    pub fn rejected(host: &str, error: &str, description: Option<&str>) -> AgentError {
        use flyte_auth_proto::text::bounded;
        AgentError::Rejected {
            host: host.to_owned(),
            error: bounded(error, 100),
            description: description.map(|d| bounded(d, 500)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_text_reaches_the_wire_printable() {
        let e = AgentError::rejected("idp", "invalid_client", Some("\u{1b}[2Jgone\nhint: x"));
        let w = e.to_wire();
        assert_eq!(w.kind, ErrorKind::IdpRejected);
        assert_eq!(
            w.message,
            "idp rejected the request: invalid_client (\\x1b[2Jgone\\x0ahint: x)"
        );
        let e = AgentError::Http {
            host: "idp".into(),
            what: "token request".into(),
            status: "503 Service Unavailable".into(),
            detail: String::new(),
            transient: true,
        };
        assert_eq!(e.to_wire().kind, ErrorKind::IdpUnreachable);
        assert!(e.is_transient());
        assert_eq!(
            e.to_string(),
            "idp answered HTTP 503 Service Unavailable to the token request"
        );
        assert!(!AgentError::rejected("idp", "invalid_grant", None).is_transient());
    }
}
