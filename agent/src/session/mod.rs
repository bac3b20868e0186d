//! Sessions: one actor task per (endpoint, user-or-app, client id, scopes, audience), and the
//! registry that finds them.
//!
//! The fast path reads the actor's published snapshot without a channel hop or any lock held
//! across an await; only when the snapshot cannot satisfy a request does the caller ask the
//! actor, which runs at most one flow (refresh or login) at a time and answers every waiter
//! from it, forwarding login prompts to each. A session that never obtained a token takes
//! itself out of the registry once unused for a while (`actor/forget.rs`).

mod actor;
mod effective;
mod messages;
mod runner;
pub mod schedule;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use flyte_auth_proto::{
    AuthMode, BrowserEnv, ErrorKind, Profile, SessionKey, SessionStatus, WireError,
};
use tokio::sync::{mpsc, oneshot, watch};

pub use effective::{DEFAULT_HEADER_KEY, Effective, now_ms};
pub(crate) use messages::{Command, Waiter};
pub use messages::{Issued, Reply, Ticket, session_gone};

use crate::Ctx;
use crate::flows::revoke;

/// Handle to one session actor.
#[derive(Debug, Clone)]
struct SessionHandle {
    tx: mpsc::Sender<Command>,
    snapshot: watch::Receiver<Option<Arc<Issued>>>,
    /// Tells this actor from a later one for the same key.
    id: u64,
}

/// The registry's map; actors hold a `Weak` to it to take themselves out.
type Map = RwLock<HashMap<SessionKey, SessionHandle>>;

/// All sessions of this agent.
#[derive(Debug)]
pub struct Registry {
    ctx: Arc<Ctx>,
    sessions: Arc<Map>,
    next_id: AtomicU64,
}

impl Registry {
    /// An empty registry.
    pub fn new(ctx: Arc<Ctx>) -> Self {
        Registry {
            ctx,
            sessions: Arc::new(RwLock::new(HashMap::new())),
            next_id: AtomicU64::new(0),
        }
    }

    /// A token for `profile` valid for at least `min_valid` (see [`Issued::satisfies`]).
    pub async fn get_token(
        &self,
        profile: Box<Profile>,
        min_valid: Duration,
        interactive: bool,
        browser_env: BrowserEnv,
    ) -> Ticket {
        let handle = self.handle(&profile);
        if let Some(issued) = handle.snapshot.borrow().as_ref()
            && issued.satisfies(min_valid, now_ms())
        {
            return Ticket::Ready(Ok(issued.token.clone()));
        }
        let (waiter, ticket) = waiter(interactive, min_valid);
        let cmd = Command::GetToken {
            profile,
            min_valid,
            browser_env,
            waiter,
        };
        send(&handle, cmd, ticket).await
    }

    /// Starts (or joins) a login for `profile` with `method`; with `import`, takes over the
    /// Python SDKs' tokens from the keyring instead.
    pub async fn login(
        &self,
        profile: Box<Profile>,
        method: AuthMode,
        import: bool,
        browser_env: BrowserEnv,
    ) -> Ticket {
        let handle = self.handle(&profile);
        let (waiter, ticket) = waiter(true, Duration::ZERO);
        let cmd = Command::Login {
            profile,
            method,
            import,
            browser_env,
            waiter,
        };
        send(&handle, cmd, ticket).await
    }

    /// Forgets the session of `profile`, or every session this agent has used: revokes the
    /// refresh token where the IdP allows, deletes the stored login, drops the session.
    /// Returns how many sessions had a login to forget.
    pub async fn logout(&self, profile: Option<&Profile>) -> u32 {
        if let Some(p) = profile {
            // A login that is only in the store (agent restarted since) is forgotten too.
            self.handle(p);
        }
        let removed: Vec<SessionHandle> = {
            let mut map = self.sessions.write().unwrap_or_else(|e| e.into_inner());
            match profile {
                Some(p) => map.remove(&p.session_key()).into_iter().collect(),
                None => map.drain().map(|(_, h)| h).collect(),
            }
        };
        let mut n = 0;
        for h in removed {
            let (reply, rx) = oneshot::channel();
            if h.tx.send(Command::Logout { reply }).await.is_ok() && rx.await.unwrap_or(false) {
                n += 1;
            }
        }
        if profile.is_none() {
            n += self.forget_stored().await;
        }
        n
    }

    /// `logout --all` for logins only in the store (kept from before this agent started):
    /// each is taken out of the store and its refresh token revoked.
    async fn forget_stored(&self) -> u32 {
        let stored = match self.ctx.stores.take_all().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list the stored logins to forget them");
                return 0;
            }
        };
        let mut n = 0;
        for s in stored {
            let mut profile = Profile::new(s.endpoint.clone(), AuthMode::Pkce);
            profile.insecure = s.endpoint.starts_with("http://");
            revoke::revoke_quietly(&self.ctx, &profile, &s.refresh_token, Some(s.effective()))
                .await;
            n += 1;
        }
        n
    }

    /// Status of every session, sorted by endpoint.
    pub async fn status(&self) -> Vec<SessionStatus> {
        let handles: Vec<SessionHandle> = self.read().values().cloned().collect();
        let mut out = Vec::with_capacity(handles.len());
        for h in handles {
            let (reply, rx) = oneshot::channel();
            if h.tx.send(Command::Status { reply }).await.is_ok()
                && let Ok(s) = rx.await
            {
                out.push(s);
            }
        }
        out.sort_by(|a, b| (&a.endpoint, a.mode).cmp(&(&b.endpoint, b.mode)));
        out
    }

    /// The session for `profile`, started on first use. Creating a session is the only write
    /// to the registry besides logout and forgetting an unused session that never got a
    /// token, which its actor does under the write lock only while no request holds its
    /// handle (see `actor/forget.rs`); a request after that starts a new session.
    fn handle(&self, profile: &Profile) -> SessionHandle {
        let key = profile.session_key();
        if let Some(h) = self.read().get(&key) {
            return h.clone();
        }
        let mut map = self.sessions.write().unwrap_or_else(|e| e.into_inner());
        map.entry(key.clone())
            .or_insert_with(|| {
                let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                let registry = Arc::downgrade(&self.sessions);
                actor::spawn(self.ctx.clone(), profile.clone(), key, id, registry)
            })
            .clone()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<SessionKey, SessionHandle>> {
        // The map holds only handles; a panic elsewhere cannot leave it half-written.
        self.sessions.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether any session holds a token that has not expired: an agent exiting now would
    /// lose it (see `activation::exit_when_idle`).
    pub fn has_live_sessions(&self) -> bool {
        let now = now_ms();
        self.read().values().any(|h| {
            h.snapshot
                .borrow()
                .as_ref()
                .is_some_and(|t| t.expires_at_ms > now)
        })
    }
}

fn waiter(interactive: bool, min_valid: Duration) -> (Waiter, Ticket) {
    let (reply, reply_rx) = oneshot::channel();
    let (events, events_rx) = mpsc::unbounded_channel();
    (
        Waiter {
            reply,
            events,
            interactive,
            min_valid,
            answer_by: None,
        },
        Ticket::Pending {
            reply: reply_rx,
            events: events_rx,
        },
    )
}

async fn send(handle: &SessionHandle, cmd: Command, ticket: Ticket) -> Ticket {
    match handle.tx.send(cmd).await {
        Ok(()) => ticket,
        Err(_) => Ticket::Ready(Err(WireError::new(
            ErrorKind::Internal,
            "session task stopped unexpectedly; see the agent log",
        ))),
    }
}
