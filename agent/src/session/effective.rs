//! The settings a session's tokens are obtained with (the profile's overrides applied over
//! discovery) and the wall clock the session layer reads: shared by the session and the
//! grant flows it runs.

use std::time::{SystemTime, UNIX_EPOCH};

use flyte_auth_proto::{AuthMode, Profile};

use crate::AgentError;
use crate::discovery::ServerSettings;
use crate::flows::token;

/// Header Flyte servers read the token from when they name none.
pub const DEFAULT_HEADER_KEY: &str = "authorization";

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
    /// The token request for `grant_type` with `form` after it, to this session's endpoint.
    pub fn token_request<'a>(
        &'a self,
        host: &'a str,
        grant_type: &'static str,
        form: &[(&'static str, &'a str)],
    ) -> token::TokenRequest<'a> {
        let mut all = vec![("grant_type", grant_type)];
        all.extend_from_slice(form);
        token::TokenRequest {
            host,
            endpoint: &self.token_endpoint,
            form: all,
            basic: None,
            header_key: &self.header_key,
        }
    }

    /// The requested scopes, space-separated, as the `scope` parameter carries them.
    pub fn scope_param(&self) -> String {
        self.scopes.join(" ")
    }

    /// The scopes to request, as the oauth2 crate wants them.
    pub fn oauth_scopes(&self) -> impl Iterator<Item = oauth2::Scope> + '_ {
        self.scopes.iter().map(|s| oauth2::Scope::new(s.clone()))
    }

    /// Applies the precedence flytekit and flyte-sdk use: for client credentials the configured
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::{OAuth2Metadata, PublicClientConfig};

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
}
