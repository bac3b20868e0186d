//! Where a request is decided: [`Handler::handle`] takes a [`Request`] and gives either the
//! [`Response`] at once or a [`Pending`] answer (a session's ticket, whose events are login
//! prompts, with the deadline it gets and how its outcome is answered). The policy lives
//! here: the deadline per auth mode, the subject shown for a login, the status report and
//! its paging, logout's arguments, shutdown. Framing, hello, relaying events and enforcing
//! the deadline are the connection's ([`crate::connection`]).

use std::sync::Arc;
use std::time::Duration;

use flyte_auth_proto::contract::LOGIN_TIMEOUT;
use flyte_auth_proto::{AuthMode, ErrorKind, Request, Response, StatusReport, WireError};
use tokio_util::sync::CancellationToken;

use crate::Ctx;
use crate::session::{Registry, Reply, Ticket};

/// Decides requests for every connection of one agent.
#[derive(Debug)]
pub(crate) struct Handler {
    ctx: Arc<Ctx>,
    registry: Arc<Registry>,
    shutdown: CancellationToken,
}

/// What a request comes to.
#[derive(Debug)]
pub(crate) enum Handled {
    /// The final response, at hand.
    Done(Response),
    /// A session works on it: wait for its ticket.
    Pending(Pending),
}

/// An answer a session works on.
#[derive(Debug)]
pub(crate) struct Pending {
    /// The session's answer, and its events meanwhile.
    pub(crate) ticket: Ticket,
    /// Longest the connection waits for it.
    pub(crate) deadline: Duration,
    /// How the outcome is answered.
    pub(crate) answer: Answer,
}

/// How a session's outcome becomes the response.
#[derive(Debug)]
pub(crate) enum Answer {
    /// `GetToken`: the token itself.
    Token {
        /// For the timeout message.
        host: String,
    },
    /// `Login`: who logged in where, and until when.
    LoggedIn {
        /// The profile's endpoint.
        endpoint: String,
    },
}

impl Answer {
    /// The response for the session's `outcome`; `None`: the deadline passed first.
    pub(crate) fn respond(self, outcome: Option<Reply>, deadline: Duration) -> Response {
        match (self, outcome) {
            (_, Some(Err(e))) => Response::Error(e),
            (Answer::Token { .. }, Some(Ok(token))) => Response::Token(token),
            (Answer::Token { host }, None) => Response::Error(WireError::new(
                ErrorKind::IdpUnreachable,
                format!(
                    "timed out after {}s waiting for a token from {host}",
                    deadline.as_secs()
                ),
            )),
            (Answer::LoggedIn { endpoint }, Some(Ok(token))) => Response::LoggedIn {
                endpoint,
                subject: crate::jwt::claims(token.access_token.expose())
                    .and_then(|c| c.display_subject()),
                expires_at: token.expires_at,
            },
            (Answer::LoggedIn { .. }, None) => {
                Response::Error(WireError::new(ErrorKind::LoginRequired, "login timed out"))
            }
        }
    }
}

impl Handler {
    /// A handler answering from `registry`; a `Shutdown` request cancels `shutdown`.
    pub(crate) fn new(
        ctx: Arc<Ctx>,
        registry: Arc<Registry>,
        shutdown: CancellationToken,
    ) -> Handler {
        Handler {
            ctx,
            registry,
            shutdown,
        }
    }

    /// Decides one request (after the connection's hello).
    pub(crate) async fn handle(&self, req: Request) -> Handled {
        let registry = &self.registry;
        let done = match req {
            Request::GetToken {
                profile,
                min_valid_secs,
                interactive,
                browser_env,
            } => {
                let host = profile.host().to_owned();
                // Only a client secret never waits for a human.
                let deadline = match profile.mode {
                    AuthMode::ClientSecret => self.ctx.settings.request_timeout,
                    _ => LOGIN_TIMEOUT,
                };
                let min_valid = Duration::from_secs(min_valid_secs);
                let ticket = registry
                    .get_token(profile, min_valid, interactive, browser_env)
                    .await;
                return Handled::Pending(Pending {
                    ticket,
                    deadline,
                    answer: Answer::Token { host },
                });
            }
            Request::Login {
                profile,
                method,
                import,
                browser_env,
            } => {
                let endpoint = profile.endpoint.clone();
                let method = method.unwrap_or(profile.mode);
                let ticket = registry.login(profile, method, import, browser_env).await;
                return Handled::Pending(Pending {
                    ticket,
                    deadline: LOGIN_TIMEOUT,
                    answer: Answer::LoggedIn { endpoint },
                });
            }
            // The wire type allows only one session or all: nothing left to validate here.
            Request::Logout { target } => Response::LoggedOut {
                sessions: registry.logout(target.profile()).await,
            },
            Request::Status => self.status(0).await,
            Request::StatusPage { offset } => self.status(offset as usize).await,
            Request::Shutdown => {
                tracing::info!("shutdown requested by a client");
                self.shutdown.cancel();
                Response::Ok
            }
            Request::Hello { .. } => Response::Error(WireError::new(
                ErrorKind::BadRequest,
                "hello may only be sent once per connection",
            )),
            Request::Unknown => Response::Error(WireError::new(
                ErrorKind::BadRequest,
                "unknown request type (is the client newer than the agent? restart the agent)",
            )),
        };
        Handled::Done(done)
    }

    /// The status report's page from `offset` (one page fits in a frame).
    async fn status(&self, offset: usize) -> Response {
        let all = self.registry.status().await;
        let (sessions, next_offset) = flyte_auth_proto::status_page::page(&all, offset);
        Response::Status(StatusReport {
            agent_version: env!("CARGO_PKG_VERSION").to_owned(),
            pid: std::process::id(),
            uptime_secs: self.ctx.started.elapsed().as_secs(),
            sessions,
            next_offset,
            total_sessions: u32::try_from(all.len()).ok(),
            audit_log: self
                .ctx
                .settings
                .audit
                .path()
                .map(|p| p.display().to_string()),
        })
    }
}

#[cfg(test)]
mod tests;
