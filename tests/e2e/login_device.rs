//! Device-flow logins end to end: the prompt on stderr, approval, denial, expiry, polling
//! intervals (server `interval`, the 5 s default, `slow_down`, `pollInterval`) and logout.

use std::time::{Duration, Instant};

use flyte_auth_e2e::fake_idp::{FakeIdp, Fault, USER_CODE};
use flyte_auth_e2e::harness::{TestEnv, stderr, stdout, wait_until};
use flyte_auth_e2e::node_idp::{NodeIdp, NodeIdpOptions};

use crate::common::{
    Proc, WAIT, claims, device_authorizations, first_session, free_port, node_env, status, token,
    write_config,
};

const DEVICE_PROMPT: &str = "To Authenticate, navigate in a browser to the following URL:";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A node IdP and an env configured for device flow against it.
fn node(opts: NodeIdpOptions) -> (NodeIdp, TestEnv) {
    node_env(opts, "  authType: DeviceFlow\n", &[], &[])
}

/// The fake IdP (for exact control of `interval` and `slow_down`), configured for device
/// flow with `extra` config under `admin:`.
fn fake(extra: &str) -> (FakeIdp, TestEnv) {
    let idp = FakeIdp::start().expect("fake IdP");
    let port = idp
        .url()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("fake IdP port");
    let mut env = TestEnv::new();
    env.set_env("FLYTE_AUTH_BROWSER", "none");
    write_config(&env, port, &format!("  authType: DeviceFlow\n{extra}"));
    env.start_agent(&[]).expect("agent");
    (idp, env)
}

#[test]
fn device_login_prompts_on_stderr_logs_in_and_logout_forgets_it() {
    let (idp, env) = node(NodeIdpOptions::default());
    let mut login = Proc::flyte_auth(&env, &["login"]);
    let url = login.line_after(DEVICE_PROMPT);
    assert!(
        url.trim().starts_with(&format!("{}/", idp.url())),
        "the verification URL is the IdP's, on its own line: {url:?}"
    );
    let code = login.device_code();
    assert!(code.len() >= 8, "user code {code:?}");
    // That an unapproved login keeps polling rather than failing or returning is shown
    // in-process on paused time (`agent/tests/login_grace.rs`).
    idp.approve_device(&code).expect("approve");
    let done = login.finish();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.stdout, "", "login prints nothing on stdout");
    let want = format!("Logged in to http://127.0.0.1:{} as alice.", idp.port());
    assert!(
        done.stderr.lines().any(|l| l == want),
        "{want:?} missing:\n{}",
        done.stderr
    );

    // The session now serves tokens without a terminal and without another login.
    let t = token(&env, &[]);
    assert_eq!(claims(&t)["sub"], "alice");
    assert_eq!(device_authorizations(&idp), 1);
    assert!(idp.token_requests(DEVICE_GRANT) >= 1);
    let s = first_session(&env);
    assert_eq!(s["state"], "ready", "{s}");
    assert_eq!(s["subject"], "alice", "{s}");

    let out = env.flyte_auth(&["logout"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("Logged out."), "{}", stderr(&out));
    let out = env.flyte_auth(&["token"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains("flyte-auth login"),
        "after logout a login is required: {}",
        stderr(&out)
    );
}

#[test]
fn token_without_a_terminal_fails_at_once_instead_of_prompting() {
    let (idp, env) = node(NodeIdpOptions::default());
    let started = Instant::now();
    let out = env.flyte_auth(&["token"]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    let want = format!(
        "not logged in to 127.0.0.1:{}: run `flyte-auth login`",
        idp.port()
    );
    assert!(stderr(&out).contains(&want), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains(DEVICE_PROMPT),
        "no prompt nobody can see"
    );
    assert!(
        took < Duration::from_secs(3),
        "must fail at once, took {took:?}"
    );
    assert_eq!(
        device_authorizations(&idp),
        0,
        "no device code may be requested for a caller that cannot show it"
    );
}

#[test]
fn a_denied_device_login_fails_with_exit_4() {
    let (idp, env) = node(NodeIdpOptions::default());
    let mut login = Proc::flyte_auth(&env, &["login", "--device"]);
    let code = login.device_code();
    idp.deny_device(&code).expect("deny");
    let done = login.finish();
    assert_eq!(done.code, Some(4), "{}", done.stderr);
    assert!(done.stderr.contains("denied"), "{}", done.stderr);
    assert!(!done.stderr.contains("Logged in"), "{}", done.stderr);
    let out = env.flyte_auth(&["token"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "still not logged in: {}",
        stderr(&out)
    );
}

#[test]
fn an_expired_device_code_ends_the_login() {
    let (_idp, env) = node(NodeIdpOptions {
        device_ttl: Some(3),
        ..Default::default()
    });
    let mut login = Proc::flyte_auth(&env, &["login"]);
    login.device_code();
    let started = Instant::now();
    let done = login.finish_within(Duration::from_secs(12));
    assert_eq!(done.code, Some(4), "{}", done.stderr);
    assert!(
        done.stderr
            .contains("Device code expired: run the command again"),
        "{}",
        done.stderr
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "must stop at the 3 s expiry, took {:?}",
        started.elapsed()
    );
}

#[test]
fn without_a_server_interval_polls_are_5s_apart() {
    let (idp, env) = fake("");
    idp.set_device_interval(None);
    let mut login = Proc::flyte_auth(&env, &["login"]);
    assert_eq!(login.device_code(), USER_CODE);
    let shown = Instant::now();
    assert!(
        wait_until(WAIT, || !idp.device_poll_times().is_empty()),
        "no device poll; log:\n{}",
        env.agent_log_text()
    );
    idp.approve_device();
    let done = login.finish();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let polls = idp.device_poll_times();
    assert_eq!(polls.len(), 2, "one pending poll, then the approved one");
    let first = polls[0].saturating_duration_since(shown);
    let gap = polls[1] - polls[0];
    assert!(
        first >= Duration::from_millis(4000),
        "first poll after {first:?}"
    );
    assert!(gap >= Duration::from_millis(4500), "polls {gap:?} apart");
    assert!(gap < Duration::from_secs(8), "polls {gap:?} apart");
}

#[test]
fn slow_down_adds_5s_to_the_interval() {
    let (idp, env) = fake("");
    idp.set_device_interval(Some(1));
    idp.set_fault(Fault::SlowDown(1));
    let mut login = Proc::flyte_auth(&env, &["login"]);
    login.device_code();
    // Approved from the start: the first poll gets `slow_down`, the second the tokens.
    idp.approve_device();
    let done = login.finish();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert!(done.stderr.contains("as device-user."), "{}", done.stderr);
    let polls = idp.device_poll_times();
    assert_eq!(polls.len(), 2, "slow_down, then tokens");
    let gap = polls[1] - polls[0];
    assert!(
        gap >= Duration::from_millis(5500),
        "after slow_down the interval must grow from 1 s to 6 s; polls {gap:?} apart"
    );
    assert!(gap < Duration::from_secs(9), "polls {gap:?} apart");
}

#[test]
fn configured_poll_interval_applies_when_the_server_sends_none() {
    let (idp, env) = fake("  deviceFlowConfig:\n    pollInterval: 2s\n");
    idp.set_device_interval(None);
    let mut login = Proc::flyte_auth(&env, &["login"]);
    login.device_code();
    assert!(
        wait_until(WAIT, || idp.device_poll_times().len() >= 2),
        "fewer than two polls; log:\n{}",
        env.agent_log_text()
    );
    idp.approve_device();
    let done = login.finish();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let polls = idp.device_poll_times();
    let gap = polls[1] - polls[0];
    assert!(
        gap >= Duration::from_millis(1800) && gap < Duration::from_millis(4500),
        "pollInterval 2s, yet polls {gap:?} apart"
    );
    let s = status(&env)["sessions"][0].clone();
    assert_eq!(s["subject"], "device-user", "{s}");
}

#[test]
fn a_login_to_an_unreachable_endpoint_is_exit_5() {
    let mut env = TestEnv::new();
    env.set_env("FLYTE_AUTH_BROWSER", "none");
    // Nothing listens there.
    write_config(&env, free_port(), "  authType: DeviceFlow\n");
    env.start_agent(&[]).expect("agent");
    let started = Instant::now();
    let done = Proc::flyte_auth(&env, &["login"]).finish();
    assert_eq!(done.code, Some(5), "{}", done.stderr);
    assert!(!done.stderr.contains(DEVICE_PROMPT), "{}", done.stderr);
    assert!(started.elapsed() < Duration::from_secs(10));
}
