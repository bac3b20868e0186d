//! `Client`: the blocking API other programs use to get tokens from the agent.

use std::path::{Path, PathBuf};
use std::time::Duration;

use flyte_auth_proto::{
    AuthMode, BROWSER_ENV_VARS, BrowserEnv, Event, LogoutTarget, Profile, Request, Response,
    StatusReport, TokenResponse, contract,
};

use crate::transport::{ConnectError, Connection, DEFAULT_READ_TIMEOUT, unexpected};
use crate::{Result, retry, spawn};

/// How long to wait for an answer that may need a human (the agent bounds logins itself).
const LOGIN_READ_TIMEOUT: Duration = contract::CLIENT_LOGIN_WAIT;

/// How long to wait for an answer the agent has at hand (status).
const QUICK_READ_TIMEOUT: Duration = contract::CLIENT_QUICK_WAIT;

/// A connection to the user's agent.
#[derive(Debug)]
pub struct Client {
    conn: Connection,
    socket: PathBuf,
    /// Whether a lost agent may be replaced by starting one ([`Client::connect_or_start`]).
    may_start: bool,
}

/// Result of a login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedIn {
    /// Endpoint logged in to.
    pub endpoint: String,
    /// Who (the token's subject, unverified), if known.
    pub subject: Option<String>,
    /// Expiry of the access token, Unix seconds.
    pub expires_at: u64,
}

impl Client {
    /// Connects to the agent at `socket` (see [`default_socket`]), starting one if none runs.
    pub fn connect_or_start(socket: &Path) -> Result<Client> {
        Ok(Client {
            conn: spawn::connect_or_start(socket)?,
            socket: socket.to_owned(),
            may_start: true,
        })
    }

    /// Connects to a running agent; never starts one.
    pub fn connect(socket: &Path) -> Result<Client> {
        Ok(Client {
            conn: open(socket)?,
            socket: socket.to_owned(),
            may_start: false,
        })
    }

    /// The agent's process id.
    pub fn agent_pid(&self) -> u32 {
        self.conn.agent_pid
    }

    /// A token for `profile` valid for at least `min_valid`. If none can be had without a
    /// login, an `interactive` caller (one that can show prompts to a human) starts or joins
    /// one and `on_event` sees its prompts; otherwise the answer is "login required".
    pub fn get_token(
        &mut self,
        profile: &Profile,
        min_valid: Duration,
        interactive: bool,
        on_event: &mut dyn FnMut(&Event),
    ) -> Result<TokenResponse> {
        let req = Request::GetToken {
            profile: Box::new(profile.clone()),
            min_valid_secs: min_valid.as_secs(),
            interactive,
            browser_env: browser_env(),
        };
        let wait = if profile.mode.is_interactive() {
            LOGIN_READ_TIMEOUT
        } else {
            DEFAULT_READ_TIMEOUT
        };
        match self.request(&req, wait, on_event)? {
            Response::Token(t) => Ok(t),
            other => Err(unexpected(other)),
        }
    }

    /// Logs in (again) with `method` (`None`: the profile's mode), joining a login already in
    /// progress for the same session. With `import`, takes over the tokens Flyte's Python SDKs
    /// left in the keyring instead. `on_event` sees the prompts.
    pub fn login(
        &mut self,
        profile: &Profile,
        method: Option<AuthMode>,
        import: bool,
        on_event: &mut dyn FnMut(&Event),
    ) -> Result<LoggedIn> {
        let req = Request::Login {
            profile: Box::new(profile.clone()),
            method,
            import,
            browser_env: browser_env(),
        };
        match self.request(&req, LOGIN_READ_TIMEOUT, on_event)? {
            Response::LoggedIn {
                endpoint,
                subject,
                expires_at,
            } => Ok(LoggedIn {
                endpoint,
                subject,
                expires_at,
            }),
            other => Err(unexpected(other)),
        }
    }

    /// Forgets the session of one profile, or every session; returns how many sessions were
    /// forgotten.
    pub fn logout(&mut self, target: LogoutTarget) -> Result<u32> {
        let req = Request::Logout { target };
        match self.request(&req, DEFAULT_READ_TIMEOUT, &mut |_| {})? {
            Response::LoggedOut { sessions } => Ok(sessions),
            other => Err(unexpected(other)),
        }
    }

    /// Every session's state, fetched page by page (one page holds what fits in a frame).
    pub fn status(&mut self) -> Result<StatusReport> {
        let mut report = self.status_page(Request::Status)?;
        let mut at = 0;
        while let Some(next) = report.next_offset.take() {
            // A page that does not move forward would loop for ever.
            if next <= at {
                return Err(crate::Error::Unexpected(format!(
                    "status page at {at} points back to {next}"
                )));
            }
            at = next;
            let page = self.status_page(Request::StatusPage { offset: next })?;
            report.sessions.extend(page.sessions);
            report.next_offset = page.next_offset;
        }
        Ok(report)
    }

    fn status_page(&mut self, req: Request) -> Result<StatusReport> {
        match self.request(&req, QUICK_READ_TIMEOUT, &mut |_| {})? {
            Response::Status(s) => Ok(s),
            other => Err(unexpected(other)),
        }
    }

    /// Sends `req` and returns its final answer. When the agent goes away before answering
    /// (killed, crashed, stopping) or turns out busy, the request is sent once more on a new
    /// connection: to a new agent if this client may start one. Every request retried here
    /// is idempotent (a token, status, logout); a login (or a token request that started
    /// one) is retried only when no prompt had been shown yet, so that the user never sees a
    /// second link or code replace the first unannounced: the error says to run it again.
    fn request(
        &mut self,
        req: &Request,
        wait: Duration,
        on_event: &mut dyn FnMut(&Event),
    ) -> Result<Response> {
        self.conn.set_read_timeout(Some(wait))?;
        let mut shown = false;
        let first = self.conn.call(req, &mut |e| {
            shown = true;
            on_event(e)
        });
        match first {
            // A prompt was shown: its login died with the agent, and a silent retry would put
            // a new link or code in place of the one the user may be typing in right now.
            Err(crate::Error::AgentGone { path, why }) if shown => Err(crate::Error::AgentGone {
                path,
                why: format!("{why}; the login it was running is lost: run the command again"),
            }),
            Err(e) if !shown && (retry::is_gone(&e) || retry::is_busy(&e)) => {
                self.retry(req, wait, on_event, e)
            }
            other => other,
        }
    }

    /// Sends `req` again after the agent went away or was busy (`first` is why): a few
    /// times, with jittered backoff within [`retry::BUSY_BUDGET`], through connect-or-start.
    /// More than once, because in a burst a full agent may close an idle connection (ours,
    /// between hello and request) to make room for another; a prompt shown on a retry ends
    /// the retrying, as on the first try.
    fn retry(
        &mut self,
        req: &Request,
        wait: Duration,
        on_event: &mut dyn FnMut(&Event),
        first: crate::Error,
    ) -> Result<Response> {
        let mut backoff = retry::Backoff::new(retry::BUSY_BUDGET);
        let mut last = first;
        for _ in 0..retry::REQUEST_TRIES {
            self.conn = if self.may_start {
                spawn::connect_or_start(&self.socket)?
            } else {
                open(&self.socket)?
            };
            self.conn.set_read_timeout(Some(wait))?;
            let mut shown = false;
            match self.conn.call(req, &mut |e| {
                shown = true;
                on_event(e)
            }) {
                Err(e) if !shown && (retry::is_gone(&e) || retry::is_busy(&e)) => last = e,
                other => return other,
            }
            if !backoff.wait() {
                break;
            }
        }
        Err(last)
    }

    /// Asks the agent to exit.
    pub fn shutdown(&mut self) -> Result<()> {
        match self.conn.call(&Request::Shutdown, &mut |_| {})? {
            Response::Ok => Ok(()),
            other => Err(unexpected(other)),
        }
    }
}

/// Connects to a running agent at `socket`, without starting one.
fn open(socket: &Path) -> Result<Connection> {
    Connection::open(socket).map_err(|e| match e {
        ConnectError::Failed(e) => e,
        ConnectError::Connect(e) => crate::Error::AgentUnavailable {
            path: socket.to_owned(),
            why: e.to_string(),
            source: Some(e),
        },
    })
}

/// This process's display variables, so the agent opens a browser where we would have.
fn browser_env() -> BrowserEnv {
    BROWSER_ENV_VARS
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| ((*k).to_owned(), v)))
        .collect()
}

/// The socket path from `FLYTE_AUTH_SOCK` / `XDG_RUNTIME_DIR` / the temp-dir fallback.
pub fn default_socket() -> PathBuf {
    flyte_auth_proto::paths::socket_path()
}

#[cfg(all(test, unix))]
#[path = "client_tests.rs"]
mod tests;
