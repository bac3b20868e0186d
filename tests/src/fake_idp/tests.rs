//! Tests of discovery, client credentials, refresh, `/authorize`, and shared test helpers.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::blocking::Client;
use serde_json::{Value, json};

use super::FakeIdp;

pub(super) fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// POSTs a form to `/token`, with HTTP Basic credentials (sent raw) if given.
pub(super) fn post_token(
    idp: &FakeIdp,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (u16, Value) {
    let mut req = client().post(format!("{}/token", idp.url())).form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let resp = req.send().expect("token request");
    (resp.status().as_u16(), resp.json().expect("JSON body"))
}

/// The claims of a JWT-shaped token.
pub(super) fn claims(token: &Value) -> Value {
    let token = token.as_str().expect("token is a string");
    let payload = token.split('.').nth(1).expect("JWT payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url"))
        .expect("claims JSON")
}

fn connect(idp: &FakeIdp, rpc: &str) -> reqwest::blocking::Response {
    client()
        .post(format!(
            "{}/flyteidl2.auth.AuthMetadataService/{rpc}",
            idp.url()
        ))
        .header("Content-Type", "application/json")
        .header("Connect-Protocol-Version", "1")
        .body("{}")
        .send()
        .expect("connect request")
}

pub(super) fn get(idp: &FakeIdp, path: &str) -> reqwest::blocking::Response {
    client()
        .get(format!("{}{path}", idp.url()))
        .send()
        .expect("GET")
}

/// A client-credentials form as flytekit sends it.
pub(super) const CC: [(&str, &str); 3] = [
    ("grant_type", "client_credentials"),
    ("scope", "all offline"),
    ("audience", "fake-aud"),
];

#[test]
fn discovery_connect_is_camel_case() {
    let idp = FakeIdp::start().expect("start");
    let url = idp.url();
    let m: Value = connect(&idp, "GetOAuth2Metadata").json().expect("json");
    assert_eq!(m["issuer"], json!(url));
    assert_eq!(m["tokenEndpoint"], json!(format!("{url}/token")));
    assert_eq!(
        m["authorizationEndpoint"],
        json!(format!("{url}/authorize"))
    );
    assert_eq!(
        m["deviceAuthorizationEndpoint"],
        json!(format!("{url}/device"))
    );
    assert_eq!(m["revocationEndpoint"], json!(format!("{url}/revoke")));
    assert_eq!(m["codeChallengeMethodsSupported"], json!(["S256"]));
    assert!(
        m["grantTypesSupported"]
            .as_array()
            .expect("array")
            .contains(&json!("client_credentials"))
    );
    assert!(m.get("token_endpoint").is_none());
    let c: Value = connect(&idp, "GetPublicClientConfig").json().expect("json");
    assert_eq!(c["clientId"], "flytectl");
    assert_eq!(c["redirectUri"], "http://localhost:53593/callback");
    assert_eq!(c["scopes"], json!(["all", "offline"]));
    assert_eq!(c["authorizationMetadataKey"], "flyte-authorization");
    assert_eq!(c["audience"], "fake-aud");
    assert_eq!(
        idp.requests("/flyteidl2.auth.AuthMetadataService/GetOAuth2Metadata"),
        1
    );
}

#[test]
fn discovery_flyte1_is_snake_case() {
    let idp = FakeIdp::start().expect("start");
    let url = idp.url();
    let m: Value = get(&idp, "/.well-known/oauth-authorization-server")
        .json()
        .expect("json");
    assert_eq!(m["token_endpoint"], json!(format!("{url}/token")));
    assert_eq!(
        m["device_authorization_endpoint"],
        json!(format!("{url}/device"))
    );
    assert_eq!(m["code_challenge_methods_supported"], json!(["S256"]));
    assert!(m.get("tokenEndpoint").is_none());
    let c: Value = get(&idp, "/config/v1/flyte_client").json().expect("json");
    assert_eq!(c["client_id"], "flytectl");
    assert_eq!(c["authorization_metadata_key"], "flyte-authorization");
    assert_eq!(c["audience"], "fake-aud");
    assert_eq!(idp.requests("/config/v1/flyte_client"), 1);
}

#[test]
fn connect_routes_can_be_disabled_and_unknown_paths_404() {
    let idp = FakeIdp::start().expect("start");
    idp.set_connect_routes(false);
    assert_eq!(connect(&idp, "GetOAuth2Metadata").status(), 404);
    assert_eq!(connect(&idp, "GetPublicClientConfig").status(), 404);
    assert_eq!(
        get(&idp, "/.well-known/oauth-authorization-server").status(),
        200
    );
    assert_eq!(get(&idp, "/nope").status(), 404);
    assert_eq!(idp.requests("/nope"), 1);
    idp.set_connect_routes(true);
    assert_eq!(connect(&idp, "GetOAuth2Metadata").status(), 200);
}

#[test]
fn client_credentials_issue_distinct_jwts_and_record_the_request() {
    let idp = FakeIdp::start().expect("start");
    let (status, a) = post_token(&idp, &CC, Some(("ci-client", "ci-secret")));
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["token_type"], "Bearer");
    assert_eq!(a["expires_in"], 3600);
    assert!(a.get("refresh_token").is_none());
    let c = claims(&a["access_token"]);
    assert_eq!(c["sub"], "ci-client");
    assert_eq!(
        c["exp"].as_u64().expect("exp") - c["iat"].as_u64().expect("iat"),
        3600
    );
    let (_, b) = post_token(&idp, &CC, Some(("ci-client", "ci-secret")));
    assert_ne!(a["access_token"], b["access_token"]);
    assert_eq!(idp.token_requests(), 2);
    assert_eq!(idp.requests("/token"), 2);
    let form = idp.last_token_form().expect("form");
    assert!(form.contains(&("scope".into(), "all offline".into())));
    assert!(form.contains(&("audience".into(), "fake-aud".into())));
    let expected = format!("Basic {}", STANDARD.encode("ci-client:ci-secret"));
    assert_eq!(idp.last_authorization(), Some(expected));
}

#[test]
fn client_credentials_check_the_secret_raw_or_url_encoded() {
    let idp = FakeIdp::start().expect("start");
    idp.set_client("app", "s3 cr+t/=&%");
    // Encoded as Python's quote_plus does.
    let header = format!("Basic {}", STANDARD.encode("app:s3+cr%2Bt%2F%3D%26%25"));
    let resp = client()
        .post(format!("{}/token", idp.url()))
        .header("Authorization", header)
        .form(&CC)
        .send()
        .expect("send");
    assert_eq!(resp.status(), 200);
    assert_eq!(post_token(&idp, &CC, Some(("app", "s3 cr+t/=&%"))).0, 200);
    let (status, body) = post_token(&idp, &CC, Some(("app", "wrong")));
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(post_token(&idp, &CC, None).0, 401);
    assert_eq!(
        post_token(&idp, &CC, Some(("ci-client", "ci-secret"))).0,
        401
    );
    assert_eq!(idp.token_requests(), 5);
    assert_eq!(
        idp.last_authorization(),
        Some(format!("Basic {}", STANDARD.encode("ci-client:ci-secret")))
    );
}

#[test]
fn tokens_without_expires_in_carry_the_ttl_in_exp() {
    let idp = FakeIdp::start().expect("start");
    idp.set_omit_expires_in(true);
    idp.set_token_ttl(120);
    let (status, body) = post_token(&idp, &CC, Some(("ci-client", "ci-secret")));
    assert_eq!(status, 200);
    assert!(body.get("expires_in").is_none(), "{body}");
    let c = claims(&body["access_token"]);
    assert_eq!(
        c["exp"].as_u64().expect("exp") - c["iat"].as_u64().expect("iat"),
        120
    );
}

#[test]
fn authorize_redirects_back_with_code_and_state() {
    let idp = FakeIdp::start().expect("start");
    let no_redirects = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let resp = no_redirects
        .get(format!("{}/authorize", idp.url()))
        .query(&[
            ("redirect_uri", "http://localhost:53593/callback"),
            ("state", "st ate"),
            ("client_id", "flytectl"),
        ])
        .send()
        .expect("authorize");
    assert_eq!(resp.status(), 302);
    let location = resp.headers()["location"].to_str().expect("ascii");
    let target = url::Url::parse(location).expect("URL");
    assert_eq!(target.path(), "/callback");
    let q: Vec<(String, String)> = target.query_pairs().into_owned().collect();
    assert!(
        q.iter()
            .any(|(k, v)| k == "code" && v.starts_with("fake-code-"))
    );
    assert!(q.contains(&("state".into(), "st ate".into())));
}
