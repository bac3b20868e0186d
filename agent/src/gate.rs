//! What both accept loops (Unix socket, Windows named pipe) share once a peer is let in:
//! the connection limit, one tracked task per connection, refusals that say why, and a
//! bounded wait for connections in flight at shutdown.

use std::fmt::Debug;
use std::sync::Arc;

use flyte_auth_proto::{ErrorKind, Response, WireError, frame};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::Ctx;
use crate::connection::Connection;
use crate::server::Activity;
use crate::session::Registry;

/// Admits connections into the agent.
#[derive(Debug)]
pub struct Gate {
    limit: Arc<Semaphore>,
    tracker: TaskTracker,
    ctx: Arc<Ctx>,
    registry: Arc<Registry>,
    activity: Activity,
    shutdown: CancellationToken,
}

impl Gate {
    /// A gate for an agent with `ctx`'s connection limit.
    pub fn new(
        ctx: Arc<Ctx>,
        registry: Arc<Registry>,
        activity: Activity,
        shutdown: CancellationToken,
    ) -> Gate {
        let limit = Arc::new(Semaphore::new(ctx.settings.max_connections));
        Gate {
            limit,
            tracker: TaskTracker::new(),
            ctx,
            registry,
            activity,
            shutdown,
        }
    }

    /// Serves an authorised peer's `stream` (split into halves by `split`) on its own task,
    /// or tells it the agent is at its connection limit.
    pub fn admit<S, R, W>(&self, stream: S, pid: &dyn Debug, split: impl FnOnce(S) -> (R, W))
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let Ok(permit) = self.limit.clone().try_acquire_owned() else {
            tracing::warn!(peer_pid = ?pid, "connection limit reached; refusing connection");
            let msg = "agent is at its connection limit; try again";
            self.refuse(stream, WireError::new(ErrorKind::Busy, msg));
            return;
        };
        tracing::debug!(peer_pid = ?pid, "client connected");
        let (reader, writer) = split(stream);
        let conn = Connection::new(
            reader,
            writer,
            self.ctx.clone(),
            self.registry.clone(),
            self.shutdown.clone(),
        );
        let busy = self.activity.enter();
        self.tracker.spawn(async move {
            conn.run().await;
            drop((permit, busy));
        });
    }

    /// Tells a peer why it is refused, on a tracked task.
    pub fn refuse<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
        &self,
        stream: S,
        err: WireError,
    ) {
        self.tracker.spawn(refuse(stream, err));
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
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), explain).await;
}
