//! Accept loop: peer-uid check, connection limit, one task per connection, graceful stop.

use std::sync::Arc;

use flyte_auth_proto::{ErrorKind, Response, WireError, frame};
use tokio::io::AsyncWriteExt;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::connection::Connection;
use crate::{Ctx, session::Registry};

/// Serves `listener` until `shutdown` is cancelled, then waits (bounded) for connections in
/// flight to finish.
pub async fn serve(
    listener: UnixListener,
    ctx: Arc<Ctx>,
    registry: Arc<Registry>,
    shutdown: CancellationToken,
) {
    let limit = Arc::new(Semaphore::new(ctx.settings.max_connections));
    let tracker = TaskTracker::new();
    let owner = flyte_auth_proto::paths::current_uid();
    loop {
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    // EMFILE and friends: log and keep serving the connections we have.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => break,
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
        let conn = Connection::new(stream, ctx.clone(), registry.clone(), shutdown.clone());
        tracker.spawn(async move {
            conn.run().await;
            drop(permit);
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
async fn refuse(mut stream: UnixStream, err: WireError) {
    if let Ok(bytes) = frame::encode(&Response::Error(err)) {
        let write = stream.write_all(&bytes);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), write).await;
    }
}
