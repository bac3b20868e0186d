//! Grant flows: one file per OAuth2 grant. Each takes a profile and the discovered server
//! settings and returns a [`Grant`]; none of them touches session state.

pub mod browser;
pub mod client_credentials;
pub mod device;
pub mod loopback;
pub mod pkce;
pub mod refresh;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use flyte_auth_proto::{AuthMode, Profile, Secret};
use oauth2::basic::BasicTokenResponse;
use oauth2::{RequestTokenError, TokenResponse as _};

use crate::AgentError;
use crate::discovery::ServerSettings;
use crate::jwt;

/// Lifetime assumed for a token that states neither `expires_in` nor a JWT `exp`: short, so
/// that we refresh early rather than hand out a token the server already considers expired.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// Header Flyte servers read the token from when they name none.
pub const DEFAULT_HEADER_KEY: &str = "authorization";

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

/// Now, in Unix milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Turns an oauth2 token response into a [`Grant`], working out the expiry.
pub fn grant_from(resp: &BasicTokenResponse) -> Grant {
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
