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

mod import;
mod logout;
mod restart;
mod stores;

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
