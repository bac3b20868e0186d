//! Token revocation (RFC 7009) on logout.
//!
//! Flyte's discovery (`OAuth2MetadataResponse`) has no revocation endpoint field, so when the
//! Flyte endpoint does not name one we ask the issuer itself (RFC 8414 / OIDC discovery).

use flyte_auth_proto::{Profile, Secret};
use oauth2::{ClientId, RefreshToken, RevocationUrl, StandardRevocableToken};
use serde::Deserialize;

use super::{Effective, OAuthClient};
use crate::AgentError;
use crate::discovery::ServerSettings;

#[derive(Debug, Deserialize)]
struct IssuerMetadata {
    revocation_endpoint: Option<String>,
}

/// Revokes `refresh_token` at the IdP. Returns `Ok(false)` when the IdP advertises no
/// revocation endpoint (nothing to do but forget the token).
pub async fn revoke(
    http: &reqwest::Client,
    profile: &Profile,
    settings: &ServerSettings,
    eff: &Effective,
    refresh_token: &Secret,
) -> Result<bool, AgentError> {
    let host = profile.host();
    let endpoint = match settings.metadata.revocation_endpoint.clone() {
        Some(e) => Some(e),
        None => issuer_revocation_endpoint(http, settings).await,
    };
    let Some(endpoint) = endpoint else {
        return Ok(false);
    };
    let url = RevocationUrl::new(endpoint.clone())
        .map_err(|e| AgentError::Config(format!("invalid revocation endpoint {endpoint}: {e}")))?;
    let client = OAuthClient::new(ClientId::new(eff.client_id.clone())).set_revocation_url(url);
    let token =
        StandardRevocableToken::RefreshToken(RefreshToken::new(refresh_token.expose().to_owned()));
    let req = client
        .revoke_token(token)
        .map_err(|e| AgentError::Config(format!("cannot revoke at {host}: {e}")))?;
    req.request_async(http).await.map_err(|e| match e {
        oauth2::RequestTokenError::ServerResponse(r) => AgentError::Rejected {
            host: host.to_owned(),
            error: r.error().to_string(),
            description: r.error_description().cloned(),
        },
        other => AgentError::Unreachable {
            host: host.to_owned(),
            why: other.to_string(),
        },
    })?;
    Ok(true)
}

/// The issuer's own revocation endpoint, from its discovery document, if it has one.
async fn issuer_revocation_endpoint(
    http: &reqwest::Client,
    settings: &ServerSettings,
) -> Option<String> {
    let issuer = settings.metadata.issuer.as_deref()?.trim_end_matches('/');
    for doc in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let resp = http
            .get(format!("{issuer}{doc}"))
            .header("Accept", "application/json")
            .send()
            .await;
        if let Ok(resp) = resp
            && resp.status().is_success()
            && let Ok(meta) = resp.json::<IssuerMetadata>().await
            && meta.revocation_endpoint.is_some()
        {
            return meta.revocation_endpoint;
        }
    }
    None
}
