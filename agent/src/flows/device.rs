//! Device authorization grant (RFC 8628): show a code, poll the token endpoint until approved.
//!
//! Polling honours the server's `interval` (5 s when absent, or `deviceFlowConfig.pollInterval`)
//! and adds 5 s on every `slow_down`, which Flyte's own clients ignore. It stops on
//! `access_denied`, and at the code's expiry with "Device code expired".

use std::time::{Duration, Instant};

use flyte_auth_proto::text::printable;
use flyte_auth_proto::{Event, Profile, Secret};
use serde::Deserialize;
use tokio::sync::mpsc::UnboundedSender;

use super::token::{self, Outcome};
use super::{Grant, answer};
use crate::AgentError;
use crate::discovery::ServerSettings;
use crate::http::{OAuthCode, body, read_failure, read_ok, unreachable};
use crate::session::{Effective, now_ms};

const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
const DEFAULT_INTERVAL: u64 = 5;
/// Longest poll interval obeyed: a larger one would outlast any device code.
const MAX_INTERVAL: u64 = 300;
/// `admin.deviceFlowConfig.timeout` default.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// Longest user code shown; real ones are about 8 characters.
const MAX_USER_CODE: usize = 64;
/// Longest verification URL shown.
const MAX_URI: usize = 2048;

#[derive(Debug, Deserialize)]
struct DeviceAuthorization {
    device_code: Secret,
    user_code: String,
    #[serde(alias = "verification_url")]
    verification_uri: String,
    #[serde(default)]
    verification_uri_complete: Option<String>,
    #[serde(default, deserialize_with = "answer::seconds")]
    expires_in: Option<u64>,
    #[serde(default, deserialize_with = "answer::seconds")]
    interval: Option<u64>,
}

impl DeviceAuthorization {
    /// Parses the answer, refusing what could not be shown to a user as is.
    fn parse(host: &str, body: &[u8]) -> Result<Self, AgentError> {
        let bad = |why: String| AgentError::BadAnswer {
            host: host.to_owned(),
            what: "device authorization".to_owned(),
            why,
        };
        let mut de = serde_json::Deserializer::from_slice(body);
        let auth: DeviceAuthorization = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            bad(format!(
                "is not valid JSON: {}",
                flyte_auth_proto::text::bounded(&e.to_string(), 300)
            ))
        })?;
        let fields = [
            ("user_code", Some(&auth.user_code), MAX_USER_CODE),
            ("verification_uri", Some(&auth.verification_uri), MAX_URI),
            (
                "verification_uri_complete",
                auth.verification_uri_complete.as_ref(),
                MAX_URI,
            ),
        ];
        for (name, value, max) in fields {
            match value {
                Some(v) if v.trim().is_empty() => return Err(bad(format!("has an empty {name}"))),
                Some(v) if v.len() > max => {
                    return Err(bad(format!("has a {name} longer than {max} bytes")));
                }
                _ => {}
            }
        }
        if auth.device_code.expose().is_empty() {
            return Err(bad("has an empty device_code".into()));
        }
        Ok(auth)
    }
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
    token::check_endpoint(host, &eff.token_endpoint)?;
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
    let resp = resp.map_err(|e| unreachable(host, e))?;
    const WHAT: &str = "device authorization request";
    if !resp.status().is_success() {
        return Err(read_failure(resp, host, WHAT).await);
    }
    let body = read_ok(resp, host, "device authorization", body::DOCUMENT_LIMIT).await?;
    let auth = DeviceAuthorization::parse(host, &body)?;
    let configured = profile
        .device_timeout_secs
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
    let lifetime = auth
        .expires_in
        .filter(|&s| s > 0)
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs)
        .min(configured);
    let _ = events.send(Event::DeviceCode {
        verification_uri: printable(&auth.verification_uri).into_owned(),
        user_code: printable(&auth.user_code).into_owned(),
        verification_uri_complete: auth
            .verification_uri_complete
            .as_deref()
            .map(|u| printable(u).into_owned()),
        expires_at: now_ms().saturating_add(lifetime.as_millis() as u64) / 1000,
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
        .clamp(1, MAX_INTERVAL);
    let scope = eff.scope_param();
    let mut form = vec![
        ("client_id", eff.client_id.as_str()),
        ("device_code", auth.device_code.expose()),
        ("scope", scope.as_str()),
    ];
    if let Some(aud) = &eff.audience {
        form.push(("audience", aud.as_str()));
    }
    let req = eff.token_request(host, GRANT_TYPE, &form);
    let expired = || AgentError::Login("Device code expired: run the command again".into());
    loop {
        let wake = Instant::now() + Duration::from_secs(interval);
        if wake >= deadline {
            tokio::time::sleep_until(deadline.into()).await;
            return Err(expired());
        }
        tokio::time::sleep_until(wake.into()).await;
        match token::call(http, &req).await {
            Ok(Outcome::Tokens(g)) => return Ok(*g),
            Ok(Outcome::Refused(e)) => match e.code {
                OAuthCode::AuthorizationPending => {}
                OAuthCode::SlowDown => interval = (interval + 5).min(MAX_INTERVAL),
                OAuthCode::ExpiredToken => return Err(expired()),
                OAuthCode::AccessDenied => {
                    return Err(AgentError::Login(format!(
                        "the login to {host} was denied in the browser"
                    )));
                }
                _ => {
                    return Err(AgentError::rejected(host, e.code, e.description.as_deref()));
                }
            },
            // The user may still be typing the code; a blip must not lose the login.
            Ok(Outcome::Failed(
                e @ AgentError::Http {
                    transient: true, ..
                },
            ))
            | Err(e @ AgentError::Unreachable { .. }) => {
                tracing::warn!(%host, error = %e, "device poll failed; retrying");
            }
            Ok(Outcome::Failed(e)) | Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: serde_json::Value) -> Result<DeviceAuthorization, String> {
        DeviceAuthorization::parse("idp", v.to_string().as_bytes()).map_err(|e| e.to_string())
    }

    fn answer(extra: serde_json::Value) -> serde_json::Value {
        let mut v = serde_json::json!({
            "device_code": "dc", "user_code": "ABCD", "verification_uri": "https://idp/activate",
        });
        if let (Some(m), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            m.extend(e.clone());
        }
        v
    }

    #[test]
    fn lifetimes_and_intervals_in_any_numeric_form() {
        let a = parse(answer(
            serde_json::json!({"expires_in": "900", "interval": 5.0}),
        ))
        .unwrap();
        assert_eq!((a.expires_in, a.interval), (Some(900), Some(5)));
        let a = parse(answer(serde_json::json!({"interval": u64::MAX}))).unwrap();
        // Clamped where it is used, so `Instant + interval` cannot overflow.
        assert_eq!(
            a.interval.map(|i| i.clamp(1, MAX_INTERVAL)),
            Some(MAX_INTERVAL)
        );
    }

    #[test]
    fn codes_that_cannot_be_shown_are_refused() {
        let e = parse(answer(serde_json::json!({"user_code": ""}))).unwrap_err();
        assert_eq!(e, "idp's device authorization has an empty user_code");
        let long = "x".repeat(MAX_URI + 1);
        let e = parse(answer(
            serde_json::json!({ "verification_uri_complete": long }),
        ))
        .unwrap_err();
        assert!(
            e.contains("verification_uri_complete longer than 2048 bytes"),
            "{e}"
        );
        let e = parse(serde_json::json!({"user_code": "A"})).unwrap_err();
        assert!(
            e.contains("is not valid JSON: missing field `device_code`"),
            "{e}"
        );
    }
}
