//! Shared HTTP clients for discovery and token calls, one per TLS/proxy setting, and how
//! their failures read.
//!
//! Building a reqwest client loads TLS roots, so clients are built once per distinct
//! (`insecureSkipVerify`, `caCertFilePath`, `httpProxyURL`) and reused by every session.
//! Bodies are read only through [`body`], with a size cap.

pub mod body;
pub mod oauth;

pub use oauth::{OAuthCode, OAuthError};

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
            .map_err(|e| AgentError::internal(format!("building HTTP client: {e}")).because(e))
    }
}

/// A transport error from `host` as an [`AgentError`].
pub fn unreachable(host: &str, e: reqwest::Error) -> AgentError {
    AgentError::Unreachable {
        host: host.to_owned(),
        why: describe(&e),
        source: None,
    }
    .because(e)
}

/// A short reason for a transport error, without the request URL, ending with its root
/// cause from the source chain ("connection failed: Connection refused (os error 111)").
pub fn describe(e: &reqwest::Error) -> String {
    let head = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "connection failed".to_owned()
    } else {
        without_url(e)
    };
    let mut root: Option<&(dyn std::error::Error + 'static)> = None;
    let mut cur = std::error::Error::source(e);
    while let Some(err) = cur {
        root = Some(err);
        cur = err.source();
    }
    let cause = root
        .map(|r| r.to_string())
        .filter(|c| !head.contains(c.as_str()));
    let text = match cause {
        Some(c) => format!("{head}: {c}"),
        None => head,
    };
    flyte_auth_proto::text::bounded(&text, 300)
}

fn without_url(e: &reqwest::Error) -> String {
    let s = e.to_string();
    match e.url() {
        Some(u) => s.replace(&format!(" ({u})"), ""),
        None => s,
    }
}

/// Reads the body of a successful answer to the `what` (e.g. "token response") from
/// `host`, refusing one over `limit` bytes.
pub async fn read_ok(
    resp: reqwest::Response,
    host: &str,
    what: &str,
    limit: usize,
) -> Result<zeroize::Zeroizing<Vec<u8>>, AgentError> {
    let body = body::read_up_to(resp, limit).await.map_err(|e| {
        let mut err = unreachable(host, e);
        if let AgentError::Unreachable { why, .. } = &mut err {
            *why = format!("reading the {what} failed: {why}");
        }
        err
    })?;
    if body.truncated {
        return Err(AgentError::BadAnswer {
            host: host.to_owned(),
            what: what.to_owned(),
            why: format!("is larger than {} KiB", limit / 1024),
        });
    }
    Ok(body.bytes)
}

/// Reads (the start of) an error answer to the `what` (e.g. "token request") and says what
/// the server answered: `Rejected` for an OAuth error, `Http` otherwise.
pub async fn read_failure(resp: reqwest::Response, host: &str, what: &str) -> AgentError {
    let status = resp.status();
    // A body that cannot be read still leaves the status to report.
    let bytes = match body::read_up_to(resp, body::ERROR_LIMIT).await {
        Ok(b) => b.bytes,
        Err(_) => Default::default(),
    };
    status_error(host, what, status, &bytes)
}

/// What `host` answering `status` with `body` to the `what` means. Server errors, rate
/// limits and the OAuth codes `server_error`/`temporarily_unavailable` are transient; other
/// OAuth errors are the IdP's refusal; anything else is quoted.
pub fn status_error(
    host: &str,
    what: &str,
    status: reqwest::StatusCode,
    body: &[u8],
) -> AgentError {
    answer_error(host, what, status, oauth::parse(body), body)
}

/// [`status_error`] for a body whose OAuth error the caller already parsed.
pub fn answer_error(
    host: &str,
    what: &str,
    status: reqwest::StatusCode,
    oauth: Option<OAuthError>,
    body: &[u8],
) -> AgentError {
    use flyte_auth_proto::text::{bounded, snippet};
    let busy = status.is_server_error()
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status == reqwest::StatusCode::REQUEST_TIMEOUT;
    let http = |detail: String, transient: bool| AgentError::Http {
        host: host.to_owned(),
        what: what.to_owned(),
        status: status.to_string(),
        detail,
        transient,
    };
    match oauth {
        Some(e) if busy || e.code.is_server_side() => {
            let code = bounded(e.code.as_str(), 100);
            let detail = match &e.description {
                Some(d) => format!("{code} ({})", bounded(d, 300)),
                None => code,
            };
            http(detail, true)
        }
        Some(e) => AgentError::rejected(host, e.code, e.description.as_deref()),
        None => http(snippet(body, 200), busy),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    #[test]
    fn status_errors_say_what_was_answered() {
        let e = status_error(
            "idp",
            "token request",
            StatusCode::BAD_GATEWAY,
            b"<h1>\x1b[2Jdown</h1>",
        );
        assert_eq!(
            e.to_string(),
            "idp answered HTTP 502 Bad Gateway to the token request: <h1>\\x1b[2Jdown</h1>"
        );
        assert_eq!(
            e.to_wire().kind,
            flyte_auth_proto::ErrorKind::IdpUnreachable
        );
        let e = status_error(
            "idp",
            "token request",
            StatusCode::INTERNAL_SERVER_ERROR,
            br#"{"error":"server_error"}"#,
        );
        assert_eq!(
            e.to_string(),
            "idp answered HTTP 500 Internal Server Error to the token request: server_error"
        );
        let e = status_error(
            "idp",
            "token request",
            StatusCode::BAD_REQUEST,
            br#"{"error":"invalid_grant","error_description":"revoked"}"#,
        );
        assert!(matches!(
            &e,
            AgentError::Rejected {
                error: OAuthCode::InvalidGrant,
                ..
            }
        ));
        let e = status_error("idp", "token request", StatusCode::NOT_FOUND, b"");
        assert_eq!(
            e.to_string(),
            "idp answered HTTP 404 Not Found to the token request"
        );
        assert_eq!(e.to_wire().kind, flyte_auth_proto::ErrorKind::IdpRejected);
    }
}
