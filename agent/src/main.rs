//! `flyte-auth-agent`: parse arguments, set up logging, take the socket systemd passed or bind
//! one, tell the service manager when ready, run until stopped. On Windows: create the named
//! pipe (see `flyte_auth_agent::pipe`) and run until stopped.

use std::io::{IsTerminal, Write};
#[cfg(unix)]
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use flyte_auth_agent::{AgentError, Settings, run};
#[cfg(unix)]
use flyte_auth_agent::{activation, listener};
#[cfg(unix)]
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{EnvFilter, FilterExt, LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

mod hygiene;

/// The flyte-auth agent: holds Flyte/Union logins and serves tokens to `flyte-auth` clients.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Socket to listen on [default: $FLYTE_AUTH_SOCK, else $XDG_RUNTIME_DIR/flyte-auth/agent.sock]
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Seconds after which a session nobody asked for stops refreshing.
    #[arg(long, value_name = "SECS", default_value_t = 8 * 3600)]
    idle_session_secs: u64,
    /// Seconds after which a session that never obtained a token (a typo'd endpoint, an IdP
    /// that could not be reached) and nobody asked for is removed.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    forget_failed_secs: u64,
    /// Most concurrent client connections.
    #[arg(long, value_name = "N", default_value_t = 256)]
    max_connections: usize,
    /// Seconds a connection may sit idle before it is closed.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    idle_connection_secs: u64,
    /// Seconds a token request may take.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    request_timeout_secs: u64,
    /// Timeout of each HTTP call to an endpoint or IdP, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 15)]
    http_timeout_secs: u64,
    /// When socket activated (systemd), exit after this many seconds with no connection and
    /// no live session; the socket starts a new agent on the next connection. 0: never.
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    exit_when_idle: u64,
    /// Where logins survive an agent restart: keyring (the OS keyring; memory only, with a
    /// warning, when none is available), file (0600 files in $XDG_STATE_HOME/flyte-auth/tokens;
    /// an explicit opt-in) or memory.
    #[arg(
        long,
        env = "FLYTE_AUTH_STORE",
        value_name = "keyring|file|memory",
        default_value = "keyring"
    )]
    store: flyte_auth_agent::store::StoreKind,
    /// Write an audit log: one JSON line per request (who asked, for which session, with what
    /// outcome; never a token) in $XDG_STATE_HOME/flyte-auth/audit.jsonl, rotated at 1 MiB.
    #[arg(long, env = "FLYTE_AUTH_AUDIT", value_parser = clap::builder::BoolishValueParser::new(),
          action = clap::ArgAction::SetTrue)]
    audit_log: bool,
    /// Print "READY" on stdout once listening (used by `flyte-auth` when it starts the agent).
    #[arg(long, hide = true)]
    ready_stdout: bool,
}

fn main() -> std::process::ExitCode {
    // Before anything secret can be in memory: no core dumps, no same-user memory reads.
    let unhardened = hygiene::harden();
    let args = Args::parse();
    let ready_stdout = args.ready_stdout;
    init_tracing();
    for (step, e) in unhardened {
        tracing::warn!(error = %e, "cannot {step}; continuing without it");
    }
    match real_main(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            let already = e
                .downcast_ref::<AgentError>()
                .is_some_and(|e| matches!(e, AgentError::AlreadyRunning(_)));
            let line = flyte_auth_agent::error::chain(e.as_ref());
            tracing::error!("{line}");
            eprintln!("flyte-auth-agent: {line}");
            if ready_stdout && !already {
                print_refusal(&e);
            }
            // A distinct code lets a starter tell "someone else won the race" from a failure.
            std::process::ExitCode::from(if already { 3 } else { 1 })
        }
    }
}

fn real_main(args: Args) -> anyhow::Result<()> {
    // First, while we are single-threaded: taking an inherited socket edits the environment.
    #[cfg(unix)]
    let inherited = activation::inherited_listener()?;
    #[cfg(unix)]
    let activated = inherited.is_some();
    // Windows has no socket activation: the agent always creates its pipe itself.
    #[cfg(windows)]
    let activated = false;
    if !activated && args.exit_when_idle > 0 {
        tracing::info!("--exit-when-idle applies only to a socket-activated agent; ignoring it");
    }
    let audit = if args.audit_log {
        flyte_auth_agent::audit::Audit::open(flyte_auth_agent::audit::Audit::default_path()?)?
    } else {
        flyte_auth_agent::audit::Audit::disabled()
    };
    let settings = Settings {
        idle_session: Duration::from_secs(args.idle_session_secs),
        forget_failed_session: Duration::from_secs(args.forget_failed_secs),
        max_connections: args.max_connections.max(1),
        idle_connection: Duration::from_secs(args.idle_connection_secs),
        request_timeout: Duration::from_secs(args.request_timeout_secs),
        http_timeout: Duration::from_secs(args.http_timeout_secs),
        exit_when_idle: (activated && args.exit_when_idle > 0)
            .then(|| Duration::from_secs(args.exit_when_idle)),
        store: args.store.clone(),
        audit: audit.clone(),
        ..Settings::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    #[cfg(unix)]
    let served = serve(args, settings, inherited);
    #[cfg(windows)]
    let served = serve(args, settings);
    let result = runtime.block_on(served);
    // The last requests' lines (a `shutdown`, say) are written before we exit.
    audit.flush(Duration::from_secs(1));
    result
}

/// Listens (on the inherited socket, or on one we bind), serves until stopped, cleans up.
#[cfg(unix)]
async fn serve(
    args: Args,
    settings: Settings,
    inherited: Option<UnixListener>,
) -> anyhow::Result<()> {
    let (std_listener, owned) = listen(args.socket, inherited)?;
    std_listener.set_nonblocking(true).context("socket setup")?;
    let addr = std_listener.local_addr().context("socket setup")?;
    let socket = addr
        .as_pathname()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let tokio_listener =
        tokio::net::UnixListener::from_std(std_listener).context("socket setup")?;
    let shutdown = CancellationToken::new();
    watch_signals(shutdown.clone())?;
    tracing::info!(%socket, activated = owned.is_none(), pid = std::process::id(), "flyte-auth-agent listening");
    if args.ready_stdout {
        print_ready();
    }
    activation::notify_ready();
    let stopping = tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            shutdown.cancelled().await;
            activation::notify_stopping();
        }
    });
    run(settings, tokio_listener, shutdown).await;
    let _ = stopping.await;
    if let Some(owned) = owned {
        owned.remove();
    }
    tracing::info!("flyte-auth-agent stopped");
    Ok(())
}

/// Creates the named pipe, serves until stopped. No socket activation, lock file or socket
/// file here: the pipe's first-instance flag keeps a second agent out, and the pipe goes away
/// with its last handle.
#[cfg(windows)]
async fn serve(args: Args, settings: Settings) -> anyhow::Result<()> {
    let path = match args.socket {
        Some(p) => p,
        None => flyte_auth_proto::paths::socket_path()?,
    };
    let listener = flyte_auth_agent::pipe::bind(&path)?;
    let shutdown = CancellationToken::new();
    // Not fatal: without console events the agent still stops on `flyte-auth agent stop`.
    if let Err(e) = watch_signals(shutdown.clone()) {
        tracing::warn!(error = %e, "cannot watch console control events");
    }
    tracing::info!(pipe = %path.display(), pid = std::process::id(), "flyte-auth-agent listening");
    if args.ready_stdout {
        print_ready();
    }
    run(settings, listener, shutdown).await;
    tracing::info!("flyte-auth-agent stopped");
    Ok(())
}

/// Tells the client that started us that we listen: one line on stdout.
fn print_ready() {
    let mut out = std::io::stdout().lock();
    // The starter may already have given up; that is not our failure.
    let _ = writeln!(out, "READY {}", std::process::id()).and_then(|()| out.flush());
}

/// Tells the client that started us why we will not run, in place of the "READY" line: it
/// shows the user this line rather than only the path of our log.
fn print_refusal(e: &anyhow::Error) {
    let line = flyte_auth_agent::error::chain(e.as_ref()).replace(['\n', '\r'], " ");
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "ERROR {line}").and_then(|()| out.flush());
}

/// The inherited listener, else one bound at `socket` (or the default path). A socket the
/// service manager passed is its own: we never bind, chmod, lock or unlink it (systemd
/// guarantees one instance per socket unit). Only a socket we bound is ours to remove.
#[cfg(unix)]
fn listen(
    socket: Option<PathBuf>,
    inherited: Option<UnixListener>,
) -> anyhow::Result<(UnixListener, Option<listener::OwnedSocket>)> {
    if let Some(l) = inherited {
        if socket.is_some() {
            tracing::warn!("socket activated: ignoring --socket");
        }
        return Ok((l, None));
    }
    let path = match socket {
        Some(p) => p,
        None => flyte_auth_proto::paths::socket_path()?,
    };
    let owned = listener::bind(&path)?;
    Ok((owned.listener.try_clone()?, Some(owned)))
}

/// SIGTERM/SIGINT stop the agent gracefully; SIGHUP (a closing terminal that started us) is
/// ignored, as a user-session daemon should.
#[cfg(unix)]
fn watch_signals(shutdown: CancellationToken) -> anyhow::Result<()> {
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

/// Ctrl-C, Ctrl-Break and closing the console stop the agent gracefully. An agent the client
/// started has no console (it is detached), so only `flyte-auth agent stop` or the end of the
/// session stops it.
#[cfg(windows)]
fn watch_signals(shutdown: CancellationToken) -> anyhow::Result<()> {
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

/// Wire-level targets capped whatever `FLYTE_AUTH_LOG` says (unless it names them itself):
/// their trace output dumps requests, D-Bus messages or TLS records, and with them tokens,
/// client secrets and Basic-auth headers. tests/e2e/redaction.rs holds every flow to this.
const WIRE_CAPS: &[(&str, LevelFilter)] = &[
    ("reqwest::connect::verbose", LevelFilter::OFF),
    ("hyper", LevelFilter::DEBUG),
    ("h2", LevelFilter::DEBUG),
    ("rustls", LevelFilter::DEBUG),
    ("zbus", LevelFilter::DEBUG),
];

fn init_tracing() {
    let spec = std::env::var("FLYTE_AUTH_LOG").unwrap_or_default();
    let filter = EnvFilter::try_new(&spec)
        .ok()
        .filter(|_| !spec.trim().is_empty())
        .unwrap_or_else(|| EnvFilter::new("info"));
    // A second filter both must pass: the caps only ever lower what `filter` lets through.
    let mut caps = Targets::new().with_default(LevelFilter::TRACE);
    for (target, level) in WIRE_CAPS {
        if !spec.contains(target) {
            caps = caps.with_target(*target, *level);
        }
    }
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal: not in an auto-start log file or the journal.
        .with_ansi(std::io::stderr().is_terminal())
        .with_filter(filter.and(caps));
    tracing_subscriber::registry().with(layer).init();
}
