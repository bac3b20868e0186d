//! Logins that outlive the agent: kept in a real Secret Service (gnome-keyring, from
//! scripts/with-keyring.sh) or the opt-in file store, restored after `kill -9`, rotated refresh
//! tokens persisted, logout revoking and deleting, memory-only without a keyring, corrupt
//! items and files, and taking over what flyte-sdk/flytekit left in the keyring.
//!
//! Every test gets its own node IdP, so its items are the ones whose account starts with
//! `127.0.0.1:PORT/`: the keyring is shared by every test of the run.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use flyte_auth_e2e::harness::{TestEnv, stderr, stdout, wait_until};
use flyte_auth_e2e::node_idp::{NodeIdp, NodeIdpOptions};
use serde_json::{Value, json};

use crate::common::{
    Proc, WAIT, claims, device_authorizations, first_session, node_env, status, token,
};

const REFRESH: &str = "refresh_token";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const DEVICE_PROMPT: &str = "To Authenticate, navigate in a browser to the following URL:";
/// What status says a keyring-backed session is stored in.
const SECRET_SERVICE: &str = "Secret Service (keyring)";
/// Start of the line the first login prints when the agent has no keyring.
const NO_KEYRING: &str = "warning: no keyring available";

/// Fails (rather than skips) without the throwaway Secret Service: a skipped keyring test
/// looks like a passing one. The marker variable also keeps these tests away from a
/// developer's real keyring, which `DBUS_SESSION_BUS_ADDRESS` alone would point at.
fn require_keyring() {
    let bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS");
    let throwaway = std::env::var_os("FLYTE_AUTH_KEYRING_SESSION");
    assert!(
        bus.is_some() && throwaway.is_some(),
        "the keyring e2e tests need a throwaway Secret Service: run them with \
         `bash scripts/test.sh` or `bash scripts/with-keyring.sh cargo test -p flyte-auth-e2e \
         --test e2e keyring`"
    );
}

/// A node IdP and an env configured for device flow against it, with `vars` set before the
/// agent starts with `agent_args`.
fn setup_with(
    opts: NodeIdpOptions,
    vars: &[(&str, &str)],
    agent_args: &[&str],
) -> (NodeIdp, TestEnv) {
    node_env(opts, "  authType: DeviceFlow\n", vars, agent_args)
}

/// [`setup_with`] for the keyring tests: the default store, the test run's keyring.
fn setup(opts: NodeIdpOptions) -> (NodeIdp, TestEnv) {
    require_keyring();
    setup_with(opts, &[], &[])
}

/// Logs `env` in through the device flow as alice; returns the login's stderr.
fn device_login(idp: &NodeIdp, env: &TestEnv) -> String {
    let mut login = Proc::flyte_auth(env, &["login", "--device"]);
    let code = login.device_code();
    idp.approve_device(&code).expect("approve");
    let done = login.finish();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let want = format!("Logged in to {} as alice.", idp.url());
    assert!(
        done.stderr.lines().any(|l| l == want),
        "{want:?} missing:\n{}",
        done.stderr
    );
    done.stderr
}

/// `kill -9`s whatever agent serves `env` (no clean shutdown, no last write) and waits until
/// its socket no longer answers; returns the pid.
fn kill_agent(env: &TestEnv) -> u64 {
    let pid = status(env)["pid"].as_u64().expect("pid in status");
    let killed = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success(), "kill -9 {pid} failed");
    assert!(
        wait_until(Duration::from_secs(5), || UnixStream::connect(&env.socket)
            .is_err()),
        "agent {pid} still answers after kill -9"
    );
    pid
}

/// Waits until `ms` (Unix ms) has surely passed (a second extra: [`crate::common::now`] is in
/// whole seconds), failing rather than waiting longer than [`WAIT`].
fn sleep_until_ms(ms: u64) {
    let now = crate::common::now() * 1000;
    let left = Duration::from_millis(ms.saturating_sub(now) + 1000);
    assert!(left <= WAIT, "would wait {left:?}");
    std::thread::sleep(left);
}

// The keyring as another program sees it, through libsecret's `secret-tool`.

/// Runs `secret-tool ARGS` (optionally with `input` on stdin) and fails the test if it fails.
fn secret_tool(args: &[&str], input: Option<&str>) -> std::process::Output {
    let mut child = Command::new("secret-tool")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run secret-tool (libsecret-tools, see scripts/setup.sh)");
    let mut stdin = child.stdin.take().expect("stdin");
    if let Some(text) = input {
        stdin.write_all(text.as_bytes()).expect("write secret");
    }
    // EOF ends the secret secret-tool reads.
    drop(stdin);
    let out = child.wait_with_output().expect("secret-tool output");
    assert!(
        out.status.success(),
        "secret-tool {args:?} failed ({}): {}",
        out.status,
        stderr(&out)
    );
    out
}

/// Accounts (`username`) of the flyte-auth items of the endpoint on `port`.
fn keyring_accounts(port: u16) -> Vec<String> {
    let out = secret_tool(&["search", "--all", "service", "flyte-auth"], None);
    // secret-tool prints each item's attributes on stderr (label and secret on stdout).
    let prefix = format!("127.0.0.1:{port}/");
    stderr(&out)
        .lines()
        .filter_map(|l| l.strip_prefix("attribute.username = "))
        .filter(|a| a.starts_with(&prefix))
        .map(str::to_owned)
        .collect()
}

/// The one flyte-auth item of the endpoint on `port`: its account and raw value.
fn keyring_item_raw(port: u16) -> (String, String) {
    let accounts = keyring_accounts(port);
    assert_eq!(
        accounts.len(),
        1,
        "want exactly one flyte-auth item for 127.0.0.1:{port}: {accounts:?}"
    );
    let account = accounts[0].clone();
    let out = secret_tool(
        &["lookup", "service", "flyte-auth", "username", &account],
        None,
    );
    (account, stdout(&out))
}

/// The one flyte-auth item of the endpoint on `port`: its account and parsed JSON value.
fn keyring_item(port: u16) -> (String, Value) {
    let (account, raw) = keyring_item_raw(port);
    let value = serde_json::from_str(&raw)
        .unwrap_or_else(|e| panic!("item {account} is not JSON ({e}): {raw:?}"));
    (account, value)
}

/// The refresh token stored for the endpoint on `port`.
fn stored_refresh_token(port: u16) -> String {
    let (account, item) = keyring_item(port);
    let rt = item["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!rt.is_empty(), "item {account} has no refresh token");
    rt
}

/// Stores `value` under `attrs` as another keyring client (Python's `keyring`) would.
fn store_secret(attrs: &[(&str, &str)], value: &str) {
    let mut args = vec!["store", "--label=flyte-auth e2e"];
    for (k, v) in attrs {
        args.extend([*k, *v]);
    }
    secret_tool(&args, Some(value));
}

// Restart

#[test]
fn a_login_survives_kill_9_and_its_valid_access_token_is_reused() {
    let (idp, env) = setup(NodeIdpOptions::default());
    device_login(&idp, &env);
    let t1 = token(&env, &[]);
    let s = first_session(&env);
    assert_eq!(s["storage"], SECRET_SERVICE, "{s}");

    let (account, item) = keyring_item(idp.port());
    let parts: Vec<&str> = account.split('/').collect();
    assert!(
        parts.len() == 4
            && parts[..3]
                == [
                    format!("127.0.0.1:{}", idp.port()).as_str(),
                    "user",
                    "default"
                ]
            && parts[3].len() == 8
            && parts[3].chars().all(|c| c.is_ascii_hexdigit()),
        "account <host:port>/user/default/<8 hex>: {account}"
    );
    assert_eq!(
        item["access_token"],
        t1.as_str(),
        "the access token is kept"
    );
    assert!(item["access_expires_at_ms"].as_u64().is_some(), "{item}");

    let old = kill_agent(&env);
    // `token` starts a new agent, which must restore the login without anyone logging in.
    let t2 = token(&env, &[]);
    assert_eq!(
        t2, t1,
        "within its lifetime the stored access token is served"
    );
    assert_eq!(
        idp.token_requests(REFRESH),
        0,
        "no refresh while it is valid"
    );
    assert_eq!(device_authorizations(&idp), 1, "no second login");
    let report = status(&env);
    assert_ne!(report["pid"].as_u64(), Some(old), "a new agent answers");
    let s = &report["sessions"][0];
    assert_eq!(s["subject"], "alice", "{s}");
    assert_eq!(s["state"], "ready", "{s}");
    assert_eq!(s["storage"], SECRET_SERVICE, "{s}");
}

#[test]
fn after_the_access_token_expired_a_restart_costs_one_refresh() {
    let (idp, env) = setup(NodeIdpOptions {
        access_ttl: Some(5),
        ..Default::default()
    });
    device_login(&idp, &env);
    // At once: the agent would refresh on its own with a third of the 5 s left.
    kill_agent(&env);
    assert_eq!(idp.token_requests(REFRESH), 0);
    let (_, item) = keyring_item(idp.port());
    let expires = item["access_expires_at_ms"]
        .as_u64()
        .expect("stored expiry");
    sleep_until_ms(expires);

    let t = token(&env, &["--min-valid", "1s"]);
    assert_eq!(claims(&t)["sub"], "alice");
    assert_ne!(item["access_token"], t.as_str(), "a new access token");
    assert_eq!(
        idp.token_requests(REFRESH),
        1,
        "one refresh with the stored refresh token"
    );
    assert_eq!(device_authorizations(&idp), 1, "no second login");
    assert_eq!(first_session(&env)["subject"], "alice");
}

#[test]
fn a_rotated_refresh_token_is_persisted_so_a_kill_9_after_rotation_loses_nothing() {
    let (idp, env) = setup(NodeIdpOptions {
        access_ttl: Some(5),
        refresh_ttl: Some(3600),
        ..Default::default()
    });
    device_login(&idp, &env);
    let port = idp.port();
    let rt0 = stored_refresh_token(port);
    assert!(idp.is_token_active(&rt0).expect("introspect"));

    // The scheduler refreshes with about a third of the 5 s left; the IdP rotates.
    assert!(
        wait_until(WAIT, || idp.token_requests(REFRESH) >= 1),
        "no scheduled refresh; log:\n{}",
        env.agent_log_text()
    );
    // The agent stores the rotated token before it uses it: give that keyring write (one
    // D-Bus call) a moment, then kill at once, long before the next rotation.
    let mut rt1 = rt0.clone();
    assert!(
        wait_until(Duration::from_secs(2), || {
            rt1 = stored_refresh_token(port);
            rt1 != rt0
        }),
        "the rotated refresh token did not reach the keyring within 2 s; log:\n{}",
        env.agent_log_text()
    );
    kill_agent(&env);
    assert_eq!(idp.token_requests(REFRESH), 1, "killed after one rotation");
    assert!(
        !idp.is_token_active(&rt0).expect("introspect"),
        "the IdP consumed the token it rotated away"
    );
    assert!(idp.is_token_active(&rt1).expect("introspect"));

    // The restored access token has under a minute left: the new agent refreshes with rt1.
    let out = env.flyte_auth(&["token", "--min-valid", "1s"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "restart after rotation: {}\nlog:\n{}",
        stderr(&out),
        env.agent_log_text()
    );
    assert_eq!(claims(stdout(&out).trim())["sub"], "alice");
    assert_eq!(idp.token_requests(REFRESH), 2);
    let rt2 = stored_refresh_token(port);
    assert!(rt2 != rt1 && rt2 != rt0, "rotated again and stored");
    assert!(!idp.is_token_active(&rt1).expect("introspect"));

    // And the restored session keeps refreshing on its own.
    assert!(
        wait_until(WAIT, || idp.token_requests(REFRESH) >= 3),
        "no scheduled refresh after the restart; log:\n{}",
        env.agent_log_text()
    );
    assert_eq!(claims(&token(&env, &["--min-valid", "1s"]))["sub"], "alice");
    let s = first_session(&env);
    assert!(s["last_error"].is_null(), "{s}");
    assert_eq!(device_authorizations(&idp), 1, "never a second login");
}

// Logout

#[test]
fn logout_revokes_the_refresh_token_and_deletes_the_item() {
    let (idp, env) = setup(NodeIdpOptions::default());
    device_login(&idp, &env);
    token(&env, &[]);
    let rt = stored_refresh_token(idp.port());
    assert!(idp.is_token_active(&rt).expect("introspect"));

    let out = env.flyte_auth(&["logout"]);
    assert!(stderr(&out).contains("Logged out."), "{}", stderr(&out));
    assert_logged_out(&idp, &env, &rt, &out);

    // Nothing for the next agent to bring back.
    kill_agent(&env);
    let out = env.flyte_auth(&["token"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("flyte-auth login"),
        "{}",
        stderr(&out)
    );
}

/// Logs in, reads the stored refresh token and kills the agent: a login that now lives only
/// in the keyring.
fn stored_only_login() -> (NodeIdp, TestEnv, String) {
    let (idp, env) = setup(NodeIdpOptions::default());
    device_login(&idp, &env);
    let rt = stored_refresh_token(idp.port());
    kill_agent(&env);
    (idp, env, rt)
}

/// The agent's log lines about revoking (the reason a revocation did not happen).
fn revocation_log(env: &TestEnv) -> String {
    let log = env.agent_log_text();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("revok")).collect();
    lines.join("\n")
}

/// After `logout`: the stored login is revoked and deleted, and the next agent restores
/// nothing.
fn assert_logged_out(idp: &NodeIdp, env: &TestEnv, rt: &str, logout: &std::process::Output) {
    assert_eq!(logout.status.code(), Some(0), "{}", stderr(logout));
    assert_eq!(
        keyring_accounts(idp.port()),
        Vec::<String>::new(),
        "logout left the stored login in the keyring; logout said: {}",
        stderr(logout)
    );
    assert!(
        !idp.is_token_active(rt).expect("introspect"),
        "logout left the stored refresh token active; logout said: {}; IdP revocations: {}; \
         what the agent logged about it:\n{}",
        stderr(logout),
        idp.stats().expect("IdP stats")["revocations"],
        revocation_log(env)
    );
    let out = env.flyte_auth(&["token"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "after logout a later agent must not restore the login: {}",
        stderr(&out)
    );
}

#[test]
fn logout_with_a_restarted_agent_forgets_the_login_it_has_not_restored_yet() {
    let (idp, mut env, rt) = stored_only_login();
    env.start_agent(&[]).expect("agent");
    let out = env.flyte_auth(&["logout"]);
    assert!(stderr(&out).contains("Logged out."), "{}", stderr(&out));
    assert_logged_out(&idp, &env, &rt, &out);
}

#[test]
fn logout_while_no_agent_runs_still_forgets_the_stored_login() {
    let (idp, env, rt) = stored_only_login();
    // The agent is gone (crash, reboot, idle exit) but its login waits in the keyring.
    let out = env.flyte_auth(&["logout"]);
    assert_logged_out(&idp, &env, &rt, &out);
}

// Without a keyring, and the file store

#[test]
fn without_a_keyring_logins_work_from_memory_with_one_clear_warning() {
    // Overrides the test run's bus (set_env comes after the pass-through in command_for).
    let (idp, env) = setup_with(
        NodeIdpOptions::default(),
        &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")],
        &[],
    );
    let said = device_login(&idp, &env);
    let warnings: Vec<&str> = said.lines().filter(|l| l.starts_with(NO_KEYRING)).collect();
    assert_eq!(
        warnings.len(),
        1,
        "the login must print the warning once; it printed:\n{said}\nwhile status says: {}",
        first_session(&env)["storage"]
    );
    assert!(
        warnings[0].contains("will not survive") && warnings[0].contains("--store file"),
        "the warning says what it means and what to do: {}",
        warnings[0]
    );
    let s = first_session(&env);
    let storage = s["storage"].as_str().unwrap_or_default();
    assert!(
        storage.starts_with("memory only — ") && storage.contains("no keyring available"),
        "{s}"
    );
    let out = env.flyte_auth(&["token"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(claims(stdout(&out).trim())["sub"], "alice");
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        assert_eq!(
            keyring_accounts(idp.port()),
            Vec::<String>::new(),
            "the agent must not have reached the run's keyring"
        );
    }

    // Said once per agent: a second login does not repeat it (status keeps saying it).
    let out = env.flyte_auth(&["logout"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let again = device_login(&idp, &env);
    assert!(!again.contains(NO_KEYRING), "{again}");
}

/// The file store's directory: `$XDG_STATE_HOME/flyte-auth/tokens` (the harness sets
/// `XDG_STATE_HOME` to `$HOME/.local/state`).
fn tokens_dir(env: &TestEnv) -> PathBuf {
    env.home.join(".local/state/flyte-auth/tokens")
}

/// Every entry of `dir`, hidden temp files included.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("stat {}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn the_file_store_keeps_a_private_file_that_survives_kill_9_and_a_corrupt_one_asks_for_login() {
    let (idp, mut env) = setup_with(NodeIdpOptions::default(), &[], &["--store", "file"]);
    device_login(&idp, &env);
    let t1 = token(&env, &[]);
    let dir = tokens_dir(&env);
    let s = first_session(&env);
    assert_eq!(
        s["storage"].as_str(),
        Some(format!("file {}", dir.display()).as_str()),
        "{s}"
    );
    assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    let names = entries(&dir);
    let prefix = format!("127.0.0.1_{}_user_default_", idp.port());
    assert!(
        names.len() == 1 && names[0].starts_with(&prefix) && names[0].ends_with(".json"),
        "one session file and no temp files: {names:?}"
    );
    let file = dir.join(&names[0]);
    assert_eq!(mode(&file), 0o600);
    let saved: Value = serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("JSON");
    assert!(
        saved["refresh_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    assert_eq!(saved["access_token"], t1.as_str());
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        assert_eq!(
            keyring_accounts(idp.port()),
            Vec::<String>::new(),
            "--store file keeps the login out of the keyring"
        );
    }

    kill_agent(&env);
    env.start_agent(&["--store", "file"]).expect("agent");
    assert_eq!(token(&env, &[]), t1, "restored from the file");
    assert_eq!(idp.token_requests(REFRESH), 0);
    assert_eq!(device_authorizations(&idp), 1);

    std::fs::write(&file, "garbage").expect("corrupt the file");
    kill_agent(&env);
    env.start_agent(&["--store", "file"]).expect("agent");
    let out = env.flyte_auth(&["token"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert_eq!(stdout(&out), "");
    assert!(
        err.contains("could not be read")
            && err.contains(&file.display().to_string())
            && err.contains("flyte-auth login"),
        "says which file is unreadable and what to do: {err}"
    );
    assert!(!err.contains("garbage"), "never quotes the content: {err}");
    let s = first_session(&env);
    assert_eq!(s["state"], "login_required", "the agent lives on: {s}");
    assert!(!file.exists(), "the unreadable file is removed");

    // A login replaces it.
    device_login(&idp, &env);
    assert_eq!(entries(&dir).len(), 1);
    assert_eq!(claims(&token(&env, &[]))["sub"], "alice");
}

#[test]
fn a_corrupt_keyring_item_asks_for_a_login_instead_of_crashing() {
    let (idp, env) = setup(NodeIdpOptions::default());
    device_login(&idp, &env);
    token(&env, &[]);
    let (account, _) = keyring_item(idp.port());
    store_secret(
        &[("service", "flyte-auth"), ("username", &account)],
        "not json",
    );
    assert_eq!(
        keyring_item_raw(idp.port()),
        (account.clone(), "not json".to_owned()),
        "the item itself was overwritten"
    );

    kill_agent(&env);
    let out = env.flyte_auth(&["token"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains("could not be read") && err.contains("flyte-auth login"),
        "{err}"
    );
    assert!(!err.contains("not json"), "never quotes the content: {err}");
    let s = first_session(&env);
    assert_eq!(s["state"], "login_required", "the agent lives on: {s}");
    assert_eq!(
        keyring_accounts(idp.port()),
        Vec::<String>::new(),
        "the unreadable item is removed"
    );

    device_login(&idp, &env);
    assert_eq!(claims(&token(&env, &[]))["sub"], "alice");
    keyring_item(idp.port());
}

// Import

/// A login made without flyte-auth, as flyte-sdk makes it: the device flow against the IdP
/// with the public client. Returns (access token, refresh token).
fn sdk_login(idp: &NodeIdp) -> (String, String) {
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("HTTP client");
    let auth: Value = http
        .post(format!("{}/device/auth", idp.url()))
        .form(&[
            ("client_id", "flytectl"),
            ("scope", "openid offline_access all"),
        ])
        .send()
        .and_then(|r| r.json())
        .expect("device authorization");
    let user_code = auth["user_code"].as_str().expect("user_code");
    let device_code = auth["device_code"].as_str().expect("device_code");
    idp.approve_device(user_code).expect("approve");
    let end = Instant::now() + WAIT;
    loop {
        let body: Value = http
            .post(format!("{}/token", idp.url()))
            .form(&[
                ("grant_type", DEVICE_GRANT),
                ("device_code", device_code),
                ("client_id", "flytectl"),
            ])
            .send()
            .and_then(|r| r.json())
            .expect("token response");
        if let (Some(at), Some(rt)) = (
            body["access_token"].as_str(),
            body["refresh_token"].as_str(),
        ) {
            return (at.to_owned(), rt.to_owned());
        }
        let pending = matches!(
            body["error"].as_str(),
            Some("authorization_pending" | "slow_down")
        );
        assert!(pending && Instant::now() < end, "device token: {body}");
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// `login --import` succeeds as alice, and the session is then flyte-auth's own: served,
/// stored under flyte-auth's name, and restored after a `kill -9`.
fn assert_imported(idp: &NodeIdp, env: &TestEnv, sdk_rt: &str) {
    let out = env.flyte_auth(&["login", "--import"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains(DEVICE_PROMPT), "no new login: {err}");
    let want = format!("Logged in to {} as alice.", idp.url());
    assert!(err.lines().any(|l| l == want), "{want:?} missing: {err}");
    assert_eq!(
        idp.token_requests(REFRESH),
        1,
        "the SDK's refresh token redeemed"
    );
    let t = token(env, &[]);
    assert_eq!(claims(&t)["sub"], "alice");
    let rt = stored_refresh_token(idp.port());
    assert_ne!(rt, sdk_rt, "the rotated token is stored, not the SDK's");

    kill_agent(env);
    assert_eq!(token(env, &[]), t, "the imported login survives a restart");
    assert_eq!(device_authorizations(idp), 1, "only the SDK's own login");
}

#[test]
fn login_import_takes_over_the_flyte_sdk_keyring_item() {
    let (idp, env) = setup(NodeIdpOptions::default());
    let (at, rt) = sdk_login(&idp);
    let host = format!("127.0.0.1:{}", idp.port());
    let item = json!({ "access_token": at, "refresh_token": rt }).to_string();
    store_secret(
        &[
            ("service", &host),
            ("username", "tokens"),
            ("application", "Python keyring library"),
        ],
        &item,
    );
    assert_imported(&idp, &env, &rt);
}

#[test]
fn login_import_takes_over_the_flytekit_keyring_items() {
    let (idp, env) = setup(NodeIdpOptions::default());
    let (at, rt) = sdk_login(&idp);
    let host = format!("127.0.0.1:{}", idp.port());
    for (user, value) in [("access_token", &at), ("refresh_token", &rt)] {
        store_secret(
            &[
                ("service", &host),
                ("username", user),
                ("application", "Python keyring library"),
            ],
            value,
        );
    }
    assert_imported(&idp, &env, &rt);
}

#[test]
fn login_import_with_nothing_to_import_is_exit_4() {
    let (idp, env) = setup(NodeIdpOptions::default());
    let started = Instant::now();
    let out = env.flyte_auth(&["login", "--import"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    let want = format!(
        "no login of flytekit or flyte-sdk for 127.0.0.1:{} found in the keyring",
        idp.port()
    );
    assert!(
        err.contains(&want) && err.contains("flyte-auth login"),
        "{err}"
    );
    assert!(!err.contains(DEVICE_PROMPT), "no login instead: {err}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(idp.token_requests(REFRESH), 0);
    assert_eq!(device_authorizations(&idp), 0);
}

#[test]
fn logout_all_forgets_logins_kept_from_before_the_agent_started() {
    // The file store, not the keyring: `--all` takes every item of the store, and the
    // keyring is shared by the tests running in parallel.
    let (idp, mut env) = setup_with(NodeIdpOptions::default(), &[], &["--store", "file"]);
    device_login(&idp, &env);
    let dir = tokens_dir(&env);
    let file = dir.join(&entries(&dir)[0]);
    let stored: Value = serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("json");
    let rt = stored["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    kill_agent(&env);
    // A new agent that has not used the session: only the store knows about the login.
    env.start_agent(&["--store", "file"]).expect("agent");
    let out = env.flyte_auth(&["logout", "--all"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("Logged out."), "{}", stderr(&out));
    assert!(
        entries(&dir).is_empty(),
        "the stored login must be gone: {:?}",
        entries(&dir)
    );
    assert!(
        !idp.is_token_active(&rt).expect("introspect"),
        "logout --all must revoke the stored refresh token; agent said:\n{}",
        revocation_log(&env)
    );
    let out = env.flyte_auth(&["token"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
}
