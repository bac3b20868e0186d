//! What both accept loops (Unix socket, Windows named pipe) share once a peer is let in:
//! the connection slots (at the limit an idle connection makes room; while none can, new
//! connections wait in the kernel's queue for a moment, and are told "busy" only when every
//! slot keeps a request in flight), one tracked task per connection, refusals that say why
//! (themselves bounded), and a bounded wait for connections in flight at shutdown.

use std::sync::Arc;
use std::time::{Duration, Instant};

use flyte_auth_proto::{ErrorKind, Response, WireError, frame};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::Activity;
use super::Throttle;
use super::slots::{Admission, Room, Slots};
use crate::Ctx;
use crate::audit::{Peer, Subject, kind_name};
use crate::connection::{Connection, PeerReader};
use crate::handler::Handler;
use crate::session::Registry;

/// Refused peers being told why at once; past that a refused connection is just closed, so
/// that refusals cannot hold descriptors of their own.
const MAX_REFUSING: usize = 32;
/// Longest a refusal may take to explain itself.
const REFUSAL_TIME: Duration = Duration::from_secs(1);
/// A connection idle (or silent since connecting) this long may be closed to make room.
const IDLE_GRACE: Duration = Duration::from_millis(500);
/// How long new connections wait (unaccepted) for a slot before they are told "busy".
const BUSY_AFTER: Duration = Duration::from_secs(1);

/// Admits connections into the agent.
#[derive(Debug)]
pub(crate) struct Gate {
    slots: Arc<Slots>,
    refusing: Arc<Semaphore>,
    tracker: TaskTracker,
    ctx: Arc<Ctx>,
    handler: Arc<Handler>,
    activity: Activity,
    shutdown: CancellationToken,
    log_full: Throttle,
    log_room: Throttle,
}

impl Gate {
    /// A gate for an agent with `ctx`'s connection limit.
    pub fn new(
        ctx: Arc<Ctx>,
        registry: Arc<Registry>,
        activity: Activity,
        shutdown: CancellationToken,
    ) -> Gate {
        Gate {
            slots: Slots::new(
                ctx.settings.max_connections,
                IDLE_GRACE.min(ctx.settings.handshake_timeout),
            ),
            refusing: Arc::new(Semaphore::new(MAX_REFUSING)),
            tracker: TaskTracker::new(),
            handler: Arc::new(Handler::new(ctx.clone(), registry, shutdown.clone())),
            ctx,
            activity,
            shutdown,
            log_full: Throttle::new(Duration::from_secs(1)),
            log_room: Throttle::new(Duration::from_secs(1)),
        }
    }

    /// Returns once a new connection could have a slot, or once every slot has had a request
    /// in flight for [`BUSY_AFTER`] (counted in `full_since`, kept by the accept loop across
    /// calls: while that lasts, later connections are answered "busy" without waiting again).
    /// The accept loop calls this holding the one connection it accepted, and accepts no
    /// other meanwhile: a burst waits in the kernel's queue instead of being refused.
    pub async fn wait_for_room(&self, full_since: &mut Option<Instant>) {
        loop {
            let until = match self.slots.make_room() {
                Room::Now => {
                    *full_since = None;
                    return;
                }
                Room::Closing => {
                    *full_since = None;
                    if let Some(held) = self.log_room.allow() {
                        tracing::info!(
                            max = self.ctx.settings.max_connections,
                            also_since_last = held,
                            "connection limit reached; closing the longest-idle connection to \
                             make room"
                        );
                    }
                    // Its task closes it at once; the fallback only guards a lost wake-up.
                    Instant::now() + Duration::from_millis(50)
                }
                // An idle connection's grace ends then, at the latest.
                Room::At(t) => {
                    *full_since = None;
                    t
                }
                Room::None => {
                    let give_up = *full_since.get_or_insert_with(Instant::now) + BUSY_AFTER;
                    if Instant::now() >= give_up {
                        return;
                    }
                    give_up
                }
            };
            tokio::select! {
                () = self.slots.changed() => {}
                () = tokio::time::sleep_until(until.into()) => {}
            }
        }
    }

    /// Serves an authorised `peer`'s `stream` (split into halves by `split`) on its own task,
    /// making room if the agent is at its limit, or tells it the agent is busy.
    pub fn admit<S, R, W>(&self, stream: S, peer: Peer, split: impl FnOnce(S) -> (R, W))
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        R: PeerReader,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let slot = match self.slots.admit() {
            Admission::Free(slot) => slot,
            Admission::MadeRoom(slot) => {
                if let Some(held) = self.log_room.allow() {
                    tracing::info!(
                        max = self.ctx.settings.max_connections,
                        also_since_last = held,
                        "connection limit reached; closing the longest-idle connection to make room"
                    );
                }
                slot
            }
            Admission::Full => {
                if let Some(held) = self.log_full.allow() {
                    tracing::warn!(
                        peer_pid = ?peer.pid,
                        also_since_last = held,
                        "connection limit reached and every connection has a request in flight; \
                         refusing connection"
                    );
                }
                let msg = "agent is at its connection limit (every connection has a request in \
                           flight); try again";
                self.refuse(stream, &peer, WireError::new(ErrorKind::Busy, msg));
                return;
            }
        };
        tracing::debug!(peer_pid = ?peer.pid, "client connected");
        let (reader, writer) = split(stream);
        let conn = Connection::new(
            reader,
            writer,
            slot,
            peer,
            self.ctx.clone(),
            self.handler.clone(),
            self.shutdown.clone(),
        );
        let busy = self.activity.enter();
        self.tracker.spawn(async move {
            conn.run().await;
            drop(busy);
        });
    }

    /// Tells a refused `peer` why, on a tracked task (or, when many are being refused at
    /// once, just closes its connection), and records the refusal in the audit log.
    pub fn refuse<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
        &self,
        stream: S,
        peer: &Peer,
        err: WireError,
    ) {
        self.ctx
            .settings
            .audit
            .record(peer, Subject::named("connect"), kind_name(err.kind));
        let Ok(permit) = self.refusing.clone().try_acquire_owned() else {
            tracing::debug!("too many refusals in progress; closing without an explanation");
            return;
        };
        self.tracker.spawn(async move {
            refuse(stream, err).await;
            drop(permit);
        });
    }

    /// Waits (bounded by the shutdown grace) for the connections in flight to finish.
    pub async fn drain(self) {
        self.tracker.close();
        if tokio::time::timeout(self.ctx.settings.shutdown_grace, self.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("connections still busy at shutdown; closing them");
        }
    }
}

/// Tells a refused peer why, then closes. Bounded so a peer that never reads cannot hold us.
async fn refuse<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, err: WireError) {
    let explain = async {
        let bytes = frame::encode(&Response::Error(err)).ok()?;
        stream.write_all(&bytes).await.ok()?;
        stream.shutdown().await.ok()?;
        // Linger until the peer closes: closing while its hello is still on the way would
        // turn our explanation into a bare "connection reset" on its side.
        let mut sink = [0u8; 512];
        while stream.read(&mut sink).await.ok()? > 0 {}
        Some(())
    };
    let _ = tokio::time::timeout(REFUSAL_TIME, explain).await;
}
