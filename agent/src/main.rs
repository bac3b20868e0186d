//! `flyte-auth-agent`: parse arguments, set up logging, and hand over to the library's
//! [`server::serve`] (listen, say ready, serve until stopped); on failure, say why on stderr
//! (and on the readiness pipe) with the exit code the client expects.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use flyte_auth_agent::audit::Audit;
use flyte_auth_agent::{AgentError, Settings, server};
use flyte_auth_proto::contract;
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
    #[arg(long, value_name = "SECS", default_value_t = Settings::default().idle_session.as_secs())]
    idle_session_secs: u64,
    /// Seconds after which a session that never obtained a token (a typo'd endpoint, an IdP
    /// that could not be reached) and nobody asked for is removed.
    #[arg(long, value_name = "SECS", default_value_t = Settings::default().forget_failed_session.as_secs())]
    forget_failed_secs: u64,
    /// Most concurrent client connections.
    #[arg(long, value_name = "N", default_value_t = Settings::default().max_connections)]
    max_connections: usize,
    /// Seconds a connection may sit idle before it is closed.
    #[arg(long, value_name = "SECS", default_value_t = Settings::default().idle_connection.as_secs())]
    idle_connection_secs: u64,
    /// Seconds a token request may take.
    #[arg(long, value_name = "SECS", default_value_t = Settings::default().request_timeout.as_secs())]
    request_timeout_secs: u64,
    /// Timeout of each HTTP call to an endpoint or IdP, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = Settings::default().http_timeout.as_secs())]
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
    #[arg(long = contract::READY_STDOUT_FLAG, hide = true)]
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
                server::print_refusal(&line);
            }
            // A distinct code lets a starter tell "someone else won the race" from a failure.
            std::process::ExitCode::from(if already {
                contract::EXIT_ALREADY_RUNNING
            } else {
                1
            })
        }
    }
}

impl Args {
    /// The agent's tunables as these arguments set them (`activated`: socket activated).
    fn settings(&self, activated: bool, audit: Audit) -> Settings {
        Settings {
            idle_session: Duration::from_secs(self.idle_session_secs),
            forget_failed_session: Duration::from_secs(self.forget_failed_secs),
            max_connections: self.max_connections.max(1),
            idle_connection: Duration::from_secs(self.idle_connection_secs),
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            http_timeout: Duration::from_secs(self.http_timeout_secs),
            exit_when_idle: (activated && self.exit_when_idle > 0)
                .then(|| Duration::from_secs(self.exit_when_idle)),
            store: self.store.clone(),
            audit,
            ..Settings::default()
        }
    }
}

fn real_main(args: Args) -> anyhow::Result<()> {
    // First, while we are single-threaded: taking an inherited socket edits the environment.
    let endpoint = server::Endpoint::take(args.socket.clone())?;
    let activated = endpoint.activated();
    if !activated && args.exit_when_idle > 0 {
        tracing::info!("--exit-when-idle applies only to a socket-activated agent; ignoring it");
    }
    let audit = if args.audit_log {
        Audit::open(Audit::default_path()?)?
    } else {
        Audit::disabled()
    };
    let settings = args.settings(activated, audit.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(server::serve(endpoint, settings, args.ready_stdout));
    // The last requests' lines (a `shutdown`, say) are written before we exit.
    audit.flush(Duration::from_secs(1));
    Ok(result?)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Without flags the agent runs with `Settings::default()`, whose deadlines are the ones
    /// the client's waits are derived from; `--ready-stdout` is spelled as the client says.
    #[test]
    fn defaults_are_the_library_defaults_and_the_contract() {
        let args = Args::try_parse_from(["flyte-auth-agent", "--ready-stdout"]).unwrap();
        assert!(args.ready_stdout);
        let got = args.settings(false, Audit::disabled());
        let want = Settings::default();
        assert_eq!(got.idle_session, want.idle_session);
        assert_eq!(got.forget_failed_session, want.forget_failed_session);
        assert_eq!(got.max_connections, want.max_connections);
        assert_eq!(got.idle_connection, want.idle_connection);
        assert_eq!(got.request_timeout, want.request_timeout);
        assert_eq!(got.http_timeout, want.http_timeout);
        assert_eq!(got.exit_when_idle, None);
        assert_eq!(got.request_timeout, contract::REQUEST_TIMEOUT);
        assert_eq!(got.handshake_timeout, contract::HELLO_TIMEOUT);
        let flag = format!("--{}", contract::READY_STDOUT_FLAG);
        assert!(Args::try_parse_from(["flyte-auth-agent", flag.as_str()]).is_ok());
    }
}
