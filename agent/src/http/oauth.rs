//! OAuth2 error answers (RFC 6749 §5.2, RFC 8628 §3.5): the one place their bodies are parsed
//! and their `error` codes given a type, so flows match on codes instead of strings.

use std::fmt;

/// An OAuth2 `error` code: those of RFC 6749, RFC 6750 and RFC 8628 the agent knows, and
/// any other as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuthCode {
    /// `invalid_request`
    InvalidRequest,
    /// `invalid_client`
    InvalidClient,
    /// `invalid_grant`: a dead refresh token, a used or wrong code.
    InvalidGrant,
    /// `unauthorized_client`
    UnauthorizedClient,
    /// `unsupported_grant_type`
    UnsupportedGrantType,
    /// `invalid_scope`
    InvalidScope,
    /// `access_denied`: the user said no.
    AccessDenied,
    /// `unsupported_response_type`
    UnsupportedResponseType,
    /// `server_error`: the server failed, it did not refuse.
    ServerError,
    /// `temporarily_unavailable`: the server failed, it did not refuse.
    TemporarilyUnavailable,
    /// `invalid_token` (RFC 6750), which some IdPs send for a dead refresh token.
    InvalidToken,
    /// `authorization_pending` (device flow): keep polling.
    AuthorizationPending,
    /// `slow_down` (device flow): poll less often.
    SlowDown,
    /// `expired_token` (device flow): the device code expired.
    ExpiredToken,
    /// Any other code, as the server sent it.
    Other(String),
}

const CODES: &[(&str, OAuthCode)] = &[
    ("invalid_request", OAuthCode::InvalidRequest),
    ("invalid_client", OAuthCode::InvalidClient),
    ("invalid_grant", OAuthCode::InvalidGrant),
    ("unauthorized_client", OAuthCode::UnauthorizedClient),
    ("unsupported_grant_type", OAuthCode::UnsupportedGrantType),
    ("invalid_scope", OAuthCode::InvalidScope),
    ("access_denied", OAuthCode::AccessDenied),
    (
        "unsupported_response_type",
        OAuthCode::UnsupportedResponseType,
    ),
    ("server_error", OAuthCode::ServerError),
    ("temporarily_unavailable", OAuthCode::TemporarilyUnavailable),
    ("invalid_token", OAuthCode::InvalidToken),
    ("authorization_pending", OAuthCode::AuthorizationPending),
    ("slow_down", OAuthCode::SlowDown),
    ("expired_token", OAuthCode::ExpiredToken),
];

impl OAuthCode {
    /// The code as sent on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            OAuthCode::Other(s) => s,
            known => CODES
                .iter()
                .find(|(_, c)| c == known)
                .map_or("", |(s, _)| s),
        }
    }

    /// Whether the code says the server failed (RFC 6749 §4.1.2.1) rather than refused, so
    /// that trying again later may work.
    pub fn is_server_side(&self) -> bool {
        matches!(
            self,
            OAuthCode::ServerError | OAuthCode::TemporarilyUnavailable
        )
    }
}

impl From<&str> for OAuthCode {
    fn from(s: &str) -> Self {
        CODES
            .iter()
            .find(|(name, _)| *name == s)
            .map_or_else(|| OAuthCode::Other(s.to_owned()), |(_, c)| c.clone())
    }
}

impl fmt::Display for OAuthCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OAuth2 error answer, as many non-OAuth servers send them too.
#[derive(Debug, Clone)]
pub struct OAuthError {
    /// The error code, e.g. `invalid_grant`.
    pub code: OAuthCode,
    /// The server's explanation, if any (as sent: bound it before showing it).
    pub description: Option<String>,
}

#[derive(serde::Deserialize)]
struct Body {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// The OAuth error in `body`, if it holds one (a JSON object with a non-empty `error`).
pub fn parse(body: &[u8]) -> Option<OAuthError> {
    let b = serde_json::from_slice::<Body>(body).ok()?;
    (!b.error.is_empty()).then(|| OAuthError {
        code: OAuthCode::from(b.error.as_str()),
        description: b.error_description,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_ones_are_kept() {
        for (name, code) in CODES {
            assert_eq!(OAuthCode::from(*name), *code);
            assert_eq!(code.as_str(), *name);
        }
        assert_eq!(
            OAuthCode::from("weird_thing"),
            OAuthCode::Other("weird_thing".into())
        );
        assert_eq!(OAuthCode::from("weird_thing").to_string(), "weird_thing");
        assert!(OAuthCode::TemporarilyUnavailable.is_server_side());
        assert!(!OAuthCode::InvalidGrant.is_server_side());
    }

    #[test]
    fn bodies_without_an_error_code_are_no_oauth_error() {
        let e = parse(br#"{"error":"slow_down","error_description":"easy"}"#).unwrap();
        assert_eq!(e.code, OAuthCode::SlowDown);
        assert_eq!(e.description.as_deref(), Some("easy"));
        assert!(parse(br#"{"error":""}"#).is_none());
        assert!(parse(b"<html>").is_none());
    }
}
