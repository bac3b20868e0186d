//! Grant flows: one file per OAuth2 grant. Each takes a profile and the discovered server
//! settings and returns a [`Grant`]; none of them touches session state. Every token request
//! goes through [`token`], every token answer through [`answer`].

pub mod answer;
pub mod browser;
pub mod client_credentials;
pub mod device;
pub mod loopback;
pub mod pkce;
pub mod refresh;
pub mod revoke;
pub mod token;

use flyte_auth_proto::Secret;

use crate::jwt;

/// Tokens obtained from the IdP.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The access token.
    pub access_token: Secret,
    /// Token type (normally `Bearer`).
    pub token_type: String,
    /// When it was obtained, Unix milliseconds.
    pub issued_at_ms: u64,
    /// When it expires, Unix milliseconds.
    pub expires_at_ms: u64,
    /// Refresh token, if the IdP issued one.
    pub refresh_token: Option<Secret>,
    /// OIDC ID token, kept only to show who is logged in.
    pub id_token: Option<Secret>,
}

/// Who a grant is for: the access token's claims, else the ID token's (opaque access
/// tokens); read unverified, for display only.
pub fn subject(grant: &Grant) -> Option<String> {
    let who = |t: &Secret| jwt::claims(t.expose()).and_then(|c| c.display_subject());
    who(&grant.access_token).or_else(|| grant.id_token.as_ref().and_then(who))
}
