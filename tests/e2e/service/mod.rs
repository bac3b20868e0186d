//! The agent under a service manager: the shipped systemd units and launchd plist, `flyte-auth
//! agent install|uninstall|status` against fake `systemctl`/`launchctl`, real socket
//! activation through `systemd-socket-activate`, and replacing a killed agent.
//!
//! No systemd runs on the test machines, so `systemd-analyze` checks the units offline and
//! `systemd-socket-activate` passes the socket exactly as systemd would (`LISTEN_FDS`).

mod activation;
mod install;
mod launchd;
mod units;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use flyte_auth_e2e::harness::{TestEnv, bin};

/// The repository's root (the e2e package lives in `tests/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_owned()
}

/// A shipped file, e.g. `systemd/flyte-auth-agent.service`.
pub fn shipped(rel: &str) -> String {
    std::fs::read_to_string(repo_root().join(rel)).expect("shipped unit file")
}

/// The agent path written in the shipped units, which install replaces.
pub const AGENT_PLACEHOLDER: &str = "/usr/local/bin/flyte-auth-agent";

/// The agent binary under test, as install finds it (next to `flyte-auth`).
pub fn agent_bin() -> String {
    bin("flyte-auth-agent").display().to_string()
}

/// The shipped systemd units with the agent path substituted: what install must write.
pub fn expected_systemd_units() -> (String, String) {
    let socket = shipped("systemd/flyte-auth-agent.socket");
    let service =
        shipped("systemd/flyte-auth-agent.service").replace(AGENT_PLACEHOLDER, &agent_bin());
    (socket, service)
}

/// A fake service-manager tool: a script `name` in `dir` that appends its arguments to
/// `dir/name.log`, then runs `body` (shell).
pub fn fake_tool(dir: &Path, name: &str, body: &str) {
    std::fs::create_dir_all(dir).expect("mkdir");
    let log = dir.join(format!("{name}.log"));
    let script = format!("#!/bin/sh\necho \"$*\" >> '{}'\n{body}\n", log.display());
    let path = dir.join(name);
    std::fs::write(&path, script).expect("write fake tool");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// What the fake tool `name` in `dir` was called with, one call per line.
pub fn calls(dir: &Path, name: &str) -> Vec<String> {
    std::fs::read_to_string(dir.join(format!("{name}.log")))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `flyte-auth ARGS` with `dir` first on PATH (or as the whole PATH when `only`).
pub fn flyte_auth_with_path(
    env: &TestEnv,
    dir: &Path,
    only: bool,
    args: &[&str],
) -> std::process::Output {
    let path = if only {
        dir.display().to_string()
    } else {
        format!(
            "{}:{}",
            dir.display(),
            std::env::var("PATH").unwrap_or_default()
        )
    };
    env.command("flyte-auth")
        .env("PATH", path)
        .args(args)
        .output()
        .expect("run flyte-auth")
}

/// `systemd-analyze ARGS` with a private runtime dir, which `--user` needs.
pub fn systemd_analyze(env: &TestEnv, args: &[&str]) -> std::process::Output {
    Command::new("systemd-analyze")
        .args(args)
        .env("XDG_RUNTIME_DIR", &env.runtime)
        .env("HOME", &env.home)
        .output()
        .expect("systemd-analyze (apt-get install systemd; scripts/setup.sh does)")
}
