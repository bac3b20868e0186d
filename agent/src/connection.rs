//! One client connection: `Hello` first, then any number of requests, each answered with
//! exactly one final response, preceded by events (login prompts) while it waits.
//!
//! A reader task turns the socket into a stream of requests, so that while a request waits
//! for a login the connection still notices the client leaving (and the session can cancel a
//! login nobody waits for).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

mod read;

use flyte_auth_proto::frame;
use flyte_auth_proto::{
    AuthMode, ErrorKind, PROTOCOL_VERSION, ProtoError, Request, Response, StatusReport, WireError,
};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use self::read::{ReadError, read_loop};
use crate::Ctx;
use crate::session::{Registry, Reply, Ticket};

/// Longest any request may wait, logins included (their own timeouts are shorter).
const LOGIN_CAP: Duration = Duration::from_secs(30 * 60);

/// A client connection and what it needs to answer requests. `W` is the write half of its
/// stream: a Unix socket's, or a named pipe's on Windows.
#[derive(Debug)]
pub struct Connection<W> {
    writer: W,
    requests: mpsc::Receiver<Result<Request, ReadError>>,
    /// Requests that arrived while another one was waiting.
    pending: VecDeque<Result<Request, ReadError>>,
    ctx: Arc<Ctx>,
    registry: Arc<Registry>,
    shutdown: CancellationToken,
}

impl<W: AsyncWrite + Unpin> Connection<W> {
    /// Wraps the two halves of an accepted, already authorised stream and starts reading from
    /// `reader`.
    pub fn new<R: AsyncRead + Unpin + Send + 'static>(
        reader: R,
        writer: W,
        ctx: Arc<Ctx>,
        registry: Arc<Registry>,
        shutdown: CancellationToken,
    ) -> Self {
        let (tx, requests) = mpsc::channel(4);
        tokio::spawn(read_loop(reader, tx));
        Connection {
            writer,
            requests,
            pending: VecDeque::new(),
            ctx,
            registry,
            shutdown,
        }
    }

    /// Serves the connection until the client leaves, idles out, errs, or the agent stops.
    pub async fn run(mut self) {
        let (handshake, idle) = (
            self.ctx.settings.handshake_timeout,
            self.ctx.settings.idle_connection,
        );
        match self.next_request(handshake).await {
            Some(Request::Hello { version, client }) if version == PROTOCOL_VERSION => {
                tracing::debug!(%client, "hello");
                let pid = std::process::id();
                let agent_version = env!("CARGO_PKG_VERSION").to_owned();
                if self
                    .send(&Response::Hello {
                        version,
                        agent_version,
                        pid,
                    })
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Some(Request::Hello { version, .. }) => {
                let msg = format!(
                    "protocol version mismatch: client speaks {version}, agent speaks \
                     {PROTOCOL_VERSION}; restart the agent (`flyte-auth agent stop`) or \
                     upgrade flyte-auth so both match"
                );
                let _ = self.send_error(ErrorKind::VersionMismatch, msg).await;
                return;
            }
            Some(_) => {
                let _ = self
                    .send_error(ErrorKind::BadRequest, "expected hello first")
                    .await;
                return;
            }
            None => return,
        }
        while let Some(req) = self.next_request(idle).await {
            let Some(response) = self.handle(req).await else {
                return;
            };
            if self.send(&response).await.is_err() || self.shutdown.is_cancelled() {
                return;
            }
        }
    }

    /// The next request, answering bad ones. `None` means: close the connection.
    async fn next_request(&mut self, wait: Duration) -> Option<Request> {
        loop {
            let item = match self.pending.pop_front() {
                Some(item) => item,
                None => tokio::select! {
                    r = tokio::time::timeout(wait, self.requests.recv()) => r.ok()??,
                    _ = self.shutdown.cancelled() => return None,
                },
            };
            match item {
                Ok(req) => return Some(req),
                Err(ReadError::Recoverable(e)) => {
                    tracing::debug!(error = %e, "bad request");
                    self.send_error(ErrorKind::BadRequest, format!("bad request: {e}"))
                        .await
                        .ok()?;
                }
                Err(ReadError::Fatal(e)) => {
                    tracing::debug!(error = %e, "closing connection");
                    if !matches!(e, ProtoError::Truncated | ProtoError::Io(_)) {
                        let _ = self
                            .send_error(ErrorKind::BadRequest, format!("bad request: {e}"))
                            .await;
                    }
                    return None;
                }
            }
        }
    }

    /// Answers one request; `None` when the client went away while it waited.
    async fn handle(&mut self, req: Request) -> Option<Response> {
        let registry = self.registry.clone();
        Some(match req {
            Request::GetToken {
                profile,
                min_valid_secs,
                interactive,
                browser_env,
            } => {
                let host = profile.host().to_owned();
                let deadline = match profile.mode {
                    AuthMode::ClientSecret => self.ctx.settings.request_timeout,
                    _ => LOGIN_CAP,
                };
                let min_valid = Duration::from_secs(min_valid_secs);
                let ticket = registry
                    .get_token(profile, min_valid, interactive, browser_env)
                    .await;
                match self.wait(ticket, deadline).await? {
                    Some(Ok(token)) => Response::Token(token),
                    Some(Err(e)) => Response::Error(e),
                    None => Response::Error(WireError::new(
                        ErrorKind::IdpUnreachable,
                        format!(
                            "timed out after {}s waiting for a token from {host}",
                            deadline.as_secs()
                        ),
                    )),
                }
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
                match self.wait(ticket, LOGIN_CAP).await? {
                    Some(Ok(token)) => Response::LoggedIn {
                        endpoint,
                        subject: crate::jwt::claims(token.access_token.expose())
                            .and_then(|c| c.display_subject()),
                        expires_at: token.expires_at,
                    },
                    Some(Err(e)) => Response::Error(e),
                    None => {
                        Response::Error(WireError::new(ErrorKind::LoginRequired, "login timed out"))
                    }
                }
            }
            Request::Logout { profile, all } => {
                let target = if all { None } else { profile };
                if target.is_none() && !all {
                    return Some(Response::Error(WireError::new(
                        ErrorKind::BadRequest,
                        "logout needs a profile or `all`",
                    )));
                }
                Response::LoggedOut {
                    sessions: registry.logout(target.as_deref()).await,
                }
            }
            Request::Status | Request::StatusPage { .. } => {
                let offset = match req {
                    Request::StatusPage { offset } => offset as usize,
                    _ => 0,
                };
                let all = registry.status().await;
                let (sessions, next_offset) = flyte_auth_proto::status_page::page(&all, offset);
                Response::Status(StatusReport {
                    agent_version: env!("CARGO_PKG_VERSION").to_owned(),
                    pid: std::process::id(),
                    uptime_secs: self.ctx.started.elapsed().as_secs(),
                    sessions,
                    next_offset,
                    total_sessions: u32::try_from(all.len()).ok(),
                })
            }
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
        })
    }

    /// Waits for a ticket, forwarding its events. Outer `None`: the client left (or the agent
    /// is stopping); inner `None`: the deadline passed.
    async fn wait(&mut self, ticket: Ticket, deadline: Duration) -> Option<Option<Reply>> {
        let (mut reply, mut events) = match ticket {
            Ticket::Ready(r) => return Some(Some(r)),
            Ticket::Pending { reply, events } => (reply, events),
        };
        let timeout = tokio::time::sleep(deadline);
        tokio::pin!(timeout);
        loop {
            tokio::select! {
                r = &mut reply => {
                    // Events queued before the answer still go out first, in order.
                    while let Ok(event) = events.try_recv() {
                        self.send(&Response::Event { event }).await.ok()?;
                    }
                    return Some(Some(r.unwrap_or_else(|_| Err(gone()))));
                }
                Some(event) = events.recv() => {
                    self.send(&Response::Event { event }).await.ok()?;
                }
                msg = self.requests.recv() => match msg {
                    // The client hung up: dropping `reply` tells the session.
                    None => return None,
                    Some(item) => self.pending.push_back(item),
                },
                _ = &mut timeout => return Some(None),
                _ = self.shutdown.cancelled() => return None,
            }
        }
    }

    async fn send(&mut self, resp: &Response) -> Result<(), ()> {
        let bytes = frame::encode(resp)
            .map_err(|e| tracing::error!(error = %e, "cannot encode response"))?;
        self.writer.write_all(&bytes).await.map_err(|_| ())
    }

    async fn send_error(&mut self, kind: ErrorKind, msg: impl Into<String>) -> Result<(), ()> {
        self.send(&Response::Error(WireError::new(kind, msg))).await
    }
}

fn gone() -> WireError {
    WireError::new(
        ErrorKind::Internal,
        "session task stopped unexpectedly; see the agent log",
    )
}
