//! What `status` reports: the agent, and one entry per session (never a token).

use serde::{Deserialize, Serialize};

use crate::profile::AuthMode;
use crate::state::SessionState;

/// Answer to [`crate::Request::Status`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    /// Agent package version.
    pub agent_version: String,
    /// Agent process id.
    pub pid: u32,
    /// Seconds since the agent started.
    pub uptime_secs: u64,
    /// One entry per session of this page.
    pub sessions: Vec<SessionStatus>,
    /// Where the agent writes its audit log; `None` when it is off (and from older agents).
    #[serde(default)]
    pub audit_log: Option<String>,
    /// Where the next page starts (ask with [`crate::Request::StatusPage`]); `None` on the last
    /// page. Status is paged so that any number of sessions fits the frame limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<u32>,
    /// How many sessions the agent has in all, when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_sessions: Option<u32>,
}

/// What `status` shows about one session. Never contains a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionStatus {
    /// Endpoint URL.
    pub endpoint: String,
    /// Login mode.
    pub mode: AuthMode,
    /// Client id in use (configured or from discovery).
    pub client_id: Option<String>,
    /// Scopes in use.
    pub scopes: Vec<String>,
    /// Audience in use.
    pub audience: Option<String>,
    /// What the session is doing (see [`SessionState`]).
    pub state: SessionState,
    /// `sub` claim of the token (unverified), if it is a JWT.
    pub subject: Option<String>,
    /// Expiry of the current access token, Unix seconds.
    pub expires_at: Option<u64>,
    /// When the agent will next refresh, Unix seconds.
    pub next_refresh_at: Option<u64>,
    /// Last failure, if the last attempt failed.
    pub last_error: Option<String>,
    /// Last time a client asked for this session, Unix seconds.
    pub last_used_at: Option<u64>,
    /// Where the login is kept (keyring, file, memory only), and any problem storing it.
    #[serde(default)]
    pub storage: Option<String>,
}
