//! Sessions shared by every terminal: concurrent logins are one flow, clients may leave,
//! browser and device logins share a session, refresh and revocation, and no lock is held
//! across a prompt. (A login nobody waits for: `agent/tests/login_grace.rs`.)

use std::time::{Duration, Instant};

use flyte_auth_e2e::harness::{TestEnv, stderr, stdout, wait_until};
use flyte_auth_e2e::node_idp::{NodeIdp, NodeIdpOptions};

use crate::common::{
    Proc, WAIT, api_key, claims, device_authorizations, first_session, node_env, now, status, token,
};

const DEVICE_PROMPT: &str = "To Authenticate, navigate in a browser to the following URL:";

/// The node IdP (polls every second) and an env with `auth_type` config (`None`: PKCE, the
/// default) and no browser.
fn setup(opts: NodeIdpOptions, auth_type: Option<&str>) -> (NodeIdp, TestEnv) {
    setup_with(opts, auth_type, &[])
}

/// [`setup`] with `vars` set before the agent starts.
fn setup_with(
    opts: NodeIdpOptions,
    auth_type: Option<&str>,
    vars: &[(&str, &str)],
) -> (NodeIdp, TestEnv) {
    let extra = auth_type.map_or(String::new(), |t| format!("  authType: {t}\n"));
    node_env(opts, &extra, vars, &[])
}

/// Logs `env` in through the device flow, approving the code as alice.
fn device_login(idp: &NodeIdp, env: &TestEnv) {
    let mut login = Proc::flyte_auth(env, &["login", "--device"]);
    let code = login.device_code();
    idp.approve_device(&code).expect("approve");
    let done = login.finish();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
}

#[test]
fn concurrent_logins_are_one_device_flow_with_one_result() {
    let (idp, env) = setup(NodeIdpOptions::default(), Some("DeviceFlow"));
    let mut a = Proc::flyte_auth(&env, &["login"]);
    let code = a.device_code();
    let mut b = Proc::flyte_auth(&env, &["login", "--device"]);
    let url_b = b.line_after(DEVICE_PROMPT);
    assert_eq!(b.device_code(), code, "the second login joins the first");
    assert_eq!(url_b, a.line_after(DEVICE_PROMPT));
    assert_eq!(device_authorizations(&idp), 1);
    assert_eq!(first_session(&env)["state"], "authenticating");

    idp.approve_device(&code).expect("approve");
    for (name, p) in [("first", a), ("second", b)] {
        let done = p.finish();
        assert_eq!(done.code, Some(0), "{name}: {}", done.stderr);
        assert!(
            done.stderr.contains(" as alice."),
            "{name}: {}",
            done.stderr
        );
    }
    assert_eq!(
        device_authorizations(&idp),
        1,
        "the IdP saw one device authorization"
    );
    assert_eq!(claims(&token(&env, &[]))["sub"], "alice");
}

#[test]
fn token_at_a_terminal_starts_a_login_that_a_second_terminal_joins() {
    let (idp, env) = setup(NodeIdpOptions::default(), Some("DeviceFlow"));
    let out_file = env.dir.path().join("token.out");
    let Some(mut tok) = Proc::pty(&env, &["token"], &out_file) else {
        eprintln!(
            "SKIPPED token_at_a_terminal_starts_a_login_that_a_second_terminal_joins: no `script`"
        );
        return;
    };
    let code = tok.device_code();
    let mut login = Proc::flyte_auth(&env, &["login"]);
    assert_eq!(
        login.device_code(),
        code,
        "login joins the token's device flow"
    );
    assert_eq!(device_authorizations(&idp), 1);
    idp.approve_device(&code).expect("approve");
    let done = login.finish();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let done = tok.finish();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let printed = std::fs::read_to_string(&out_file).expect("token output");
    assert_eq!(
        printed.lines().count(),
        1,
        "stdout is the token alone: {printed:?}"
    );
    assert_eq!(claims(printed.trim())["sub"], "alice");
    assert_eq!(device_authorizations(&idp), 1);
}

#[test]
fn a_client_that_leaves_does_not_cancel_the_login_for_the_others() {
    let (idp, env) = setup(NodeIdpOptions::default(), Some("DeviceFlow"));
    let mut a = Proc::flyte_auth(&env, &["login"]);
    let code = a.device_code();
    let mut b = Proc::flyte_auth(&env, &["login"]);
    assert_eq!(b.device_code(), code);
    a.kill();
    // Longer than the 3 s grace: it must not matter while someone still waits.
    std::thread::sleep(Duration::from_millis(4000));
    assert!(b.running(), "the remaining client's login ended");
    assert_eq!(first_session(&env)["state"], "authenticating");
    idp.approve_device(&code).expect("approve");
    let done = b.finish();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(device_authorizations(&idp), 1);
    assert_eq!(claims(&token(&env, &[]))["sub"], "alice");
}

// A device login nobody waits for is cancelled after its grace period, a client back within
// it rejoins, and the next login is a new flow: `agent/tests/login_grace.rs`, in-process on
// paused time. That a killed client process cancels its login is shown with the real
// binaries by `login_pkce::a_browser_login_whose_only_client_left_is_cancelled_and_frees_the_port`.

#[test]
fn a_device_login_serves_a_pkce_config_without_another_login() {
    // Config says PKCE (no authType); the user logs in with the device flow instead.
    let (idp, env) = setup(NodeIdpOptions::default(), None);
    let mut login = Proc::flyte_auth(&env, &["login", "--device"]);
    let code = login.device_code();
    idp.approve_device(&code).expect("approve");
    let done = login.finish();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert!(
        !done.stderr.contains("Please open the following link"),
        "{}",
        done.stderr
    );

    assert_eq!(claims(&token(&env, &[]))["sub"], "alice");
    assert_eq!(
        claims(&token(&env, &["--auth-type", "DeviceFlow"]))["sub"],
        "alice"
    );
    let report = status(&env);
    assert_eq!(
        report["sessions"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );
    assert_eq!(idp.token_requests("authorization_code"), 0);
    assert_eq!(device_authorizations(&idp), 1);
}

#[test]
fn short_lived_tokens_are_refreshed_in_the_background() {
    let (idp, env) = setup(
        NodeIdpOptions {
            access_ttl: Some(4),
            ..Default::default()
        },
        Some("DeviceFlow"),
    );
    device_login(&idp, &env);
    let first = token(&env, &["--min-valid", "1s"]);
    let first_exp = claims(&first)["exp"].as_u64().unwrap_or_default();
    let mut changed_at = None;
    let end = Instant::now() + Duration::from_secs(9);
    let mut seen = std::collections::HashSet::new();
    while Instant::now() < end {
        let t = token(&env, &["--min-valid", "1s"]);
        let exp = claims(&t)["exp"].as_u64().unwrap_or_default();
        assert!(exp > now(), "expired token served");
        if t != first && changed_at.is_none() {
            changed_at = Some(now());
        }
        seen.insert(t);
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(seen.len() >= 2, "the token was never refreshed");
    let changed_at = changed_at.unwrap_or(u64::MAX);
    assert!(
        changed_at <= first_exp,
        "new token at {changed_at}, the first expired at {first_exp}: refresh came too late"
    );
    let refreshes = idp.token_requests("refresh_token");
    assert!(
        refreshes >= 2,
        "4 s tokens over 9 s need repeated refreshes, saw {refreshes}"
    );
    assert_eq!(device_authorizations(&idp), 1, "no new login was needed");
    let s = first_session(&env);
    assert_eq!(s["state"], "ready", "{s}");
    assert_eq!(s["subject"], "alice", "{s}");
    assert!(s["last_error"].is_null(), "{s}");
}

#[test]
fn a_revoked_grant_makes_the_session_require_a_login() {
    let (idp, env) = setup(
        NodeIdpOptions {
            access_ttl: Some(4),
            ..Default::default()
        },
        Some("DeviceFlow"),
    );
    device_login(&idp, &env);
    token(&env, &["--min-valid", "1s"]);
    idp.revoke_grants("alice").expect("revoke");
    assert!(
        wait_until(Duration::from_secs(12), || first_session(&env)["state"]
            == "login_required"),
        "never login_required: {}\nlog:\n{}",
        first_session(&env),
        env.agent_log_text()
    );
    assert!(idp.token_requests("refresh_token") >= 1);
    let out = env.flyte_auth(&["token"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("login"), "{}", stderr(&out));

    // At a terminal, `token` itself starts the new login (no background login ever does).
    assert_eq!(device_authorizations(&idp), 1);
    let out_file = env.dir.path().join("token.out");
    match Proc::pty(&env, &["token"], &out_file) {
        Some(mut tok) => {
            let code = tok.device_code();
            idp.approve_device(&code).expect("approve");
            let done = tok.finish();
            assert_eq!(done.code, Some(0), "{}", done.stderr);
            let printed = std::fs::read_to_string(&out_file).expect("token output");
            assert_eq!(claims(printed.trim())["sub"], "alice");
        }
        None => device_login(&idp, &env),
    }
    assert_eq!(claims(&token(&env, &[]))["sub"], "alice");
    assert_eq!(device_authorizations(&idp), 2);
}

#[test]
fn a_login_waiting_at_its_prompt_blocks_no_other_session() {
    // Memory only: `logout --all` below forgets every stored login, and the keyring is shared
    // with the tests running in parallel.
    let (idp, env) = setup_with(
        NodeIdpOptions::default(),
        Some("DeviceFlow"),
        &[("FLYTE_AUTH_STORE", "memory")],
    );
    let mut login = Proc::flyte_auth(&env, &["login"]);
    login.device_code();

    // Another session (an app's API key on the same IdP) while the login waits for a human.
    let started = Instant::now();
    let out = env
        .command("flyte-auth")
        .arg("token")
        .env(
            "FLYTE_API_KEY",
            api_key("idp.invalid", "ci-client", "ci-secret", "None"),
        )
        .env("FLYTE_ADMIN_ENDPOINT", format!("127.0.0.1:{}", idp.port()))
        .env("FLYTE_ADMIN_INSECURE", "true")
        .output()
        .expect("run token");
    let took = started.elapsed();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(claims(stdout(&out).trim())["sub"], "ci-client");
    assert!(
        took < Duration::from_secs(2),
        "the API-key token waited for the login: {took:?}"
    );

    let started = Instant::now();
    let report = status(&env);
    assert!(started.elapsed() < Duration::from_secs(2), "status waited");
    let states: Vec<String> = report["sessions"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| format!("{}:{}", s["mode"], s["state"]))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(states.len(), 2, "{report}");
    assert!(
        states.iter().any(|s| s.ends_with(":\"authenticating\"")),
        "{states:?}"
    );
    assert!(
        states.iter().any(|s| s.ends_with(":\"ready\"")),
        "{states:?}"
    );
    assert!(login.running());

    // Logging everything out also ends the login that was waiting.
    let out = env.flyte_auth(&["logout", "--all"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Logged out of 2 sessions."),
        "{}",
        stderr(&out)
    );
    let done = login.finish_within(WAIT);
    assert_eq!(done.code, Some(4), "{}", done.stderr);
}
