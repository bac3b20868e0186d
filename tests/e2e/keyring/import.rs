//! `flyte-auth login --import`: taking over what flytekit or flyte-sdk left in the keyring.

use super::*;

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
