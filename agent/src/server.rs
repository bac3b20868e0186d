//! Accept loop on the Unix socket: peer-uid check, then the [`crate::gate::Gate`] (limit,
//! one task per connection, graceful stop). On Windows the loop over the named pipe lives in
//! [`crate::pipe`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[cfg(unix)]
use {
    crate::{
        Ctx,
        audit::Peer,
        gate::{Gate, Throttle},
        session::Registry,
    },
    flyte_auth_proto::{ErrorKind, WireError},
    std::time::Duration,
    tokio::net::{UnixListener, UnixStream},
    tokio_util::sync::CancellationToken,
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
    let audit = ctx.settings.audit.clone();
    let gate = Gate::new(ctx, registry, activity, shutdown.clone());
    let owner = flyte_auth_proto::paths::current_uid();
    let log_accept = Throttle::new(Duration::from_secs(5));
    let mut full_since = None;
    loop {
        let stream = tokio::select! {
            // Shutdown first: once the agent decided to stop (signal, idle exit), it must not
            // accept a connection it will then close unanswered.
            biased;
            _ = shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    accept_failed(&e, &log_accept).await;
                    continue;
                }
            },
        };
        let (uid, pid) = match stream.peer_cred() {
            Ok(c) => (c.uid(), c.pid()),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read peer credentials; refusing connection");
                continue;
            }
        };
        let peer = Peer::new(Some(uid), pid, &audit);
        // Like ssh-agent: the owner, and root (who could read our memory anyway).
        if uid != owner && uid != 0 {
            tracing::warn!(peer_uid = uid, peer_pid = ?pid, "refused connection from another user");
            let msg = format!("permission denied: uid {uid} may not use the agent of uid {owner}");
            gate.refuse(
                stream,
                &peer,
                WireError::new(ErrorKind::PermissionDenied, msg),
            );
            continue;
        }
        // Holding this one connection, accept no other until it has a slot (or none could
        // be had for a while): a burst waits in the kernel's queue instead of being refused.
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            () = gate.wait_for_room(&mut full_since) => {}
        }
        gate.admit(stream, peer, UnixStream::into_split);
    }
    gate.drain().await;
}

/// After a failed accept: out of descriptors (EMFILE, ENFILE) or memory, pause briefly so
/// that connections can finish and free some, instead of spinning on a listener that stays
/// readable; anything else (a peer that gave up while queued) is retried almost at once.
/// Logged at most once per throttle interval.
#[cfg(unix)]
async fn accept_failed(e: &std::io::Error, log: &Throttle) {
    use rustix::io::Errno;
    let exhausted = matches!(
        Errno::from_io_error(e),
        Some(Errno::MFILE | Errno::NFILE | Errno::NOBUFS | Errno::NOMEM)
    );
    if !exhausted {
        tracing::debug!(error = %e, "accept failed");
        // Never a busy loop, whatever the error.
        tokio::time::sleep(Duration::from_millis(5)).await;
        return;
    }
    if let Some(held) = log.allow() {
        tracing::warn!(error = %e, also_since_last = held, "accept failed; pausing");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
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
