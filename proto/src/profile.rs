//! `Profile`: what to authenticate against, as the client resolved it from config and env.
//!
//! The client runs in the user's cwd and environment, so it resolves config files, env
//! overrides and API keys; the agent only ever sees the resulting `Profile`.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// How a session obtains tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AuthMode {
    /// Browser authorization-code flow with PKCE (the default).
    Pkce,
    /// OAuth2 device authorization grant (RFC 8628), for headless machines.
    DeviceFlow,
    /// OAuth2 client credentials: API keys and app secrets, for CI.
    ClientSecret,
}

impl AuthMode {
    /// The spelling Flyte's config files use (`admin.authType`).
    pub fn as_flyte_str(self) -> &'static str {
        match self {
            AuthMode::Pkce => "Pkce",
            AuthMode::DeviceFlow => "DeviceFlow",
            AuthMode::ClientSecret => "ClientSecret",
        }
    }

    /// Whether this mode needs a human (browser or device code) to log in.
    pub fn is_interactive(self) -> bool {
        !matches!(self, AuthMode::ClientSecret)
    }
}

impl fmt::Display for AuthMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_flyte_str())
    }
}

/// A secret string (client secret, token): zeroized on drop, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Zeroizing::new(value.into()))
    }

    /// The secret value. Callers must not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Everything the agent needs to know to authenticate one session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Base URL of the Flyte/Union endpoint, e.g. `https://flyte.example.com` or
    /// `http://127.0.0.1:8089`; no trailing slash.
    pub endpoint: String,
    /// Plain-text HTTP (`admin.insecure`).
    #[serde(default)]
    pub insecure: bool,
    /// Skip TLS certificate verification (`admin.insecureSkipVerify`).
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// Extra CA certificate (PEM) to trust (`admin.caCertFilePath`).
    #[serde(default)]
    pub ca_cert_file: Option<PathBuf>,
    /// HTTP proxy for all calls (`admin.httpProxyURL`).
    #[serde(default)]
    pub http_proxy: Option<String>,
    /// How to log in.
    pub mode: AuthMode,
    /// Client id; for PKCE and device flow the server's public client id is used instead.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Client secret (client-credentials mode only).
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// Scopes from config; `None` means "use the server's".
    #[serde(default, deserialize_with = "crate::bounded::short_list_opt")]
    pub scopes: Option<Vec<String>>,
    /// Audience from config; `None` means "use the server's".
    #[serde(default)]
    pub audience: Option<String>,
    /// Token endpoint override (`admin.tokenUrl`; client credentials only, as in Flyte's Go client).
    #[serde(default)]
    pub token_url: Option<String>,
    /// Header the token is sent in (`admin.authorizationHeader`), overriding the server's.
    #[serde(default)]
    pub authorization_header: Option<String>,
    /// Browser login timeout in seconds (`admin.pkceConfig.timeout`).
    #[serde(default)]
    pub pkce_timeout_secs: Option<u64>,
    /// Device-flow overall timeout in seconds (`admin.deviceFlowConfig.timeout`).
    #[serde(default)]
    pub device_timeout_secs: Option<u64>,
    /// Device-flow poll interval in seconds when the server gives none
    /// (`admin.deviceFlowConfig.pollInterval`).
    #[serde(default)]
    pub device_poll_interval_secs: Option<u64>,
    /// Union organization, if any (from an API key or `task.org`).
    #[serde(default)]
    pub org: Option<String>,
}

impl Profile {
    /// A profile for `endpoint` with `mode` and every optional setting unset.
    pub fn new(endpoint: impl Into<String>, mode: AuthMode) -> Self {
        Profile {
            endpoint: endpoint.into(),
            insecure: false,
            insecure_skip_verify: false,
            ca_cert_file: None,
            http_proxy: None,
            mode,
            client_id: None,
            client_secret: None,
            scopes: None,
            audience: None,
            token_url: None,
            authorization_header: None,
            pkce_timeout_secs: None,
            device_timeout_secs: None,
            device_poll_interval_secs: None,
            org: None,
        }
    }

    /// The key the agent files this profile's session under.
    pub fn session_key(&self) -> SessionKey {
        let scopes = self.scopes.as_ref().map(|s| {
            let mut s: Vec<String> = s.iter().map(|x| x.trim().to_owned()).collect();
            s.retain(|x| !x.is_empty());
            s.sort();
            s.dedup();
            s
        });
        SessionKey {
            endpoint: self.endpoint.trim_end_matches('/').to_ascii_lowercase(),
            // PKCE and device flow log the same user in through the same public client, so
            // they share one session: `flyte-auth login --device` on a box whose config says
            // Pkce logs in the session that `flyte-auth token` then uses.
            mode: if self.mode.is_interactive() {
                AuthMode::Pkce
            } else {
                self.mode
            },
            client_id: self.client_id.clone(),
            scopes,
            audience: self.audience.clone(),
        }
    }

    /// Host (and port, if any) of the endpoint, for messages.
    pub fn host(&self) -> &str {
        let rest = self
            .endpoint
            .split_once("://")
            .map_or(&*self.endpoint, |(_, r)| r);
        rest.split('/').next().unwrap_or(rest)
    }
}

/// Identity of a session: (endpoint, mode, client id, normalised scopes, audience).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SessionKey {
    /// Lower-cased endpoint without trailing slash.
    pub endpoint: String,
    /// Login mode.
    pub mode: AuthMode,
    /// Configured client id, if any.
    pub client_id: Option<String>,
    /// Sorted, de-duplicated scopes, if configured.
    pub scopes: Option<Vec<String>>,
    /// Configured audience, if any.
    pub audience: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_is_redacted_and_serde_is_transparent() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "[redacted]");
        let mut p = Profile::new("https://x", AuthMode::ClientSecret);
        p.client_secret = Some(s);
        assert!(!format!("{p:?}").contains("hunter2"));
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains(r#""client_secret":"hunter2""#));
        let back: Profile = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn session_key_normalises_scopes_and_endpoint() {
        let mut a = Profile::new("https://Flyte.example.com/", AuthMode::Pkce);
        a.scopes = Some(vec!["offline".into(), " all".into(), "all".into()]);
        let mut b = Profile::new("https://flyte.example.com", AuthMode::Pkce);
        b.scopes = Some(vec!["all".into(), "offline".into()]);
        assert_eq!(a.session_key(), b.session_key());
        b.mode = AuthMode::DeviceFlow;
        assert_eq!(
            a.session_key(),
            b.session_key(),
            "browser and device log in one user"
        );
        b.mode = AuthMode::ClientSecret;
        assert_ne!(a.session_key(), b.session_key());
    }

    #[test]
    fn host_strips_scheme_and_path() {
        assert_eq!(
            Profile::new("https://h:8080/x", AuthMode::Pkce).host(),
            "h:8080"
        );
        assert_eq!(
            Profile::new("http://127.0.0.1:1", AuthMode::Pkce).host(),
            "127.0.0.1:1"
        );
    }
}
