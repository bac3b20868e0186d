//! Request routing, the discovery documents (both JSON casings), `/authorize`, and the
//! response and form helpers shared with the token module.

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, LOCATION};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Map, Value, json};

use super::state::{Shared, lock};
use super::{AUDIENCE, AUTH_METADATA_KEY, Fault, PUBLIC_CLIENT_ID, token};

/// Response body type of every route (it can stream: see `answers.rs`).
pub(super) type Body = super::answers::Body;

const CONNECT_METADATA: &str = "/flyteidl2.auth.AuthMetadataService/GetOAuth2Metadata";
const CONNECT_CLIENT_CONFIG: &str = "/flyteidl2.auth.AuthMetadataService/GetPublicClientConfig";
const FLYTE1_METADATA: &str = "/.well-known/oauth-authorization-server";
const FLYTE1_CLIENT_CONFIG: &str = "/config/v1/flyte_client";
/// Every route takes an empty body or a small form; anything bigger is a client bug.
const MAX_BODY: usize = 64 * 1024;

/// Returned by the service to make hyper close the connection without answering: how
/// `Fault::Refuse` reaches connections that were accepted (kept alive) before it was set.
#[derive(Debug)]
pub(super) struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection refused by fault injection")
    }
}

impl std::error::Error for Refused {}

/// Serves one request.
pub(super) async fn handle(
    state: Shared,
    req: Request<Incoming>,
) -> Result<Response<Body>, Refused> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    if let Some(resp) = super::outage::intercept(&state).await? {
        return Ok(resp);
    }
    let (url, connect) = {
        let mut s = lock(&state);
        if s.fault == Fault::Refuse {
            return Err(Refused);
        }
        *s.counts.entry(path.clone()).or_default() += 1;
        (s.url.clone(), s.connect_routes)
    };
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Ok(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                None,
            ));
        }
    };
    let resp = match (&parts.method, path.as_str()) {
        (&Method::POST, CONNECT_METADATA) if connect => {
            json(StatusCode::OK, metadata(&url, Case::Camel))
        }
        (&Method::POST, CONNECT_CLIENT_CONFIG) if connect => {
            json(StatusCode::OK, client_config(Case::Camel))
        }
        // Connect maps `unimplemented` to HTTP 404: what a server without Flyte 2 RPCs says.
        (&Method::POST, CONNECT_METADATA | CONNECT_CLIENT_CONFIG) => json(
            StatusCode::NOT_FOUND,
            json!({"code": "unimplemented", "message": "Connect routes disabled"}),
        ),
        (&Method::GET, FLYTE1_METADATA) => json(StatusCode::OK, metadata(&url, Case::Snake)),
        (&Method::GET, FLYTE1_CLIENT_CONFIG) => json(StatusCode::OK, client_config(Case::Snake)),
        (&Method::GET, "/authorize") => authorize(&state, parts.uri.query().unwrap_or("")),
        (&Method::POST, "/token") => token::token(&state, &parts.headers, &body).await,
        (&Method::POST, "/device") => token::device_authorization(&state, &body),
        (&Method::POST, "/revoke") => token::revoke(&state, &body),
        _ => json(StatusCode::NOT_FOUND, json!({"error": "not_found"})),
    };
    Ok(super::answers::apply(&state, &path, resp).await)
}

/// JSON key casing: grpc-gateway's snake_case (Flyte 1 HTTP) or protojson camelCase (Connect).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Snake,
    Camel,
}

/// `OAuth2MetadataResponse`, with every field populated as flyteadmin would.
fn metadata(url: &str, case: Case) -> Value {
    object(
        case,
        vec![
            ("issuer", json!(url)),
            ("authorization_endpoint", json!(format!("{url}/authorize"))),
            ("token_endpoint", json!(format!("{url}/token"))),
            ("response_types_supported", json!(["code"])),
            ("scopes_supported", json!(["all", "offline"])),
            (
                "token_endpoint_auth_methods_supported",
                json!(["client_secret_basic"]),
            ),
            ("jwks_uri", json!(format!("{url}/jwks"))),
            ("code_challenge_methods_supported", json!(["S256"])),
            (
                "grant_types_supported",
                json!([
                    "client_credentials",
                    "refresh_token",
                    "authorization_code",
                    token::DEVICE_GRANT
                ]),
            ),
            (
                "device_authorization_endpoint",
                json!(format!("{url}/device")),
            ),
            // Not in Flyte's proto, but RFC 8414 metadata an external AS would proxy through.
            ("revocation_endpoint", json!(format!("{url}/revoke"))),
        ],
    )
}

/// `PublicClientAuthConfigResponse` with flyteadmin's defaults.
fn client_config(case: Case) -> Value {
    object(
        case,
        vec![
            ("client_id", json!(PUBLIC_CLIENT_ID)),
            ("redirect_uri", json!("http://localhost:53593/callback")),
            ("scopes", json!(["all", "offline"])),
            ("authorization_metadata_key", json!(AUTH_METADATA_KEY)),
            ("service_http_endpoint", json!("")),
            ("audience", json!(AUDIENCE)),
        ],
    )
}

fn object(case: Case, fields: Vec<(&str, Value)>) -> Value {
    let map: Map<String, Value> = fields
        .into_iter()
        .map(|(k, v)| match case {
            Case::Snake => (k.to_owned(), v),
            Case::Camel => (camel(k), v),
        })
        .collect();
    Value::Object(map)
}

fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

/// Stands in for the browser login: redirects straight back to `redirect_uri` with a fresh
/// code and the caller's `state`, so PKCE tests can "click through" with a plain HTTP GET.
fn authorize(state: &Shared, query: &str) -> Response<Body> {
    let q = parse_form(query.as_bytes());
    let Some(mut target) = form_get(&q, "redirect_uri").and_then(|r| url::Url::parse(r).ok())
    else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some("redirect_uri"),
        );
    };
    let code = format!("fake-code-{}", lock(state).next_id());
    {
        let mut pairs = target.query_pairs_mut();
        pairs.append_pair("code", &code);
        if let Some(st) = form_get(&q, "state") {
            pairs.append_pair("state", st);
        }
    }
    let Ok(location) = HeaderValue::try_from(target.as_str()) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some("redirect_uri"),
        );
    };
    let mut resp = Response::new(Body::default());
    *resp.status_mut() = StatusCode::FOUND;
    resp.headers_mut().insert(LOCATION, location);
    resp
}

/// A JSON response; `no-store` because token responses must not be cached (RFC 6749 §5.1).
pub(super) fn json(status: StatusCode, body: Value) -> Response<Body> {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// An RFC 6749 §5.2 error response.
pub(super) fn oauth_error(
    status: StatusCode,
    error: &str,
    description: Option<&str>,
) -> Response<Body> {
    let mut body = json!({ "error": error });
    if let Some(d) = description {
        body["error_description"] = json!(d);
    }
    json(status, body)
}

/// Decodes an `application/x-www-form-urlencoded` body or query string.
pub(super) fn parse_form(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

/// The first value of `key` in `form`.
pub(super) fn form_get<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}
