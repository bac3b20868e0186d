//! OAuth2 client credentials (API keys and app secrets), reference §4.
//!
//! HTTP Basic with the form-url-encoded secret, `scope` and `audience` as Flyte's clients send
//! them. The oauth2 crate does the encoding and the response parsing.

use flyte_auth_proto::Profile;
use oauth2::{AuthType, ClientId, ClientSecret};

use super::{Effective, Grant, OAuthClient, classify, grant_from};
use crate::AgentError;

/// Runs the client-credentials grant for `profile`.
pub async fn fetch(
    http: &reqwest::Client,
    profile: &Profile,
    eff: &Effective,
) -> Result<Grant, AgentError> {
    let host = profile.host();
    let secret = profile.client_secret.as_ref().ok_or_else(|| {
        AgentError::Config(format!(
            "no client secret for {host} (client id {})",
            eff.client_id
        ))
    })?;
    let token_url = eff.token_url()?;
    let client = OAuthClient::new(ClientId::new(eff.client_id.clone()))
        .set_client_secret(ClientSecret::new(secret.expose().to_owned()))
        .set_auth_type(AuthType::BasicAuth)
        .set_token_uri(token_url);
    let mut req = client
        .exchange_client_credentials()
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
