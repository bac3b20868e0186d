//! The agent's one error type, and how each error looks on the wire.
//!
//! Text that came from the network (an IdP's `error_description`, a body quote) is made
//! printable where these errors are built (see [`flyte_auth_proto::text`]), and once more
//! in [`AgentError::to_wire`], so no escape sequence reaches a log or a terminal.
//!
//! Errors keep what caused them ([`std::error::Error::source`]): an `io::Error`, a reqwest
//! error, a [`StoreError`]. The cause is shared ([`Cause`]) so that an error stays `Clone`:
//! one failed login or refresh is handed to every client waiting on it.

use std::sync::Arc;

use flyte_auth_proto::text::printable;
use flyte_auth_proto::{ErrorKind, WireError};

use crate::http::OAuthCode;
use crate::store::StoreError;

/// What caused an error, shared between the clones of it.
pub type Cause = Arc<dyn std::error::Error + Send + Sync>;

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
        /// Why (it names the cause, if any, so the message reads alone).
        why: String,
        /// The system's error, if one caused it.
        #[source]
        source: Option<Cause>,
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
        /// Why (never contains a secret); it ends with the root cause.
        why: String,
        /// The transport error (DNS, refused, TLS, certificate, timeout), if one caused it.
        #[source]
        source: Option<Cause>,
    },
    /// The IdP refused the request.
    #[error("{host} rejected the request: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Rejected {
        /// Host that refused.
        host: String,
        /// OAuth2 `error` code.
        error: OAuthCode,
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
    /// The token store (keyring or file) failed.
    #[error("token store: {0}")]
    Store(#[source] StoreError),
    /// Anything unexpected.
    #[error("internal error: {what}")]
    Internal {
        /// What went wrong (it names the cause, if any, so the message reads alone).
        what: String,
        /// The error that caused it, if any.
        #[source]
        source: Option<Cause>,
    },
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
            | AgentError::Internal { .. } => ErrorKind::Internal,
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
    pub fn rejected(
        host: &str,
        error: impl Into<OAuthCode>,
        description: Option<&str>,
    ) -> AgentError {
        use flyte_auth_proto::text::bounded;
        let error = match error.into() {
            OAuthCode::Other(code) => OAuthCode::Other(bounded(&code, 100)),
            known => known,
        };
        AgentError::Rejected {
            host: host.to_owned(),
            error,
            description: description.map(|d| bounded(d, 500)),
        }
    }

    /// An unexpected failure with nothing underneath it.
    pub fn internal(what: impl Into<String>) -> AgentError {
        AgentError::Internal {
            what: what.into(),
            source: None,
        }
    }

    /// The socket at `path` cannot be set up, for the reason `why`.
    pub fn listen(path: impl Into<String>, why: impl Into<String>) -> AgentError {
        AgentError::Listen {
            path: path.into(),
            why: why.into(),
            source: None,
        }
    }

    /// What caused this error, as its own type (`downcast_ref` to an `io::Error` or a
    /// `reqwest::Error` works on it, where [`std::error::Error::source`] yields the shared
    /// handle); the store's error for [`AgentError::Store`].
    pub fn cause(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        match self {
            AgentError::Listen { source, .. }
            | AgentError::Unreachable { source, .. }
            | AgentError::Internal { source, .. } => source.as_deref(),
            AgentError::Store(e) => Some(e),
            _ => None,
        }
    }

    /// The same error with `cause` kept as its source, for the variants that carry one
    /// (listen, unreachable, internal); others are returned unchanged.
    pub fn because(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> AgentError {
        match &mut self {
            AgentError::Listen { source, .. }
            | AgentError::Unreachable { source, .. }
            | AgentError::Internal { source, .. } => *source = Some(Arc::new(cause)),
            _ => {}
        }
        self
    }
}

impl From<StoreError> for AgentError {
    fn from(e: StoreError) -> Self {
        AgentError::Store(e)
    }
}

/// `e` and its causes on one line, `outer: inner: root`, leaving out a cause whose text the
/// line already holds (most messages here quote their cause, and keep it as source too).
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut line = e.to_string();
    let mut cur = e.source();
    while let Some(cause) = cur {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cur = cause.source();
    }
    line
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

    #[test]
    fn causes_are_kept_and_shared_by_clones() {
        use std::error::Error as _;
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let e = AgentError::listen("/s", "cannot lock: denied").because(io);
        let copy = e.clone();
        assert_eq!(copy.source().expect("a source").to_string(), "denied");
        let io = copy
            .cause()
            .and_then(|c| c.downcast_ref::<std::io::Error>());
        let io = io.expect("the io::Error");
        assert_eq!(io.kind(), std::io::ErrorKind::PermissionDenied);
        assert_eq!(e.to_string(), "cannot listen on /s: cannot lock: denied");

        let e = AgentError::from(StoreError::Unavailable("the keyring is locked".into()));
        assert_eq!(e.to_string(), "token store: the keyring is locked");
        assert!(e.source().is_some_and(|s| s.is::<StoreError>()));
        assert!(AgentError::internal("x").source().is_none());
        assert_eq!(chain(&e), "token store: the keyring is locked");
        let e =
            AgentError::listen("/s", "cannot lock").because(std::io::Error::other("Resource busy"));
        assert_eq!(chain(&e), "cannot listen on /s: cannot lock: Resource busy");
    }
}
