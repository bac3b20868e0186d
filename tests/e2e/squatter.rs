//! Another user squatting where the client looks for its agent: at the `$TMPDIR` fallback
//! path in a directory it made 0777, at a `FLYTE_AUTH_SOCK` in a sticky world-writable
//! directory, and behind a socket moved into the victim's own private directory (the peer
//! check alone). The victim must refuse, say why, start no agent, and send nothing: not a
//! hello, not its client secret or API key.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use flyte_auth_e2e::harness::{TestEnv, stderr, stdout};

use crate::common::use_api_key;

/// The uid (and gid) the squatter runs as.
const NOBODY: &str = "65534";

/// The Python every Debian has; a pyenv shim under /root would not run as `nobody`.
const PYTHON: &str = "/usr/bin/python3";

/// Listens at argv[1] (after creating argv[2] with mode argv[3], if given), and for every
/// connection prints how many bytes it received before the peer closed. Stops by itself.
const SQUATTER: &str = r#"
import os, socket, sys
path = sys.argv[1]
if len(sys.argv) > 3:
    os.makedirs(sys.argv[2], exist_ok=True)
    os.chmod(sys.argv[2], int(sys.argv[3], 8))
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
os.chmod(path, 0o777)
s.listen(64)
s.settimeout(60)
print("LISTENING", flush=True)
while True:
    try:
        c, _ = s.accept()
    except socket.timeout:
        break
    c.settimeout(5)
    n = 0
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            n += len(b)
    except socket.timeout:
        pass
    c.close()
    print("CONN %d" % n, flush=True)
"#;

/// Whether this machine can run a process as another user (root, and a system Python).
pub fn can_act_as_another_user() -> bool {
    if flyte_auth_proto::paths::current_uid() != 0 || !Path::new(PYTHON).is_file() {
        eprintln!("skipping: needs root and {PYTHON} to act as another user");
        return false;
    }
    true
}

/// `python3 -c SCRIPT ARGS` as `nobody`, with an empty environment.
pub fn python_as_nobody(script: &str, args: &[&Path]) -> Command {
    let mut c = Command::new("setpriv");
    c.args([
        &format!("--reuid={NOBODY}"),
        &format!("--regid={NOBODY}"),
        "--clear-groups",
        PYTHON,
        "-c",
        script,
    ])
    .args(args)
    .env_clear()
    .current_dir("/")
    .stdin(Stdio::null());
    c
}

/// A squatter process run as `nobody`, and the lines it prints.
struct Squatter {
    child: Child,
    lines: Receiver<String>,
    path: PathBuf,
}

impl Squatter {
    /// Listens at `path`, first creating `mkdir` (as `nobody`, with `mode`) if given.
    fn start(path: &Path, mkdir: Option<(&Path, &str)>) -> Squatter {
        let mut args = vec![path];
        let mode_path;
        if let Some((dir, mode)) = mkdir {
            mode_path = PathBuf::from(mode);
            args.extend([dir, mode_path.as_path()]);
        }
        let mut child = python_as_nobody(SQUATTER, &args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the squatter");
        let out = child.stdout.take().expect("squatter stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = lines.recv_timeout(Duration::from_secs(20));
        assert_eq!(first.as_deref(), Ok("LISTENING"), "squatter did not start");
        Squatter {
            child,
            lines,
            path: path.to_owned(),
        }
    }

    /// Byte counts of every connection the squatter saw before this call (now at `path`,
    /// should the socket have moved). A marker connection of our own, sent last, tells where
    /// the victim's connections end.
    fn connections(&self, path: &Path) -> Vec<usize> {
        let mut marker = UnixStream::connect(path).expect("connect to the squatter");
        marker.write_all(b"MARKER").expect("write the marker");
        drop(marker);
        let mut seen = Vec::new();
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(20))
                .expect("the squatter reports the marker connection");
            let n: usize = line
                .strip_prefix("CONN ")
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("squatter line {line:?}"));
            if n == b"MARKER".len() {
                return seen;
            }
            seen.push(n);
        }
    }
}

impl Drop for Squatter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A directory anyone may write to, as `/tmp` is (sticky, 1777), inside `env`'s own.
fn shared_dir(env: &TestEnv) -> PathBuf {
    // `nobody` must be able to reach it: open the test's own directory for traversal only.
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o711))
        .expect("chmod test dir");
    let shared = env.dir.path().join("shared");
    std::fs::create_dir_all(&shared).expect("mkdir shared");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    shared
}

/// Writes a client-secret config for an endpoint nobody needs to reach (the client must stop
/// before the agent would), and returns the secret's file.
fn write_client_secret_config(env: &TestEnv) -> &'static str {
    let secret = env.dir.path().join("secret.txt");
    std::fs::write(&secret, "s3cret-from-file").expect("write secret");
    let text = format!(
        "admin:\n  endpoint: dns:///127.0.0.1:9\n  insecure: true\n  authType: ClientSecret\n  \
         clientId: victim\n  clientSecretLocation: {}\n",
        secret.display()
    );
    std::fs::write(env.cwd.join("config.yaml"), text).expect("write config");
    "s3cret-from-file"
}

/// Runs the victim's `flyte-auth token` twice, with a client secret in a config and with an
/// API key, and checks both refuse with `expected` in the message, print no token and start
/// no agent. `adjust` sets where the victim looks for its agent.
fn victim_refuses(env: &mut TestEnv, adjust: &dyn Fn(&mut Command), expected: &[&str]) {
    write_client_secret_config(env);
    let mut runs = Vec::new();
    let mut c = env.command("flyte-auth");
    adjust(&mut c);
    runs.push((
        "client secret config",
        c.arg("token").output().expect("run"),
    ));
    use_api_key(
        env,
        "http://127.0.0.1:9",
        "victim-key-id",
        "victim-key-secret",
    );
    let mut c = env.command("flyte-auth");
    adjust(&mut c);
    runs.push(("API key", c.arg("token").output().expect("run")));
    for (what, out) in runs {
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(7), "{what}: {err}");
        assert!(
            stdout(&out).is_empty(),
            "{what}: no token: {}",
            stdout(&out)
        );
        for needle in expected {
            assert!(err.contains(needle), "{what}: {needle:?} missing in: {err}");
        }
    }
    let log = env.home.join(".local/state/flyte-auth/agent.log");
    assert!(
        !log.exists(),
        "no agent may be started for an untrusted socket"
    );
}

#[test]
fn a_squatter_at_the_tmpdir_fallback_gets_nothing() {
    if !can_act_as_another_user() {
        return;
    }
    let mut env = TestEnv::new();
    let tmp = shared_dir(&env);
    // Without XDG_RUNTIME_DIR the client uses $TMPDIR/flyte-auth-<uid>/agent.sock: the
    // squatter made that directory first, 0777, and listens in it.
    let me = flyte_auth_proto::paths::current_uid();
    let dir = tmp.join(format!("flyte-auth-{me}"));
    let sock = dir.join("agent.sock");
    let squatter = Squatter::start(&sock, Some((&dir, "777")));
    let adjust = |c: &mut Command| {
        c.env_remove("XDG_RUNTIME_DIR")
            .env_remove("FLYTE_AUTH_SOCK")
            .env("TMPDIR", &tmp);
    };
    let dir_text = format!("refusing to use {}", dir.display());
    victim_refuses(
        &mut env,
        &adjust,
        &[&dir_text, "owned by uid 65534, not by you", "remove it"],
    );
    assert_eq!(squatter.connections(&sock), Vec::<usize>::new());
}

#[test]
fn a_squatter_in_a_shared_flyte_auth_sock_directory_gets_nothing() {
    if !can_act_as_another_user() {
        return;
    }
    let mut env = TestEnv::new();
    let shared = shared_dir(&env);
    let sock = shared.join("agent.sock");
    let squatter = Squatter::start(&sock, None);
    let adjust = |c: &mut Command| {
        c.env("FLYTE_AUTH_SOCK", &sock);
    };
    let dir_text = format!("refusing to use {}", shared.display());
    victim_refuses(
        &mut env,
        &adjust,
        &[&dir_text, "mode is 1777", "FLYTE_AUTH_SOCK"],
    );
    assert_eq!(squatter.connections(&sock), Vec::<usize>::new());
}

#[test]
fn a_listener_of_another_user_in_a_private_directory_gets_only_a_connection() {
    if !can_act_as_another_user() {
        return;
    }
    let mut env = TestEnv::new();
    let shared = shared_dir(&env);
    // The squatter listens in the shared directory; its socket is then moved into the
    // victim's own 0700 directory, so that only the peer check can tell.
    let outside = shared.join("sq.sock");
    let squatter = Squatter::start(&outside, None);
    let private = env.socket.parent().expect("socket dir").to_owned();
    std::fs::create_dir_all(&private).expect("mkdir");
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    std::fs::rename(&outside, &env.socket).expect("move the squatter's socket");
    let sock_text = format!("refusing to use {}", env.socket.display());
    victim_refuses(
        &mut env,
        &|_| {},
        &[
            &sock_text,
            "runs as uid 65534, not as you",
            "nothing was sent",
        ],
    );
    // Two victims, one connection each, not one byte.
    assert_eq!(squatter.connections(&env.socket), vec![0, 0]);
    let _ = std::fs::remove_file(&env.socket);
}
