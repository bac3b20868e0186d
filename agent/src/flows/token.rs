//! Calls to the token endpoint, for every grant.
//!
//! Done here rather than by the oauth2 crate, which reads any body whole and knows only
//! integer `expires_in`: the request is the form RFC 6749 describes (client credentials in
//! HTTP Basic, each part form-url-encoded first as §2.3.1 says, as the oauth2 crate does),
//! and the answer is read with a cap ([`crate::http::body`]) and checked
//! ([`super::answer`]) before anything is kept.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flyte_auth_proto::Secret;
use flyte_auth_proto::text::printable;
use reqwest::header::{ACCEPT, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use zeroize::Zeroizing;

use super::{Grant, answer};
use crate::AgentError;
use crate::http::{OAuthError, answer_error, body, oauth, read_failure, read_ok, unreachable};

/// One token request.
pub struct TokenRequest<'a> {
    /// Host named in errors.
    pub host: &'a str,
    /// The token endpoint URL.
    pub endpoint: &'a str,
    /// Form fields (`grant_type` first). Values may be secrets: the encoded body is zeroized.
    pub form: Vec<(&'static str, &'a str)>,
    /// Client id and secret for HTTP Basic, for confidential clients.
    pub basic: Option<(&'a str, &'a Secret)>,
    /// Header the token will be sent in (to check it fits a frame).
    pub header_key: &'a str,
}

impl std::fmt::Debug for TokenRequest<'_> {
    /// Field names only: the values include refresh tokens, codes and verifiers.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fields: Vec<&str> = self.form.iter().map(|(k, _)| *k).collect();
        f.debug_struct("TokenRequest")
            .field("host", &self.host)
            .field("endpoint", &self.endpoint)
            .field("form", &fields)
            .field("basic", &self.basic.map(|(id, _)| id))
            .finish()
    }
}

/// What a token endpoint answered, when it answered.
#[derive(Debug)]
pub enum Outcome {
    /// New tokens.
    Tokens(Box<Grant>),
    /// A 4xx OAuth error (device polls look at `authorization_pending` and the like).
    Refused(OAuthError),
    /// Anything else: a server error, a non-OAuth answer.
    Failed(AgentError),
}

/// Runs `req` and returns its tokens; any refusal or failure is an error.
pub async fn exchange(http: &reqwest::Client, req: &TokenRequest<'_>) -> Result<Grant, AgentError> {
    match call(http, req).await? {
        Outcome::Tokens(g) => Ok(*g),
        Outcome::Refused(e) => Err(AgentError::rejected(
            req.host,
            e.code,
            e.description.as_deref(),
        )),
        Outcome::Failed(e) => Err(e),
    }
}

/// Runs `req`. `Err` only when the endpoint could not be reached (or the request built).
pub async fn call(http: &reqwest::Client, req: &TokenRequest<'_>) -> Result<Outcome, AgentError> {
    let resp = send(http, req).await?;
    let status = resp.status();
    if status.is_success() {
        let bytes = match read_ok(resp, req.host, "token response", body::TOKEN_LIMIT).await {
            Ok(b) => b,
            Err(e @ AgentError::Unreachable { .. }) => return Err(e),
            Err(e) => return Ok(Outcome::Failed(e)),
        };
        return Ok(match answer::grant(req.host, &bytes, req.header_key) {
            Ok(g) => Outcome::Tokens(Box::new(g)),
            // Some IdPs send their OAuth errors with a 200: read them as the refusal they are.
            // A `server_error` or `temporarily_unavailable` is no refusal, whatever the status.
            Err(e) => match oauth::parse(&bytes) {
                Some(oe) if !oe.code.is_server_side() => Outcome::Refused(oe),
                Some(oe) => Outcome::Failed(answer_error(
                    req.host,
                    "token request",
                    status,
                    Some(oe),
                    &bytes,
                )),
                None => Outcome::Failed(e),
            },
        });
    }
    if status.is_client_error() {
        let bytes = match body::read_up_to(resp, body::ERROR_LIMIT).await {
            Ok(b) => b.bytes,
            Err(_) => Default::default(),
        };
        return Ok(match oauth::parse(&bytes) {
            Some(e) if !e.code.is_server_side() => Outcome::Refused(e),
            oe => Outcome::Failed(answer_error(req.host, "token request", status, oe, &bytes)),
        });
    }
    Ok(Outcome::Failed(
        read_failure(resp, req.host, "token request").await,
    ))
}

/// Checks that `endpoint` is a URL, so an interactive login fails before the user logs in
/// rather than after.
pub fn check_endpoint(host: &str, endpoint: &str) -> Result<(), AgentError> {
    url::Url::parse(endpoint).map(drop).map_err(|e| {
        AgentError::Config(format!(
            "{host}: invalid token endpoint {}: {e}",
            printable(endpoint)
        ))
    })
}

async fn send(
    http: &reqwest::Client,
    req: &TokenRequest<'_>,
) -> Result<reqwest::Response, AgentError> {
    check_endpoint(req.host, req.endpoint)?;
    // Sized for the worst case (every byte percent-encoded) so it never reallocates and
    // leaves a copy of a secret behind.
    let room: usize = req
        .form
        .iter()
        .map(|(k, v)| k.len() + 3 * v.len() + 2)
        .sum();
    let form = url::form_urlencoded::Serializer::new(String::with_capacity(room))
        .extend_pairs(req.form.iter().filter(|(_, v)| !v.is_empty()))
        .finish();
    // The body holds secrets (refresh tokens, codes): it is zeroized when reqwest drops it.
    let form = bytes::Bytes::from_owner(Zeroizing::new(form.into_bytes()));
    let mut rb = http
        .post(req.endpoint)
        .header(ACCEPT, "application/json")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(CACHE_CONTROL, "no-cache")
        .body(form);
    if let Some((id, secret)) = req.basic {
        rb = rb.header(AUTHORIZATION, basic_auth(id, secret)?);
    }
    rb.send().await.map_err(|e| unreachable(req.host, e))
}

/// `Basic base64(urlencode(id):urlencode(secret))`, marked sensitive so it is never printed.
fn basic_auth(id: &str, secret: &Secret) -> Result<HeaderValue, AgentError> {
    let enc = |s: &str| {
        Zeroizing::new(url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>())
    };
    let pair = Zeroizing::new(format!("{}:{}", *enc(id), *enc(secret.expose())));
    let value = Zeroizing::new(format!("Basic {}", STANDARD.encode(pair.as_bytes())));
    let mut hv = HeaderValue::from_str(&value)
        .map_err(|_| AgentError::internal("unencodable client credentials"))?;
    hv.set_sensitive(true);
    Ok(hv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_encodes_each_part_first() {
        let hv = basic_auth("my client", &Secret::new("p@ss:w+rd")).unwrap();
        assert!(hv.is_sensitive());
        let text = hv.to_str().unwrap().strip_prefix("Basic ").unwrap();
        let decoded = String::from_utf8(STANDARD.decode(text).unwrap()).unwrap();
        assert_eq!(decoded, "my+client:p%40ss%3Aw%2Brd");
    }
}
