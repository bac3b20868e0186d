//! The refresh-token grant. Scope and audience are sent as Flyte's Python clients do for
//! device-flow credentials; IdPs ignore or accept them for PKCE ones too.

use flyte_auth_proto::{Profile, Secret};
use oauth2::{ClientId, RefreshToken};

use super::{Effective, Grant, OAuthClient, classify, grant_from};
use crate::AgentError;

/// Exchanges `refresh_token` for new tokens.
pub async fn refresh(
    http: &reqwest::Client,
    profile: &Profile,
    eff: &Effective,
    refresh_token: &Secret,
) -> Result<Grant, AgentError> {
    let host = profile.host();
    let token_url = eff.token_url()?;
    let client = OAuthClient::new(ClientId::new(eff.client_id.clone())).set_token_uri(token_url);
    let rt = RefreshToken::new(refresh_token.expose().to_owned());
    let mut req = client
        .exchange_refresh_token(&rt)
        .add_scopes(eff.oauth_scopes());
    if let Some(aud) = &eff.audience {
        req = req.add_extra_param("audience", aud.clone());
    }
    let resp = req
        .request_async(http)
        .await
        .map_err(|e| classify(host, e))?;
    Ok(grant_from(&resp))
}
