//! A burst: a thousand `flyte-auth token` processes at once against an agent with far fewer
//! connection slots. Those refused "busy" retry with jittered backoff, so every one of them
//! gets its token.

use std::process::Stdio;
use std::time::Instant;

use flyte_auth_e2e::fake_idp::FakeIdp;
use flyte_auth_e2e::harness::{TestEnv, bin};

use crate::common::{token, use_api_key};

/// Processes started at once.
const BURST: usize = 1_000;

/// Connection slots of the agent: far fewer than the burst, so that many are refused.
const SLOTS: &str = "64";

#[test]
fn a_thousand_simultaneous_token_processes_all_succeed() {
    let idp = FakeIdp::start().expect("fake IdP");
    let mut env = TestEnv::new();
    use_api_key(&mut env, &idp.url(), "ci-client", "ci-secret");
    env.start_agent(&["--max-connections", SLOTS])
        .expect("agent");
    let expected = token(&env, &[]);

    // Each child writes to its own files: a thousand pipes would exhaust our descriptors.
    let out_dir = env.dir.path().join("burst");
    std::fs::create_dir_all(&out_dir).expect("mkdir");
    // The start line: every child waits (`flock -s`) for a shared lock on a file we hold
    // exclusively, so that all of them ask at the same moment once we let go, rather than
    // trickling in as fast as we can spawn them.
    let gate_path = env.dir.path().join("start.lock");
    let gate = std::fs::File::create(&gate_path).expect("lock file");
    gate.lock().expect("hold the start line");
    let children: Vec<_> = (0..BURST)
        .map(|i| {
            let out = std::fs::File::create(out_dir.join(format!("{i}.out"))).expect("out");
            let err = std::fs::File::create(out_dir.join(format!("{i}.err"))).expect("err");
            let mut c = env.command_for(std::path::Path::new("flock"));
            c.arg("-s")
                .arg(&gate_path)
                .arg(bin("flyte-auth"))
                .arg("token")
                .stdout(Stdio::from(out))
                .stderr(Stdio::from(err))
                .spawn()
                .expect("spawn flock flyte-auth")
        })
        .collect();
    // Not a timing assertion: a moment for the last ones to reach the line makes the burst
    // sharper; a late child simply runs at once.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let started = Instant::now();
    gate.unlock().expect("open the start line");
    let mut failures = Vec::new();
    for (i, mut c) in children.into_iter().enumerate() {
        let status = c.wait().expect("wait");
        let out = std::fs::read_to_string(out_dir.join(format!("{i}.out"))).unwrap_or_default();
        if !status.success() || out.trim_end() != expected {
            let err = std::fs::read_to_string(out_dir.join(format!("{i}.err")));
            failures.push(format!(
                "#{i}: {status}: {}",
                err.unwrap_or_default().trim()
            ));
        }
    }
    // How often the agent said "busy" (how sharp this run was; an agent that makes room
    // instead of refusing may say it rarely).
    let refusals = env
        .agent_log_text()
        .matches("connection limit reached")
        .count();
    eprintln!(
        "{BURST} simultaneous token processes, {SLOTS} agent slots: {} failed, {refusals} busy \
         refusals, {:.1} s",
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {BURST} failed; first: {:?}",
        failures.len(),
        failures.iter().take(3).collect::<Vec<_>>()
    );
}
