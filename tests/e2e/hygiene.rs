//! Process hygiene: another process of the agent's own user cannot read the agent's
//! environment or memory, and neither the agent nor the client writes a core file.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use std::time::Duration;

use flyte_auth_e2e::harness::{bin, stderr, stdout, wait_until};

use crate::common::api_key;

/// The unprivileged user the agent and the prying process run as.
const NOBODY: u32 = 65534;
/// Put in the agent's environment (as `FLYTE_API_KEY`): what a prying process is after.
const MARKER: &str = "hygiene-marker-secret";

/// `setpriv` to `nobody`, with a clean environment.
fn as_nobody(program: &Path) -> Command {
    let mut c = Command::new("setpriv");
    c.args([
        format!("--reuid={NOBODY}"),
        format!("--regid={NOBODY}"),
        "--clear-groups".into(),
    ])
    .arg(program)
    .env_clear()
    .env("PATH", std::env::var_os("PATH").unwrap_or_default())
    .stdin(Stdio::null());
    c
}

/// Kills the agent when the test ends, pass or fail.
struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `cat PATH` as `nobody`.
fn cat_as_nobody(path: &str) -> Output {
    as_nobody(Path::new("/usr/bin/cat"))
        .arg(path)
        .output()
        .expect("setpriv cat")
}

#[test]
fn the_agents_own_user_cannot_read_its_environment_or_memory_and_it_dumps_no_core() {
    if flyte_auth_proto::paths::current_uid() != 0 {
        eprintln!("skipping: needs root to run the agent as another user");
        return;
    }
    // A world for `nobody`: HOME and a 0700 runtime dir it owns.
    let dir = tempfile::Builder::new()
        .prefix("fa-hyg")
        .tempdir()
        .expect("temp dir");
    let (home, run) = (dir.path().join("home"), dir.path().join("run"));
    for d in [&home, &run] {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    for d in [dir.path(), &home, &run] {
        std::os::unix::fs::chown(d, Some(NOBODY), Some(NOBODY)).expect("chown");
    }
    std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .expect("chmod");
    let socket = run.join("flyte-auth").join("agent.sock");
    let log = dir.path().join("agent.log");

    // Core dumps allowed where the agent starts, so only the agent itself can turn them off
    // (this machine's default soft limit may already be 0).
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "ulimit -c unlimited && exec \"$@\"", "sh", "setpriv"])
        .args([
            format!("--reuid={NOBODY}"),
            format!("--regid={NOBODY}"),
            "--clear-groups".into(),
        ])
        .arg(bin("flyte-auth-agent"))
        .args(["--ready-stdout", "--store", "memory"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("XDG_RUNTIME_DIR", &run)
        .env("FLYTE_AUTH_SOCK", &socket)
        .env("FLYTE_API_KEY", MARKER)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("agent log"));
    let mut child = cmd.spawn().expect("spawn agent as nobody");
    let out = child.stdout.take().expect("agent stdout");
    let agent = Agent(child);
    let mut line = String::new();
    BufReader::new(out)
        .read_line(&mut line)
        .expect("READY line");
    let text = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        line.starts_with("READY"),
        "agent did not start: {line:?}\n{}",
        text()
    );
    let pid = agent.0.id();

    // The agent really runs as nobody and serves its user.
    let proc_dir = format!("/proc/{pid}");
    let status = std::fs::read_to_string(format!("{proc_dir}/status")).expect("status");
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap_or("");
    assert!(
        uid_line.split_whitespace().nth(1) == Some("65534"),
        "{uid_line}"
    );
    let served = as_nobody(&bin("flyte-auth"))
        .args(["status"])
        .env("HOME", &home)
        .env("XDG_RUNTIME_DIR", &run)
        .env("FLYTE_AUTH_SOCK", &socket)
        .output()
        .expect("status as nobody");
    assert!(served.status.success(), "{}\n{}", stderr(&served), text());

    // Another process of the same user: environment and memory are closed to it.
    for file in ["environ", "mem"] {
        let path = format!("{proc_dir}/{file}");
        let out = cat_as_nobody(&path);
        assert!(
            !out.status.success() && stderr(&out).contains("Permission denied"),
            "{path} must be closed to the agent's own user: exit {}, stderr {:?}, {} bytes read",
            out.status,
            stderr(&out),
            out.stdout.len()
        );
        assert!(
            !stdout(&out).contains(MARKER),
            "the API key leaked through {path}"
        );
        let owner = std::fs::metadata(&path).expect("stat").uid();
        assert_eq!(
            owner, 0,
            "{path} is root-owned once the agent is undumpable"
        );
    }

    // No core file: the soft and hard core limits are 0.
    let limits = std::fs::read_to_string(format!("{proc_dir}/limits")).expect("limits");
    assert_no_core("agent", &limits);
    drop(agent);
}

#[test]
fn the_client_dumps_no_core_while_it_holds_a_secret() {
    // A stand-in agent that accepts and never answers: the client then sits waiting with its
    // profile (and secret) in memory, long enough to look at its limits.
    let dir = tempfile::Builder::new()
        .prefix("fa-hyg")
        .tempdir()
        .expect("temp dir");
    // 0700: a client that checks its agent's directory accepts it.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .expect("chmod");
    let socket = dir.path().join("agent.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket).expect("bind");
    let err = dir.path().join("client.err");
    let mut client = Command::new("sh")
        .args(["-c", "ulimit -c unlimited && exec \"$@\"", "sh"])
        .arg(bin("flyte-auth"))
        .arg("status")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("FLYTE_AUTH_SOCK", &socket)
        .env(
            "FLYTE_API_KEY",
            api_key("idp.invalid", "hygiene", MARKER, "None"),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).expect("client stderr"))
        .spawn()
        .expect("spawn flyte-auth");
    // Once it has connected, its `main` has long passed the point where the limit is set.
    listener.set_nonblocking(true).expect("nonblocking");
    let mut conn = None;
    let connected = wait_until(Duration::from_secs(20), || {
        conn = conn.take().or_else(|| listener.accept().ok());
        conn.is_some()
    });
    let said = || std::fs::read_to_string(&err).unwrap_or_default();
    assert!(connected, "the client never connected: {}", said());
    let limits =
        std::fs::read_to_string(format!("/proc/{}/limits", client.id())).unwrap_or_default();
    let _ = client.kill();
    let _ = client.wait();
    drop(conn);
    assert_no_core("client", &limits);
}

/// Asserts that a `/proc/PID/limits` text sets both the soft and the hard core limit to 0.
fn assert_no_core(who: &str, limits: &str) {
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap_or("");
    let fields: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(
        fields.get(4..6),
        Some(&["0", "0"][..]),
        "{who} core limits (soft, hard): {core:?}"
    );
}
