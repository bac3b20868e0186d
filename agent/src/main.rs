//! `flyte-auth-agent`: parse arguments, set up logging, bind the socket, run until stopped.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use flyte_auth_agent::{AgentError, Settings, listener, run};
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

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
    /// Print "READY" on stdout once listening (used by `flyte-auth` when it starts the agent).
    #[arg(long, hide = true)]
    ready_stdout: bool,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    init_tracing();
    match real_main(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            let already = e
                .downcast_ref::<AgentError>()
                .is_some_and(|e| matches!(e, AgentError::AlreadyRunning(_)));
            tracing::error!("{e:#}");
            eprintln!("flyte-auth-agent: {e:#}");
            // A distinct code lets a starter tell "someone else won the race" from a failure.
            std::process::ExitCode::from(if already { 3 } else { 1 })
        }
    }
}

fn real_main(args: Args) -> anyhow::Result<()> {
    let path = match args.socket {
        Some(p) => p,
        None => flyte_auth_proto::paths::socket_path()?,
    };
    let settings = Settings {
        idle_session: Duration::from_secs(args.idle_session_secs),
        max_connections: args.max_connections.max(1),
        idle_connection: Duration::from_secs(args.idle_connection_secs),
        request_timeout: Duration::from_secs(args.request_timeout_secs),
        http_timeout: Duration::from_secs(args.http_timeout_secs),
        ..Settings::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let owned = listener::bind(&path)?;
        owned.listener.set_nonblocking(true).context("socket setup")?;
        let tokio_listener = tokio::net::UnixListener::from_std(owned.listener.try_clone()?)
            .context("socket setup")?;
        tracing::info!(socket = %path.display(), pid = std::process::id(), "flyte-auth-agent listening");
        if args.ready_stdout {
            let mut out = std::io::stdout().lock();
            // The starter may already have given up; that is not our failure.
            let _ = writeln!(out, "READY {}", std::process::id()).and_then(|()| out.flush());
        }
        let shutdown = CancellationToken::new();
        watch_signals(shutdown.clone())?;
        run(settings, tokio_listener, shutdown).await;
        owned.remove();
        tracing::info!("flyte-auth-agent stopped");
        Ok(())
    })
}

/// SIGTERM/SIGINT stop the agent gracefully; SIGHUP (a closing terminal that started us) is
/// ignored, as a user-session daemon should.
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

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FLYTE_AUTH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
