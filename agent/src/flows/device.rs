//! Device authorization grant (RFC 8628), reference §3.
//!
//! Polling honours the server's `interval` (5 s when absent, or `deviceFlowConfig.pollInterval`)
//! and adds 5 s on every `slow_down`, which Flyte's own clients ignore. It stops on
//! `access_denied`, and at the code's expiry with "Device code expired".

use std::time::{Duration, Instant};

use flyte_auth_proto::{Event, Profile};
use serde::Deserialize;
use tokio::sync::mpsc::UnboundedSender;

use super::{Effective, Grant, TokenResp, grant_from, now_ms};
use crate::AgentError;
use crate::discovery::ServerSettings;
use crate::http::unreachable;

const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
const DEFAULT_INTERVAL: u64 = 5;
/// `admin.deviceFlowConfig.timeout` default.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, Deserialize)]
struct DeviceAuthorization {
    device_code: String,
    user_code: String,
    #[serde(alias = "verification_url")]
    verification_uri: String,
    verification_uri_complete: Option<String>,
    expires_in: u64,
    interval: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct OAuthError {
    error: String,
    error_description: Option<String>,
}

/// Runs a device-flow login for `profile`.
pub async fn login(
    http: &reqwest::Client,
    profile: &Profile,
    eff: &Effective,
    settings: &ServerSettings,
    events: &UnboundedSender<Event>,
) -> Result<Grant, AgentError> {
    let host = profile.host();
    let endpoint = settings
        .metadata
        .device_authorization_endpoint
        .clone()
        .ok_or_else(|| {
            AgentError::Config(format!(
                "Device Authentication is not available on {host} (no device authorization \
             endpoint); log in with `flyte-auth login --browser`"
            ))
        })?;
    let mut form = vec![
        ("client_id", eff.client_id.clone()),
        ("scope", eff.scopes.join(" ")),
    ];
    if let Some(aud) = &eff.audience {
        form.push(("audience", aud.clone()));
    }
    let resp = http
        .post(&endpoint)
        .header("Accept", "application/json")
        .form(&form)
        .send()
        .await;
    let resp = resp.map_err(|e| unreachable(host, &e))?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| unreachable(host, &e))?;
    if !status.is_success() {
        return Err(oauth_error(host, status, &body, "device authorization"));
    }
    let auth: DeviceAuthorization =
        serde_json::from_slice(&body).map_err(|e| AgentError::Unreachable {
            host: host.to_owned(),
            why: format!("unexpected device authorization response: {e}"),
        })?;
    let lifetime = Duration::from_secs(auth.expires_in).min(
        profile
            .device_timeout_secs
            .map_or(DEFAULT_TIMEOUT, Duration::from_secs),
    );
    let _ = events.send(Event::DeviceCode {
        verification_uri: auth.verification_uri.clone(),
        user_code: auth.user_code.clone(),
        verification_uri_complete: auth.verification_uri_complete.clone(),
        expires_at: (now_ms() + lifetime.as_millis() as u64) / 1000,
    });
    tracing::info!(%host, expires_in_s = lifetime.as_secs(), "device login started");
    poll(
        http,
        host,
        eff,
        &auth,
        lifetime,
        profile.device_poll_interval_secs,
    )
    .await
}

async fn poll(
    http: &reqwest::Client,
    host: &str,
    eff: &Effective,
    auth: &DeviceAuthorization,
    lifetime: Duration,
    configured_interval: Option<u64>,
) -> Result<Grant, AgentError> {
    let deadline = Instant::now() + lifetime;
    let mut interval = auth
        .interval
        .or(configured_interval)
        .unwrap_or(DEFAULT_INTERVAL)
        .max(1);
    let mut form = vec![
        ("grant_type", GRANT_TYPE.to_owned()),
        ("client_id", eff.client_id.clone()),
        ("device_code", auth.device_code.clone()),
        ("scope", eff.scopes.join(" ")),
    ];
    if let Some(aud) = &eff.audience {
        form.push(("audience", aud.clone()));
    }
    let expired = || AgentError::Login("Device code expired: run the command again".into());
    loop {
        let wake = Instant::now() + Duration::from_secs(interval);
        if wake >= deadline {
            tokio::time::sleep_until(deadline.into()).await;
            return Err(expired());
        }
        tokio::time::sleep_until(wake.into()).await;
        let sent = http
            .post(&eff.token_endpoint)
            .header("Accept", "application/json")
            .header("Cache-Control", "no-cache")
            .form(&form)
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(e) => {
                // The user may still be typing the code; a blip must not lose the login.
                tracing::warn!(%host, error = %crate::http::describe(&e), "device poll failed; retrying");
                continue;
            }
        };
        let status = resp.status();
        let body = resp.bytes().await.unwrap_or_default();
        if status.is_success() {
            let tokens: TokenResp =
                serde_json::from_slice(&body).map_err(|e| AgentError::Unreachable {
                    host: host.to_owned(),
                    why: format!("unexpected token response: {e}"),
                })?;
            return Ok(grant_from(&tokens));
        }
        match serde_json::from_slice::<OAuthError>(&body)
            .map(|e| e.error)
            .as_deref()
        {
            Ok("authorization_pending") => {}
            Ok("slow_down") => interval += 5,
            Ok("expired_token") => return Err(expired()),
            Ok("access_denied") => {
                return Err(AgentError::Login(format!(
                    "the login to {host} was denied in the browser"
                )));
            }
            _ if status.is_server_error() => {
                tracing::warn!(%host, %status, "device poll got a server error; retrying");
            }
            _ => return Err(oauth_error(host, status, &body, "device login")),
        }
    }
}

/// An OAuth error response as an [`AgentError`].
fn oauth_error(host: &str, status: reqwest::StatusCode, body: &[u8], what: &str) -> AgentError {
    if status.is_server_error() {
        return AgentError::Unreachable {
            host: host.to_owned(),
            why: format!("{what} answered HTTP {status}"),
        };
    }
    match serde_json::from_slice::<OAuthError>(body) {
        Ok(e) => AgentError::Rejected {
            host: host.to_owned(),
            error: e.error,
            description: e.error_description,
        },
        Err(_) => AgentError::Rejected {
            host: host.to_owned(),
            error: format!("HTTP {status}"),
            description: Some(what.to_owned()),
        },
    }
}
