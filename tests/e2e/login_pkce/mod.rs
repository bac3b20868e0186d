//! Browser (PKCE) logins end to end: the printed link, the agent's loopback server (stray
//! requests, `state`, `error=`, success page), the timeout, a busy port, opening a browser
//! through `FLYTE_AUTH_BROWSER`, and a real headless Chromium when one is installed.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flyte_auth_e2e::harness::{TestEnv, stderr, stdout, wait_until};
use flyte_auth_e2e::node_idp::{NodeIdp, NodeIdpOptions};

use crate::common::{Proc, WAIT, browser_get, claims, free_port, token, write_config};

mod failures;

const NOT_OPENED: &str = "Please open the following link in your browser to authenticate: ";
const OPENED: &str = "Your browser has been opened";

/// A PKCE test world: the node IdP advertising `http://localhost:PORT/callback` with `port`
/// free (or held by the test), a running agent, and an env whose commands have
/// `FLYTE_AUTH_BROWSER=browser` and `extra` config.
struct World {
    idp: NodeIdp,
    env: TestEnv,
    port: u16,
}

impl World {
    fn new(port: u16, browser: &str, extra: &str) -> World {
        let idp = NodeIdp::start(NodeIdpOptions {
            redirect_uri: Some(redirect(port)),
            ..Default::default()
        })
        .expect("node IdP (run `npm ci` in tests/idp)");
        let mut env = TestEnv::new();
        // The agent itself never has a browser: only the client's FLYTE_AUTH_BROWSER (sent
        // with each request) may decide, so set the client's after the agent has started.
        env.set_env("FLYTE_AUTH_BROWSER", "none");
        write_config(&env, idp.port(), extra);
        env.start_agent(&[]).expect("agent");
        env.set_env("FLYTE_AUTH_BROWSER", browser);
        World { idp, env, port }
    }

    fn callback(&self) -> String {
        redirect(self.port)
    }

    /// Whether the agent has released the loopback port (a later login needs it again).
    fn port_released(&self) -> bool {
        wait_until(Duration::from_secs(3), || {
            TcpListener::bind(("127.0.0.1", self.port)).is_ok()
        })
    }
}

fn redirect(port: u16) -> String {
    format!("http://localhost:{port}/callback")
}

fn query(url: &str, key: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Replaces (or adds) `key=value` in `url`'s query.
fn with_param(url: &url::Url, key: &str, value: &str) -> String {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != key)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut out = url.clone();
    out.query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair(key, value);
    out.to_string()
}

/// Writes an executable "browser" into `dir` that records its arguments, one per line.
fn recording_browser(dir: &Path) -> (PathBuf, PathBuf) {
    let args = dir.join("browser-args.txt");
    let script = dir.join("fake-browser.sh");
    let text = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > {}.tmp && mv {}.tmp {}\n",
        args.display(),
        args.display(),
        args.display()
    );
    std::fs::write(&script, text).expect("write browser script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    (script, args)
}

#[test]
fn pkce_login_prints_the_link_and_completes_through_the_loopback_server() {
    let w = World::new(free_port(), "none", "");
    let mut login = Proc::flyte_auth(&w.env, &["login"]);
    let line = login.wait_for(NOT_OPENED);
    let url = login.browser_url();
    assert!(
        line.ends_with(&url),
        "URL on the prompt line itself: {line:?}"
    );
    assert!(url.starts_with(&format!("{}/auth?", w.idp.url())), "{url}");
    assert_eq!(
        query(&url, "redirect_uri").as_deref(),
        Some(w.callback().as_str())
    );
    assert_eq!(
        query(&url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert!(query(&url, "state").is_some_and(|s| s.len() >= 16), "{url}");

    // Browsers ask for a favicon first: a 404, and the login keeps waiting for the callback.
    let (status, _) = browser_get(&format!("http://localhost:{}/favicon.ico", w.port));
    assert_eq!(status, 404);
    let (status, _) = browser_get(&format!("http://127.0.0.1:{}/other", w.port));
    assert_eq!(status, 404);
    std::thread::sleep(Duration::from_millis(300));
    assert!(login.running(), "a stray request ended the login");

    let callback = w.idp.authorize_headless(&url).expect("headless login");
    assert!(callback.as_str().starts_with(&w.callback()), "{callback}");
    let (status, page) = browser_get(callback.as_str());
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Logged in"), "{page}");

    let done = login.finish();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.stdout, "");
    assert!(done.stderr.contains(" as alice."), "{}", done.stderr);
    assert_eq!(claims(&token(&w.env, &[]))["sub"], "alice");
    assert_eq!(w.idp.token_requests("authorization_code"), 1);
    assert!(
        w.port_released(),
        "port {} still held after the login",
        w.port
    );
}

#[test]
fn token_logs_in_through_a_browser_it_can_open_even_without_a_terminal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (browser, args_file) = recording_browser(dir.path());
    // Extra words in FLYTE_AUTH_BROWSER are arguments; the URL comes last.
    let w = World::new(
        free_port(),
        &format!("{} --new-window", browser.display()),
        "",
    );
    let mut tok = Proc::flyte_auth(&w.env, &["token"]);
    tok.wait_for(OPENED);
    assert!(
        wait_until(WAIT, || args_file.is_file()),
        "the browser command never ran; agent log:\n{}",
        w.env.agent_log_text()
    );
    let args = std::fs::read_to_string(&args_file).expect("browser args");
    let args: Vec<&str> = args.lines().collect();
    assert_eq!(args.len(), 2, "{args:?}");
    assert_eq!(args[0], "--new-window");
    let url = args[1];
    assert_eq!(
        tok.browser_url(),
        url,
        "the prompt shows the URL the browser got"
    );
    let callback = w.idp.authorize_headless(url).expect("headless login");
    let (status, _) = browser_get(callback.as_str());
    assert_eq!(status, 200);
    let done = tok.finish();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(
        done.stdout.lines().count(),
        1,
        "only the token on stdout: {:?}",
        done.stdout
    );
    assert_eq!(claims(done.stdout.trim())["sub"], "alice");
}

#[test]
fn token_without_a_terminal_or_a_browser_fails_at_once_and_frees_the_port() {
    let w = World::new(free_port(), "none", "");
    let started = Instant::now();
    let out = w.env.flyte_auth(&["token"]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    let want = format!(
        "not logged in to 127.0.0.1:{}: run `flyte-auth login`",
        w.idp.port()
    );
    assert!(stderr(&out).contains(&want), "{}", stderr(&out));
    assert!(!stderr(&out).contains(NOT_OPENED), "{}", stderr(&out));
    assert!(
        took < Duration::from_secs(3),
        "must fail at once, took {took:?}"
    );

    // The abandoned attempt must not keep the redirect port: a real login works right after.
    assert!(
        w.port_released(),
        "port {} still held by the abandoned login",
        w.port
    );
    let mut login = Proc::flyte_auth(&w.env, &["login", "--browser"]);
    let url = login.browser_url();
    let callback = w.idp.authorize_headless(&url).expect("headless login");
    assert_eq!(browser_get(callback.as_str()).0, 200);
    let done = login.finish();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(w.idp.token_requests("authorization_code"), 1);
}

#[test]
fn pkce_login_with_a_real_headless_chromium() {
    let chromium = Path::new("/usr/bin/chromium");
    if !chromium.is_file() {
        eprintln!(
            "SKIPPED pkce_login_with_a_real_headless_chromium: /usr/bin/chromium is not installed"
        );
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("chromium-headless.sh");
    let text = format!(
        "#!/bin/sh\nexec {} --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
         --disable-background-networking --disable-component-update --disable-sync \
         --user-data-dir=\"$(mktemp -d)\" --dump-dom \"$1\" >/dev/null 2>&1\n",
        chromium.display()
    );
    std::fs::write(&script, text).expect("write script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let w = World::new(free_port(), &script.display().to_string(), "");
    // A real Chromium starting on a loaded 2-core machine can take well over `WAIT`.
    let done = Proc::flyte_auth(&w.env, &["login", "--browser"]).finish_within(WAIT * 6);
    assert_eq!(
        done.code,
        Some(0),
        "{}\nagent log:\n{}",
        done.stderr,
        w.env.agent_log_text()
    );
    assert!(done.stderr.contains(OPENED), "{}", done.stderr);
    assert!(done.stderr.contains(" as alice."), "{}", done.stderr);
    assert_eq!(claims(&token(&w.env, &[]))["sub"], "alice");
}

#[test]
fn concurrent_browser_logins_share_one_flow_and_one_callback() {
    let w = World::new(free_port(), "none", "");
    let mut a = Proc::flyte_auth(&w.env, &["login"]);
    let url = a.browser_url();
    let mut b = Proc::flyte_auth(&w.env, &["login", "--browser"]);
    assert_eq!(b.browser_url(), url, "the second login joins the first");
    let callback = w.idp.authorize_headless(&url).expect("headless login");
    assert_eq!(browser_get(callback.as_str()).0, 200);
    for (name, p) in [("first", a), ("second", b)] {
        let done = p.finish();
        assert_eq!(done.code, Some(0), "{name}: {}", done.stderr);
        assert!(
            done.stderr.contains(" as alice."),
            "{name}: {}",
            done.stderr
        );
    }
    assert_eq!(w.idp.token_requests("authorization_code"), 1);
}

#[test]
fn a_browser_login_whose_only_client_left_is_cancelled_and_frees_the_port() {
    let w = World::new(free_port(), "none", "");
    let mut a = Proc::flyte_auth(&w.env, &["login"]);
    let first = a.browser_url();
    a.kill();
    assert!(
        wait_until(Duration::from_secs(8), || w
            .env
            .agent_log_text()
            .contains("login cancelled")),
        "never cancelled; log:\n{}",
        w.env.agent_log_text()
    );
    assert!(
        w.port_released(),
        "port {} still held by the cancelled login",
        w.port
    );
    // The old URL is dead; a new login gets a new state and completes.
    let mut b = Proc::flyte_auth(&w.env, &["login"]);
    let second = b.browser_url();
    assert_ne!(query(&second, "state"), query(&first, "state"));
    let callback = w.idp.authorize_headless(&second).expect("headless login");
    assert_eq!(browser_get(callback.as_str()).0, 200);
    let done = b.finish();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
}

#[test]
fn a_browser_command_that_fails_counts_as_no_browser() {
    let w = World::new(free_port(), "false", "");
    let started = Instant::now();
    let out = w.env.flyte_auth(&["token"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("run `flyte-auth login`"),
        "{}",
        stderr(&out)
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // A human at `flyte-auth login` is told to open the link instead.
    let mut login = Proc::flyte_auth(&w.env, &["login"]);
    login.wait_for(NOT_OPENED);
}

#[test]
fn token_at_a_terminal_shows_the_link_and_prints_only_the_token() {
    let w = World::new(free_port(), "none", "");
    let out_file = w.env.dir.path().join("token.out");
    let Some(mut tok) = Proc::pty(&w.env, &["token"], &out_file) else {
        eprintln!(
            "SKIPPED token_at_a_terminal_shows_the_link_and_prints_only_the_token: no `script`"
        );
        return;
    };
    tok.wait_for(NOT_OPENED);
    let url = tok.browser_url();
    let callback = w.idp.authorize_headless(&url).expect("headless login");
    assert_eq!(browser_get(callback.as_str()).0, 200);
    let done = tok.finish();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let printed = std::fs::read_to_string(&out_file).expect("token output");
    assert_eq!(
        printed.lines().count(),
        1,
        "stdout is the token alone: {printed:?}"
    );
    assert_eq!(claims(printed.trim())["sub"], "alice");
}
