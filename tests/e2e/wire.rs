//! Helpers for tests that speak the protocol themselves and watch the agent process: raw
//! connections, hello, device-login profiles, and the agent's RSS and descriptors from /proc.

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixStream;
use std::process::{Child, Stdio};
use std::time::Duration;

use flyte_auth_e2e::harness::{TestEnv, bin};
use flyte_auth_proto::frame::{read_message, write_message};
use flyte_auth_proto::{AuthMode, ErrorKind, Event, PROTOCOL_VERSION, Profile, Request, Response};

/// A connection to `env`'s agent that has said hello.
pub fn connect_hello(env: &TestEnv) -> UnixStream {
    let mut s = UnixStream::connect(&env.socket).expect("connect");
    // Generous: a test must fail rather than hang when the agent misbehaves.
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("read timeout");
    hello(&mut s);
    s
}

/// Says hello on `s` and checks the answer.
pub fn hello(s: &mut UnixStream) {
    let req = Request::Hello {
        version: PROTOCOL_VERSION,
        client: "e2e".into(),
    };
    write_message(s, &req).expect("write hello");
    let resp: Option<Response> = read_message(s).expect("read hello");
    assert!(matches!(resp, Some(Response::Hello { .. })), "{resp:?}");
}

/// Reads one response.
pub fn read(s: &mut UnixStream) -> Response {
    match read_message::<_, Response>(s) {
        Ok(Some(r)) => r,
        other => panic!("expected a response, got {other:?}"),
    }
}

/// Reads one response, which must be an error; returns its kind and message.
pub fn read_error(s: &mut UnixStream) -> (ErrorKind, String) {
    match read(s) {
        Response::Error(e) => (e.kind, e.message),
        other => panic!("expected an error response, got {other:?}"),
    }
}

/// Whether the agent closed `s`: a read sees EOF or a reset (not a timeout, not data).
pub fn closed_by_agent(s: &mut UnixStream, within: Duration) -> bool {
    use std::io::Read;
    s.set_read_timeout(Some(within)).expect("read timeout");
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            // Answers still in flight before the close (an error, say): skip them.
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

/// A device-flow profile for the IdP at `url` (plain HTTP).
pub fn device_profile(url: &str) -> Box<Profile> {
    let mut p = Profile::new(url, AuthMode::DeviceFlow);
    p.insecure = true;
    Box::new(p)
}

/// Starts a device login for `url` on `s` and waits for its prompt: the request then stays
/// in flight until the test approves the code.
pub fn start_device_login(s: &mut UnixStream, url: &str) {
    let req = Request::Login {
        profile: device_profile(url),
        method: None,
        import: false,
        browser_env: Vec::new(),
    };
    write_message(s, &req).expect("write login");
    loop {
        match read(s) {
            Response::Event {
                event: Event::DeviceCode { .. },
            } => return,
            Response::Event { .. } => {}
            other => panic!("expected a device prompt, got {other:?}"),
        }
    }
}

/// A field of `/proc/PID/status` in kB (`VmRSS`, `VmHWM`).
pub fn status_kib(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// How many descriptors the process `pid` has open.
pub fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("/proc fd")
        .count()
}

/// An agent run under `prlimit --nofile=LIMIT`, so that descriptor leaks turn into failures
/// quickly. Killed when dropped.
#[derive(Debug)]
pub struct LimitedAgent {
    child: Child,
}

impl LimitedAgent {
    /// Starts `flyte-auth-agent ARGS` for `env` with at most `nofile` descriptors.
    pub fn start(env: &TestEnv, nofile: u32, args: &[&str]) -> LimitedAgent {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(env.agent_log_path())
            .expect("agent log");
        let mut child = env
            .command_for(std::path::Path::new("prlimit"))
            .arg(format!("--nofile={nofile}:{nofile}"))
            .arg("--")
            .arg(bin("flyte-auth-agent"))
            .arg("--ready-stdout")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn prlimit (util-linux)");
        let out = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(out).read_line(&mut line).expect("ready");
        assert!(
            line.starts_with("READY"),
            "agent did not start: {line:?}; log:\n{}",
            env.agent_log_text()
        );
        LimitedAgent { child }
    }

    /// The agent's pid (prlimit execs it, so it is the child's).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for LimitedAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
