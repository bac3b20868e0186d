//! Discovery of a Flyte endpoint's OAuth settings (token and authorization endpoints, client id), cached per endpoint.
//!
//! Flyte 2 / Union answer Connect unary JSON calls on `flyteidl2.auth.AuthMetadataService`;
//! Flyte 1 answers `GET /.well-known/oauth-authorization-server` and `/config/v1/flyte_client`.
//! We try Connect first and fall back per call. Field names come in snake_case (grpc-gateway
//! with `Accept: application/json`) or camelCase (protojson), so both are accepted. Documents
//! are read with a 64 KiB cap.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::AgentError;
use crate::http::{body, read_failure, read_ok, unreachable};

const CONNECT_PREFIX: &str = "/flyteidl2.auth.AuthMetadataService/";
const FLYTE1_METADATA: &str = "/.well-known/oauth-authorization-server";
const FLYTE1_CLIENT_CONFIG: &str = "/config/v1/flyte_client";

/// How long discovered settings are reused before being fetched again.
const FRESH_FOR: Duration = Duration::from_secs(15 * 60);

/// `OAuth2MetadataResponse` (RFC 8414 subset).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct OAuth2Metadata {
    /// Issuer.
    pub issuer: Option<String>,
    /// Browser authorization endpoint.
    #[serde(alias = "authorizationEndpoint")]
    pub authorization_endpoint: Option<String>,
    /// Token endpoint.
    #[serde(alias = "tokenEndpoint")]
    pub token_endpoint: Option<String>,
    /// Device authorization endpoint (RFC 8628).
    #[serde(alias = "deviceAuthorizationEndpoint")]
    pub device_authorization_endpoint: Option<String>,
    /// Revocation endpoint (RFC 7009), when advertised.
    #[serde(alias = "revocationEndpoint")]
    pub revocation_endpoint: Option<String>,
    /// Scopes the server supports.
    #[serde(alias = "scopesSupported")]
    pub scopes_supported: Vec<String>,
}

/// `PublicClientAuthConfigResponse`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PublicClientConfig {
    /// Public client id for PKCE / device flow.
    #[serde(alias = "clientId")]
    pub client_id: Option<String>,
    /// Redirect URI for PKCE.
    #[serde(alias = "redirectUri")]
    pub redirect_uri: Option<String>,
    /// Scopes to request.
    pub scopes: Vec<String>,
    /// Header the server wants the token in.
    #[serde(alias = "authorizationMetadataKey")]
    pub authorization_metadata_key: Option<String>,
    /// Audience to request.
    pub audience: Option<String>,
}

/// What discovery found for one endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerSettings {
    /// OAuth2 metadata.
    pub metadata: OAuth2Metadata,
    /// Public client config.
    pub client: PublicClientConfig,
}

/// Per-endpoint cache of discovered settings.
#[derive(Debug, Default)]
pub struct Discovery {
    cache: Mutex<HashMap<String, (Instant, Arc<ServerSettings>)>>,
}

impl Discovery {
    /// Settings for `endpoint`, from cache when fresh. When a refetch fails, stale settings
    /// are still used: an endpoint's OAuth configuration rarely changes, and an outage of the
    /// Flyte endpoint should not stop token refreshes that go to the IdP directly.
    pub async fn get(
        &self,
        http: &reqwest::Client,
        endpoint: &str,
        host: &str,
    ) -> Result<Arc<ServerSettings>, AgentError> {
        let cached = self.lookup(endpoint);
        if let Some((at, s)) = &cached
            && at.elapsed() < FRESH_FOR
        {
            return Ok(s.clone());
        }
        match fetch(http, endpoint, host).await {
            Ok(s) => {
                let s = Arc::new(s);
                self.lock()
                    .insert(endpoint.to_owned(), (Instant::now(), s.clone()));
                Ok(s)
            }
            Err(e) => match cached {
                Some((_, s)) => {
                    tracing::warn!(%host, error = %e, "discovery failed; using cached settings");
                    Ok(s)
                }
                None => Err(e),
            },
        }
    }

    fn lookup(&self, endpoint: &str) -> Option<(Instant, Arc<ServerSettings>)> {
        self.lock().get(endpoint).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Arc<ServerSettings>)>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn fetch(
    http: &reqwest::Client,
    endpoint: &str,
    host: &str,
) -> Result<ServerSettings, AgentError> {
    let (metadata, client) = tokio::join!(
        call::<OAuth2Metadata>(http, endpoint, host, "GetOAuth2Metadata", FLYTE1_METADATA),
        call::<PublicClientConfig>(
            http,
            endpoint,
            host,
            "GetPublicClientConfig",
            FLYTE1_CLIENT_CONFIG
        ),
    );
    Ok(ServerSettings {
        metadata: metadata?,
        client: client?,
    })
}

/// One discovery RPC: Connect first, then the Flyte 1 HTTP route.
async fn call<T: DeserializeOwned>(
    http: &reqwest::Client,
    endpoint: &str,
    host: &str,
    rpc: &str,
    flyte1_path: &str,
) -> Result<T, AgentError> {
    let connect = http
        .post(format!("{endpoint}{CONNECT_PREFIX}{rpc}"))
        .header("Content-Type", "application/json")
        .header("Connect-Protocol-Version", "1")
        .body("{}")
        .send()
        .await;
    match connect {
        Ok(resp) if resp.status().is_success() => {
            match read_ok(resp, host, "discovery document", body::DOCUMENT_LIMIT).await {
                Ok(bytes) => match serde_json::from_slice::<T>(&bytes) {
                    Ok(v) => return Ok(v),
                    Err(e) => tracing::debug!(%host, error = %e, rpc, "Connect discovery unusable"),
                },
                Err(e) => tracing::debug!(%host, error = %e, rpc, "Connect discovery unusable"),
            }
        }
        Ok(resp) => {
            tracing::debug!(%host, status = %resp.status(), rpc, "Connect discovery unavailable")
        }
        // A connection failure will fail the fallback the same way; report it from there.
        Err(e) => tracing::debug!(%host, error = %e.without_url(), rpc, "Connect discovery failed"),
    }
    let resp = http
        .get(format!("{endpoint}{flyte1_path}"))
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| unreachable(host, e))?;
    let status = resp.status();
    let what = format!("discovery request ({flyte1_path})");
    if status.is_server_error() {
        return Err(read_failure(resp, host, &what).await);
    }
    if !status.is_success() {
        return Err(AgentError::Config(format!(
            "{host} does not serve Flyte's auth discovery ({rpc}: HTTP {status}); is this a \
             Flyte/Union endpoint with authentication enabled?"
        )));
    }
    let what = format!("discovery document ({flyte1_path})");
    let bytes = read_ok(resp, host, &what, body::DOCUMENT_LIMIT).await?;
    serde_json::from_slice::<T>(&bytes).map_err(|e| AgentError::BadAnswer {
        host: host.to_owned(),
        what,
        why: format!(
            "is not the expected JSON: {}",
            flyte_auth_proto::text::bounded(&e.to_string(), 300)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_casings_parse() {
        let snake: OAuth2Metadata = serde_json::from_str(
            r#"{"issuer":"i","token_endpoint":"t","device_authorization_endpoint":"d","scopes_supported":["a"]}"#,
        )
        .unwrap();
        let camel: OAuth2Metadata = serde_json::from_str(
            r#"{"issuer":"i","tokenEndpoint":"t","deviceAuthorizationEndpoint":"d","scopesSupported":["a"],"extra":1}"#,
        )
        .unwrap();
        assert_eq!(snake, camel);
        let c: PublicClientConfig = serde_json::from_str(
            r#"{"clientId":"flytectl","redirectUri":"r","scopes":["all"],"authorizationMetadataKey":"flyte-authorization"}"#,
        )
        .unwrap();
        assert_eq!(c.client_id.as_deref(), Some("flytectl"));
        assert_eq!(
            c.authorization_metadata_key.as_deref(),
            Some("flyte-authorization")
        );
    }
}
