//! Benchmark: how fast a warm agent serves tokens, whole process and in process. Prints
//! figures; asserts nothing (behaviour is the tests' job). Run with `bash scripts/bench.sh`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use flyte_auth::Client;
use flyte_auth::proto::{AuthMode, Profile, Secret};
use flyte_auth_e2e::fake_idp::FakeIdp;
use flyte_auth_e2e::harness::TestEnv;

fn main() -> anyhow::Result<()> {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(300);
    let idp = FakeIdp::start()?;
    let mut env = TestEnv::new();
    let host = idp.url().trim_start_matches("http://").to_owned();
    env.start_agent(&[])?;

    let mut profile = Profile::new(idp.url(), AuthMode::ClientSecret);
    profile.insecure = true;
    profile.client_id = Some("ci-client".into());
    profile.client_secret = Some(Secret::new("ci-secret"));
    let mut client = Client::connect(&env.socket)?;
    let min_valid = Duration::from_secs(60);
    client.get_token(&profile, min_valid, false, &mut |_| {})?; // warm the session

    let inproc = measure(runs * 10, || {
        let mut c = Client::connect(&env.socket).expect("connect");
        c.get_token(&profile, min_valid, false, &mut |_| {})
            .expect("token");
    });
    report("in-process connect + hello + get_token", &inproc);

    let mut conn = Client::connect(&env.socket)?;
    let reuse = measure(runs * 10, || {
        conn.get_token(&profile, min_valid, false, &mut |_| {})
            .expect("token");
    });
    report("get_token on an open connection", &reuse);

    let key = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        "idp.invalid:ci-client:ci-secret:None",
    );
    let whole = measure(runs, || {
        let out = env
            .command("flyte-auth")
            .args(["token", "--endpoint", &host, "--insecure"])
            .env("FLYTE_API_KEY", &key)
            .stderr(Stdio::inherit())
            .output()
            .expect("run flyte-auth");
        assert!(out.status.success());
    });
    report("whole process `flyte-auth token` (warm agent)", &whole);
    println!(
        "IdP token requests during the benchmark: {}",
        idp.token_requests()
    );

    if let Some(ssh) = ssh_agent_baseline(runs, env.dir.path()) {
        report("baseline: whole process `ssh-add -l` (ssh-agent)", &ssh);
    }
    Ok(())
}

fn measure(n: usize, mut f: impl FnMut()) -> Vec<Duration> {
    let mut v: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    v.sort();
    v
}

fn report(what: &str, v: &[Duration]) {
    let pct = |p: f64| v[((v.len() as f64 - 1.0) * p) as usize];
    let mean = v.iter().sum::<Duration>() / v.len().max(1) as u32;
    println!(
        "{what}: n={} mean={:.3}ms p50={:.3}ms p90={:.3}ms p99={:.3}ms",
        v.len(),
        ms(mean),
        ms(pct(0.5)),
        ms(pct(0.9)),
        ms(pct(0.99))
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `ssh-add -l` against a fresh ssh-agent, if both are installed: the peer to beat.
fn ssh_agent_baseline(runs: usize, dir: &Path) -> Option<Vec<Duration>> {
    let sock = dir.join("ssh-agent.sock");
    let mut agent = Command::new("ssh-agent")
        .args(["-D", "-a"])
        .arg(&sock)
        .stdout(Stdio::null())
        .spawn()
        .ok()?;
    let ready = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        sock.exists()
    });
    let result = ready.then(|| {
        measure(runs, || {
            let _ = Command::new("ssh-add")
                .arg("-l")
                .env("SSH_AUTH_SOCK", &sock)
                .output();
        })
    });
    let _ = agent.kill();
    let _ = agent.wait();
    result
}
