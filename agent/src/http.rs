//! Shared HTTP clients for discovery and token calls, one per TLS/proxy setting.
//!
//! Building a reqwest client loads TLS roots, so clients are built once per distinct
//! (`insecureSkipVerify`, `caCertFilePath`, `httpProxyURL`) and reused by every session.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use flyte_auth_proto::Profile;

use crate::AgentError;

/// The settings that make two HTTP clients different.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    skip_verify: bool,
    ca_cert: Option<PathBuf>,
    proxy: Option<String>,
}

/// Builds and caches HTTP clients.
#[derive(Debug)]
pub struct HttpClients {
    timeout: Duration,
    clients: Mutex<HashMap<ClientKey, reqwest::Client>>,
}

impl HttpClients {
    /// Clients whose every request (connect + response) is bounded by `timeout`.
    pub fn new(timeout: Duration) -> Self {
        HttpClients {
            timeout,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The client for `profile`'s TLS and proxy settings.
    pub fn for_profile(&self, profile: &Profile) -> Result<reqwest::Client, AgentError> {
        let key = ClientKey {
            skip_verify: profile.insecure_skip_verify,
            ca_cert: profile.ca_cert_file.clone(),
            proxy: profile.http_proxy.clone(),
        };
        if let Some(c) = self.lock().get(&key) {
            return Ok(c.clone());
        }
        // Built outside the lock: reading a CA file is I/O.
        let client = self.build(&key)?;
        self.lock().insert(key, client.clone());
        Ok(client)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ClientKey, reqwest::Client>> {
        // A poisoned map of clients is still a valid map of clients.
        self.clients.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn build(&self, key: &ClientKey) -> Result<reqwest::Client, AgentError> {
        let mut b = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.timeout.min(Duration::from_secs(5)))
            // OAuth token endpoints must not be followed across redirects (RFC 6749 §3.2 and
            // the oauth2 crate's advice): a redirect could leak the client secret.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("flyte-auth-agent/", env!("CARGO_PKG_VERSION")));
        if key.skip_verify {
            b = b.danger_accept_invalid_certs(true);
        }
        if let Some(path) = &key.ca_cert {
            let pem = std::fs::read(path).map_err(|e| {
                AgentError::Config(format!(
                    "cannot read caCertFilePath {}: {e}",
                    path.display()
                ))
            })?;
            let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| {
                AgentError::Config(format!("caCertFilePath {} is not PEM: {e}", path.display()))
            })?;
            b = b.add_root_certificate(cert);
        }
        if let Some(proxy) = &key.proxy {
            let p = reqwest::Proxy::all(proxy)
                .map_err(|e| AgentError::Config(format!("invalid httpProxyURL {proxy}: {e}")))?;
            b = b.proxy(p);
        }
        b.build()
            .map_err(|e| AgentError::Internal(format!("building HTTP client: {e}")))
    }
}

/// A transport error from `host` as an [`AgentError`].
pub fn unreachable(host: &str, e: &reqwest::Error) -> AgentError {
    AgentError::Unreachable {
        host: host.to_owned(),
        why: describe(e),
    }
}

/// A short reason for a transport error, without the request URL.
pub fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "connection failed".to_owned()
    } else {
        let s = e.to_string();
        match e.url() {
            Some(u) => s.replace(&format!(" ({u})"), ""),
            None => s,
        }
    }
}
