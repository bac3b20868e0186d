//! Token revocation (RFC 7009) on logout.
//!
//! Flyte's discovery (`OAuth2MetadataResponse`) has no revocation endpoint field, so when the
//! Flyte endpoint does not name one we ask the issuer itself (RFC 8414 / OIDC discovery). The
//! request is a plain form POST: the oauth2 crate refuses non-HTTPS revocation URLs, which
//! would leave tokens alive on `insecure` endpoints.

use flyte_auth_proto::{Profile, Secret};
use serde::Deserialize;

use crate::discovery::ServerSettings;
use crate::http::{body, read_failure, read_ok, unreachable};
use crate::session::Effective;
use crate::{AgentError, Ctx};

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
    let form = [
        ("token", refresh_token.expose()),
        ("token_type_hint", "refresh_token"),
        ("client_id", eff.client_id.as_str()),
    ];
    let resp = http
        .post(&endpoint)
        .header("Accept", "application/json")
        .form(&form)
        .send()
        .await
        .map_err(|e| unreachable(host, e))?;
    if resp.status().is_success() {
        // The body says nothing we need (RFC 7009 §2.2); it is not read.
        return Ok(true);
    }
    Err(read_failure(resp, host, "revocation request").await)
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
        let Ok(resp) = resp else { continue };
        if !resp.status().is_success() {
            continue;
        }
        let what = "issuer metadata";
        if let Ok(bytes) = read_ok(resp, issuer, what, body::DOCUMENT_LIMIT).await
            && let Ok(meta) = serde_json::from_slice::<IssuerMetadata>(&bytes)
            && meta.revocation_endpoint.is_some()
        {
            return meta.revocation_endpoint;
        }
    }
    None
}

/// Revokes `rt` at the IdP if it advertises a revocation endpoint; failures are logged,
/// never fatal: the login is forgotten either way.
pub async fn revoke_quietly(
    ctx: &Ctx,
    profile: &flyte_auth_proto::Profile,
    rt: &Secret,
    eff: Option<Effective>,
) {
    let host = profile.host();
    let result = async {
        let http = ctx.http.for_profile(profile)?;
        let settings = ctx.discovery.get(&http, &profile.endpoint, host).await?;
        let eff = match eff {
            Some(e) => e,
            None => Effective::resolve(profile, &settings)?,
        };
        revoke(&http, profile, &settings, &eff, rt).await
    }
    .await;
    match result {
        Ok(true) => tracing::info!(%host, "revoked the refresh token"),
        Ok(false) => {
            tracing::info!(%host, "the IdP offers no revocation; the refresh token was forgotten")
        }
        Err(e) => {
            tracing::warn!(%host, error = %e, "could not revoke the refresh token; it was forgotten")
        }
    }
}
