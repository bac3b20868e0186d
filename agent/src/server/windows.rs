//! Windows: the agent's named pipe ([`pipe`]), its accept loop (no peer check: the pipe's
//! security descriptor keeps others out), and console control events.
//!
//! Never run on Windows itself: cross-compiled, and smoke-run under Wine. See the README's
//! Windows notes.

mod pipe;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use interprocess::local_socket::tokio::prelude::*;
use tokio_util::sync::CancellationToken;

use super::{Activity, Gate};
use crate::session::Registry;
use crate::{AgentError, Ctx, Settings};

/// What the agent listens on: a named pipe.
pub type Listener = interprocess::local_socket::tokio::Listener;

/// Where the agent will listen: a named pipe path (Windows has no socket activation).
#[derive(Debug)]
pub struct Endpoint {
    socket: Option<PathBuf>,
}

impl Endpoint {
    /// The pipe `socket` (`None`: the default path), created when served.
    pub fn take(socket: Option<PathBuf>) -> Result<Endpoint, AgentError> {
        Ok(Endpoint { socket })
    }

    /// Never: the agent always creates its pipe itself.
    pub fn activated(&self) -> bool {
        false
    }
}

/// Creates the named pipe, serves until stopped. No socket activation, lock file or socket
/// file here: the pipe's first-instance flag keeps a second agent out, and the pipe goes away
/// with its last handle.
pub async fn serve(
    endpoint: Endpoint,
    settings: Settings,
    ready_stdout: bool,
) -> Result<(), AgentError> {
    let path = match endpoint.socket {
        Some(p) => p,
        None => flyte_auth_proto::paths::socket_path(),
    };
    let listener = pipe::bind(&path)?;
    let shutdown = CancellationToken::new();
    // Not fatal: without console events the agent still stops on `flyte-auth agent stop`.
    if let Err(e) = watch_signals(shutdown.clone()) {
        tracing::warn!(error = %e, "cannot watch console control events");
    }
    tracing::info!(pipe = %path.display(), pid = std::process::id(), "flyte-auth-agent listening");
    if ready_stdout {
        super::print_ready();
    }
    crate::run(settings, listener, shutdown).await;
    tracing::info!("flyte-auth-agent stopped");
    Ok(())
}

/// Ctrl-C, Ctrl-Break and closing the console stop the agent gracefully. An agent the client
/// started has no console (it is detached), so only `flyte-auth agent stop` or the end of the
/// session stops it.
fn watch_signals(shutdown: CancellationToken) -> std::io::Result<()> {
    use tokio::signal::windows::{ctrl_break, ctrl_c, ctrl_close};
    let (mut int, mut brk, mut close) = (ctrl_c()?, ctrl_break()?, ctrl_close()?);
    tokio::spawn(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = brk.recv() => {}
            _ = close.recv() => {}
        }
        tracing::info!("console control event received; shutting down");
        shutdown.cancel();
    });
    Ok(())
}

/// Serves `listener` until `shutdown` is cancelled, then waits (bounded) for connections in
/// flight to finish: the named pipe counterpart of the Unix accept loop. There
/// is no peer check here because the pipe's security descriptor already kept others out.
pub(crate) async fn accept_loop(
    listener: Listener,
    ctx: Arc<Ctx>,
    registry: Arc<Registry>,
    activity: Activity,
    shutdown: CancellationToken,
) {
    let gate_audit = ctx.settings.audit.clone();
    // No waiting for room before accepting, unlike on Unix: a pipe has no kernel queue, so
    // a client we do not accept gets "all pipe instances are busy" rather than waiting.
    let gate = Gate::new(ctx, registry, activity, shutdown.clone());
    loop {
        let stream = tokio::select! {
            // Shutdown first, as on Unix: never accept a connection we would close unanswered.
            biased;
            _ = shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // For the log only: the process id is not an identity check (pids are reused).
        let pid = stream.peer_creds().ok().and_then(|c| c.pid());
        let pid = pid.and_then(|p| i32::try_from(p).ok());
        let peer = crate::audit::Peer::new(None, pid, &gate_audit);
        // Deprecated upstream only because `&Stream` could be shared instead; the halves are
        // what `Connection` takes on Unix too. A pipe cannot be watched for a hang-up without
        // reading: a client that pipelines requests and then leaves is noticed at the next
        // read. The pipe closes once the connection ends (it drops both halves).
        #[allow(deprecated)]
        gate.admit(stream, peer, |s| {
            let (r, w) = s.split();
            (crate::connection::Unwatched(r), w)
        });
    }
    gate.drain().await;
}
