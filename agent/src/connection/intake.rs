//! A connection's intake: the hello (within an absolute deadline) and the next request,
//! answering bad frames on the way, and closing on a deadline, eviction or shutdown.

use flyte_auth_proto::{ErrorKind, PROTOCOL_VERSION, ProtoError, Request, Response, WireError};
use tokio::io::AsyncWrite;
use tokio::time::Instant;

use super::Connection;
use super::read::ReadError;
use crate::audit::{self, Subject};

impl<W: AsyncWrite + Unpin> Connection<W> {
    /// Waits for the client's hello (until `by`) and answers it; `false`: close.
    pub(super) async fn hello(&mut self, by: Instant) -> bool {
        let refusal = match self.next_request(by).await {
            Some(Request::Hello { version, client }) if version == PROTOCOL_VERSION => {
                tracing::debug!(%client, "hello");
                let hello = Response::Hello {
                    version,
                    agent_version: env!("CARGO_PKG_VERSION").to_owned(),
                    pid: std::process::id(),
                };
                return self.send(&hello).await.is_ok();
            }
            Some(Request::Hello { version, .. }) => WireError::new(
                ErrorKind::VersionMismatch,
                format!(
                    "protocol version mismatch: client speaks {version}, agent speaks \
                     {PROTOCOL_VERSION}; restart the agent (`flyte-auth agent stop`) or \
                     upgrade flyte-auth so both match"
                ),
            ),
            Some(_) => WireError::new(ErrorKind::BadRequest, "expected hello first"),
            None => return false,
        };
        self.ctx.settings.audit.record(
            &self.peer,
            Subject::named("hello"),
            audit::kind_name(refusal.kind),
        );
        let _ = self.send(&Response::Error(refusal)).await;
        false
    }

    /// The next request (marking the slot busy), answering bad frames meanwhile. `None`
    /// means: close the connection (deadline `by` passed, client gone, evicted, stopping).
    pub(super) async fn next_request(&mut self, by: Instant) -> Option<Request> {
        loop {
            let item = tokio::select! {
                item = self.inbox.next() => item?,
                _ = tokio::time::sleep_until(by) => {
                    tracing::debug!("connection deadline passed; closing");
                    return None;
                }
                _ = self.slot.evicted() => {
                    tracing::debug!("closing an idle connection to make room for a new one");
                    return None;
                }
                _ = self.shutdown.cancelled() => return None,
            };
            match item {
                Ok(req) => {
                    self.slot.busy();
                    return Some(req);
                }
                // Answered at once, and no reason to count the connection as busy or
                // recently used: it keeps its place in line for eviction and its deadline.
                Err(ReadError::Recoverable(e)) => {
                    tracing::debug!(error = %e, "bad request");
                    self.audit_invalid();
                    // Within the deadline too: a peer that sends garbage and never reads
                    // must not outlive its hello deadline by a write timeout.
                    let answer =
                        self.send_error(ErrorKind::BadRequest, format!("bad request: {e}"));
                    tokio::time::timeout_at(by, answer).await.ok()?.ok()?;
                }
                Err(ReadError::Fatal(e)) => {
                    tracing::debug!(error = %e, "closing connection");
                    if !matches!(e, ProtoError::Truncated | ProtoError::Io(_)) {
                        self.audit_invalid();
                        let answer =
                            self.send_error(ErrorKind::BadRequest, format!("bad request: {e}"));
                        let _ = tokio::time::timeout_at(by, answer).await;
                    }
                    return None;
                }
            }
        }
    }

    fn audit_invalid(&self) {
        let kind = audit::kind_name(ErrorKind::BadRequest);
        let audit = &self.ctx.settings.audit;
        audit.record(&self.peer, Subject::named("invalid"), kind);
    }
}
