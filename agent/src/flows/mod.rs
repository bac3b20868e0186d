//! Grant flows: one file per OAuth2 grant. Each takes a profile and the discovered server
//! settings and returns a [`Grant`]; none of them touches session state.

pub mod browser;
pub mod client_credentials;
pub mod device;
pub mod loopback;
pub mod pkce;
pub mod refresh;
pub mod revoke;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use flyte_auth_proto::{AuthMode, Profile, Secret};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    ExtraTokenFields, RequestTokenError, StandardRevocableToken, StandardTokenResponse,
    TokenResponse as _,
};
use serde::{Deserialize, Serialize};

use crate::AgentError;
use crate::discovery::ServerSettings;
use crate::jwt;

/// Lifetime assumed for a token that states neither `expires_in` nor a JWT `exp`: short, so
/// that we refresh early rather than hand out a token the server already considers expired.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// Header Flyte servers read the token from when they name none.
pub const DEFAULT_HEADER_KEY: &str = "authorization";

/// The OIDC `id_token` that token responses may carry next to the OAuth2 fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdToken {
    /// The ID token, if the IdP sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl ExtraTokenFields for IdToken {}

/// A token endpoint response.
pub type TokenResp = StandardTokenResponse<IdToken, BasicTokenType>;

/// The oauth2 client type every flow uses: standard errors, responses with an `id_token`.
pub type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    TokenResp,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
>;

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

/// Settings in effect for a session: the profile's overrides applied over discovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    /// Token endpoint URL.
    pub token_endpoint: String,
    /// Client id.
    pub client_id: String,
    /// Scopes to request.
    pub scopes: Vec<String>,
    /// Audience to request, if any.
    pub audience: Option<String>,
    /// Header to send the token in.
    pub header_key: String,
}

impl Effective {
    /// The token endpoint as the oauth2 crate wants it.
    pub fn token_url(&self) -> Result<oauth2::TokenUrl, AgentError> {
        oauth2::TokenUrl::new(self.token_endpoint.clone()).map_err(|e| {
            AgentError::Config(format!(
                "invalid token endpoint {}: {e}",
                self.token_endpoint
            ))
        })
    }

    /// The scopes to request, as the oauth2 crate wants them.
    pub fn oauth_scopes(&self) -> impl Iterator<Item = oauth2::Scope> + '_ {
        self.scopes.iter().map(|s| oauth2::Scope::new(s.clone()))
    }

    /// Applies Flyte's precedence rules (reference §1): for client credentials the configured
    /// client id and token URL win; for PKCE and device flow the server's public client id is
    /// always used. Config scopes and audience win over the server's.
    pub fn resolve(profile: &Profile, s: &ServerSettings) -> Result<Effective, AgentError> {
        let host = profile.host();
        let token_endpoint = match profile.mode {
            AuthMode::ClientSecret => profile.token_url.clone(),
            _ => None,
        }
        .or_else(|| s.metadata.token_endpoint.clone())
        .ok_or_else(|| AgentError::Config(format!("{host} advertises no token endpoint")))?;
        let client_id = match profile.mode {
            AuthMode::ClientSecret => profile.client_id.clone(),
            _ => s.client.client_id.clone(),
        }
        .filter(|c| !c.is_empty())
        .ok_or_else(|| AgentError::Config(format!("no client id for {host}")))?;
        let scopes = profile
            .scopes
            .clone()
            .unwrap_or_else(|| s.client.scopes.clone());
        let audience = profile
            .audience
            .clone()
            .or_else(|| s.client.audience.clone());
        let header_key = profile
            .authorization_header
            .clone()
            .or_else(|| s.client.authorization_metadata_key.clone())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| DEFAULT_HEADER_KEY.to_owned());
        Ok(Effective {
            token_endpoint,
            client_id,
            scopes,
            audience: audience.filter(|a| !a.is_empty()),
            header_key,
        })
    }
}

/// Who a grant is for: the access token's claims, else the ID token's (opaque access
/// tokens); read unverified, for display only.
pub fn subject(grant: &Grant) -> Option<String> {
    let who = |t: &Secret| jwt::claims(t.expose()).and_then(|c| c.display_subject());
    who(&grant.access_token).or_else(|| grant.id_token.as_ref().and_then(who))
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Turns an oauth2 token response into a [`Grant`], working out the expiry.
pub fn grant_from(resp: &TokenResp) -> Grant {
    let access = resp.access_token().secret().clone();
    let now = now_ms();
    let expires_at_ms = match resp.expires_in() {
        Some(d) => now + d.as_millis() as u64,
        None => jwt::claims(&access)
            .and_then(|c| c.exp)
            .map(|exp| exp * 1000)
            .filter(|&exp| exp > now)
            .unwrap_or(now + DEFAULT_LIFETIME.as_millis() as u64),
    };
    Grant {
        access_token: Secret::new(access),
        token_type: "Bearer".to_owned(),
        issued_at_ms: now,
        expires_at_ms,
        refresh_token: resp
            .refresh_token()
            .map(|r| Secret::new(r.secret().clone())),
        id_token: resp.extra_fields().id_token.clone().map(Secret::new),
    }
}

/// Maps an oauth2 request error to ours. Server errors and transport failures are transient;
/// OAuth error responses are rejections carrying the IdP's `error` and `error_description`.
pub fn classify<RE: std::error::Error + 'static>(
    host: &str,
    e: RequestTokenError<RE, oauth2::basic::BasicErrorResponse>,
) -> AgentError {
    use oauth2::basic::BasicErrorResponseType as T;
    match e {
        RequestTokenError::ServerResponse(r) => {
            let error = r.error().as_ref().to_owned();
            let description = r.error_description().cloned();
            if matches!(r.error(), T::Extension(x) if x == "server_error" || x == "temporarily_unavailable")
            {
                AgentError::Unreachable {
                    host: host.to_owned(),
                    why: format!("IdP answered {error}"),
                }
            } else {
                AgentError::Rejected {
                    host: host.to_owned(),
                    error,
                    description,
                }
            }
        }
        RequestTokenError::Request(re) => AgentError::Unreachable {
            host: host.to_owned(),
            why: transport_reason(&re),
        },
        RequestTokenError::Parse(_, body) => AgentError::Unreachable {
            host: host.to_owned(),
            why: format!(
                "unexpected token endpoint response ({} bytes, not OAuth2 JSON)",
                body.len()
            ),
        },
        RequestTokenError::Other(msg) => AgentError::Unreachable {
            host: host.to_owned(),
            why: msg,
        },
    }
}

/// A transport error's reason, walking the source chain to the reqwest error inside.
fn transport_reason(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        // oauth2 wraps the reqwest error in a Box, which is an error type of its own.
        if let Some(re) = err.downcast_ref::<reqwest::Error>() {
            return crate::http::describe(re);
        }
        if let Some(re) = err.downcast_ref::<Box<reqwest::Error>>() {
            return crate::http::describe(re);
        }
        cur = err.source();
    }
    e.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::{OAuth2Metadata, PublicClientConfig};
    use base64::Engine;

    fn settings() -> ServerSettings {
        ServerSettings {
            metadata: OAuth2Metadata {
                token_endpoint: Some("https://idp/token".into()),
                ..Default::default()
            },
            client: PublicClientConfig {
                client_id: Some("flytectl".into()),
                scopes: vec!["all".into(), "offline".into()],
                authorization_metadata_key: Some("flyte-authorization".into()),
                audience: Some(String::new()),
                ..Default::default()
            },
        }
    }

    #[test]
    fn interactive_modes_use_the_servers_client_id_and_config_scopes_win() {
        let mut p = Profile::new("https://flyte", AuthMode::Pkce);
        p.client_id = Some("ignored".into());
        p.scopes = Some(vec!["mine".into()]);
        let e = Effective::resolve(&p, &settings()).unwrap();
        assert_eq!(e.client_id, "flytectl");
        assert_eq!(e.scopes, vec!["mine".to_owned()]);
        assert_eq!(e.audience, None, "an empty server audience is no audience");
        assert_eq!(e.header_key, "flyte-authorization");
    }

    #[test]
    fn client_credentials_use_the_configured_client_and_token_url() {
        let mut p = Profile::new("https://flyte", AuthMode::ClientSecret);
        p.client_id = Some("ci".into());
        p.token_url = Some("https://other/token".into());
        p.authorization_header = Some("x-auth".into());
        let e = Effective::resolve(&p, &settings()).unwrap();
        assert_eq!(
            (e.client_id.as_str(), e.token_endpoint.as_str()),
            ("ci", "https://other/token")
        );
        assert_eq!(e.scopes, vec!["all".to_owned(), "offline".to_owned()]);
        assert_eq!(e.header_key, "x-auth");
        p.client_id = None;
        assert!(Effective::resolve(&p, &settings()).is_err());
    }

    #[test]
    fn expiry_falls_back_to_jwt_exp_and_id_token_is_kept() {
        let exp = now_ms() / 1000 + 1234;
        let payload =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{exp}}}"#));
        let body = serde_json::json!({
            "access_token": format!("h.{payload}.s"),
            "token_type": "Bearer",
            "id_token": "id.tok.en",
            "refresh_token": "rt",
        });
        let resp: TokenResp = serde_json::from_value(body).unwrap();
        let g = grant_from(&resp);
        assert_eq!(g.expires_at_ms, exp * 1000);
        assert_eq!(g.id_token.as_ref().map(|s| s.expose()), Some("id.tok.en"));
        assert_eq!(g.refresh_token.as_ref().map(|s| s.expose()), Some("rt"));
        let opaque: TokenResp = serde_json::from_value(
            serde_json::json!({"access_token": "opaque", "token_type": "bearer"}),
        )
        .unwrap();
        let g = grant_from(&opaque);
        assert_eq!(
            g.expires_at_ms - g.issued_at_ms,
            DEFAULT_LIFETIME.as_millis() as u64
        );
    }
}
