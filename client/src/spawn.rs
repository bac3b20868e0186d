//! Auto-start: when no agent answers, start `flyte-auth-agent` detached and wait until it
//! says it is listening.
//!
//! Readiness is a line on the agent's stdout (a pipe we hold), not a sleep loop. Two clients
//! starting agents at once end with one agent: the loser's agent exits with code 3 ("already
//! running", decided by the agent's lock file), and its client connects to the winner.

use std::io::{BufRead, BufReader, Read};
#[cfg(unix)]
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use flyte_auth_proto::contract;

use crate::hygiene;
use crate::transport::{ConnectError, Connection};
use crate::{Error, Result, retry};

/// Name of the agent executable.
pub const AGENT_BIN: &str = "flyte-auth-agent";

/// Longest readiness (or error) line read from a started agent.
const READY_LINE_MAX: u64 = 4096;

/// How long to wait for a started agent to become ready.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects to the agent at `socket`, starting one if nobody answers there. An agent that
/// goes away during the hello (killed, crashed, stopping) is tried again
/// ([`Connection::open`]), and replaced by a new one once it is gone for good. Nothing is
/// started where [`crate::trust`] refuses the socket's directory.
pub fn connect_or_start(socket: &Path) -> Result<Connection> {
    match connect_or_start_once(socket) {
        Err(e) if retry::is_gone(&e) => connect_or_start_once(socket),
        other => other,
    }
}

fn connect_or_start_once(socket: &Path) -> Result<Connection> {
    match Connection::open(socket) {
        Ok(c) => return Ok(c),
        Err(ConnectError::Failed(e)) => return Err(e),
        Err(ConnectError::Connect(e)) if !nobody_there(&e) => {
            return Err(Error::AgentUnavailable {
                path: socket.to_owned(),
                why: e.to_string(),
                source: Some(e),
            });
        }
        Err(ConnectError::Connect(_)) => {}
    }
    start_agent(socket)?;
    Connection::open(socket).map_err(|e| match e {
        ConnectError::Failed(e) => e,
        ConnectError::Connect(e) => Error::AgentUnavailable {
            path: socket.to_owned(),
            why: format!("started an agent, but cannot connect to it: {e}"),
            source: Some(e),
        },
    })
}

/// Whether a connect error means "no agent listens here" (as opposed to, say, permissions).
fn nobody_there(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
    )
}

/// Starts a detached agent for `socket` and returns once it (or a concurrently started one)
/// accepts connections.
fn start_agent(socket: &Path) -> Result<()> {
    let unavailable = |why: String| Error::AgentUnavailable {
        path: socket.to_owned(),
        why,
        source: None,
    };
    let bin = find_agent().ok_or_else(|| {
        unavailable(format!(
            "no agent runs and `{AGENT_BIN}` was found neither next to this program nor on PATH"
        ))
    })?;
    let log = open_log().map_err(|e| Error::AgentUnavailable {
        path: socket.to_owned(),
        why: format!("cannot open the agent log: {e}"),
        source: Some(e),
    })?;
    let mut command = Command::new(&bin);
    command
        .arg("--socket")
        .arg(socket)
        .arg(format!("--{}", contract::READY_STDOUT_FLAG))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log.file);
    // Only what the agent needs, from a directory it never keeps busy: not this client's
    // API key, secrets or working directory (see `hygiene`).
    hygiene::clean(&mut command);
    detach(&mut command);
    let mut child = command
        .spawn()
        .map_err(|e| unavailable(format!("cannot start {}: {e}", bin.display())))?;
    let Some(stdout) = child.stdout.take() else {
        return Err(unavailable("agent stdout was not captured".into()));
    };
    // Read the readiness line on a thread so that we can bound the wait; the line itself is
    // bounded too, since it may be all an agent that refuses to start says.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout.take(READY_LINE_MAX)).read_line(&mut line);
        let _ = tx.send(line);
    });
    let deadline = Instant::now() + START_TIMEOUT;
    let line = rx.recv_timeout(START_TIMEOUT).unwrap_or_default();
    if line.starts_with(contract::READY_LINE) {
        return Ok(());
    }
    // No readiness line: either the agent lost the race to another one (exit 3), or it failed
    // (and then its error line, if it wrote one, says why).
    let refusal = line
        .strip_prefix(contract::ERROR_LINE)
        .map(|why| printable(why.trim_end()))
        .filter(|why| !why.is_empty());
    let status = wait_exit(&mut child, deadline);
    match status.and_then(|s| s.code()) {
        Some(code) if code == i32::from(contract::EXIT_ALREADY_RUNNING) => {
            wait_connectable(socket, deadline).ok_or_else(|| {
                unavailable("another agent is starting but did not become ready".into())
            })
        }
        Some(code) => Err(unavailable(match refusal {
            Some(why) => format!(
                "the agent it started refused to run: {why} (exit code {code}; log: {})",
                log.path.display()
            ),
            None => format!(
                "the agent exited with code {code}; see {}",
                log.path.display()
            ),
        })),
        None => {
            let _ = child.kill();
            Err(unavailable(format!(
                "the agent did not become ready within {}s; see {}",
                START_TIMEOUT.as_secs(),
                log.path.display()
            )))
        }
    }
}

/// `text` without control characters (an error line is shown on the user's terminal).
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

/// Its own process group: Ctrl-C in the terminal that started it must not stop it.
#[cfg(unix)]
fn detach(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    command.process_group(0);
}

/// No console and its own process group: Ctrl-C in, or closing, the console that started it
/// must not stop it.
#[cfg(windows)]
fn detach(command: &mut Command) {
    use std::os::windows::process::CommandExt;
    // Process creation flags, as documented for CreateProcess.
    const DETACHED_PROCESS: u32 = 0x0000_0008;
    const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
    command.creation_flags(DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP);
}

fn wait_exit(
    child: &mut std::process::Child,
    deadline: Instant,
) -> Option<std::process::ExitStatus> {
    while Instant::now() < deadline {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

/// Waits for the agent that won the start race: it holds the lock and is about to listen.
fn wait_connectable(socket: &Path, deadline: Instant) -> Option<()> {
    while Instant::now() < deadline {
        if crate::transport::connect(socket).is_ok() {
            return Some(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// The agent binary: next to the current executable, else on `PATH`.
pub fn find_agent() -> Option<PathBuf> {
    // `flyte-auth-agent.exe` on Windows.
    let file = format!("{AGENT_BIN}{}", std::env::consts::EXE_SUFFIX);
    let sibling = std::env::current_exe().ok()?.with_file_name(&file);
    if sibling.is_file() {
        return Some(sibling);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(&file))
        .find(|p| p.is_file())
}

struct Log {
    file: std::fs::File,
    path: PathBuf,
}

/// The auto-started agent's log: `$XDG_STATE_HOME/flyte-auth/agent.log` (or the platform's
/// equivalent), never the terminal.
fn open_log() -> std::io::Result<Log> {
    let dir = log_dir()?;
    flyte_auth_proto::private_dir::ensure_private_dir(&dir).map_err(std::io::Error::other)?;
    let path = dir.join("agent.log");
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    // Windows: the file inherits the ACL of the user's profile directory it sits in.
    #[cfg(unix)]
    options.mode(0o600);
    let file = options.open(&path)?;
    Ok(Log { file, path })
}

/// Directory for the agent's log file.
pub fn log_dir() -> std::io::Result<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "flyte-auth")
        .ok_or_else(|| std::io::Error::other("no home directory"))?;
    Ok(dirs
        .state_dir()
        .unwrap_or_else(|| dirs.cache_dir())
        .to_owned())
}
