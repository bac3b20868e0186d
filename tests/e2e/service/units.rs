//! The shipped systemd units: clean under `systemd-analyze verify`, hardened below the agreed
//! exposure, and exactly what `agent install --print` shows.

use flyte_auth_e2e::harness::{TestEnv, stderr, stdout};

use super::{expected_systemd_units, shipped, systemd_analyze};

/// Highest `systemd-analyze --user security --offline=yes` exposure we accept: below 7.5
/// ("EXPOSED"). An agent that starts the user's browser and uses the keyring cannot take
/// the namespace-based settings (see the comment in the service unit); unhardened it is 9.6.
const MAX_EXPOSURE: f64 = 7.5;

/// Writes the units as install renders them into a fresh directory and returns it.
fn rendered(env: &TestEnv) -> std::path::PathBuf {
    let dir = env.dir.path().join("units");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let (socket, service) = expected_systemd_units();
    std::fs::write(dir.join("flyte-auth-agent.socket"), socket).expect("write");
    std::fs::write(dir.join("flyte-auth-agent.service"), service).expect("write");
    dir
}

#[test]
fn units_pass_systemd_analyze_verify_without_any_warning() {
    let env = TestEnv::new();
    let dir = rendered(&env);
    let socket = dir.join("flyte-auth-agent.socket");
    let service = dir.join("flyte-auth-agent.service");
    let out = systemd_analyze(
        &env,
        &[
            "--user",
            "--man=no",
            "verify",
            &socket.display().to_string(),
            &service.display().to_string(),
        ],
    );
    // An unknown key is only a warning with exit 0: any output on stderr fails.
    assert!(out.status.success(), "verify failed: {}", stderr(&out));
    assert_eq!(stderr(&out), "", "verify warned");
}

#[test]
fn service_exposure_is_below_the_agreed_threshold() {
    let env = TestEnv::new();
    let service = rendered(&env).join("flyte-auth-agent.service");
    let out = systemd_analyze(
        &env,
        &[
            "--user",
            "security",
            "--offline=yes",
            &service.display().to_string(),
        ],
    );
    assert!(out.status.success(), "security failed: {}", stderr(&out));
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .expect("an overall exposure line");
    let score: f64 = line
        .split(':')
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("a score");
    println!(
        "systemd-analyze --user security --offline=yes: {}",
        line.trim()
    );
    assert!(
        score < MAX_EXPOSURE,
        "exposure {score} is not below {MAX_EXPOSURE}:\n{text}"
    );
}

#[test]
fn socket_unit_is_private_and_the_service_is_notify_and_restarts() {
    let socket = shipped("systemd/flyte-auth-agent.socket");
    let service = shipped("systemd/flyte-auth-agent.service");
    for line in [
        "ListenStream=%t/flyte-auth/agent.sock",
        "SocketMode=0600",
        "DirectoryMode=0700",
    ] {
        assert!(socket.lines().any(|l| l == line), "socket lacks {line}");
    }
    for line in ["Type=notify", "Restart=on-failure", "NoNewPrivileges=yes"] {
        assert!(service.lines().any(|l| l == line), "service lacks {line}");
    }
    assert!(service.contains("--exit-when-idle "));
    for text in [&socket, &service] {
        assert!(
            text.starts_with("# "),
            "a unit starts with its install comment"
        );
        assert!(text.contains("systemctl --user enable --now flyte-auth-agent.socket"));
    }
}

#[test]
fn install_print_is_the_shipped_units_with_the_agent_path() {
    let mut env = TestEnv::new();
    let config = env.dir.path().join("xdg-config");
    env.set_env("XDG_CONFIG_HOME", &config.display().to_string());
    let out = env.flyte_auth(&["agent", "install", "--print"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (socket, service) = expected_systemd_units();
    assert_eq!(stdout(&out), format!("{socket}{service}"));
    let units = config.join("systemd/user");
    for name in ["flyte-auth-agent.socket", "flyte-auth-agent.service"] {
        let path = units.join(name);
        assert!(
            stderr(&out).contains(&path.display().to_string()),
            "names {}: {}",
            path.display(),
            stderr(&out)
        );
        assert!(!path.exists(), "--print writes nothing");
    }
}
