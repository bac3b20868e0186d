//! Browser logins that must fail clearly: forged or refused callbacks, timeouts, a busy port.

use super::*;

#[test]
fn a_callback_with_the_wrong_state_fails_the_login() {
    let w = World::new(free_port(), "none", "");
    let mut login = Proc::flyte_auth(&w.env, &["login"]);
    let url = login.browser_url();
    let callback = w.idp.authorize_headless(&url).expect("headless login");
    let forged = with_param(&callback, "state", "forged-state");
    let (status, page) = browser_get(&forged);
    assert_eq!(status, 400, "{page}");
    let done = login.finish();
    assert_eq!(
        done.code,
        Some(4),
        "a failed login is exit 4: {}",
        done.stderr
    );
    assert!(done.stderr.contains("state"), "{}", done.stderr);
    let endpoint = format!("127.0.0.1:{}", w.idp.port());
    assert!(
        done.stderr.contains(&endpoint),
        "names the endpoint: {}",
        done.stderr
    );
    assert_eq!(
        w.idp.token_requests("authorization_code"),
        0,
        "a forged callback's code must not be redeemed"
    );
}

#[test]
fn an_error_callback_from_the_idp_fails_the_login() {
    let w = World::new(free_port(), "none", "");
    let mut login = Proc::flyte_auth(&w.env, &["login"]);
    let url = login.browser_url();
    let state = query(&url, "state").expect("state");
    let denied = format!(
        "{}?error=access_denied&error_description=The+user+said+no&state={state}",
        w.callback()
    );
    let (status, page) = browser_get(&denied);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("The user said no"), "{page}");
    let done = login.finish();
    assert_eq!(
        done.code,
        Some(4),
        "a denied login is exit 4: {}",
        done.stderr
    );
    assert!(done.stderr.contains("access_denied"), "{}", done.stderr);
    // The loopback host is ours; the message must name the endpoint the user logs in to.
    let endpoint = format!("127.0.0.1:{}", w.idp.port());
    assert!(
        done.stderr.contains(&endpoint) && !done.stderr.contains("localhost rejected"),
        "{}",
        done.stderr
    );
    assert!(w.port_released(), "port {} still held", w.port);
}

#[test]
fn a_browser_login_times_out_after_pkce_timeout() {
    let w = World::new(free_port(), "none", "  pkceConfig:\n    timeout: 2s\n");
    let mut login = Proc::flyte_auth(&w.env, &["login"]);
    login.browser_url();
    let shown = Instant::now();
    let done = login.finish_within(Duration::from_secs(10));
    let took = shown.elapsed();
    assert_eq!(done.code, Some(4), "{}", done.stderr);
    assert!(done.stderr.contains("timed out"), "{}", done.stderr);
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(6),
        "timeout 2s, gave up after {took:?}"
    );
    assert!(w.port_released(), "port {} still held", w.port);
}

#[test]
fn a_busy_redirect_port_is_a_clear_config_error() {
    // Held for the whole test: the agent must not silently pick another port, since the IdP
    // only redirects to the advertised one.
    let holder = TcpListener::bind(("127.0.0.1", 0)).expect("bind");
    let port = holder.local_addr().expect("addr").port();
    let w = World::new(port, "none", "");
    let started = Instant::now();
    let done = Proc::flyte_auth(&w.env, &["login"]).finish();
    assert_eq!(done.code, Some(3), "{}", done.stderr);
    assert!(done.stderr.contains(&port.to_string()), "{}", done.stderr);
    assert!(!done.stderr.contains(NOT_OPENED), "{}", done.stderr);
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(holder);
}
