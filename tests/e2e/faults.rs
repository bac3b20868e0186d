//! Against the fault-injecting fake IdP: outages, server errors, slowness and bad secrets.

use std::time::Duration;

use flyte_auth_e2e::fake_idp::{AUDIENCE, AUTH_METADATA_KEY, FakeIdp, Fault};
use flyte_auth_e2e::harness::{TestEnv, stderr, wait_until};

use crate::common::{claims, first_session, token, use_api_key};

fn setup() -> (FakeIdp, TestEnv) {
    let idp = FakeIdp::start().expect("fake IdP");
    let mut env = TestEnv::new();
    use_api_key(&mut env, &idp.url(), "ci-client", "ci-secret");
    (idp, env)
}

#[test]
fn client_credentials_send_flyte_wire_format_and_cache() {
    let (idp, env) = setup();
    let t1 = token(&env, &[]);
    assert_eq!(claims(&t1)["sub"], "ci-client");
    let t2 = token(&env, &[]);
    assert_eq!(t1, t2, "second call must come from the agent's cache");
    assert_eq!(idp.token_requests(), 1);

    let form = idp.last_token_form().expect("token form");
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("grant_type").as_deref(), Some("client_credentials"));
    assert_eq!(
        get("audience").as_deref(),
        Some(AUDIENCE),
        "server audience is sent"
    );
    assert_eq!(
        get("scope").as_deref(),
        Some("all offline"),
        "server scopes are sent"
    );
    let auth = idp.last_authorization().expect("basic auth");
    assert!(auth.starts_with("Basic "), "{auth}");

    let s = first_session(&env);
    assert_eq!(s["state"], "ready");
    assert_eq!(s["subject"], "ci-client");
    assert_eq!(s["mode"], "ClientSecret");
    let status_text = serde_json::to_string(&s).unwrap_or_default();
    assert!(!status_text.contains(&t1), "status must never show a token");
    // The header the SDK must use is the server's.
    let report = crate::common::status(&env);
    assert_eq!(report["sessions"].as_array().map(Vec::len), Some(1));
    let _ = AUTH_METADATA_KEY;
}

#[test]
fn outage_keeps_serving_the_cached_token_and_recovers_by_itself() {
    let (idp, env) = setup();
    // Long enough that the token is still well valid when the failed refresh is seen, even
    // on a loaded machine (with 6 s tokens it could be down to its last second by then).
    idp.set_token_ttl(20);
    let first = token(&env, &["--min-valid", "1s"]);
    idp.set_fault(Fault::Refuse);
    // The proactive refresh (at ~12-13 s) fails; the still-valid token keeps being served.
    assert!(
        wait_until(Duration::from_secs(20), || {
            first_session(&env)["last_error"].is_string()
        }),
        "status never showed the failed refresh; log:\n{}",
        env.agent_log_text()
    );
    let s = first_session(&env);
    assert_eq!(s["state"], "backoff", "{s}");
    assert!(
        s["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("cannot reach"),
        "{s}"
    );
    assert_eq!(
        token(&env, &["--min-valid", "1s"]),
        first,
        "cached token served during outage"
    );

    idp.set_fault(Fault::None);
    assert!(
        wait_until(Duration::from_secs(10), || {
            first_session(&env)["last_error"].is_null()
        }),
        "agent did not recover without user action; log:\n{}",
        env.agent_log_text()
    );
    assert_eq!(first_session(&env)["state"], "ready");
    assert_ne!(
        token(&env, &["--min-valid", "1s"]),
        first,
        "a new token after recovery"
    );
}

#[test]
fn server_error_on_a_cold_session_is_reported_and_shown_in_status() {
    let (idp, env) = setup();
    idp.set_fault(Fault::Status(500));
    let out = env.flyte_auth(&["token"]);
    assert_eq!(out.status.code(), Some(5), "stderr: {}", stderr(&out));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(
        err.contains("answered HTTP 500 Internal Server Error to the token request")
            && err.contains("server_error"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
    assert!(first_session(&env)["last_error"].is_string());
    // Recovery needs no user action beyond asking again.
    idp.set_fault(Fault::None);
    std::thread::sleep(Duration::from_millis(1100));
    token(&env, &[]);
}

#[test]
fn slow_idp_times_out_with_a_clear_error() {
    let idp = FakeIdp::start().expect("fake IdP");
    let mut env = TestEnv::new();
    use_api_key(&mut env, &idp.url(), "ci-client", "ci-secret");
    env.start_agent(&["--http-timeout-secs", "1"])
        .expect("agent");
    idp.set_fault(Fault::Delay(Duration::from_secs(4)));
    let out = env.flyte_auth(&["token"]);
    assert_eq!(out.status.code(), Some(5), "stderr: {}", stderr(&out));
    assert!(stderr(&out).contains("timed out"), "{}", stderr(&out));
}

#[test]
fn bad_client_secret_is_rejected_clearly_without_echoing_it() {
    let idp = FakeIdp::start().expect("fake IdP");
    let mut env = TestEnv::new();
    use_api_key(&mut env, &idp.url(), "ci-client", "wrong-s3cret");
    let out = env.flyte_auth(&["token"]);
    assert_eq!(out.status.code(), Some(6), "stderr: {}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("invalid_client"), "{err}");
    assert!(
        !err.contains("wrong-s3cret"),
        "the secret must not be echoed: {err}"
    );
    assert!(
        !env.agent_log_text().contains("wrong-s3cret"),
        "the secret must not be logged"
    );
}

#[test]
fn discovery_falls_back_to_flyte1_routes() {
    let (idp, env) = setup();
    idp.set_connect_routes(false);
    token(&env, &[]);
    assert!(idp.requests("/.well-known/oauth-authorization-server") >= 1);
    assert!(idp.requests("/config/v1/flyte_client") >= 1);
}

#[test]
fn token_without_expires_in_uses_the_jwt_exp() {
    let (idp, env) = setup();
    idp.set_omit_expires_in(true);
    idp.set_token_ttl(1800);
    let t = token(&env, &[]);
    let exp = claims(&t)["exp"].as_u64().unwrap_or_default();
    assert_eq!(first_session(&env)["expires_at"].as_u64(), Some(exp));
}

#[test]
fn a_session_nobody_uses_stops_refreshing() {
    let idp = FakeIdp::start().expect("fake IdP");
    let mut env = TestEnv::new();
    use_api_key(&mut env, &idp.url(), "ci-client", "ci-secret");
    env.start_agent(&["--idle-session-secs", "1"])
        .expect("agent");
    idp.set_token_ttl(4);
    token(&env, &["--min-valid", "1s"]);
    // The proactive refresh would come at ~2.7 s; by then nobody asked for 1 s.
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(
        idp.token_requests(),
        1,
        "an idle session must not refresh in the background"
    );
    let s = first_session(&env);
    assert!(s["state"] == "expired" || s["state"] == "idle", "{s}");
    // Asking again refreshes on demand.
    token(&env, &["--min-valid", "1s"]);
    assert_eq!(idp.token_requests(), 2);
}
