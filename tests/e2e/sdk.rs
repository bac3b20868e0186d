//! Flyte's Python SDK (flytekit, from PyPI) running `flyte-auth token` as its
//! `ExternalCommand`, through its own config loader and authenticator.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use flyte_auth_e2e::fake_idp::FakeIdp;
use flyte_auth_e2e::harness::{TestEnv, bin, stderr, stdout};

use crate::common::{api_key, host_port, token};

/// The venv scripts/setup.sh creates with tests/python/requirements.txt.
fn python() -> PathBuf {
    let py = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/.venv/bin/python");
    assert!(
        py.is_file(),
        "{} is missing: run `bash scripts/setup.sh`",
        py.display()
    );
    py
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/external_command.py")
}

/// A flytekit config whose `admin.command` is `flyte-auth token ARGS`.
fn flytekit_config(env: &TestEnv, args: &[&str]) -> PathBuf {
    let mut cmd = vec![
        format!("\"{}\"", bin("flyte-auth").display()),
        "token".into(),
    ];
    cmd.extend(args.iter().map(|a| format!("\"{a}\"")));
    let text = format!(
        "admin:\n  endpoint: dns:///flyte.invalid\n  authType: ExternalCommand\n  command: [{}]\n",
        cmd.join(", ")
    );
    let path = env.dir.path().join("flytekit.yaml");
    std::fs::write(&path, text).expect("write config");
    path
}

#[test]
fn flytekit_external_command_gets_the_agents_token() {
    let idp = FakeIdp::start().expect("fake IdP");
    let mut env = TestEnv::new();
    env.set_env(
        "FLYTE_API_KEY",
        &api_key("flyte.invalid", "ci-client", "ci-secret", "None"),
    );
    let host = host_port(&idp.url()).to_owned();
    let config = flytekit_config(&env, &["--endpoint", &host, "--insecure"]);
    let out = env
        .command_for(&python())
        .arg(script())
        .arg(&config)
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "flytekit failed: {}\n{}",
        stderr(&out),
        env.agent_log_text()
    );
    assert!(
        stderr(&out).contains("CommandAuthenticator"),
        "{}",
        stderr(&out)
    );
    let from_flytekit = stdout(&out).trim().to_owned();
    let from_cli = token(&env, &["--endpoint", &host, "--insecure"]);
    assert_eq!(
        from_flytekit, from_cli,
        "flytekit must read exactly the token"
    );
    assert_eq!(
        idp.token_requests(),
        1,
        "both came from the agent's one session"
    );
}

#[test]
fn flytekit_gets_a_clear_error_at_once_when_a_login_is_needed() {
    let idp = FakeIdp::start().expect("fake IdP");
    let env = TestEnv::new();
    let host = host_port(&idp.url()).to_owned();
    let config = flytekit_config(
        &env,
        &[
            "--endpoint",
            &host,
            "--insecure",
            "--auth-type",
            "DeviceFlow",
        ],
    );
    let started = Instant::now();
    let out = env
        .command_for(&python())
        .arg(script())
        .arg(&config)
        .output()
        .expect("python");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not logged in to"),
        "{}",
        stderr(&out)
    );
    // flytekit captures our output and gives us no stdin: we must not wait for a human.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
}
