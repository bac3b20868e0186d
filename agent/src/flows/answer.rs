//! A token endpoint's answer, treated as input: parsed leniently where IdPs differ, and
//! refused clearly where a token could not be used.
//!
//! - `expires_in` may be a JSON integer, a float or a numeric string (Azure AD v1 sends
//!   `"3599"`). `0`, a negative value or no value means "not said": the JWT's `exp` is used
//!   if the token has one, else [`DEFAULT_LIFETIME`]. Any lifetime is capped at
//!   [`MAX_LIFETIME`], so an absurd value (2^63, `u64::MAX`) can neither overflow nor keep a
//!   token for ever. All arithmetic saturates.
//! - `token_type` must be `Bearer` in any case (missing is taken as Bearer); a `MAC` or
//!   `DPoP` token is refused rather than sent as a bearer token.
//! - The access token must be non-empty, printable ASCII (it goes in an HTTP header) and
//!   small enough to reach a client in one frame, or it is refused now, not cached and
//!   failed on every request for its lifetime.

use std::time::Duration;

use flyte_auth_proto::text::bounded;
use flyte_auth_proto::{ProtoError, Response, Secret, TokenResponse, frame};
use serde::{Deserialize, Deserializer};

use super::Grant;
use crate::session::now_ms;
use crate::{AgentError, jwt};

/// Lifetime assumed for a token that states neither `expires_in` nor a JWT `exp`: short, so
/// that we refresh early rather than hand out a token the server already considers expired.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);
/// Longest lifetime believed, whatever the IdP says: a day. A longer-lived token is simply
/// refreshed once a day.
pub const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// The fields of RFC 6749 §5.1 we use, plus OIDC's `id_token`.
#[derive(Deserialize)]
struct TokenBody {
    access_token: Secret,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default, deserialize_with = "seconds")]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<Secret>,
    #[serde(default)]
    id_token: Option<Secret>,
}

/// Turns a successful token endpoint body from `host` into a [`Grant`] whose token a client
/// can be sent in a frame with `header_key`.
pub fn grant(host: &str, body: &[u8], header_key: &str) -> Result<Grant, AgentError> {
    let bad = |why: String| AgentError::BadAnswer {
        host: host.to_owned(),
        what: "token response".to_owned(),
        why,
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let t: TokenBody = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        bad(format!(
            "is not valid OAuth2 JSON: {}",
            bounded(&e.to_string(), 300)
        ))
    })?;
    if let Some(tt) = t.token_type.as_deref()
        && !tt.eq_ignore_ascii_case("bearer")
    {
        return Err(bad(format!(
            "has token_type {:?}: flyte-auth can only use Bearer tokens",
            bounded(tt, 40)
        )));
    }
    let access = t.access_token.expose();
    if access.trim().is_empty() {
        return Err(bad("has an empty access token".to_owned()));
    }
    if !access.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad(
            "has an access token with characters that cannot be sent in an HTTP header".into(),
        ));
    }
    let now = now_ms();
    let life = lifetime(host, t.expires_in, access, now);
    let grant = Grant {
        access_token: t.access_token,
        token_type: "Bearer".to_owned(),
        issued_at_ms: now,
        expires_at_ms: now.saturating_add(life.as_millis() as u64),
        refresh_token: t.refresh_token.filter(|r| !r.expose().is_empty()),
        id_token: t.id_token.filter(|i| !i.expose().is_empty()),
    };
    fits_a_frame(&grant, header_key).map_err(bad)?;
    Ok(grant)
}

/// How long a token issued at `now_ms` lives: `expires_in` if said, else the JWT's `exp`,
/// else [`DEFAULT_LIFETIME`]; never more than [`MAX_LIFETIME`].
fn lifetime(host: &str, expires_in: Option<u64>, access: &str, now_ms: u64) -> Duration {
    let said = expires_in.filter(|&s| s > 0).map(Duration::from_secs);
    let life = said.unwrap_or_else(|| {
        jwt::claims(access)
            .and_then(|c| c.exp)
            .map(|exp| exp.saturating_mul(1000))
            .filter(|&exp| exp > now_ms)
            .map_or(DEFAULT_LIFETIME, |exp| Duration::from_millis(exp - now_ms))
    });
    if life > MAX_LIFETIME {
        tracing::warn!(%host, lifetime_s = life.as_secs(), max_s = MAX_LIFETIME.as_secs(),
            "the token's stated lifetime is implausible; capping it");
    }
    life.min(MAX_LIFETIME)
}

/// Whether the token, as a client would receive it, fits in one frame.
fn fits_a_frame(grant: &Grant, header_key: &str) -> Result<(), String> {
    let resp = Response::Token(TokenResponse {
        access_token: grant.access_token.clone(),
        token_type: grant.token_type.clone(),
        expires_at: grant.expires_at_ms / 1000,
        header_key: header_key.to_owned(),
        // Room for the longest warning a token served during an outage can carry: one whose
        // every byte is a control character, escaped.
        warning: Some(flyte_auth_proto::text::bounded(
            &"\u{1b}".repeat(flyte_auth_proto::MAX_WARNING_LEN),
            flyte_auth_proto::MAX_WARNING_LEN,
        )),
    });
    match frame::encode(&resp) {
        Ok(_) => Ok(()),
        Err(ProtoError::TooLarge { max, .. }) => Err(format!(
            "has an access token too large to hand out ({} bytes; a message to clients holds \
             at most {max} bytes)",
            grant.access_token.expose().len()
        )),
        Err(e) => Err(format!("has an access token that cannot be sent: {e}")),
    }
}

/// `expires_in` as whole seconds: a JSON integer, float or numeric string; negative values
/// are 0, and values past `u64` saturate. `null` is "not said".
pub(super) fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    struct Seconds;
    impl serde::de::Visitor<'_> for Seconds {
        type Value = Option<u64>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("seconds as a number or a numeric string")
        }
        fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(u64::try_from(v).unwrap_or(0)))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
            // `as` saturates (and maps NaN to 0), which is the clamping wanted here.
            Ok(Some(if v.is_finite() { v.max(0.0) as u64 } else { 0 }))
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let v = v.trim();
            match (v.parse::<u64>(), v.parse::<f64>()) {
                (Ok(n), _) => Ok(Some(n)),
                (_, Ok(f)) if f.is_finite() => self.visit_f64(f),
                // The value is not echoed: it is the IdP's, and it goes into messages.
                _ => Err(E::custom("a string that is not a number of seconds")),
            }
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(Seconds)
}

#[cfg(test)]
mod tests;
