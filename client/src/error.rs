//! The client library's one error type.

use std::path::PathBuf;

use flyte_auth_proto::{ErrorKind, ProtoError, WireError};

/// Everything the client library can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A config file is not valid YAML (or not the expected shape).
    #[error("{}:{line}:{column}: {message}", path.display())]
    ConfigSyntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// The configuration is incomplete or contradictory; the message says which key or file.
    #[error("{0}")]
    Config(String),
    /// An API key could not be decoded. Never contains the key or its secret.
    #[error("invalid API key in ${var}: {why}")]
    ApiKey {
        /// The environment variable it came from.
        var: String,
        /// What is wrong with it.
        why: String,
    },
    /// Reading a file failed.
    #[error("cannot read {}: {source}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Writing a file failed.
    #[error("cannot write {}: {source}", path.display())]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Refused to overwrite an existing file.
    #[error("{} already exists; pass --force to overwrite it", path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// No agent answers on the socket and none could be started.
    #[error("cannot reach the flyte-auth agent at {}: {why}", path.display())]
    AgentUnavailable {
        /// The socket path.
        path: PathBuf,
        /// Why (it quotes the cause, if any, so the message reads alone).
        why: String,
        /// The system's error, when one caused it (connecting, starting the agent).
        #[source]
        source: Option<std::io::Error>,
    },
    /// The socket's directory, or the process listening on it, is not this user's: nothing
    /// was sent to it, and no agent is started there.
    #[error("refusing to use {}: {why}", path.display())]
    Untrusted {
        /// The directory or socket.
        path: PathBuf,
        /// What is wrong, and what to do.
        why: String,
    },
    /// The agent closed the connection or died (reset, broken pipe) before its final answer.
    #[error("the flyte-auth agent at {} went away before answering: {why}", path.display())]
    AgentGone {
        /// The socket path.
        path: PathBuf,
        /// What the connection said.
        why: String,
    },
    /// Framing or decoding failed.
    #[error(transparent)]
    Proto(#[from] ProtoError),
    /// The agent answered with an error.
    #[error("{0}")]
    Agent(WireError),
    /// The agent sent something this client did not expect.
    #[error("unexpected answer from the agent: {0}")]
    Unexpected(String),
    /// The service manager (systemd, launchd) is absent, or refused a command.
    #[error("{0}")]
    Service(String),
}

/// What kind of failure an [`Error`] is: the wire's kinds, and the client's own (no agent
/// to talk to). It decides the exit code and the hint the CLI prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// The command line, a config file, an API key or the endpoint is unusable.
    Config,
    /// A human must log in.
    LoginRequired,
    /// The endpoint or IdP could not be reached, failed, or sent an unusable answer.
    IdpUnreachable,
    /// The IdP refused (bad credentials, revoked grant).
    IdpRejected,
    /// No agent answers, none could be started, or it went away before answering.
    AgentUnavailable,
    /// The agent is at capacity or shutting down.
    Busy,
    /// The socket or the agent behind it is not this user's, or the agent refused us.
    PermissionDenied,
    /// Client and agent speak different protocol versions.
    VersionMismatch,
    /// A bug, an unexpected answer, a failed service command.
    Internal,
}

impl Category {
    /// The exit code `flyte-auth` ends with (see `--help`).
    pub fn exit_code(self) -> u8 {
        match self {
            Category::Config => 3,
            Category::LoginRequired => 4,
            Category::IdpUnreachable => 5,
            Category::IdpRejected => 6,
            Category::AgentUnavailable | Category::Busy | Category::PermissionDenied => 7,
            Category::VersionMismatch | Category::Internal => 1,
        }
    }
}

impl From<ErrorKind> for Category {
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::Config => Category::Config,
            ErrorKind::LoginRequired => Category::LoginRequired,
            ErrorKind::IdpUnreachable => Category::IdpUnreachable,
            ErrorKind::IdpRejected => Category::IdpRejected,
            ErrorKind::Busy => Category::Busy,
            ErrorKind::PermissionDenied => Category::PermissionDenied,
            ErrorKind::VersionMismatch => Category::VersionMismatch,
            ErrorKind::BadRequest | ErrorKind::Internal | ErrorKind::Unknown => Category::Internal,
        }
    }
}

impl Error {
    /// What kind of failure this is, for exit codes and hints.
    pub fn category(&self) -> Category {
        match self {
            Error::Agent(e) => e.kind.into(),
            Error::ConfigSyntax { .. }
            | Error::Config(_)
            | Error::ApiKey { .. }
            | Error::ReadFile { .. }
            | Error::WriteFile { .. }
            | Error::Exists { .. } => Category::Config,
            Error::AgentUnavailable { .. } | Error::AgentGone { .. } => Category::AgentUnavailable,
            Error::Untrusted { .. } => Category::PermissionDenied,
            Error::Proto(_) | Error::Unexpected(_) | Error::Service(_) => Category::Internal,
        }
    }
}

/// The causes of `e` worth showing under its message: each error in its source chain whose
/// text the message (or an earlier cause) does not already hold.
pub fn causes(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut seen = e.to_string();
    let mut out = Vec::new();
    let mut cur = e.source();
    while let Some(cause) = cur {
        let text = cause.to_string();
        if !text.is_empty() && !seen.contains(&text) {
            seen.push('\n');
            seen.push_str(&text);
            out.push(text);
        }
        cur = cause.source();
    }
    out
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_stay_as_documented() {
        let agent = |kind| {
            Error::Agent(WireError::new(kind, "x"))
                .category()
                .exit_code()
        };
        assert_eq!(agent(ErrorKind::Config), 3);
        assert_eq!(agent(ErrorKind::LoginRequired), 4);
        assert_eq!(agent(ErrorKind::IdpUnreachable), 5);
        assert_eq!(agent(ErrorKind::IdpRejected), 6);
        assert_eq!(agent(ErrorKind::Busy), 7);
        assert_eq!(agent(ErrorKind::PermissionDenied), 7);
        assert_eq!(agent(ErrorKind::VersionMismatch), 1);
        assert_eq!(agent(ErrorKind::Unknown), 1);
        let unavailable = Error::AgentUnavailable {
            path: "/s".into(),
            why: "refused".into(),
            source: Some(std::io::ErrorKind::ConnectionRefused.into()),
        };
        assert!(std::error::Error::source(&unavailable).is_some());
        assert_eq!(unavailable.category(), Category::AgentUnavailable);
        assert_eq!(unavailable.category().exit_code(), 7);
    }

    #[test]
    fn only_causes_the_message_does_not_already_say_are_listed() {
        let quoted = Error::ReadFile {
            path: "/c".into(),
            source: std::io::Error::other("denied"),
        };
        assert!(causes(&quoted).is_empty());
        let c = crate::transport::ConnectError::Failed(Error::Config("inner".into()));
        assert!(causes(&c).is_empty());
        let c = crate::transport::ConnectError::Connect(std::io::Error::other("refused"));
        assert_eq!(c.to_string(), "cannot connect: refused");
        assert!(causes(&c).is_empty());
    }
}
