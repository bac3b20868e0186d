//! Helpers shared by the e2e test modules.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flyte_auth_e2e::harness::{TestEnv, stderr, stdout};

/// A Union API key: base64 of `endpoint:client_id:client_secret:org`.
pub fn api_key(host: &str, id: &str, secret: &str, org: &str) -> String {
    STANDARD.encode(format!("{host}:{id}:{secret}:{org}"))
}

/// `host:port` of a `http://host:port` URL.
pub fn host_port(url: &str) -> &str {
    url.trim_start_matches("http://").trim_end_matches('/')
}

/// Points `env` at the IdP behind `url` with an API key for `id`/`secret`; the endpoint flag
/// and `--insecure` go on each command through `FLYTE_ADMIN_ENDPOINT`/`FLYTE_ADMIN_INSECURE`.
pub fn use_api_key(env: &mut TestEnv, url: &str, id: &str, secret: &str) {
    env.set_env("FLYTE_API_KEY", &api_key("idp.invalid", id, secret, "None"));
    env.set_env("FLYTE_ADMIN_ENDPOINT", host_port(url));
    env.set_env("FLYTE_ADMIN_INSECURE", "true");
}

/// Runs `flyte-auth token ARGS` and returns the token, failing the test with both streams
/// and the agent log otherwise.
pub fn token(env: &TestEnv, args: &[&str]) -> String {
    let mut all = vec!["token"];
    all.extend_from_slice(args);
    let out = env.flyte_auth(&all);
    assert!(
        out.status.success(),
        "token failed ({}):\nstdout: {}\nstderr: {}\nagent log:\n{}",
        out.status,
        stdout(&out),
        stderr(&out),
        env.agent_log_text()
    );
    let text = stdout(&out);
    assert!(
        text.ends_with('\n') && text.lines().count() == 1,
        "stdout must be the token alone: {text:?}"
    );
    text.trim_end().to_owned()
}

/// `flyte-auth status --json`, parsed.
pub fn status(env: &TestEnv) -> serde_json::Value {
    let out = env.flyte_auth(&["status", "--json"]);
    assert!(out.status.success(), "status failed: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("status JSON")
}

/// The first session of a status report.
pub fn first_session(env: &TestEnv) -> serde_json::Value {
    status(env)["sessions"][0].clone()
}

/// Claims of a JWT, unverified.
pub fn claims(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).expect("JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("claims JSON")
}

/// Unix seconds now.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
