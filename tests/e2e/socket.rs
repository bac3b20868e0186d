//! The agent's socket: permissions, stale sockets, one agent per socket, peer checks,
//! hostile frames, auto-start.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use flyte_auth_e2e::fake_idp::FakeIdp;
use flyte_auth_e2e::harness::{TestEnv, bin, stderr, stdout, wait_until};
use flyte_auth_proto::frame::{read_message, write_message};
use flyte_auth_proto::{ErrorKind, MAX_FRAME_LEN, PROTOCOL_VERSION, Request, Response};

use crate::common::{status, token, use_api_key};

fn mode(p: &std::path::Path) -> u32 {
    std::fs::symlink_metadata(p)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0)
}

fn hello(s: &mut UnixStream) {
    let req = Request::Hello {
        version: PROTOCOL_VERSION,
        client: "test".into(),
    };
    write_message(s, &req).expect("write hello");
    let resp: Option<Response> = read_message(s).expect("read hello");
    assert!(matches!(resp, Some(Response::Hello { .. })), "{resp:?}");
}

fn read_error(s: &mut UnixStream) -> (ErrorKind, String) {
    match read_message::<_, Response>(s) {
        Ok(Some(Response::Error(e))) => (e.kind, e.message),
        other => panic!("expected an error response, got {other:?}"),
    }
}

#[test]
fn socket_dir_is_0700_and_socket_0600() {
    let mut env = TestEnv::new();
    env.start_agent(&[]).expect("agent");
    let dir = env.socket.parent().expect("dir");
    assert_eq!(mode(dir), 0o700);
    assert_eq!(mode(&env.socket), 0o600);
}

#[test]
fn a_loose_socket_directory_is_refused() {
    let mut env = TestEnv::new();
    let dir = env.socket.parent().expect("dir").to_owned();
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let err = env
        .start_agent(&[])
        .expect_err("must refuse a 0755 directory");
    assert!(err.to_string().contains("755"), "{err}");
}

#[test]
fn stale_socket_is_replaced_and_a_second_agent_is_refused() {
    let mut env = TestEnv::new();
    let dir = env.socket.parent().expect("dir");
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    // A socket file nobody listens on, as a crashed agent leaves behind.
    drop(std::os::unix::net::UnixListener::bind(&env.socket).expect("bind"));
    assert!(env.socket.exists());
    env.start_agent(&[])
        .expect("agent replaces the stale socket");
    assert!(UnixStream::connect(&env.socket).is_ok());

    let out = env
        .command("flyte-auth-agent")
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("second agent");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("already running"), "{}", stderr(&out));
    assert!(
        UnixStream::connect(&env.socket).is_ok(),
        "the first agent keeps serving"
    );
}

#[test]
fn sigterm_removes_the_socket() {
    let mut env = TestEnv::new();
    let pid = env.start_agent(&[]).expect("agent");
    let _ = std::process::Command::new("kill")
        .arg(pid.to_string())
        .status();
    assert!(
        wait_until(Duration::from_secs(5), || !env.socket.exists()),
        "socket left behind"
    );
}

#[test]
fn another_user_is_refused_by_peer_uid() {
    if flyte_auth_proto::paths::current_uid() != 0 {
        // Connecting as another user needs root to switch to it; CI runs as root.
        eprintln!("skipping: needs root to act as another user");
        return;
    }
    let mut env = TestEnv::new();
    env.start_agent(&[]).expect("agent");
    // Loosen the path so `nobody` can reach the socket at all: the peer-uid check is the
    // defence that must still hold when file permissions are wrong.
    let mut p = env.socket.parent().map(std::path::Path::to_path_buf);
    while let Some(d) = p {
        if d == std::path::Path::new("/") || d == std::env::temp_dir() {
            break;
        }
        let _ = std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o711));
        p = d.parent().map(std::path::Path::to_path_buf);
    }
    std::fs::set_permissions(&env.socket, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(bin("flyte-auth"))
        .args(["status"])
        .env_clear()
        .env("FLYTE_AUTH_SOCK", &env.socket)
        .env("HOME", "/nonexistent")
        .output()
        .expect("setpriv");
    // Our client, run as `nobody`, already refuses on its side: the directory is not its own.
    assert_eq!(
        out.status.code(),
        Some(7),
        "stdout {} stderr {}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stderr(&out).contains("refusing to use"), "{}", stderr(&out));
    // The agent's check must hold for a client that does not check: a raw connection.
    if !crate::squatter::can_act_as_another_user() {
        return;
    }
    let raw = "import socket, struct, sys\n\
               s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(10)\n\
               n = struct.unpack('>I', s.recv(4))[0]; print(s.recv(n).decode())\n";
    let out = crate::squatter::python_as_nobody(raw, &[&env.socket])
        .output()
        .expect("raw client as nobody");
    assert!(
        stdout(&out).contains("permission denied"),
        "stdout {} stderr {}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        env.agent_log_text()
            .contains("refused connection from another user")
    );
    // The owner is still served (once the directory is private again: the owner's client
    // refuses a loosened one too).
    let dir = env.socket.parent().expect("dir");
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    assert!(status(&env)["pid"].is_number());
}

#[test]
fn malformed_and_oversized_frames_get_errors_while_others_are_served() {
    let idp = FakeIdp::start().expect("fake IdP");
    let mut env = TestEnv::new();
    use_api_key(&mut env, &idp.url(), "ci-client", "ci-secret");
    env.start_agent(&[]).expect("agent");

    // Request before hello.
    let mut s = UnixStream::connect(&env.socket).expect("connect");
    write_message(&mut s, &Request::Status).expect("write");
    assert_eq!(read_error(&mut s).0, ErrorKind::BadRequest);

    // Version mismatch names both versions.
    let mut s = UnixStream::connect(&env.socket).expect("connect");
    write_message(
        &mut s,
        &Request::Hello {
            version: 999,
            client: "future".into(),
        },
    )
    .expect("w");
    let (kind, msg) = read_error(&mut s);
    assert_eq!(kind, ErrorKind::VersionMismatch);
    assert!(
        msg.contains("999") && msg.contains(&PROTOCOL_VERSION.to_string()),
        "{msg}"
    );

    // Invalid JSON and an unknown type: answered, and the connection stays usable.
    let mut s = UnixStream::connect(&env.socket).expect("connect");
    hello(&mut s);
    let junk = b"{this is not json";
    s.write_all(&(junk.len() as u32).to_be_bytes()).expect("w");
    s.write_all(junk).expect("w");
    assert_eq!(read_error(&mut s).0, ErrorKind::BadRequest);
    let unknown = br#"{"type":"teleport"}"#;
    s.write_all(&(unknown.len() as u32).to_be_bytes())
        .expect("w");
    s.write_all(unknown).expect("w");
    let (kind, msg) = read_error(&mut s);
    assert_eq!(kind, ErrorKind::BadRequest);
    assert!(msg.contains("unknown request type"), "{msg}");
    write_message(&mut s, &Request::Status).expect("w");
    assert!(matches!(
        read_message::<_, Response>(&mut s),
        Ok(Some(Response::Status(_)))
    ));

    // Oversized: refused from the prefix alone, then the connection is closed.
    let mut big = UnixStream::connect(&env.socket).expect("connect");
    hello(&mut big);
    big.write_all(&((MAX_FRAME_LEN as u32) + 1).to_be_bytes())
        .expect("w");
    let (kind, msg) = read_error(&mut big);
    assert_eq!(kind, ErrorKind::BadRequest);
    assert!(msg.contains("exceeds"), "{msg}");
    let mut rest = Vec::new();
    big.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    assert_eq!(
        big.read_to_end(&mut rest).map(|_| rest.len()).ok(),
        Some(0),
        "closed after"
    );

    // A half-sent frame holds only its own connection.
    let mut stuck = UnixStream::connect(&env.socket).expect("connect");
    hello(&mut stuck);
    stuck.write_all(&[0, 0, 1]).expect("w");
    token(&env, &[]);
    drop(stuck);
    token(&env, &[]);
}

#[test]
fn clients_auto_start_exactly_one_agent() {
    let env = TestEnv::new();
    let out = env.flyte_auth(&["status"]);
    assert_eq!(
        out.status.code(),
        Some(7),
        "status does not start an agent: {}",
        stderr(&out)
    );
    let children: Vec<_> = (0..8)
        .map(|_| {
            env.command("flyte-auth")
                .args(["agent", "start"])
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let mut pids = Vec::new();
    for c in children {
        let out = c.wait_with_output().expect("wait");
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stderr(&out);
        let pid = text
            .split("(pid ")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .map(str::to_owned);
        pids.push(pid.expect("pid in output"));
    }
    pids.dedup();
    assert_eq!(
        pids.len(),
        1,
        "all clients must end up with one agent: {pids:?}"
    );
    let log = env.home.join(".local/state/flyte-auth/agent.log");
    assert!(
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .contains("listening")
    );
    // And the agent it started serves requests.
    assert!(status(&env)["pid"].is_number());
}

#[test]
fn connections_are_bounded_and_idle_ones_are_closed() {
    let mut env = TestEnv::new();
    env.start_agent(&["--max-connections", "2", "--idle-connection-secs", "1"])
        .expect("agent");
    let mut a = UnixStream::connect(&env.socket).expect("connect");
    hello(&mut a);
    let mut b = UnixStream::connect(&env.socket).expect("connect");
    hello(&mut b);
    // A third client is served: the longest-idle connection is closed to make room (a
    // client "busy" is only for when every slot has a request in flight: limits_slots).
    let mut c = UnixStream::connect(&env.socket).expect("connect");
    hello(&mut c);
    a.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut buf = Vec::new();
    assert_eq!(
        a.read_to_end(&mut buf).map(|_| buf.len()).ok(),
        Some(0),
        "longest-idle connection closed"
    );
    // Idle connections are closed after --idle-connection-secs, freeing their slots.
    b.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    assert_eq!(
        b.read_to_end(&mut buf).map(|_| buf.len()).ok(),
        Some(0),
        "idle connection closed"
    );
    assert!(wait_until(Duration::from_secs(5), || {
        UnixStream::connect(&env.socket)
            .map(|mut s| {
                let req = Request::Hello {
                    version: PROTOCOL_VERSION,
                    client: "t".into(),
                };
                write_message(&mut s, &req).is_ok()
                    && matches!(
                        read_message::<_, Response>(&mut s),
                        Ok(Some(Response::Hello { .. }))
                    )
            })
            .unwrap_or(false)
    }));
    drop(c);
}
