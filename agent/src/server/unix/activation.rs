//! Running under a service manager: taking the socket systemd passed (`LISTEN_FDS`), telling
//! it when we are ready or stopping (`sd_notify`), and exiting when idle so that the socket
//! starts a fresh agent on the next connection.
//!
//! Protocols: `sd_listen_fds(3)` and `sd_notify(3)`. `systemd-socket-activate` speaks the
//! same one, which is how the e2e tests run this without systemd.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::server::Activity;
use crate::session::Registry;

/// Takes the listening socket the service manager passed to this process, if it passed one.
///
/// `LISTEN_PID` must name this process (otherwise the variables were meant for a parent and
/// are ignored) and `LISTEN_FDS` must be exactly 1, a listening Unix stream socket; anything
/// else is refused rather than guessed at. Must run before any thread starts: `listenfd`
/// removes both variables so that programs we start (a browser) do not take the socket.
pub fn inherited_listener() -> Result<Option<std::os::unix::net::UnixListener>, crate::AgentError> {
    let var = |k: &str| std::env::var(k).ok();
    let fail = |why: String| {
        crate::AgentError::listen("the socket passed by the service manager (LISTEN_FDS)", why)
    };
    let ours = addressed_to_us(
        var("LISTEN_PID").as_deref(),
        var("LISTEN_FDS").as_deref(),
        std::process::id(),
    )
    .map_err(fail)?;
    if !ours {
        return Ok(None);
    }
    let listener = listenfd::ListenFd::from_env()
        .take_unix_listener(0)
        .map_err(|e| fail(e.to_string()))?
        .ok_or_else(|| fail("no file descriptor 3".into()))?;
    match rustix::net::sockopt::socket_acceptconn(&listener) {
        Ok(true) => Ok(Some(listener)),
        Ok(false) => Err(fail("the socket is not listening".into())),
        Err(e) => Err(fail(e.to_string())),
    }
}

/// Whether `LISTEN_PID`/`LISTEN_FDS` pass exactly one socket to process `pid`.
fn addressed_to_us(
    listen_pid: Option<&str>,
    listen_fds: Option<&str>,
    pid: u32,
) -> Result<bool, String> {
    let Some(fds) = listen_fds else {
        return Ok(false);
    };
    let Some(target) = listen_pid.filter(|p| !p.is_empty()) else {
        // sd_listen_fds() ignores fds without a pid; a tool that sets only LISTEN_FDS
        // (catflap) is not our service manager.
        tracing::warn!("ignoring LISTEN_FDS without LISTEN_PID");
        return Ok(false);
    };
    let target: u32 = target
        .trim()
        .parse()
        .map_err(|_| format!("LISTEN_PID is not a process id: {target:?}"))?;
    if target != pid {
        tracing::debug!(
            listen_pid = target,
            "LISTEN_FDS is for another process; ignoring"
        );
        return Ok(false);
    }
    match fds.trim().parse::<u32>() {
        Ok(1) => Ok(true),
        Ok(n) => Err(format!("expected exactly one socket, got LISTEN_FDS={n}")),
        Err(_) => Err(format!("LISTEN_FDS is not a number: {fds:?}")),
    }
}

/// Tells the service manager that we accept connections (`READY=1`). Without
/// `$NOTIFY_SOCKET` (not started by systemd with `Type=notify`) this does nothing.
pub fn notify_ready() {
    notify(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status("accepting connections"),
    ]);
}

/// Tells the service manager that we are shutting down (`STOPPING=1`).
pub fn notify_stopping() {
    notify(&[sd_notify::NotifyState::Stopping]);
}

fn notify(states: &[sd_notify::NotifyState<'_>]) {
    // A lost notification costs a start timeout at worst; it is never a reason to stop.
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "cannot notify the service manager");
    }
}

/// Cancels `shutdown` once the agent has had no open connection and no live session (see
/// [`Registry::has_live_sessions`]) for `idle`. Only for socket-activated agents: the socket
/// stays open in the service manager, which starts a new agent on the next connection.
pub async fn exit_when_idle(
    idle: Duration,
    activity: Activity,
    registry: Arc<Registry>,
    shutdown: CancellationToken,
) {
    // Coarse ticks are fine: exiting a little late costs nothing.
    let tick = (idle / 10).clamp(Duration::from_millis(100), Duration::from_secs(30));
    let mut busy_at = Instant::now();
    loop {
        tokio::select! {
            () = tokio::time::sleep(tick) => {}
            () = shutdown.cancelled() => return,
        }
        let now = Instant::now();
        if activity.open_connections() > 0 || registry.has_live_sessions() {
            busy_at = now;
            continue;
        }
        // A connection that came and went between two ticks counts too.
        let since = busy_at.max(activity.last_change());
        if now.duration_since(since) >= idle {
            tracing::info!(
                idle_secs = idle.as_secs(),
                "idle with no sessions and no connections; exiting (the socket starts a new agent on demand)"
            );
            shutdown.cancel();
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_env_is_validated() {
        assert_eq!(addressed_to_us(None, None, 7), Ok(false));
        assert_eq!(addressed_to_us(Some("7"), None, 7), Ok(false));
        assert_eq!(addressed_to_us(None, Some("1"), 7), Ok(false));
        assert_eq!(addressed_to_us(Some(""), Some("1"), 7), Ok(false));
        assert_eq!(addressed_to_us(Some("8"), Some("1"), 7), Ok(false));
        assert_eq!(addressed_to_us(Some("7"), Some("1"), 7), Ok(true));
        let two = addressed_to_us(Some("7"), Some("2"), 7).unwrap_err();
        assert!(two.contains("exactly one"), "{two}");
        assert!(addressed_to_us(Some("7"), Some("0"), 7).is_err());
        assert!(addressed_to_us(Some("x"), Some("1"), 7).is_err());
        assert!(addressed_to_us(Some("7"), Some("one"), 7).is_err());
    }

    fn registry() -> Arc<Registry> {
        let settings = crate::Settings::default();
        let stores = crate::store::Stores::memory(settings.store_timeout);
        let ctx = Arc::new(crate::Ctx::new(settings, stores));
        Arc::new(Registry::new(ctx))
    }

    #[tokio::test]
    async fn exits_after_idle_but_not_while_a_connection_is_open() {
        let activity = Activity::default();
        let shutdown = CancellationToken::new();
        let idle = Duration::from_millis(300);
        let watcher = tokio::spawn(exit_when_idle(
            idle,
            activity.clone(),
            registry(),
            shutdown.clone(),
        ));
        let open = activity.enter();
        tokio::time::sleep(idle * 3).await;
        assert!(
            !shutdown.is_cancelled(),
            "an open connection keeps it alive"
        );
        let closed_at = Instant::now();
        drop(open);
        tokio::time::timeout(idle * 10, watcher)
            .await
            .expect("exits once idle")
            .expect("watcher");
        assert!(shutdown.is_cancelled());
        assert!(
            closed_at.elapsed() >= idle,
            "idle counts from the last close"
        );
    }
}
