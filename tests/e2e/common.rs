//! Helpers shared by the e2e test modules.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flyte_auth_e2e::harness::{TestEnv, stderr, stdout};

pub use crate::proc::Proc;

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

// Helpers for interactive logins.

/// Longest any single wait in a login test may take, so a broken agent fails the test
/// instead of hanging the suite.
pub const WAIT: Duration = Duration::from_secs(20);

/// Writes `config.yaml` in `env.cwd` for the IdP on `port`; `extra` is appended under `admin:`
/// (lines indented by two spaces, e.g. `"  authType: DeviceFlow\n"`).
pub fn write_config(env: &TestEnv, port: u16, extra: &str) {
    let text = format!("admin:\n  endpoint: dns:///127.0.0.1:{port}\n  insecure: true\n{extra}");
    std::fs::write(env.cwd.join("config.yaml"), text).expect("write config.yaml");
}

/// A node IdP that tells clients to poll every second (its default, no `interval`, would
/// make every device login wait 5 s per poll) and an env whose config points at it with
/// `extra` lines under `admin:`, with `vars` set, and an agent started with `agent_args`.
/// Browsers are never opened (`FLYTE_AUTH_BROWSER=none`).
pub fn node_env(
    opts: flyte_auth_e2e::node_idp::NodeIdpOptions,
    extra: &str,
    vars: &[(&str, &str)],
    agent_args: &[&str],
) -> (flyte_auth_e2e::node_idp::NodeIdp, TestEnv) {
    use flyte_auth_e2e::node_idp::{NodeIdp, NodeIdpOptions};
    let idp = NodeIdp::start(NodeIdpOptions {
        device_interval: opts.device_interval.or(Some(1)),
        ..opts
    })
    .expect("node IdP (run `npm ci` in tests/idp)");
    let mut env = TestEnv::new();
    env.set_env("FLYTE_AUTH_BROWSER", "none");
    for (k, v) in vars {
        env.set_env(k, v);
    }
    write_config(&env, idp.port(), extra);
    env.start_agent(agent_args).expect("agent");
    (idp, env)
}

/// How many device authorizations the node IdP has seen.
pub fn device_authorizations(idp: &flyte_auth_e2e::node_idp::NodeIdp) -> u64 {
    idp.stats().expect("IdP stats")["device_authorizations"]
        .as_u64()
        .unwrap_or_default()
}

/// A loopback port that was free a moment ago (the listener is dropped before returning).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// GETs `url` as a browser would (no redirects followed); returns the status and body.
pub fn browser_get(url: &str) -> (u16, String) {
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client");
    let resp = http
        .get(url)
        .send()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = resp.status().as_u16();
    (status, resp.text().unwrap_or_default())
}
