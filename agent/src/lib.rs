//! The flyte-auth agent: one per user, it owns every Flyte/Union login and token refresh and
//! serves tokens to clients over a local socket.
//!
//! Request flow: [`server`] (listen, accept, peer check, connection slots) → `connection`
//! (hello, framing, events, deadlines) → `handler` (where each request is decided) →
//! `session` (registry, per-session actor, fast path) → `flows` (grants) and `discovery` →
//! the IdP.
//!
//! Entry points: [`server::serve`] is the agent process's life (listen, say ready, serve
//! until a signal or `Shutdown`, clean up); [`run`] serves a listener the caller bound, until
//! a token is cancelled: in-process tests start the agent with it on a temporary socket.

pub mod audit;
pub(crate) mod connection;
pub(crate) mod discovery;
pub mod error;
pub(crate) mod flows;
pub(crate) mod handler;
pub(crate) mod http;
pub(crate) mod jwt;
pub mod server;
// Public for the in-process tests (`agent/tests/`), which drive the registry directly.
pub mod session;
pub mod store;

use std::sync::Arc;
use std::time::{Duration, Instant};

pub use error::AgentError;
use tokio_util::sync::CancellationToken;

/// Tunables of a running agent.
#[derive(Debug, Clone)]
pub struct Settings {
    /// A session nobody asked for in this long stops refreshing.
    pub idle_session: Duration,
    /// A session that never obtained a token and nobody asked for in this long is removed.
    pub forget_failed_session: Duration,
    /// Most concurrent client connections.
    pub max_connections: usize,
    /// A connection with no request for this long is closed.
    pub idle_connection: Duration,
    /// A client must say hello within this long of connecting.
    pub handshake_timeout: Duration,
    /// Longest one response may take to write: a client that stops reading is dropped.
    pub write_timeout: Duration,
    /// Longest a non-interactive request may take.
    pub request_timeout: Duration,
    /// Timeout of each HTTP call to an endpoint or IdP.
    pub http_timeout: Duration,
    /// How long in-flight connections may finish after shutdown starts.
    pub shutdown_grace: Duration,
    /// Exit after this long with no connection and no live session (socket-activated agents
    /// only: the service manager starts a new one on the next connection).
    pub exit_when_idle: Option<Duration>,
    /// Where logins are kept across restarts (`--store`).
    pub store: store::StoreKind,
    /// Timeout of each keyring or file-store call.
    pub store_timeout: Duration,
    /// The audit log (`--audit-log`); off by default.
    pub audit: audit::Audit,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            idle_session: Duration::from_secs(8 * 3600),
            forget_failed_session: Duration::from_secs(600),
            max_connections: 256,
            idle_connection: Duration::from_secs(300),
            handshake_timeout: flyte_auth_proto::contract::HELLO_TIMEOUT,
            write_timeout: Duration::from_secs(5),
            request_timeout: flyte_auth_proto::contract::REQUEST_TIMEOUT,
            http_timeout: Duration::from_secs(15),
            shutdown_grace: Duration::from_secs(5),
            exit_when_idle: None,
            store: store::StoreKind::Keyring,
            store_timeout: store::DEFAULT_TIMEOUT,
            audit: audit::Audit::disabled(),
        }
    }
}

/// State shared by every connection and session.
#[derive(Debug)]
pub struct Ctx {
    /// Tunables.
    pub settings: Settings,
    /// HTTP clients.
    pub http: http::HttpClients,
    /// Discovery cache.
    pub discovery: discovery::Discovery,
    /// Where interactive logins are kept across restarts.
    pub stores: store::Stores,
    /// When the agent started.
    pub started: Instant,
    /// Whether the "logins will not survive a restart" warning was shown at a login yet.
    pub warned_memory_only: std::sync::atomic::AtomicBool,
}

impl Ctx {
    /// Shared state for an agent with `settings`, keeping logins in `stores`.
    pub fn new(settings: Settings, stores: store::Stores) -> Ctx {
        Ctx {
            http: http::HttpClients::new(settings.http_timeout),
            discovery: discovery::Discovery::default(),
            stores,
            settings,
            started: Instant::now(),
            warned_memory_only: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

/// Runs the agent on `listener` until `shutdown` is cancelled (by the caller, or by a
/// client's `Shutdown` request), then waits (bounded by `settings.shutdown_grace`) for the
/// connections in flight. Nothing here binds, prints or handles signals: that is
/// [`server::serve`]'s. An in-process test binds a [`server::Listener`] on a temporary
/// socket, spawns this with [`Settings::default`] and a memory store (`store:
/// store::StoreKind::Memory`), connects, and cancels `shutdown` to stop it.
pub async fn run(settings: Settings, listener: server::Listener, shutdown: CancellationToken) {
    // Probing the store now (not loading anything) lets the first login say at once whether
    // it will survive a restart.
    let stores = store::Stores::open(settings.store.clone(), settings.store_timeout).await;
    let ctx = Arc::new(Ctx::new(settings, stores));
    let registry = Arc::new(session::Registry::new(ctx.clone()));
    let activity = server::Activity::default();
    #[cfg(unix)]
    if let Some(idle) = ctx.settings.exit_when_idle {
        let watcher =
            server::exit_when_idle(idle, activity.clone(), registry.clone(), shutdown.clone());
        tokio::spawn(watcher);
    }
    server::accept_loop(listener, ctx, registry, activity, shutdown).await;
}
