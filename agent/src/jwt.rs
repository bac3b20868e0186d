//! Unverified reading of JWT claims (`exp`, `sub`) for expiry fallback and `status`.
//!
//! The agent never trusts these claims for security decisions: the IdP issued the token to us
//! over TLS, and the resource server verifies it. We only read them to know when to refresh
//! and whom to show in `status`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

/// The claims we look at.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
pub struct Claims {
    /// Expiry, Unix seconds.
    pub exp: Option<u64>,
    /// Subject.
    pub sub: Option<String>,
    /// Preferred display name, when the IdP includes one.
    pub preferred_username: Option<String>,
    /// E-mail, when the IdP includes one.
    pub email: Option<String>,
}

/// Claims of `token` if it looks like a JWT; `None` for opaque tokens.
pub fn claims(token: &str) -> Option<Claims> {
    let mut parts = token.split('.');
    let (_header, payload) = (parts.next()?, parts.next()?);
    parts.next()?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

impl Claims {
    /// Who the token is for, as `status` shows it.
    pub fn display_subject(&self) -> Option<String> {
        self.preferred_username
            .clone()
            .or_else(|| self.email.clone())
            .or_else(|| self.sub.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        format!(
            "eyJhbGciOiJub25lIn0.{}.sig",
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    #[test]
    fn reads_exp_and_sub() {
        let c = claims(&jwt(r#"{"exp":1700000000,"sub":"alice","x":[1]}"#)).unwrap();
        assert_eq!(c.exp, Some(1_700_000_000));
        assert_eq!(c.display_subject().as_deref(), Some("alice"));
    }

    #[test]
    fn opaque_and_broken_tokens_have_no_claims() {
        assert_eq!(claims("opaque-token"), None);
        assert_eq!(claims("a.b"), None);
        assert_eq!(claims("a.!!!.c"), None);
        assert_eq!(claims(&jwt("not json")), None);
    }
}
