//! One client connection: `Hello` first, then any number of requests, each answered with
//! exactly one final response, preceded by events (login prompts) while it waits. What a
//! request gets is decided by [`crate::handler`]; the connection carries the frames, relays
//! the events, enforces the deadlines and bounds, and records the outcome in the audit log.
//!
//! A reader task reads the next request when the connection asks for it (see [`read`]), so
//! that a client that pipelines frames while a request waits for a login is held back
//! instead of queued, and watches the socket meanwhile, so the connection still notices the
//! client leaving (and the session can cancel a login nobody waits for).
//!
//! Every way a connection ends -- deadline, eviction, write timeout, shutdown, the client
//! leaving -- drops the whole `Connection`: both halves of the stream and the reader task,
//! so no descriptor outlives it.

use std::sync::Arc;
use std::time::Duration;

mod intake;
// `Unwatched` (a stream that cannot watch for a hang-up) is for Windows' named pipes.
#[cfg_attr(not(windows), allow(dead_code))]
mod read;

use flyte_auth_proto::frame;
use flyte_auth_proto::{ErrorKind, Request, Response, WireError};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use self::read::Inbox;
pub(crate) use self::read::PeerReader;
#[cfg(windows)]
pub(crate) use self::read::Unwatched;
use crate::Ctx;
use crate::audit::{self, Peer, Subject};
use crate::handler::{Handled, Handler, Pending};
use crate::server::Slot;
use crate::session::{Reply, Ticket};

/// A client connection and what it needs to answer requests. `W` is the write half of its
/// stream: a Unix socket's, or a named pipe's on Windows.
#[derive(Debug)]
pub struct Connection<W> {
    writer: W,
    inbox: Inbox,
    slot: Slot,
    peer: Peer,
    ctx: Arc<Ctx>,
    handler: Arc<Handler>,
    shutdown: CancellationToken,
}

impl<W: AsyncWrite + Unpin> Connection<W> {
    /// Wraps the two halves of an accepted, already authorised stream holding `slot`, and
    /// starts reading from `reader`.
    pub(crate) fn new<R: PeerReader>(
        reader: R,
        writer: W,
        slot: Slot,
        peer: Peer,
        ctx: Arc<Ctx>,
        handler: Arc<Handler>,
        shutdown: CancellationToken,
    ) -> Self {
        Connection {
            writer,
            inbox: Inbox::new(reader),
            slot,
            peer,
            ctx,
            handler,
            shutdown,
        }
    }

    /// Serves the connection until the client leaves, idles out, errs, makes room for a
    /// newer one, or the agent stops.
    pub async fn run(mut self) {
        // Absolute: frames that are not a hello (garbage, say) do not buy more time.
        let hello_by = Instant::now() + self.ctx.settings.handshake_timeout;
        if !self.hello(hello_by).await {
            return;
        }
        self.slot.idle();
        loop {
            let idle_by = Instant::now() + self.ctx.settings.idle_connection;
            let Some(req) = self.next_request(idle_by).await else {
                return;
            };
            // Recorded here rather than in the handler: whether the answer reached the client
            // (or the client left first) is part of the outcome, and only the connection knows.
            let subject = self.ctx.settings.audit.enabled().then(|| Subject::of(&req));
            let response = self.handle(req).await;
            let sent = match &response {
                Some(r) => self.send(r).await.is_ok(),
                None => false,
            };
            if let Some(subject) = subject {
                let outcome = match &response {
                    None => "client_gone".to_owned(),
                    Some(_) if !sent => "not_delivered".to_owned(),
                    Some(r) => audit::outcome(r),
                };
                self.ctx.settings.audit.record(&self.peer, subject, outcome);
            }
            if !sent || self.shutdown.is_cancelled() {
                return;
            }
            self.slot.idle();
        }
    }

    /// Answers one request through the handler, relaying a pending answer's events until
    /// its deadline; `None` when the client went away while it waited.
    async fn handle(&mut self, req: Request) -> Option<Response> {
        match self.handler.handle(req).await {
            Handled::Done(response) => Some(response),
            Handled::Pending(Pending {
                ticket,
                deadline,
                answer,
            }) => {
                let outcome = self.wait(ticket, deadline).await?;
                Some(answer.respond(outcome, deadline))
            }
        }
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
                    return Some(Some(r.unwrap_or_else(|_| Err(crate::session::session_gone()))));
                }
                Some(event) = events.recv() => {
                    self.send(&Response::Event { event }).await.ok()?;
                }
                // The client hung up: dropping `reply` tells the session.
                () = self.inbox.gone() => return None,
                _ = &mut timeout => return Some(None),
                _ = self.shutdown.cancelled() => return None,
                // Slots are taken only from idle connections; should that have raced with
                // this request's arrival, close all the same: the slot is no longer ours.
                _ = self.slot.evicted() => return None,
            }
        }
    }

    /// Writes one response, within the write timeout: a peer that stops reading cannot hold
    /// its slot (its writes would block once the socket buffers are full).
    async fn send(&mut self, resp: &Response) -> Result<(), ()> {
        let bytes = frame::encode(resp)
            .map_err(|e| tracing::error!(error = %e, "cannot encode response"))?;
        let limit = self.ctx.settings.write_timeout;
        let write = tokio::time::timeout(limit, self.writer.write_all(&bytes));
        tokio::select! {
            r = write => match r {
                Ok(r) => r.map_err(|_| ()),
                Err(_) => {
                    tracing::debug!("client does not read its answers; closing the connection");
                    Err(())
                }
            },
            // Answering a bad frame does not make a connection busy: told to make room, it
            // must not keep the slot (and the newcomer waiting) until the write times out.
            _ = self.slot.evicted() => Err(()),
        }
    }

    async fn send_error(&mut self, kind: ErrorKind, msg: impl Into<String>) -> Result<(), ()> {
        self.send(&Response::Error(WireError::new(kind, msg))).await
    }
}
