//! Unix: the agent's socket (taken from the service manager, or bound by us: [`socket`]),
//! its accept loop (peer-uid check, then the [`Gate`]), signals, and readiness for the
//! service manager ([`activation`]).

mod activation;
mod socket;

use std::os::unix::net::UnixListener as StdListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use flyte_auth_proto::{ErrorKind, WireError};
use tokio::net::{UnixListener, UnixStream};
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

pub(crate) use self::activation::exit_when_idle;
use super::{Activity, Gate, Throttle};
use crate::audit::Peer;
use crate::session::Registry;
use crate::{AgentError, Ctx, Settings};

/// What the agent listens on: a Unix socket.
pub type Listener = UnixListener;

/// Where the agent will listen, decided before anything starts a thread: the socket the
/// service manager passed (socket activation), else the path to bind.
#[derive(Debug)]
pub struct Endpoint {
    inherited: Option<StdListener>,
    socket: Option<PathBuf>,
}

impl Endpoint {
    /// Takes the socket the service manager passed, if it passed one, else remembers
    /// `socket` (`None`: the default path) to bind. Call it first, while the process is
    /// single-threaded: taking an inherited socket edits the environment.
    pub fn take(socket: Option<PathBuf>) -> Result<Endpoint, AgentError> {
        let inherited = activation::inherited_listener()?;
        if inherited.is_some() && socket.is_some() {
            tracing::warn!("socket activated: ignoring --socket");
        }
        Ok(Endpoint { inherited, socket })
    }

    /// Whether the service manager passed the socket.
    pub fn activated(&self) -> bool {
        self.inherited.is_some()
    }

    /// The inherited listener, else one bound at the socket path (or the default path). A
    /// socket the service manager passed is its own: we never bind, chmod, lock or unlink it
    /// (systemd guarantees one instance per socket unit). Only a socket we bound is ours to
    /// remove.
    fn listen(self) -> Result<(StdListener, Option<socket::OwnedSocket>), AgentError> {
        if let Some(l) = self.inherited {
            return Ok((l, None));
        }
        let path = match self.socket {
            Some(p) => p,
            None => flyte_auth_proto::paths::socket_path(),
        };
        let owned = socket::bind(&path)?;
        let listener = owned.listener.try_clone().map_err(|e| {
            AgentError::listen(path.display().to_string(), e.to_string()).because(e)
        })?;
        Ok((listener, Some(owned)))
    }
}

/// Listens on `endpoint`, tells whoever started us that we are ready (the `READY` line when
/// `ready_stdout`, and the service manager), serves until a signal or a client's `Shutdown`,
/// then removes the socket if we bound it.
pub async fn serve(
    endpoint: Endpoint,
    settings: Settings,
    ready_stdout: bool,
) -> Result<(), AgentError> {
    let (std_listener, owned) = endpoint.listen()?;
    let setup = |e: std::io::Error| {
        let path = owned
            .as_ref()
            .map(|o| o.path.display().to_string())
            .unwrap_or_else(|| "the inherited socket".into());
        AgentError::listen(path, format!("socket setup: {e}")).because(e)
    };
    std_listener.set_nonblocking(true).map_err(setup)?;
    let addr = std_listener.local_addr().map_err(setup)?;
    let socket = addr
        .as_pathname()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let listener = UnixListener::from_std(std_listener).map_err(setup)?;
    let shutdown = CancellationToken::new();
    watch_signals(shutdown.clone())
        .map_err(|e| AgentError::internal(format!("cannot watch signals: {e}")).because(e))?;
    tracing::info!(%socket, activated = owned.is_none(), pid = std::process::id(), "flyte-auth-agent listening");
    if ready_stdout {
        super::print_ready();
    }
    activation::notify_ready();
    let stopping = tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            shutdown.cancelled().await;
            activation::notify_stopping();
        }
    });
    crate::run(settings, listener, shutdown).await;
    let _ = stopping.await;
    if let Some(owned) = owned {
        owned.remove();
    }
    tracing::info!("flyte-auth-agent stopped");
    Ok(())
}

/// SIGTERM/SIGINT stop the agent gracefully; SIGHUP (a closing terminal that started us) is
/// ignored, as a user-session daemon should.
fn watch_signals(shutdown: CancellationToken) -> std::io::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                _ = hup.recv() => tracing::info!("ignoring SIGHUP"),
            }
        }
        tracing::info!("signal received; shutting down");
        shutdown.cancel();
    });
    Ok(())
}

/// Serves `listener` until `shutdown` is cancelled, then waits (bounded) for connections in
/// flight to finish.
pub(crate) async fn accept_loop(
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
