//! Accept loop: peer-uid check, connection limit, one task per connection, graceful stop.
//! On Windows the loop over the named pipe lives in [`crate::pipe`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use flyte_auth_proto::{Response, WireError, frame};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
#[cfg(unix)]
use {
    crate::{Ctx, connection::Connection, session::Registry},
    flyte_auth_proto::ErrorKind,
    tokio::net::UnixListener,
    tokio::sync::Semaphore,
    tokio_util::sync::CancellationToken,
    tokio_util::task::TaskTracker,
};

/// What the agent listens on: a Unix socket.
#[cfg(unix)]
pub type Listener = UnixListener;
/// What the agent listens on: a named pipe.
#[cfg(windows)]
pub type Listener = interprocess::local_socket::tokio::Listener;
#[cfg(windows)]
pub use crate::pipe::serve;

/// Serves `listener` until `shutdown` is cancelled, then waits (bounded) for connections in
/// flight to finish.
#[cfg(unix)]
pub async fn serve(
    listener: UnixListener,
    ctx: Arc<Ctx>,
    registry: Arc<Registry>,
    activity: Activity,
    shutdown: CancellationToken,
) {
    let limit = Arc::new(Semaphore::new(ctx.settings.max_connections));
    let tracker = TaskTracker::new();
    let owner = flyte_auth_proto::paths::current_uid();
    loop {
        let stream = tokio::select! {
            // Shutdown first: once the agent decided to stop (signal, idle exit), it must not
            // accept a connection it will then close unanswered.
            biased;
            _ = shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    // EMFILE and friends: log and keep serving the connections we have.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let peer = stream.peer_cred();
        let (uid, pid) = match &peer {
            Ok(c) => (c.uid(), c.pid()),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read peer credentials; refusing connection");
                continue;
            }
        };
        // Like ssh-agent: the owner, and root (who could read our memory anyway).
        if uid != owner && uid != 0 {
            tracing::warn!(peer_uid = uid, peer_pid = ?pid, "refused connection from another user");
            let msg = format!("permission denied: uid {uid} may not use the agent of uid {owner}");
            tracker.spawn(refuse(
                stream,
                WireError::new(ErrorKind::PermissionDenied, msg),
            ));
            continue;
        }
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            tracing::warn!(peer_pid = ?pid, "connection limit reached; refusing connection");
            let msg = "agent is at its connection limit; try again";
            tracker.spawn(refuse(stream, WireError::new(ErrorKind::Busy, msg)));
            continue;
        };
        tracing::debug!(peer_pid = ?pid, "client connected");
        let (reader, writer) = stream.into_split();
        let conn = Connection::new(
            reader,
            writer,
            ctx.clone(),
            registry.clone(),
            shutdown.clone(),
        );
        let busy = activity.enter();
        tracker.spawn(async move {
            conn.run().await;
            drop((permit, busy));
        });
    }
    tracker.close();
    if tokio::time::timeout(ctx.settings.shutdown_grace, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("connections still busy at shutdown; closing them");
    }
}

/// Tells a refused peer why, then closes. Bounded so a peer that never reads cannot hold us.
pub(crate) async fn refuse<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, err: WireError) {
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

/// Open client connections and when the last one opened or closed: what the idle watcher
/// ([`crate::activation::exit_when_idle`]) reads. Cheap to clone; clones share the counts.
#[derive(Debug, Clone)]
pub struct Activity(Arc<ActivityInner>);

#[derive(Debug)]
struct ActivityInner {
    open: AtomicUsize,
    last_change: Mutex<Instant>,
}

impl Default for Activity {
    fn default() -> Self {
        Activity(Arc::new(ActivityInner {
            open: AtomicUsize::new(0),
            last_change: Mutex::new(Instant::now()),
        }))
    }
}

impl Activity {
    /// Connections being served now.
    pub fn open_connections(&self) -> usize {
        self.0.open.load(Ordering::Acquire)
    }

    /// When a connection last opened or closed (or when this was created).
    pub fn last_change(&self) -> Instant {
        *self.0.last_change.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a connection as open until the returned guard is dropped (even by a panic).
    pub fn enter(&self) -> Busy {
        self.0.open.fetch_add(1, Ordering::AcqRel);
        self.touch();
        Busy(self.clone())
    }

    fn touch(&self) {
        *self.0.last_change.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }
}

/// One open connection, for [`Activity`].
#[derive(Debug)]
pub struct Busy(Activity);

impl Drop for Busy {
    fn drop(&mut self) {
        // Stamp before decrementing, so a watcher that sees zero also sees the new time.
        self.0.touch();
        self.0.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}
