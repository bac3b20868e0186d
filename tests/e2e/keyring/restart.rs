//! Logins survive `kill -9`: restored from the keyring, rotated tokens never lost.

use super::*;

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
