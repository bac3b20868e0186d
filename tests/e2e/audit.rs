//! The optional audit log: one JSON line per request with who asked (from the socket's
//! credentials), the session and the outcome, never a token or secret; off by default;
//! bounded by rotation.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use flyte_auth_e2e::fake_idp::FakeIdp;
use flyte_auth_e2e::harness::{TestEnv, stderr, stdout, wait_until};
use flyte_auth_proto::frame::write_message;
use flyte_auth_proto::{Request, Response};

use crate::common::{api_key, status, token, use_api_key};
use crate::wire::{connect_hello, read};

/// The agent's rotation size (agent::audit::MAX_BYTES).
const MAX_BYTES: u64 = 1024 * 1024;

fn audit_path(env: &TestEnv) -> PathBuf {
    env.home.join(".local/state/flyte-auth/audit.jsonl")
}

fn lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every audit line is JSON"))
        .collect()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).map_or(0, |m| m.permissions().mode() & 0o777)
}

#[test]
fn the_audit_log_names_peer_session_and_outcome_and_never_a_secret() {
    let idp = FakeIdp::start().expect("fake IdP");
    let mut env = TestEnv::new();
    use_api_key(&mut env, &idp.url(), "ci-client", "ci-secret");
    env.start_agent(&["--audit-log", "--store", "memory"])
        .expect("agent");
    let tok = token(&env, &[]);
    let bad = env
        .command("flyte-auth")
        .arg("token")
        .env(
            "FLYTE_API_KEY",
            api_key("idp.invalid", "intruder", "wrong-secret-42", "None"),
        )
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(6), "{}", stderr(&bad));
    let report = status(&env);
    let path = audit_path(&env);
    assert_eq!(report["audit_log"], path.display().to_string());
    let human = env.flyte_auth(&["status"]);
    assert!(
        stdout(&human).contains(&format!("audit log: {}", path.display())),
        "{}",
        stdout(&human)
    );

    assert!(
        wait_until(Duration::from_secs(10), || lines(&path).len() >= 4),
        "{:?}",
        lines(&path)
    );
    let text = std::fs::read_to_string(&path).expect("audit log");
    for secret in [tok.as_str(), "ci-secret", "wrong-secret-42"] {
        assert!(!text.contains(secret), "a secret in the audit log:\n{text}");
    }
    let all = lines(&path);
    let gets: Vec<_> = all.iter().filter(|l| l["request"] == "get_token").collect();
    assert_eq!(gets.len(), 2, "{all:?}");
    let uid = flyte_auth_proto::paths::current_uid();
    for l in &gets {
        assert_eq!(l["peer"]["uid"], uid, "{l}");
        assert!(l["peer"]["pid"].as_i64().is_some_and(|p| p > 0), "{l}");
        assert!(
            l["peer"]["exe"]
                .as_str()
                .is_some_and(|e| e.ends_with("/flyte-auth")),
            "the executable comes from /proc: {l}"
        );
        assert_eq!(l["endpoint"], idp.url(), "{l}");
        assert_eq!(l["mode"], "ClientSecret", "{l}");
        assert!(l["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{l}");
    }
    assert_eq!(gets[0]["outcome"], "ok");
    assert_eq!(gets[1]["outcome"], "idp_rejected");
    assert!(all.iter().any(|l| l["request"] == "status"), "{all:?}");
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().expect("dir")), 0o700);
    // The agent's last request is written before it exits.
    env.stop_agent();
    assert!(
        wait_until(Duration::from_secs(10), || lines(&path)
            .iter()
            .any(|l| l["request"] == "shutdown" && l["outcome"] == "ok")),
        "{:?}",
        lines(&path)
    );
}

#[test]
fn the_audit_log_is_off_by_default_and_rotates_at_its_bound() {
    let idp = FakeIdp::start().expect("fake IdP");
    let mut env = TestEnv::new();
    use_api_key(&mut env, &idp.url(), "ci-client", "ci-secret");
    env.start_agent(&["--store", "memory"]).expect("agent");
    token(&env, &[]);
    assert!(status(&env)["audit_log"].is_null());
    assert!(!audit_path(&env).exists(), "off unless asked for");
    env.stop_agent();

    // FLYTE_AUTH_AUDIT=1 turns it on too; enough requests to pass the bound.
    let mut env = TestEnv::new();
    env.set_env("FLYTE_AUTH_AUDIT", "1");
    env.start_agent(&["--store", "memory"]).expect("agent");
    let mut s = connect_hello(&env);
    let path = audit_path(&env);
    let mut old = path.clone().into_os_string();
    old.push(".1");
    let old = PathBuf::from(old);
    for _ in 0..10_000 {
        write_message(&mut s, &Request::Status).expect("write");
        assert!(matches!(read(&mut s), Response::Status(_)));
    }
    // Stopping flushes the writer: the sizes below are final, not caught mid-write.
    env.stop_agent();
    assert!(
        wait_until(Duration::from_secs(10), || old.exists()),
        "rotated once past {MAX_BYTES} bytes"
    );
    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    assert!(size(&path) <= MAX_BYTES && size(&old) <= MAX_BYTES);
    assert!(size(&old) > MAX_BYTES / 2, "{}", size(&old));
    assert_eq!(mode(&old), 0o600);
    // Status lines, and (if the writer fell behind this flood) notes of how many it dropped.
    let old_lines = lines(&old);
    assert!(
        !old_lines.is_empty()
            && old_lines
                .iter()
                .all(|l| l["request"] == "status" || l["dropped"].is_u64()),
        "{:?}",
        old_lines.iter().find(|l| l["request"] != "status")
    );
}
