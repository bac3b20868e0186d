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
        /// Why.
        why: String,
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

impl Error {
    /// The wire error kind this error corresponds to, for exit codes.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Agent(e) => e.kind,
            Error::ConfigSyntax { .. }
            | Error::Config(_)
            | Error::ApiKey { .. }
            | Error::ReadFile { .. }
            | Error::WriteFile { .. }
            | Error::Exists { .. } => ErrorKind::Config,
            Error::AgentUnavailable { .. } | Error::AgentGone { .. } => ErrorKind::Busy,
            Error::Untrusted { .. } => ErrorKind::PermissionDenied,
            Error::Proto(_) | Error::Unexpected(_) | Error::Service(_) => ErrorKind::Internal,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
