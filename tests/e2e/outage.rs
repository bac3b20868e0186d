//! IdP outages on a real schedule: a minute-long outage costs a bounded number of jittered
//! calls and the agent recovers within one backoff step; a stalled IdP holds no client for
//! its timeout (a still-valid token is served with a warning, else the client fails fast);
//! sessions that never got a token are forgotten and their memory reused.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use flyte_auth::Client;
use flyte_auth_e2e::fake_idp::{FakeIdp, Outage};
use flyte_auth_e2e::harness::{TestEnv, stderr, stdout, wait_until};
use flyte_auth_proto::{AuthMode, Profile, Secret};

use crate::common::{free_port, token, use_api_key};

/// Longest the agent waits between attempts once no valid token is left (its
/// `EXPIRED_BACKOFF_MAX`): one backoff step.
const STEP: Duration = Duration::from_secs(12);

/// One `flyte-auth token` run of the client loop: when it ended, and how.
struct Attempt {
    at: Instant,
    ok: bool,
    stderr: String,
}

/// Runs `flyte-auth token --min-valid 1s` back to back (a short pause between runs) until
/// `stop` is set.
fn client_loop(env: Arc<TestEnv>, stop: Arc<AtomicBool>) -> thread::JoinHandle<Vec<Attempt>> {
    thread::spawn(move || {
        let mut attempts = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let out = env.flyte_auth(&["token", "--min-valid", "1s"]);
            attempts.push(Attempt {
                at: Instant::now(),
                ok: out.status.success() && !stdout(&out).trim().is_empty(),
                stderr: stderr(&out),
            });
            thread::sleep(Duration::from_millis(200));
        }
        attempts
    })
}

#[test]
fn a_minute_long_outage_costs_few_jittered_calls_and_recovery_takes_one_step() {
    let idp = FakeIdp::start().expect("fake IdP");
    idp.set_token_ttl(20);
    let mut env = TestEnv::new();
    use_api_key(&mut env, &idp.url(), "ci-client", "ci-secret");
    env.start_agent(&[]).expect("agent");
    token(&env, &["--min-valid", "1s"]);
    let env = Arc::new(env);

    // 60 s down, spanning the 20 s token's refresh and expiry: 20 s refused, 20 s stalled,
    // 20 s of HTTP 500, while two clients ask for a token all the time.
    let start = Instant::now();
    idp.set_outage(Some(Outage::Refused));
    let stop = Arc::new(AtomicBool::new(false));
    let loops: Vec<_> = (0..2)
        .map(|_| client_loop(env.clone(), stop.clone()))
        .collect();
    thread::sleep(Duration::from_secs(20));
    idp.set_outage(Some(Outage::Stall));
    thread::sleep(Duration::from_secs(20));
    idp.set_outage(Some(Outage::ServerError));
    thread::sleep(Duration::from_secs(20));
    let end = Instant::now();
    idp.set_outage(None);
    let recovered = wait_until(STEP + Duration::from_secs(20), || {
        idp.call_times().iter().any(|&t| t > end) && token_now(&env)
    });
    stop.store(true, Ordering::Relaxed);
    let attempts: Vec<Attempt> = loops
        .into_iter()
        .flat_map(|l| l.join().expect("client loop"))
        .collect();

    let calls: Vec<Duration> = idp
        .call_times()
        .into_iter()
        .filter(|&t| t >= start && t <= end)
        .map(|t| t - start)
        .collect();
    let gaps: Vec<Duration> = calls.windows(2).map(|w| w[1] - w[0]).collect();
    eprintln!(
        "IdP calls during the 60 s outage: {} at {calls:?}; gaps {gaps:?}",
        calls.len()
    );
    let log = env.agent_log_text();
    assert!(recovered, "the agent never recovered; log:\n{log}");
    assert!(
        calls.len() <= 12,
        "{} IdP calls in a 60 s outage: {calls:?}",
        calls.len()
    );
    assert!(calls.len() >= 3, "the agent hardly tried: {calls:?}");
    let spread = gaps.iter().max().copied().unwrap_or_default()
        - gaps.iter().min().copied().unwrap_or_default();
    assert!(
        spread > Duration::from_millis(100),
        "gaps between calls all equal: {gaps:?}"
    );
    // Clients that asked while the agent waited were told when it tries next.
    assert!(
        attempts
            .iter()
            .any(|a| !a.ok && a.stderr.contains("next try in")),
        "no client was told when the next try is: {:?}",
        attempts.iter().map(|a| &a.stderr).collect::<Vec<_>>()
    );
    // The first success after the outage came within one backoff step (plus a client pause).
    let first_ok = attempts
        .iter()
        .filter(|a| a.ok && a.at > end)
        .map(|a| a.at)
        .min();
    let first_call_after = idp.call_times().into_iter().find(|&t| t > end);
    eprintln!(
        "recovery: first IdP call {:?}, first token {:?} after the outage ended",
        first_call_after.map(|t| t - end),
        first_ok.map(|t| t - end)
    );
    let took = first_ok.map_or(Duration::MAX, |t| t - end);
    assert!(
        took <= STEP + Duration::from_secs(3),
        "recovery took {took:?} after the outage; log:\n{log}"
    );
}

/// Whether `flyte-auth token` succeeds right now.
fn token_now(env: &TestEnv) -> bool {
    env.flyte_auth(&["token", "--min-valid", "1s"])
        .status
        .success()
}

#[test]
fn a_stalled_idp_serves_the_still_valid_token_with_a_warning() {
    let idp = FakeIdp::start().expect("fake IdP");
    idp.set_token_ttl(12);
    let mut env = TestEnv::new();
    use_api_key(&mut env, &idp.url(), "ci-client", "ci-secret");
    // A long HTTP timeout: a client that waited for the stalled refresh would wait 30 s.
    env.start_agent(&["--http-timeout-secs", "30"])
        .expect("agent");
    let first = token(&env, &["--min-valid", "1s"]);
    idp.set_outage(Some(Outage::Stall));
    // Past half its life, the token no longer meets the default `--min-valid` (60 s, or half
    // the lifetime for short-lived tokens), but it is still valid for ~5 s.
    thread::sleep(Duration::from_millis(6500));
    let asked = Instant::now();
    let out = env.flyte_auth(&["token"]);
    let took = asked.elapsed();
    eprintln!("answered in {took:?} with the IdP stalled");
    let err = stderr(&out);
    assert!(
        out.status.success(),
        "exit {:?}: {err}\nlog:\n{}",
        out.status,
        env.agent_log_text()
    );
    assert_eq!(stdout(&out).trim_end(), first, "the still-valid token");
    assert!(
        err.contains("warning:") && err.contains("valid for"),
        "the user is told the token is short-lived: {err}"
    );
    assert!(
        took < Duration::from_secs(15),
        "answered only after {took:?}: it waited for the stalled IdP"
    );

    // Once nothing valid is left, a client fails fast instead of sitting out the timeout.
    thread::sleep(Duration::from_secs(6));
    let asked = Instant::now();
    let out = env.flyte_auth(&["token"]);
    let took = asked.elapsed();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(err.contains("no answer"), "{err}");
    assert!(
        took < Duration::from_secs(15),
        "failed only after {took:?}: it waited for the stalled IdP"
    );
    eprintln!("failed in {took:?} with the IdP stalled and the token expired");
}

/// Resident memory of `pid` in KiB.
fn rss_kib(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Asks for a token for `n` endpoints nobody listens on (typos), numbered from `first`;
/// every request must fail.
fn typo_sessions(env: &TestEnv, port: u16, first: u32, n: u32) {
    let mut client = Client::connect(&env.socket).expect("connect");
    for i in first..first + n {
        // All of 127.0.0.0/8 is loopback: distinct hosts, each refusing at once.
        let host = format!("http://127.0.{}.{}:{port}", 1 + i / 250, 1 + i % 250);
        let mut profile = Profile::new(host, AuthMode::ClientSecret);
        profile.insecure = true;
        profile.client_id = Some("ci-client".into());
        profile.client_secret = Some(Secret::new("ci-secret"));
        let r = client.get_token(&profile, Duration::from_secs(1), false, &mut |_| {});
        assert!(r.is_err(), "a token from an endpoint nobody serves");
    }
}

/// How many sessions the agent lists, if `status` answers (it cannot list more than fit in
/// one frame).
fn listed_sessions(env: &TestEnv) -> Option<usize> {
    let mut client = Client::connect(&env.socket).ok()?;
    client.status().ok().map(|r| r.sessions.len())
}

#[test]
fn sessions_that_never_got_a_token_are_forgotten_and_their_memory_reused() {
    let mut env = TestEnv::new();
    // Long enough that a whole round is listed at once, even on a loaded machine.
    let pid = env
        .start_agent(&["--forget-failed-secs", "5"])
        .expect("agent");
    let port = free_port();
    // As many as one `status` frame can list.
    let n: u32 = std::env::var("OUTAGE_TYPO_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(180);
    let before = rss_kib(pid);
    let mut peaks = Vec::new();
    for round in 0..3 {
        typo_sessions(&env, port, round * n, n);
        peaks.push(rss_kib(pid));
        if round == 0 && n <= 180 {
            assert_eq!(listed_sessions(&env), Some(n as usize));
        }
        let gone = wait_until(Duration::from_secs(30), || listed_sessions(&env) == Some(0));
        assert!(gone, "round {round}: failed sessions still listed");
    }
    let after = rss_kib(pid);
    eprintln!(
        "agent RSS with {n} never-obtained sessions per round: {before} KiB before, peaks {peaks:?} KiB, {after} KiB after removal"
    );
    // Memory of removed sessions is reused: once the allocator has warmed up (two rounds
    // here), another round costs next to nothing; kept sessions would cost ~15 KiB each.
    let third_round = peaks[2].saturating_sub(peaks[1]);
    assert!(
        third_round < u64::from(n) * 15 / 3,
        "RSS keeps growing with failed sessions: {before} KiB, then {peaks:?} KiB"
    );
}
