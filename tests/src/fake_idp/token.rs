//! The OAuth endpoints: `/token` (all grants, with fault injection), `/device` and `/revoke`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hyper::header::{AUTHORIZATION, HeaderMap, HeaderValue, WWW_AUTHENTICATE};
use hyper::{Response, StatusCode};
use serde_json::{Value, json};

use super::routes::{Body, form_get, json, oauth_error, parse_form};
use super::state::{Decision, Device, Shared, State, lock};
use super::{AUDIENCE, Fault, USER_CODE};

/// RFC 8628 grant type of device-code polls.
pub(super) const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// `POST /token`: records the request, applies the injected fault, then runs the grant.
pub(super) async fn token(state: &Shared, headers: &HeaderMap, body: &[u8]) -> Response<Body> {
    let form = parse_form(body);
    let authorization = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let fault = {
        let mut s = lock(state);
        s.token_requests += 1;
        if form_get(&form, "grant_type") == Some(DEVICE_GRANT) {
            s.device_polls.push(Instant::now());
        }
        s.last_token_form = Some(form.clone());
        s.last_authorization = authorization.clone();
        s.fault.clone()
    };
    match fault {
        Fault::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return json(status, json!({"error": "server_error"}));
        }
        // The lock is released above: other requests are served while this one waits.
        Fault::Delay(d) => tokio::time::sleep(d).await,
        Fault::InvalidClient => return invalid_client(),
        Fault::InvalidGrant => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                Some("grant revoked"),
            );
        }
        // SlowDown only affects device polls (below); Refuse never lets a request get here.
        Fault::None | Fault::Refuse | Fault::SlowDown(_) => {}
    }
    let mut s = lock(state);
    match form_get(&form, "grant_type") {
        Some("client_credentials") => client_credentials(&mut s, authorization.as_deref(), &form),
        Some("refresh_token") => refresh(&mut s, &form),
        Some(DEVICE_GRANT) => device_poll(&mut s, &form),
        // Any code is good: the fake has no login, `/authorize` hands out codes unconditionally.
        Some("authorization_code") => issue(&mut s, "user", true, form_get(&form, "scope")),
        _ => oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", None),
    }
}

fn client_credentials(
    s: &mut State,
    authorization: Option<&str>,
    form: &[(String, String)],
) -> Response<Body> {
    let Some((id, secret)) = authorization.and_then(basic_credentials) else {
        return invalid_client();
    };
    // Clients URL-encode the secret (flytekit quote_plus, Go QueryEscape) or not; accept both.
    if !matches_encoded(&id, &s.client_id) || !matches_encoded(&secret, &s.client_secret) {
        return invalid_client();
    }
    let sub = s.client_id.clone();
    issue(s, &sub, false, form_get(form, "scope"))
}

fn refresh(s: &mut State, form: &[(String, String)]) -> Response<Body> {
    // Rotation: the presented refresh token is spent whether or not it was valid.
    let sub = form_get(form, "refresh_token").and_then(|rt| s.refresh_tokens.remove(rt));
    match sub {
        Some(sub) => issue(s, &sub, true, form_get(form, "scope")),
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            Some("refresh token invalid or rotated"),
        ),
    }
}

fn device_poll(s: &mut State, form: &[(String, String)]) -> Response<Body> {
    let code = form_get(form, "device_code");
    let Some(device) = s.device.as_ref().filter(|d| Some(d.code.as_str()) == code) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            Some("unknown device_code"),
        );
    };
    let (expired, decision) = (Instant::now() >= device.expires_at, device.decision);
    if expired {
        return oauth_error(StatusCode::BAD_REQUEST, "expired_token", None);
    }
    if s.slow_down_left > 0 {
        s.slow_down_left -= 1;
        return oauth_error(StatusCode::BAD_REQUEST, "slow_down", None);
    }
    match decision {
        Decision::Pending => oauth_error(StatusCode::BAD_REQUEST, "authorization_pending", None),
        Decision::Denied => oauth_error(StatusCode::BAD_REQUEST, "access_denied", None),
        Decision::Approved => {
            // A device code is good for one token response (RFC 8628 §3.5).
            s.device = None;
            issue(s, "device-user", true, form_get(form, "scope"))
        }
    }
}

/// A token response with a fresh JWT-shaped access token (and refresh token if asked).
fn issue(s: &mut State, sub: &str, with_refresh: bool, scope: Option<&str>) -> Response<Body> {
    let now = unix_now();
    let jti = s.next_id();
    let claims = json!({
        "iss": s.url, "sub": sub, "aud": AUDIENCE,
        "iat": now, "exp": now + s.token_ttl, "jti": jti.to_string(),
    });
    let mut body = json!({"access_token": jwt(&claims), "token_type": "Bearer"});
    if !s.omit_expires_in {
        body["expires_in"] = json!(s.token_ttl);
    }
    if with_refresh {
        let rt = format!("fake-refresh-{jti}");
        s.refresh_tokens.insert(rt.clone(), sub.to_owned());
        body["refresh_token"] = json!(rt);
    }
    if let Some(scope) = scope {
        body["scope"] = json!(scope);
    }
    json(StatusCode::OK, body)
}

/// `POST /device`: issues a new device code, replacing any outstanding one.
pub(super) fn device_authorization(state: &Shared, body: &[u8]) -> Response<Body> {
    let mut s = lock(state);
    let code = format!("fake-device-{}", s.next_id());
    let decision = s.preset_decision.take().unwrap_or(Decision::Pending);
    let expires_at = Instant::now() + Duration::from_secs(s.device_expires_in);
    s.device = Some(Device {
        code: code.clone(),
        expires_at,
        decision,
    });
    s.last_device_form = Some(parse_form(body));
    let url = &s.url;
    let mut resp = json!({
        "device_code": code,
        "user_code": USER_CODE,
        "verification_uri": format!("{url}/activate"),
        "verification_uri_complete": format!("{url}/activate?user_code={USER_CODE}"),
        "expires_in": s.device_expires_in,
    });
    if let Some(interval) = s.device_interval {
        resp["interval"] = json!(interval);
    }
    json(StatusCode::OK, resp)
}

/// `POST /revoke` (RFC 7009): forgets a refresh token; always 200, as the RFC requires.
pub(super) fn revoke(state: &Shared, body: &[u8]) -> Response<Body> {
    let form = parse_form(body);
    if let Some(t) = form_get(&form, "token") {
        lock(state).refresh_tokens.remove(t);
    }
    json(StatusCode::OK, json!({}))
}

fn invalid_client() -> Response<Body> {
    let mut resp = oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        Some("Client authentication failed"),
    );
    // RFC 6749 §5.2: a 401 must name the scheme the client should have used.
    resp.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"fake-idp\""),
    );
    resp
}

/// `(id, secret)` of a `Basic` authorization header, still URL-encoded as sent.
fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

fn matches_encoded(given: &str, expected: &str) -> bool {
    given == expected || form_decode(given).as_deref() == Some(expected)
}

/// Form-style percent-decoding (`+` is a space), as `quote_plus` and Go's `QueryEscape` encode.
fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                out.push(u8::from_str_radix(s.get(i + 1..i + 3)?, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// An unsigned JWT-shaped token: the agent only reads claims, it never verifies signatures.
fn jwt(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!(
        "{header}.{payload}.{}",
        URL_SAFE_NO_PAD.encode("fake-signature")
    )
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
