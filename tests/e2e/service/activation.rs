//! Socket activation for real: `systemd-socket-activate` holds the socket and starts the
//! agent with `LISTEN_FDS` on the first connection, as systemd does. Also: sd_notify,
//! idle exit, refusing the wrong sockets, and a SIGKILLed agent replaced on the next request.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use flyte_auth_e2e::fake_idp::FakeIdp;
use flyte_auth_e2e::harness::{TestEnv, bin, wait_until};

use crate::common::{status, token, use_api_key};

/// `systemd-socket-activate` listening on `socks`, ready to start the agent with `args`;
/// killed when dropped.
struct Activator {
    child: Child,
}

impl Activator {
    fn start(env: &TestEnv, socks: &[&Path], extra: &[&str], args: &[&str]) -> Activator {
        let dir = env.socket.parent().expect("dir");
        std::fs::create_dir_all(dir).expect("mkdir");
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        let mut cmd = Command::new("systemd-socket-activate");
        for s in socks {
            cmd.arg("-l").arg(s);
        }
        // It passes only the variables named with -E to the program.
        for (k, v) in [
            ("HOME", env.home.display().to_string()),
            ("XDG_RUNTIME_DIR", env.runtime.display().to_string()),
            (
                "XDG_STATE_HOME",
                env.home.join(".local/state").display().to_string(),
            ),
            ("FLYTE_AUTH_LOG", "debug".into()),
        ] {
            cmd.arg("-E").arg(format!("{k}={v}"));
        }
        let log = std::fs::File::create(env.agent_log_path()).expect("log");
        let child = cmd
            .args(extra)
            .arg(bin("flyte-auth-agent"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("systemd-socket-activate (apt-get install systemd; scripts/setup.sh does)");
        assert!(
            wait_until(Duration::from_secs(5), || socks.iter().all(|s| s.exists())),
            "systemd-socket-activate did not listen"
        );
        Activator { child }
    }

    /// Waits for the agent (which replaced `systemd-socket-activate` by exec) to exit.
    fn exited_within(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let mut status = None;
        wait_until(limit, || {
            status = self.child.try_wait().ok().flatten();
            status.is_some()
        });
        status
    }
}

impl Drop for Activator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).map_or(0, |m| m.permissions().mode() & 0o777)
}

#[test]
fn a_client_gets_a_token_through_the_inherited_socket() {
    let idp = FakeIdp::start().expect("fake IdP");
    let mut env = TestEnv::new();
    use_api_key(&mut env, &idp.url(), "ci-client", "ci-secret");
    let notify_path = env.dir.path().join("notify");
    let notify = UnixDatagram::bind(&notify_path).expect("notify socket");
    notify
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let e = format!("NOTIFY_SOCKET={}", notify_path.display());
    let mut act = Activator::start(&env, &[&env.socket], &["-E", &e], &[]);
    let before = mode(&env.socket);

    let tok = token(&env, &[]);
    assert!(!tok.is_empty());
    let mut buf = [0u8; 256];
    let n = notify.recv(&mut buf).expect("READY notification");
    assert!(String::from_utf8_lossy(&buf[..n]).contains("READY=1"));
    let log = env.agent_log_text();
    assert!(log.contains("activated=true"), "{log}");

    // The socket is systemd's: the agent neither re-binds, chmods, locks nor unlinks it.
    let pid = status(&env)["pid"].as_u64().expect("pid");
    assert_eq!(
        u64::from(act.child.id()),
        pid,
        "the agent is the activated process"
    );
    assert_eq!(mode(&env.socket), before, "mode untouched");
    assert!(
        !env.socket.with_file_name("agent.sock.lock").exists(),
        "no lock file"
    );
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let n = notify.recv(&mut buf).expect("STOPPING notification");
    assert!(String::from_utf8_lossy(&buf[..n]).contains("STOPPING=1"));
    let st = act
        .exited_within(Duration::from_secs(10))
        .expect("agent exits on SIGTERM");
    assert!(st.success(), "{st}");
    assert!(env.socket.exists(), "an inherited socket is not unlinked");
}

#[test]
fn an_idle_activated_agent_exits_but_not_while_it_holds_a_session_or_a_connection() {
    let idp = FakeIdp::start().expect("fake IdP");
    let mut env = TestEnv::new();
    use_api_key(&mut env, &idp.url(), "ci-client", "ci-secret");
    let mut act = Activator::start(&env, &[&env.socket], &[], &["--exit-when-idle", "1"]);

    // A live session (a token valid for an hour) keeps it running.
    token(&env, &[]);
    assert!(
        act.exited_within(Duration::from_secs(3)).is_none(),
        "exited with a live session"
    );
    let _ = env.flyte_auth(&["logout", "--all"]);
    // So does an open connection.
    let held = UnixStream::connect(&env.socket).expect("connect");
    assert!(
        act.exited_within(Duration::from_secs(3)).is_none(),
        "exited with a connection"
    );
    drop(held);
    let st = act
        .exited_within(Duration::from_secs(10))
        .expect("exits once idle");
    assert!(st.success(), "{st}");
    assert!(env.agent_log_text().contains("idle with no sessions"));
    assert!(
        env.socket.exists(),
        "the socket stays for the next activation"
    );
}

#[test]
fn activation_refuses_anything_but_one_unix_stream_socket() {
    let env = TestEnv::new();
    // Two sockets.
    let other = env.socket.with_file_name("other.sock");
    let mut act = Activator::start(&env, &[&env.socket, &other], &[], &[]);
    drop(UnixStream::connect(&env.socket));
    let st = act.exited_within(Duration::from_secs(10)).expect("exits");
    assert_eq!(st.code(), Some(1));
    assert!(env.agent_log_text().contains("expected exactly one socket"));
    drop(act);

    // A datagram socket.
    let env = TestEnv::new();
    let mut act = Activator::start(&env, &[&env.socket], &["--datagram"], &[]);
    let probe = UnixDatagram::unbound().expect("datagram");
    let _ = probe.send_to(b"x", &env.socket);
    let st = act.exited_within(Duration::from_secs(10)).expect("exits");
    assert_eq!(st.code(), Some(1));
    let log = env.agent_log_text();
    assert!(log.contains("not a valid unix stream socket"), "{log}");
}

#[test]
fn a_sigkilled_agent_is_replaced_on_the_next_request() {
    let idp = FakeIdp::start().expect("fake IdP");
    let mut env = TestEnv::new();
    use_api_key(&mut env, &idp.url(), "ci-client", "ci-secret");
    token(&env, &[]); // auto-starts an agent
    let first = status(&env)["pid"].as_u64().expect("pid");
    let killed = Command::new("kill")
        .args(["-KILL", &first.to_string()])
        .status();
    assert!(killed.is_ok_and(|s| s.success()));
    assert!(
        wait_until(Duration::from_secs(5), || UnixStream::connect(&env.socket)
            .is_err()),
        "the killed agent still answers"
    );
    assert!(env.socket.exists(), "SIGKILL leaves the socket file behind");
    token(&env, &[]);
    let second = status(&env)["pid"].as_u64().expect("pid");
    assert_ne!(first, second, "a new agent serves");
}
