//! No secret in any log: every flow (PKCE and device logins, refresh, client credentials from
//! a config secret and from `FLYTE_API_KEY`, status, logout) runs with the agent at `trace`,
//! and no access token, refresh token, client secret or API key (nor their Basic-auth or
//! URL-encoded forms) appears in the agent's log or in any client output, except the token
//! `flyte-auth token` prints alone on stdout.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flyte_auth_e2e::harness::{TestEnv, stderr, stdout, wait_until};
use flyte_auth_e2e::node_idp::{NodeIdp, NodeIdpOptions};

use crate::common::{Proc, api_key, claims, free_port, now, write_config};

/// Lifetime of access tokens: short, so the test can wait for a refresh.
const ACCESS_TTL: u64 = 4;

/// `token` arguments: tokens live [`ACCESS_TTL`] seconds, less than the default 60 s.
const MIN_VALID: [&str; 3] = ["token", "--min-valid", "1s"];

/// Everything the clients printed and everything secret the test learned on the way.
#[derive(Default)]
struct Record {
    /// (what, text) of every client output that must hold no secret.
    outputs: Vec<(String, String)>,
    /// (what, value) of every secret seen.
    secrets: Vec<(String, String)>,
}

impl Record {
    fn output(&mut self, what: &str, text: String) {
        self.outputs.push((what.to_owned(), text));
    }

    fn secret(&mut self, what: &str, value: &str) {
        if !value.is_empty() && !self.secrets.iter().any(|(_, v)| v == value) {
            self.secrets.push((what.to_owned(), value.to_owned()));
        }
    }

    /// A client secret, and the HTTP Basic credentials it is sent in.
    fn client_secret(&mut self, what: &str, id: &str, secret: &str) {
        self.secret(what, secret);
        let basic = STANDARD.encode(format!("{id}:{secret}"));
        self.secret(&format!("{what} as HTTP Basic credentials"), &basic);
    }

    /// Records a finished command's output; returns its stdout.
    fn command(&mut self, what: &str, out: &Output) -> String {
        assert!(
            out.status.success(),
            "{what} failed ({}): {}",
            out.status,
            stderr(out)
        );
        self.output(&format!("{what}: stderr"), stderr(out));
        stdout(out)
    }

    /// Runs `flyte-auth token` through `cmd`: the token is alone on stdout (and recorded as a
    /// secret), stderr is checked like every other output.
    fn token(&mut self, what: &str, cmd: &mut Command) -> String {
        let out = cmd.output().expect("run flyte-auth token");
        let text = self.command(what, &out);
        let token = text.trim_end().to_owned();
        assert_eq!(
            text,
            format!("{token}\n"),
            "{what}: the token alone on stdout"
        );
        self.secret(&format!("access token from {what}"), &token);
        token
    }

    /// Every form a secret could take on a wire dump: raw, URL-encoded, and for access tokens
    /// the signature alone (a token split across log fields still leaks it).
    fn needles(&self) -> Vec<(String, String)> {
        let mut all = Vec::new();
        for (what, v) in &self.secrets {
            all.push((what.clone(), v.clone()));
            let encoded: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
            all.push((format!("{what} (URL-encoded)"), encoded));
            if let Some(sig) = v.rsplit('.').next().filter(|s| s.len() >= 16 && *s != v) {
                all.push((format!("{what} (JWT signature)"), sig.to_owned()));
            }
        }
        all
    }
}

/// Records the refresh tokens the agent keeps in the keyring for the endpoint on `port`.
fn record_refresh_tokens(rec: &mut Record, when: &str, port: u16) {
    let run = |args: &[&str]| {
        Command::new("secret-tool")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run secret-tool (libsecret-tools, see scripts/setup.sh)")
    };
    let found = run(&["search", "--all", "service", "flyte-auth"]);
    let prefix = format!("127.0.0.1:{port}/");
    stderr(&found)
        .lines()
        .filter_map(|l| l.strip_prefix("attribute.username = "))
        .filter(|a| a.starts_with(&prefix))
        .filter_map(|account| {
            let item = run(&["lookup", "service", "flyte-auth", "username", account]);
            let value: serde_json::Value = serde_json::from_slice(&item.stdout).ok()?;
            value["refresh_token"].as_str().map(str::to_owned)
        })
        .for_each(|rt| rec.secret(&format!("refresh token {when}"), &rt));
}

/// Logs in through the browser flow, playing the browser headlessly; returns the
/// authorization code the callback carried (a secret too, if briefly).
fn pkce_login(idp: &NodeIdp, env: &TestEnv, rec: &mut Record) -> String {
    let mut login = Proc::flyte_auth(env, &["login"]);
    let url = login.browser_url();
    let callback = idp.authorize_headless(&url).expect("headless login");
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code in the callback");
    let (status, page) = crate::common::browser_get(callback.as_str());
    assert_eq!(status, 200, "{page}");
    let done = login.finish();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    rec.output("login (PKCE): stdout", done.stdout);
    rec.output("login (PKCE): stderr", done.stderr);
    code
}

/// Logs in through the device flow, approving the code at the IdP.
fn device_login(idp: &NodeIdp, env: &TestEnv, rec: &mut Record) {
    let mut login = Proc::flyte_auth(env, &["login", "--device"]);
    let code = login.device_code();
    idp.approve_device(&code).expect("approve");
    let done = login.finish();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    rec.output("login --device: stdout", done.stdout);
    rec.output("login --device: stderr", done.stderr);
}

/// A working directory with a Flyte config for client credentials: `client_id` and a
/// secret in a file, as `clientSecretLocation` names it.
fn client_secret_dir(
    env: &TestEnv,
    port: u16,
    client_id: &str,
    secret: &str,
) -> std::path::PathBuf {
    let dir = env.dir.path().join("cc");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let secret_file = dir.join("secret");
    std::fs::write(&secret_file, format!("{secret}\n")).expect("write secret");
    let config = format!(
        "admin:\n  endpoint: dns:///127.0.0.1:{port}\n  insecure: true\n  authType: ClientSecret\n  \
         clientId: {client_id}\n  clientSecretLocation: {}\n",
        secret_file.display()
    );
    std::fs::write(dir.join("config.yaml"), config).expect("write config");
    dir
}

#[test]
fn no_secret_of_any_flow_reaches_a_log_or_a_client_output_at_trace_level() {
    // The keyring's D-Bus traffic is part of what must stay clean, so no memory-only
    // fallback: without the throwaway Secret Service this fails, as the keyring tests do.
    assert!(
        std::env::var_os("FLYTE_AUTH_KEYRING_SESSION").is_some(),
        "run with `bash scripts/with-keyring.sh cargo test -p flyte-auth-e2e --test e2e redaction`"
    );
    let port = free_port();
    let idp = NodeIdp::start(NodeIdpOptions {
        redirect_uri: Some(format!("http://localhost:{port}/callback")),
        access_ttl: Some(ACCESS_TTL),
        device_interval: Some(1),
        ..Default::default()
    })
    .expect("node IdP (run `npm ci` in tests/idp)");
    let mut env = TestEnv::new();
    env.set_env("FLYTE_AUTH_BROWSER", "none");
    env.set_env("FLYTE_AUTH_LOG", "trace");
    write_config(&env, idp.port(), "");
    env.start_agent(&[]).expect("agent");
    let mut rec = Record::default();

    // Browser login, then a token.
    let code = pkce_login(&idp, &env, &mut rec);
    rec.secret("authorization code", &code);
    rec.token(
        "token after PKCE",
        env.command("flyte-auth").args(MIN_VALID),
    );
    record_refresh_tokens(&mut rec, "after PKCE", idp.port());

    // Device login, then a token.
    device_login(&idp, &env, &mut rec);
    let device_token = rec.token(
        "token after device login",
        env.command("flyte-auth").args(MIN_VALID),
    );
    record_refresh_tokens(&mut rec, "after device login", idp.port());

    // Refresh: once that token has expired, the next one comes from the refresh token.
    let exp = claims(&device_token)["exp"].as_u64().unwrap_or_default();
    let refreshes = idp.token_requests("refresh_token");
    assert!(wait_until(Duration::from_secs(15), || now() > exp));
    let refreshed = rec.token(
        "token after refresh",
        env.command("flyte-auth").args(MIN_VALID),
    );
    assert_ne!(refreshed, device_token, "a new token after expiry");
    assert!(
        idp.token_requests("refresh_token") > refreshes,
        "the new token came from a refresh"
    );
    record_refresh_tokens(&mut rec, "after refresh", idp.port());

    // Client credentials: a secret from a config's secret file, then an API key.
    let (cc_id, cc_secret) = ("ci-client-2", "ci-secret-2");
    let cc_dir = client_secret_dir(&env, idp.port(), cc_id, cc_secret);
    rec.client_secret("client secret (config)", cc_id, cc_secret);
    let mut cmd = env.command("flyte-auth");
    cmd.current_dir(&cc_dir);
    rec.token("token (client secret)", cmd.args(MIN_VALID));

    let (key_id, key_secret) = ("ci-client", "ci-secret");
    let key = api_key("idp.invalid", key_id, key_secret, "None");
    rec.secret("API key", &key);
    rec.client_secret("client secret (API key)", key_id, key_secret);
    let empty = env.dir.path().join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let mut cmd = env.command("flyte-auth");
    cmd.current_dir(&empty)
        .args(MIN_VALID)
        .env("FLYTE_API_KEY", &key)
        .env("FLYTE_ADMIN_ENDPOINT", format!("127.0.0.1:{}", idp.port()))
        .env("FLYTE_ADMIN_INSECURE", "true");
    rec.token("token (API key)", &mut cmd);

    // Status, both forms; then logout (which revokes the refresh token) and logout --all.
    let commands = [
        &["status"][..],
        &["status", "--json"],
        &["logout"],
        &["logout", "--all"],
    ];
    for args in commands {
        let out = env.flyte_auth(args);
        let text = rec.command(&format!("{args:?}"), &out);
        rec.output(&format!("{args:?}: stdout"), text);
    }

    // Stop the agent so its log is complete, then look everywhere.
    env.stop_agent();
    assert!(
        wait_until(Duration::from_secs(10), || !env.socket.exists()),
        "agent did not stop"
    );
    let log = env.agent_log_text();
    // The haystack is real: trace lines, from every flow and from the HTTP and D-Bus crates.
    assert!(log.contains(" TRACE "), "the agent logged at trace level");
    for target in [
        "flows::pkce",
        "flows::device",
        "flows::revoke",
        "hyper_util",
        "zbus",
    ] {
        assert!(log.contains(target), "nothing logged by {target}");
    }
    rec.output("agent log", log);
    assert!(
        rec.secrets
            .iter()
            .any(|(w, _)| w.starts_with("refresh token")),
        "no refresh token found in the keyring to look for"
    );
    let needles = rec.needles();
    assert!(needles.len() >= 12, "secrets collected: {}", needles.len());
    let mut leaks = Vec::new();
    for (place, text) in &rec.outputs {
        for (what, needle) in &needles {
            if let Some(at) = text.find(needle.as_str()) {
                let line = text[..at].lines().count().max(1);
                leaks.push(format!("{what} in {place} (line {line})"));
            }
        }
    }
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
}
