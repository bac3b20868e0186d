//! The refresh-token grant. Scope and audience are sent as Flyte's Python clients do for
//! device-flow credentials; IdPs ignore or accept them for PKCE ones too.

use flyte_auth_proto::{Profile, Secret};

use super::{Grant, token};
use crate::AgentError;
use crate::session::Effective;

/// Exchanges `refresh_token` for new tokens.
pub async fn refresh(
    http: &reqwest::Client,
    profile: &Profile,
    eff: &Effective,
    refresh_token: &Secret,
) -> Result<Grant, AgentError> {
    let scope = eff.scope_param();
    let mut form = vec![
        ("refresh_token", refresh_token.expose()),
        ("scope", scope.as_str()),
        ("client_id", eff.client_id.as_str()),
    ];
    if let Some(aud) = &eff.audience {
        form.push(("audience", aud.as_str()));
    }
    let req = eff.token_request(profile.host(), "refresh_token", &form);
    token::exchange(http, &req).await
}
