//! The optional audit log (`--audit-log`, `FLYTE_AUTH_AUDIT=1`; off by default): one JSON
//! line per request — when, which process asked (uid, pid and executable from the socket's
//! credentials and `/proc`, never from anything the client says), which session (endpoint
//! and mode), what and with what outcome. Never a token or a secret.
//!
//! Requests never wait on the disk: lines go through a bounded channel to a writer thread,
//! and when it falls behind lines are dropped and counted (the count is logged in the file
//! itself). The file is rotated to `audit.jsonl.1` at [`MAX_BYTES`], so the log takes at most
//! twice that.

mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flyte_auth_proto::{AuthMode, ErrorKind, Profile, Request, Response};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::AgentError;

/// Size at which the audit file is rotated.
pub const MAX_BYTES: u64 = 1024 * 1024;
/// Lines waiting for the writer before new ones are dropped.
const QUEUE: usize = 1024;
/// File name in the state directory.
const FILE_NAME: &str = "audit.jsonl";

/// Who is on the other end of a connection, as the operating system says.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Peer {
    /// User id (`SO_PEERCRED`); `None` where the platform gives none.
    pub uid: Option<u32>,
    /// Process id at connect time.
    pub pid: Option<i32>,
    /// That process's executable (`/proc/PID/exe`), when known. Informational only: pids are
    /// reused, so nothing is ever decided on it.
    pub exe: Option<String>,
}

impl Peer {
    /// A peer with these credentials; its executable is looked up only if `audit` is on.
    pub fn new(uid: Option<u32>, pid: Option<i32>, audit: &Audit) -> Peer {
        let exe = if audit.enabled() {
            pid.and_then(exe_of)
        } else {
            None
        };
        Peer { uid, pid, exe }
    }
}

#[cfg(target_os = "linux")]
fn exe_of(pid: i32) -> Option<String> {
    let path = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    Some(path.display().to_string())
}

#[cfg(not(target_os = "linux"))]
fn exe_of(_pid: i32) -> Option<String> {
    None
}

/// The audit log, or nothing when it is off. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Audit(Option<Arc<Inner>>);

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    tx: mpsc::Sender<Msg>,
    dropped: Arc<AtomicU64>,
}

/// What the writer thread is sent.
#[derive(Debug)]
enum Msg {
    Line(Line),
    /// Answer once everything sent before is written.
    Flush(std::sync::mpsc::Sender<()>),
}

/// One audit line.
#[derive(Debug, Serialize)]
struct Line {
    time: String,
    peer: Peer,
    request: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mode: Option<AuthMode>,
    outcome: String,
}

/// What a request was about, taken before it is handled (which consumes it).
#[derive(Debug)]
pub struct Subject {
    request: &'static str,
    endpoint: Option<String>,
    mode: Option<AuthMode>,
}

impl Subject {
    /// The request type and session of `req`: no secret (the profile's client secret, API
    /// key or scopes are left out; the endpoint loses any user info or query).
    pub fn of(req: &Request) -> Subject {
        let (request, profile): (_, Option<&Profile>) = match req {
            Request::Hello { .. } => ("hello", None),
            Request::GetToken { profile, .. } => ("get_token", Some(profile)),
            Request::Login { profile, .. } => ("login", Some(profile)),
            Request::Logout { target } => ("logout", target.profile()),
            Request::Status | Request::StatusPage { .. } => ("status", None),
            Request::Shutdown => ("shutdown", None),
            Request::Unknown => ("unknown", None),
        };
        Subject {
            request,
            endpoint: profile.map(|p| clean_endpoint(&p.endpoint)),
            mode: profile.map(|p| p.mode),
        }
    }

    /// A request that could not be parsed, or a connection-level event (`connect`).
    pub fn named(request: &'static str) -> Subject {
        Subject {
            request,
            endpoint: None,
            mode: None,
        }
    }
}

/// `scheme://host[:port]/path` of an endpoint, without user info, query or fragment.
fn clean_endpoint(endpoint: &str) -> String {
    match url::Url::parse(endpoint) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.as_str().trim_end_matches('/').to_owned()
        }
        Err(_) => "(unparsable endpoint)".to_owned(),
    }
}

/// The outcome of a request as the audit log names it: `ok`, or the error's kind.
pub fn outcome(resp: &Response) -> String {
    match resp {
        Response::Error(e) => kind_name(e.kind),
        _ => "ok".to_owned(),
    }
}

/// `busy`, `login_required`, ...: the wire spelling of `kind`.
pub fn kind_name(kind: ErrorKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

impl Audit {
    /// The audit log is off.
    pub fn disabled() -> Audit {
        Audit(None)
    }

    /// Opens (creating it 0600, in a 0700 directory) the audit log at `path` and starts its
    /// writer thread.
    pub fn open(path: PathBuf) -> Result<Audit, AgentError> {
        let dropped = Arc::new(AtomicU64::new(0));
        let file = writer::Writer::open(&path, MAX_BYTES).map_err(|e| {
            AgentError::Config(format!("cannot open the audit log {}: {e}", path.display()))
        })?;
        let (tx, rx) = mpsc::channel(QUEUE);
        writer::spawn(file, rx, dropped.clone()).map_err(|e| {
            AgentError::internal(format!("cannot start the audit writer: {e}")).because(e)
        })?;
        Ok(Audit(Some(Arc::new(Inner { path, tx, dropped }))))
    }

    /// `$XDG_STATE_HOME/flyte-auth/audit.jsonl` (`~/.local/state/...`), or the platform's
    /// local data directory where there is no state directory (macOS, Windows).
    pub fn default_path() -> Result<PathBuf, AgentError> {
        let dirs = directories::ProjectDirs::from("", "", "flyte-auth")
            .ok_or_else(|| AgentError::Config("no home directory for the audit log".into()))?;
        let base = dirs.state_dir().unwrap_or_else(|| dirs.data_local_dir());
        Ok(base.join(FILE_NAME))
    }

    /// Whether the audit log is on.
    pub fn enabled(&self) -> bool {
        self.0.is_some()
    }

    /// Where it is written, when on.
    pub fn path(&self) -> Option<&Path> {
        self.0.as_deref().map(|i| i.path.as_path())
    }

    /// Records that `peer` asked `what` and got `outcome`. Never waits: when the writer is
    /// behind, the line is dropped and counted.
    pub fn record(&self, peer: &Peer, what: Subject, outcome: impl Into<String>) {
        let Some(inner) = &self.0 else { return };
        let line = Line {
            time: writer::rfc3339_now(),
            peer: peer.clone(),
            request: what.request,
            endpoint: what.endpoint,
            mode: what.mode,
            outcome: outcome.into(),
        };
        if inner.tx.try_send(Msg::Line(line)).is_err() {
            inner.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Waits (at most `limit`, on the calling thread) until every line recorded so far is
    /// written: for the last requests before the agent exits.
    pub fn flush(&self, limit: std::time::Duration) {
        let Some(inner) = &self.0 else { return };
        let (done, wait) = std::sync::mpsc::channel();
        if inner.tx.try_send(Msg::Flush(done)).is_ok() {
            let _ = wait.recv_timeout(limit);
        }
    }
}

#[cfg(test)]
mod tests;
