//! A dying agent: `kill -9` while clients ask. A client whose agent vanishes before its answer
//! (reset, broken pipe, end of stream) asks once more through connect-or-start, which starts
//! a new agent; no request fails.

use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use flyte_auth_e2e::fake_idp::{FakeIdp, Fault};
use flyte_auth_e2e::harness::{TestEnv, bin, stderr, wait_until};

use crate::common::use_api_key;

/// The pid of the agent serving `env`, if one answers.
fn agent_pid(env: &TestEnv) -> Option<u32> {
    flyte_auth::Client::connect(&env.socket)
        .ok()
        .map(|c| c.agent_pid())
}

fn kill_9(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status();
}

/// An environment whose agents the clients start themselves, for an API key at `idp`.
fn auto_start_env(idp: &FakeIdp) -> TestEnv {
    let mut env = TestEnv::new();
    use_api_key(&mut env, &idp.url(), "ci-client", "ci-secret");
    env
}

fn spawn_token(env: &TestEnv) -> Child {
    env.command("flyte-auth")
        .arg("token")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn flyte-auth")
}

#[test]
fn a_request_in_flight_when_the_agent_is_killed_is_answered_by_a_new_one() {
    let idp = FakeIdp::start().expect("fake IdP");
    let env = auto_start_env(&idp);
    // The IdP stalls, so the request is surely in flight inside the agent when it dies.
    idp.set_fault(Fault::Delay(Duration::from_secs(30)));
    let client = spawn_token(&env);
    assert!(
        wait_until(Duration::from_secs(20), || idp.token_requests() >= 1),
        "the agent never asked the IdP"
    );
    let pid = agent_pid(&env).expect("agent pid");
    idp.set_fault(Fault::None);
    kill_9(pid);
    let out = client.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}: {}\nagent log:\n{}",
        out.status,
        stderr(&out),
        env.agent_log_text()
    );
    assert!(!out.stdout.is_empty());
    let new = agent_pid(&env).expect("a new agent serves");
    assert_ne!(new, pid);
}

#[test]
fn fifty_clients_right_after_a_kill_9_all_succeed() {
    let idp = FakeIdp::start().expect("fake IdP");
    let env = auto_start_env(&idp);
    crate::common::token(&env, &[]);
    let pid = agent_pid(&env).expect("agent pid");
    // The clients are lined up first and let go the moment the signal is sent, so that
    // they meet the agent while it dies: connections reset, then refused, then a race to
    // start the next one.
    let line = env.dir.path().join("start.lock");
    let gate = std::fs::File::create(&line).expect("lock file");
    gate.lock().expect("hold the start line");
    let children: Vec<Child> = (0..50)
        .map(|_| {
            env.command_for(std::path::Path::new("flock"))
                .arg("-s")
                .arg(&line)
                .arg(bin("flyte-auth"))
                .arg("token")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn flock flyte-auth")
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    kill_9(pid);
    gate.unlock().expect("open the start line");
    let failed: Vec<String> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait"))
        .filter(|o| !o.status.success() || o.stdout.is_empty())
        .map(|o| format!("{}: {}", o.status, stderr(&o)))
        .collect();
    assert!(
        failed.is_empty(),
        "{} of 50 failed: {failed:?}",
        failed.len()
    );
}

#[test]
fn requests_never_fail_while_the_agent_is_killed_every_second() {
    const RUN: Duration = Duration::from_secs(30);
    let idp = FakeIdp::start().expect("fake IdP");
    let env = Arc::new(auto_start_env(&idp));
    let stop = Arc::new(AtomicBool::new(false));
    let kills = Arc::new(AtomicUsize::new(0));
    let killer = {
        let (env, stop, kills) = (env.clone(), stop.clone(), kills.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_secs(1));
                if let Some(pid) = agent_pid(&env) {
                    kill_9(pid);
                    kills.fetch_add(1, Ordering::AcqRel);
                }
            }
        })
    };
    // Two request loops, so that kills land during hellos and requests alike.
    let loops: Vec<_> = (0..2)
        .map(|_| {
            let env = env.clone();
            std::thread::spawn(move || {
                let (mut ok, mut failed) = (0usize, Vec::new());
                let end = Instant::now() + RUN;
                while Instant::now() < end {
                    let out = spawn_token(&env).wait_with_output().expect("wait");
                    if out.status.success() && !out.stdout.is_empty() {
                        ok += 1;
                    } else {
                        failed.push(format!("{}: {}", out.status, stderr(&out)));
                    }
                    // Leave the other tests of a parallel run some of the machine.
                    std::thread::sleep(Duration::from_millis(10));
                }
                (ok, failed)
            })
        })
        .collect();
    let mut ok = 0;
    let mut failed = Vec::new();
    for l in loops {
        let (o, f) = l.join().expect("request loop");
        ok += o;
        failed.extend(f);
    }
    stop.store(true, Ordering::Release);
    killer.join().expect("killer");
    let kills = kills.load(Ordering::Acquire);
    eprintln!(
        "{ok} requests succeeded, {} failed, {kills} kill -9s",
        failed.len()
    );
    assert!(kills >= 10, "the agent was killed only {kills} times");
    assert!(
        failed.is_empty(),
        "{} requests failed: {:?}",
        failed.len(),
        failed.iter().take(3).collect::<Vec<_>>()
    );
}
