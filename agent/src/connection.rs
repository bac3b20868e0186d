//! One client connection: `Hello` first, then any number of requests, each answered with
//! exactly one final response.

use std::sync::Arc;
use std::time::Duration;

use flyte_auth_proto::frame::{self, PREFIX_LEN};
use flyte_auth_proto::{
    ErrorKind, PROTOCOL_VERSION, ProtoError, Request, Response, StatusReport, WireError,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio_util::sync::CancellationToken;
use zeroize::Zeroizing;

use crate::Ctx;
use crate::session::Registry;

/// A client connection and what it needs to answer requests.
#[derive(Debug)]
pub struct Connection {
    stream: UnixStream,
    ctx: Arc<Ctx>,
    registry: Arc<Registry>,
    shutdown: CancellationToken,
}

/// Why reading a request failed.
enum ReadError {
    /// The frame was read whole but its JSON is bad: answer and keep the connection.
    Recoverable(ProtoError),
    /// Framing is lost or the peer is gone: answer if possible and close.
    Fatal(ProtoError),
}

impl Connection {
    /// Wraps an accepted, already authorised stream.
    pub fn new(
        stream: UnixStream,
        ctx: Arc<Ctx>,
        registry: Arc<Registry>,
        shutdown: CancellationToken,
    ) -> Self {
        Connection {
            stream,
            ctx,
            registry,
            shutdown,
        }
    }

    /// Serves the connection until the client leaves, idles out, errs, or the agent stops.
    pub async fn run(mut self) {
        let settings = &self.ctx.settings;
        let (handshake, idle) = (settings.handshake_timeout, settings.idle_connection);
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
            let response = self.handle(req).await;
            if self.send(&response).await.is_err() {
                return;
            }
            if self.shutdown.is_cancelled() {
                return;
            }
        }
    }

    /// Reads the next request, answering bad ones. `None` means: close the connection.
    async fn next_request(&mut self, wait: Duration) -> Option<Request> {
        loop {
            let read = tokio::select! {
                r = tokio::time::timeout(wait, read_request(&mut self.stream)) => r,
                _ = self.shutdown.cancelled() => return None,
            };
            match read {
                Err(_elapsed) => return None,
                Ok(Ok(req)) => return req,
                Ok(Err(ReadError::Recoverable(e))) => {
                    tracing::debug!(error = %e, "bad request");
                    let msg = format!("bad request: {e}");
                    self.send_error(ErrorKind::BadRequest, msg).await.ok()?;
                }
                Ok(Err(ReadError::Fatal(e))) => {
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

    async fn handle(&self, req: Request) -> Response {
        match req {
            Request::GetToken {
                profile,
                min_valid_secs,
                interactive: _,
            } => {
                let min_valid = Duration::from_secs(min_valid_secs);
                let host = profile.host().to_owned();
                let deadline = self.ctx.settings.request_timeout;
                match tokio::time::timeout(deadline, self.registry.get_token(profile, min_valid))
                    .await
                {
                    Ok(Ok(token)) => Response::Token(token),
                    Ok(Err(e)) => Response::Error(e),
                    Err(_) => Response::Error(WireError::new(
                        ErrorKind::IdpUnreachable,
                        format!(
                            "timed out after {}s waiting for a token from {host}",
                            deadline.as_secs()
                        ),
                    )),
                }
            }
            Request::Status => Response::Status(StatusReport {
                agent_version: env!("CARGO_PKG_VERSION").to_owned(),
                pid: std::process::id(),
                uptime_secs: self.ctx.started.elapsed().as_secs(),
                sessions: self.registry.status().await,
            }),
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
        }
    }

    async fn send(&mut self, resp: &Response) -> Result<(), ()> {
        let bytes = frame::encode(resp)
            .map_err(|e| tracing::error!(error = %e, "cannot encode response"))?;
        self.stream.write_all(&bytes).await.map_err(|_| ())
    }

    async fn send_error(&mut self, kind: ErrorKind, msg: impl Into<String>) -> Result<(), ()> {
        self.send(&Response::Error(WireError::new(kind, msg))).await
    }
}

/// Reads one framed request; `Ok(None)` on a clean close between frames.
async fn read_request(stream: &mut UnixStream) -> Result<Option<Request>, ReadError> {
    let mut prefix = [0u8; PREFIX_LEN];
    let mut got = 0;
    while got < PREFIX_LEN {
        match stream.read(&mut prefix[got..]).await {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(ReadError::Fatal(ProtoError::Truncated)),
            Ok(n) => got += n,
            Err(e) => return Err(ReadError::Fatal(e.into())),
        }
    }
    // Checked before allocating: a hostile length prefix costs us nothing.
    let len = frame::body_len(prefix).map_err(ReadError::Fatal)?;
    let mut body = Zeroizing::new(vec![0u8; len]);
    stream
        .read_exact(&mut body)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => ReadError::Fatal(ProtoError::Truncated),
            _ => ReadError::Fatal(e.into()),
        })?;
    frame::decode(&body)
        .map(Some)
        .map_err(ReadError::Recoverable)
}
