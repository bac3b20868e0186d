//! Proves the node IdP's routes, grants and test hooks work as the e2e tests expect.

use super::*;
use base64::Engine;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const SCOPE: &str = "openid offline_access all";
// RFC 7636 Appendix B: a verifier and its S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn start(opts: NodeIdpOptions) -> NodeIdp {
    NodeIdp::start(opts).expect("start node IdP (run `npm ci` in tests/idp)")
}

fn http() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// POSTs a form, optionally with basic auth; returns status and JSON body.
fn post_form(
    idp: &NodeIdp,
    path: &str,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let mut req = http().post(idp.endpoint(path)).form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap())
}

fn connect(idp: &NodeIdp, method: &str) -> (u16, Value) {
    let resp = http()
        .post(idp.endpoint(&format!("/flyteidl2.auth.AuthMetadataService/{method}")))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .unwrap();
    (resp.status().as_u16(), resp.json().unwrap())
}

fn get_json(idp: &NodeIdp, path: &str) -> Value {
    let resp = http().get(idp.endpoint(path)).send().unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().unwrap()
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn assert_jwt_for(token: &Value, sub: &str, ttl: u64) {
    let at = token["access_token"].as_str().expect("access_token");
    let c = claims(at);
    assert_eq!(c["sub"], sub, "{c}");
    let (iat, exp) = (c["iat"].as_u64().unwrap(), c["exp"].as_u64().unwrap());
    assert_eq!(exp - iat, ttl, "{c}");
    assert_eq!(token["expires_in"], ttl, "{token}");
}

fn refresh(idp: &NodeIdp, refresh_token: &str) -> (u16, Value) {
    post_form(
        idp,
        "/token",
        None,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "flytectl"),
            ("refresh_token", refresh_token),
            ("scope", SCOPE),
            ("audience", ""),
        ],
    )
}

/// Device authorization as the Flyte SDKs send it; returns (device_code, user_code).
fn device_authorization(idp: &NodeIdp) -> (String, String) {
    let (status, body) = post_form(
        idp,
        "/device/auth",
        None,
        &[
            ("client_id", "flytectl"),
            ("scope", SCOPE),
            ("audience", ""),
        ],
    );
    assert_eq!(status, 200, "{body}");
    let field = |k: &str| body[k].as_str().unwrap().to_owned();
    (field("device_code"), field("user_code"))
}

fn poll(idp: &NodeIdp, device_code: &str) -> (u16, Value) {
    post_form(
        idp,
        "/token",
        None,
        &[
            ("grant_type", DEVICE_GRANT),
            ("client_id", "flytectl"),
            ("device_code", device_code),
            ("scope", SCOPE),
        ],
    )
}

/// A full device flow for `alice`: the token response.
fn device_login(idp: &NodeIdp) -> Value {
    let (device_code, user_code) = device_authorization(idp);
    let (status, pending) = poll(idp, &device_code);
    assert_eq!(
        (status, &pending["error"]),
        (400, &json!("authorization_pending"))
    );
    idp.approve_device(&user_code).unwrap();
    let (status, tokens) = poll(idp, &device_code);
    assert_eq!(status, 200, "{tokens}");
    tokens
}

#[test]
fn discovery_routes_answer_in_both_casings() {
    let idp = start(NodeIdpOptions::default());
    let url = idp.url();
    let meta = get_json(&idp, "/.well-known/oauth-authorization-server");
    assert_eq!(meta["issuer"], url);
    assert_eq!(meta["token_endpoint"], format!("{url}/token"));
    assert_eq!(
        meta["device_authorization_endpoint"],
        format!("{url}/device/auth")
    );
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    let client = get_json(&idp, "/config/v1/flyte_client");
    assert_eq!(client["client_id"], "flytectl");
    assert_eq!(client["redirect_uri"], "http://localhost:53593/callback");
    assert_eq!(client["authorization_metadata_key"], "flyte-authorization");
    assert_eq!(client["scopes"], json!(["openid", "offline_access", "all"]));
    assert_eq!(client["audience"], "");

    let (status, meta) = connect(&idp, "GetOAuth2Metadata");
    assert_eq!(status, 200);
    assert_eq!(meta["tokenEndpoint"], format!("{url}/token"));
    assert_eq!(
        meta["deviceAuthorizationEndpoint"],
        format!("{url}/device/auth")
    );
    assert_eq!(meta["authorizationEndpoint"], format!("{url}/auth"));
    let (status, client) = connect(&idp, "GetPublicClientConfig");
    assert_eq!(status, 200);
    assert_eq!(client["clientId"], "flytectl");
    assert_eq!(client["redirectUri"], "http://localhost:53593/callback");
    assert_eq!(client["authorizationMetadataKey"], "flyte-authorization");
    assert_eq!(idp.stats().unwrap()["discovery_requests"], 4);
}

#[test]
fn no_connect_hides_the_connect_routes_and_redirect_uri_is_configurable() {
    let idp = start(NodeIdpOptions {
        no_connect: true,
        redirect_uri: Some("http://localhost:40123/callback".into()),
        ..Default::default()
    });
    assert_eq!(connect(&idp, "GetOAuth2Metadata").0, 404);
    assert_eq!(connect(&idp, "GetPublicClientConfig").0, 404);
    let client = get_json(&idp, "/config/v1/flyte_client");
    assert_eq!(client["redirect_uri"], "http://localhost:40123/callback");
}

#[test]
fn client_credentials_give_a_jwt_and_are_counted() {
    let idp = start(NodeIdpOptions {
        access_ttl: Some(120),
        ..Default::default()
    });
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", SCOPE),
        ("audience", ""),
    ];
    let (status, token) = post_form(&idp, "/token", Some(("ci-client", "ci-secret")), &form);
    assert_eq!(status, 200, "{token}");
    assert_jwt_for(&token, "ci-client", 120);
    assert!(token.get("refresh_token").is_none(), "{token}");
    let (status, token) = post_form(&idp, "/token", Some(("ci-client-2", "ci-secret-2")), &form);
    assert_eq!(status, 200, "{token}");
    assert_jwt_for(&token, "ci-client-2", 120);

    let (status, err) = post_form(&idp, "/token", Some(("ci-client", "wrong")), &form);
    assert_eq!((status, &err["error"]), (401, &json!("invalid_client")));
    assert_eq!(idp.token_requests("client_credentials"), 3);
    idp.reset_stats();
    assert_eq!(idp.token_requests("client_credentials"), 0);
}

#[test]
fn device_flow_approve_then_refresh_rotates() {
    let idp = start(NodeIdpOptions {
        device_interval: Some(1),
        ..Default::default()
    });
    let (status, body) = post_form(
        &idp,
        "/device/auth",
        None,
        &[("client_id", "flytectl"), ("scope", SCOPE)],
    );
    assert_eq!((status, &body["interval"]), (200, &json!(1)), "{body}");

    let tokens = device_login(&idp);
    assert_jwt_for(&tokens, "alice", 3600);
    let rt1 = tokens["refresh_token"].as_str().expect("refresh_token");
    assert!(idp.is_token_active(rt1).unwrap());

    let (status, refreshed) = refresh(&idp, rt1);
    assert_eq!(status, 200, "{refreshed}");
    assert_jwt_for(&refreshed, "alice", 3600);
    let rt2 = refreshed["refresh_token"].as_str().unwrap();
    assert_ne!(rt1, rt2, "refresh tokens rotate");
    assert!(!idp.is_token_active(rt1).unwrap());

    // Reusing the rotated token fails and revokes the whole grant.
    let (status, err) = refresh(&idp, rt1);
    assert_eq!((status, &err["error"]), (400, &json!("invalid_grant")));
    assert!(!idp.is_token_active(rt2).unwrap());
    let stats = idp.stats().unwrap();
    assert_eq!(stats["token_requests"][DEVICE_GRANT], 2, "{stats}");
    assert_eq!(stats["token_requests"]["refresh_token"], 2, "{stats}");
    assert_eq!(stats["device_authorizations"], 2, "{stats}");
}

#[test]
fn device_flow_deny_gives_access_denied() {
    let idp = start(NodeIdpOptions::default());
    let (device_code, user_code) = device_authorization(&idp);
    idp.deny_device(&user_code).unwrap();
    let (status, err) = poll(&idp, &device_code);
    assert_eq!((status, &err["error"]), (400, &json!("access_denied")));
    let unknown = idp.approve_device("BCDF-GHJK").unwrap_err();
    assert!(unknown.to_string().contains("404"), "{unknown:#}");
}

#[test]
fn device_codes_expire_after_device_ttl() {
    let idp = start(NodeIdpOptions {
        device_ttl: Some(1),
        ..Default::default()
    });
    let (device_code, user_code) = device_authorization(&idp);
    std::thread::sleep(Duration::from_millis(2100));
    let (status, err) = poll(&idp, &device_code);
    assert_eq!((status, &err["error"]), (400, &json!("expired_token")));
    assert!(idp.approve_device(&user_code).is_err());
}

#[test]
fn revoked_grants_make_the_next_refresh_fail() {
    let idp = start(NodeIdpOptions::default());
    let tokens = device_login(&idp);
    let rt = tokens["refresh_token"].as_str().unwrap();
    idp.revoke_grants("alice").unwrap();
    assert!(!idp.is_token_active(rt).unwrap());
    let (status, err) = refresh(&idp, rt);
    assert_eq!((status, &err["error"]), (400, &json!("invalid_grant")));
}

#[test]
fn pkce_works_on_any_loopback_port() {
    let idp = start(NodeIdpOptions::default());
    for redirect in [
        "http://127.0.0.1:45678/callback",
        "http://localhost:45679/callback",
    ] {
        let mut authorize = url::Url::parse(&idp.endpoint("/auth")).unwrap();
        authorize
            .query_pairs_mut()
            .append_pair("client_id", "flytectl")
            .append_pair("response_type", "code")
            .append_pair("scope", SCOPE)
            .append_pair("redirect_uri", redirect)
            .append_pair("state", "st4te")
            .append_pair("code_challenge", CHALLENGE)
            .append_pair("code_challenge_method", "S256");
        let callback = idp.authorize_headless(authorize.as_str()).unwrap();
        assert!(callback.as_str().starts_with(redirect), "{callback}");
        let query: std::collections::HashMap<_, _> = callback.query_pairs().collect();
        assert_eq!(query.get("state").map(|s| s.as_ref()), Some("st4te"));
        let code = query.get("code").expect("code in callback").to_string();

        let (status, tokens) = post_form(
            &idp,
            "/token",
            None,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "flytectl"),
                ("code", &code),
                ("code_verifier", VERIFIER),
                ("redirect_uri", redirect),
            ],
        );
        assert_eq!(status, 200, "{tokens}");
        assert_jwt_for(&tokens, "alice", 3600);
        let rt = tokens["refresh_token"].as_str().expect("refresh_token");
        // The refresh token carries offline_access, so refreshing with the full scope works.
        let (status, refreshed) = refresh(&idp, rt);
        assert_eq!(status, 200, "{refreshed}");
    }
    assert_eq!(idp.token_requests("authorization_code"), 2);
}

#[test]
fn pkce_is_required_and_login_hint_picks_the_account() {
    let idp = start(NodeIdpOptions::default());
    let base = idp.endpoint("/auth");
    let common = "client_id=flytectl&response_type=code&scope=openid&redirect_uri=http%3A%2F%2F127.0.0.1%3A1234%2Fcallback&state=s";
    let no_pkce = idp.authorize_headless(&format!("{base}?{common}")).unwrap();
    let error = no_pkce.query_pairs().find(|(k, _)| k == "error");
    assert_eq!(
        error.map(|(_, v)| v.into_owned()).as_deref(),
        Some("invalid_request")
    );

    let url = format!(
        "{base}?{common}&login_hint=bob&code_challenge={CHALLENGE}&code_challenge_method=S256"
    );
    let callback = idp.authorize_headless(&url).unwrap();
    let code = callback.query_pairs().find(|(k, _)| k == "code").unwrap().1;
    let (status, tokens) = post_form(
        &idp,
        "/token",
        None,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "flytectl"),
            ("code", &code),
            ("code_verifier", VERIFIER),
            ("redirect_uri", "http://127.0.0.1:1234/callback"),
        ],
    );
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(
        claims(tokens["access_token"].as_str().unwrap())["sub"],
        "bob"
    );
}
