//! The state a session is in, as `status` reports it: one name per state the agent's session
//! machine can be in, and `unknown` for a name a newer agent sends that this side does not know.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a session is doing, as `status` shows it. Sent as its snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// No token, none being obtained, and none needed from a human (client credentials not
    /// asked for yet).
    Empty,
    /// A login (or the first fetch of a token) is in progress.
    Authenticating,
    /// A valid token is served and its refresh is scheduled.
    Ready,
    /// A valid token is served while a refresh runs.
    Refreshing,
    /// The last attempt failed; a still-valid token is served until the next try.
    Backoff,
    /// A human must log in (never logged in, logged out, or the refresh token was rejected).
    LoginRequired,
    /// A valid token is held, but nobody asked for it for a while, so it is not refreshed.
    Idle,
    /// The token ran out and no attempt to renew it is running.
    Expired,
    /// Getting a token failed and no valid token is left.
    Failed,
    /// A state this side does not know (sent by a newer agent).
    #[serde(other)]
    Unknown,
}

impl SessionState {
    /// Every state, in the order above.
    pub const ALL: [SessionState; 10] = [
        SessionState::Empty,
        SessionState::Authenticating,
        SessionState::Ready,
        SessionState::Refreshing,
        SessionState::Backoff,
        SessionState::LoginRequired,
        SessionState::Idle,
        SessionState::Expired,
        SessionState::Failed,
        SessionState::Unknown,
    ];

    /// The name on the wire and in `status`.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Empty => "empty",
            SessionState::Authenticating => "authenticating",
            SessionState::Ready => "ready",
            SessionState::Refreshing => "refreshing",
            SessionState::Backoff => "backoff",
            SessionState::LoginRequired => "login_required",
            SessionState::Idle => "idle",
            SessionState::Expired => "expired",
            SessionState::Failed => "failed",
            SessionState::Unknown => "unknown",
        }
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_state_is_sent_as_its_documented_name_and_read_back() {
        for s in SessionState::ALL {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<SessionState>(&json).unwrap(), s);
        }
        assert_eq!(
            serde_json::to_string(&SessionState::LoginRequired).unwrap(),
            "\"login_required\""
        );
    }

    #[test]
    fn a_state_a_newer_agent_sends_reads_as_unknown() {
        let s: SessionState = serde_json::from_str("\"hibernating\"").unwrap();
        assert_eq!(s, SessionState::Unknown);
    }
}
