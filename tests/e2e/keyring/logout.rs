//! Logout revokes the refresh token at the IdP and removes the stored login.

use super::stores::{entries, tokens_dir};
use super::*;

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
