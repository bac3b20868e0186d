//! What the IdP sends is input: absurd lifetimes, unusable tokens, huge bodies, escape
//! sequences and server errors each get a bounded, clear answer (issue 8 §5). Also `status`
//! with a thousand sessions (`status`).

mod status;

use std::time::Duration;

use flyte_auth_e2e::fake_idp::{Answer, FakeIdp};
use flyte_auth_e2e::harness::{TestEnv, stderr, wait_until};
use serde_json::json;

use crate::common::{first_session, now, token, use_api_key};

/// A fake IdP, and an env with an API key for it and a running agent (whose pid is returned).
pub(crate) fn setup() -> (FakeIdp, TestEnv, u32) {
    let idp = FakeIdp::start().expect("fake IdP");
    let mut env = TestEnv::new();
    use_api_key(&mut env, &idp.url(), "ci-client", "ci-secret");
    let pid = env.start_agent(&["--store", "memory"]).expect("agent");
    (idp, env, pid)
}

/// `flyte-auth token` that must fail: returns its exit code and stderr; stdout must be empty.
fn token_fails(env: &TestEnv) -> (Option<i32>, String) {
    let out = env.flyte_auth(&["token"]);
    assert!(
        !out.status.success() && out.stdout.is_empty(),
        "token must fail and print nothing on stdout: {out:?}"
    );
    (out.status.code(), stderr(&out))
}

/// Peak resident memory of process `pid` (`VmHWM`), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    text.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

#[test]
fn absurd_expires_in_is_clamped_and_starts_no_refresh_loop() {
    let cases = [json!(1u64 << 63), json!(u64::MAX), json!(1e300), json!(0)];
    let runs: Vec<_> = cases
        .iter()
        .map(|v| {
            let (idp, env, _) = setup();
            idp.set_answer("/token", Some(Answer::Field("expires_in", v.clone())));
            token(&env, &[]);
            (idp, env)
        })
        .collect();
    // Long enough for a loop to show (it would refresh every second, on every request).
    for _ in 0..5 {
        for (_, env) in &runs {
            token(env, &[]);
        }
        std::thread::sleep(Duration::from_millis(600));
    }
    for ((idp, env), v) in runs.iter().zip(&cases) {
        eprintln!("figure: expires_in {v}: {} IdP calls", idp.token_requests());
        assert_eq!(
            idp.token_requests(),
            1,
            "expires_in {v}: one token call only"
        );
        let s = first_session(env);
        let left = s["expires_at"]
            .as_u64()
            .unwrap_or_default()
            .saturating_sub(now());
        if v == &json!(0) {
            // 0 means "not said": the lifetime comes from the JWT's `exp` (3600 s).
            assert!((3500..=3600).contains(&left), "expires_in 0: {s}");
        } else {
            assert!(
                (3600..=24 * 3600).contains(&left),
                "expires_in {v}: capped: {s}"
            );
        }
        assert_eq!(s["state"], "ready", "{s}");
    }
}

#[test]
fn expires_in_as_a_string_or_a_float_is_accepted() {
    for v in [json!("3600"), json!(3600.0), json!(" 3600 ")] {
        let (idp, env, _) = setup();
        idp.set_answer("/token", Some(Answer::Field("expires_in", v.clone())));
        // Without the JWT's `exp` the lifetime can only come from `expires_in`.
        idp.set_token_ttl(7200);
        token(&env, &[]);
        let left = first_session(&env)["expires_at"]
            .as_u64()
            .unwrap_or_default()
            .saturating_sub(now());
        assert!((3500..=3600).contains(&left), "expires_in {v}: {left}");
    }
}

#[test]
fn empty_and_non_bearer_tokens_are_refused() {
    let cases = [
        ("access_token", json!(""), "has an empty access token"),
        (
            "token_type",
            json!("MAC"),
            "has token_type \"MAC\": flyte-auth can only use Bearer tokens",
        ),
    ];
    for (field, value, says) in cases {
        // A session per case: a failed session answers from its backoff for a while.
        let (idp, env, _) = setup();
        idp.set_answer("/token", Some(Answer::Field(field, value)));
        let (code, err) = token_fails(&env);
        assert_eq!(code, Some(5), "{err}");
        assert!(err.contains(says), "want {says:?} in {err}");
        let s = first_session(&env);
        assert!(s["expires_at"].is_null(), "nothing was kept: {s}");
    }
    // Any spelling of Bearer is Bearer.
    let (idp, env, _) = setup();
    idp.set_answer("/token", Some(Answer::Field("token_type", json!("bEaReR"))));
    token(&env, &[]);
}

/// An agent whose IdP answers `answer` on every path in `paths`, after one failed `token`:
/// its peak RSS in KiB, and the client's exit code and stderr.
fn peak_rss_after(paths: &[&str], answer: Answer) -> (u64, Option<i32>, String) {
    let (idp, env, pid) = setup();
    for path in paths {
        idp.set_answer(path, Some(answer.clone()));
    }
    let out = env.flyte_auth(&["token"]);
    assert!(out.stdout.is_empty(), "no token may be printed");
    (peak_rss_kib(pid), out.status.code(), stderr(&out))
}

#[test]
fn huge_bodies_are_cut_off_and_agent_memory_stays_bounded() {
    const BIG: usize = 200 * 1024 * 1024;
    let cases = [
        // A 200 MB token in a 200 OK, streamed with no Content-Length.
        (
            "token",
            vec!["/token"],
            Answer::HugeBody(200, BIG),
            "larger than",
        ),
        (
            "error body",
            vec!["/token"],
            Answer::HugeBody(500, BIG),
            "answered HTTP 500",
        ),
        (
            "discovery",
            vec![
                "/flyteidl2.auth.AuthMetadataService/GetOAuth2Metadata",
                "/.well-known/oauth-authorization-server",
            ],
            Answer::HugeBody(200, BIG),
            "larger than",
        ),
    ];
    for (what, paths, answer, says) in cases {
        let (peak, code, err) = peak_rss_after(&paths, answer);
        eprintln!(
            "figure: agent peak RSS with a 200 MB {what}: {} MiB",
            peak / 1024
        );
        assert!(peak < 64 * 1024, "200 MB {what}: peak RSS {peak} KiB");
        assert_eq!(code, Some(5), "{err}");
        assert!(err.contains(says), "200 MB {what}: want {says:?} in {err}");
    }
}

#[test]
fn a_token_too_large_for_a_frame_is_refused_when_received() {
    let (idp, env, _) = setup();
    idp.set_answer("/token", Some(Answer::HugeToken(70_000)));
    let (code, err) = token_fails(&env);
    assert_eq!(code, Some(5), "{err}");
    assert!(err.contains("too large"), "{err}");
    let s = first_session(&env);
    assert!(s["expires_at"].is_null(), "the token was not kept: {s}");
    // Nothing bad was cached: once the IdP behaves, the next request gets a good token.
    idp.set_answer("/token", None);
    assert!(
        wait_until(Duration::from_secs(15), || env
            .flyte_auth(&["token"])
            .status
            .success()),
        "no good token after the IdP recovered; log:\n{}",
        env.agent_log_text()
    );
}

#[test]
fn control_characters_from_the_network_are_escaped() {
    let evil = "\u{1b}[2J\u{1b}]0;pwned\u{7}gotcha\u{202e}\nhint: run rm -rf";
    let (idp, env, _) = setup();
    let body = json!({"error": "invalid_client", "error_description": evil});
    idp.set_answer("/token", Some(Answer::Raw(401, body.to_string())));
    let (code, err) = token_fails(&env);
    assert_eq!(code, Some(6), "{err}");
    assert!(
        err.contains("\\x1b[2J\\x1b]0;pwned\\x07gotcha\\u{202e}\\x0ahint: run"),
        "{err}"
    );
    let out = env.flyte_auth(&["status"]);
    let text = format!("{}{}", stderr(&out), String::from_utf8_lossy(&out.stdout));
    assert!(text.contains("\\x1b[2J"), "{text}");
    for raw in ['\u{1b}', '\u{7}', '\u{202e}'] {
        assert!(
            !err.contains(raw) && !text.contains(raw),
            "{raw:?} in {err} / {text}"
        );
    }

    // A device login's code and URL come from the network too.
    let idp = FakeIdp::start().expect("fake IdP");
    let port = idp.url().rsplit(':').next().unwrap_or_default().to_owned();
    let mut env = TestEnv::new();
    crate::common::write_config(
        &env,
        port.parse().expect("port"),
        "  authType: DeviceFlow\n",
    );
    env.set_env("FLYTE_AUTH_BROWSER", "none");
    env.start_agent(&["--store", "memory"]).expect("agent");
    idp.set_answer(
        "/device",
        Some(Answer::Field("user_code", json!("\u{1b}[8mHIDDEN"))),
    );
    idp.approve_device();
    let out = env.flyte_auth(&["login"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("\\x1b[8mHIDDEN") && !err.contains('\u{1b}'),
        "{err}"
    );
}

#[test]
fn errors_say_what_the_server_answered() {
    let cases = [
        (
            Answer::Raw(500, "<h1>Internal oops</h1>".into()),
            5,
            "answered HTTP 500 Internal Server Error to the token request: <h1>Internal oops</h1>",
        ),
        (
            Answer::Raw(404, "no such route".into()),
            6,
            "answered HTTP 404 Not Found to the token request: no such route",
        ),
        (
            Answer::Field("expires_in", json!(true)),
            5,
            "token response is not valid OAuth2 JSON: expires_in: invalid type: boolean `true`",
        ),
        (
            Answer::Field("access_token", json!(42)),
            5,
            "token response is not valid OAuth2 JSON: access_token: invalid type: integer `42`",
        ),
        (
            Answer::Raw(200, "<html>login page</html>".into()),
            5,
            "token response is not valid OAuth2 JSON",
        ),
    ];
    for (answer, want_code, says) in cases {
        let (idp, env, _) = setup();
        idp.set_answer("/token", Some(answer));
        let (code, err) = token_fails(&env);
        assert_eq!(code, Some(want_code), "{err}");
        assert!(err.contains(says), "want {says:?} in: {err}");
        assert!(
            !err.contains("cannot reach"),
            "the server was reached: {err}"
        );
    }
}
