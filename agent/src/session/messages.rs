//! What the registry and a session actor say to each other: the published token, the
//! commands, the waiting clients and the tickets their connections wait on.

use std::time::Duration;

use flyte_auth_proto::{
    AuthMode, BrowserEnv, Event, Profile, SessionStatus, TokenResponse, WireError,
};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// A token as published to the fast path.
#[derive(Debug)]
pub struct Issued {
    /// The wire response, ready to clone.
    pub token: TokenResponse,
    /// When it was obtained, Unix ms.
    pub issued_at_ms: u64,
    /// When it expires, Unix ms.
    pub expires_at_ms: u64,
}

impl Issued {
    /// Milliseconds of validity left at `now_ms`.
    pub fn remaining_ms(&self, now_ms: u64) -> u64 {
        self.expires_at_ms.saturating_sub(now_ms)
    }

    /// Whether this token may be handed to a client asking for `min_valid`. A token whose
    /// whole lifetime is shorter than `min_valid` could never satisfy it, so for those half
    /// the lifetime is enough: the best any fresh token could do.
    pub fn satisfies(&self, min_valid: Duration, now_ms: u64) -> bool {
        let lifetime = self.expires_at_ms.saturating_sub(self.issued_at_ms);
        let need = (min_valid.as_millis() as u64).min(lifetime / 2);
        self.remaining_ms(now_ms) > need
    }
}

/// The answer a waiting client eventually gets.
pub type Reply = Result<TokenResponse, WireError>;

/// A client waiting for a session's flow: its answer, and where its prompts go.
#[derive(Debug)]
pub(crate) struct Waiter {
    pub reply: oneshot::Sender<Reply>,
    pub events: mpsc::UnboundedSender<Event>,
    /// Whether it can show a prompt to a human.
    pub interactive: bool,
    /// How long the token it gets must stay valid (zero for logins).
    pub min_valid: Duration,
    /// If the refresh it waits for has not finished by then, it gets the still-valid token
    /// (with a warning), or an error if none is left (`schedule::join_wait`); `None`: it
    /// waits for the flow.
    pub answer_by: Option<Instant>,
}

/// What a request to a session leads to.
#[derive(Debug)]
pub enum Ticket {
    /// Answered at once.
    Ready(Reply),
    /// Wait for `reply`, passing `events` (login prompts) on to the client meanwhile. Dropping
    /// the ticket tells the session this client has gone.
    Pending {
        /// The final answer.
        reply: oneshot::Receiver<Reply>,
        /// Prompts and progress.
        events: mpsc::UnboundedReceiver<Event>,
    },
}

impl Ticket {
    /// The final answer, ignoring events: for callers that show no prompts.
    pub async fn reply(self) -> Reply {
        match self {
            Ticket::Ready(r) => r,
            Ticket::Pending { reply, .. } => reply.await.unwrap_or_else(|_| Err(session_gone())),
        }
    }
}

/// The answer for a client whose session task stopped without answering it.
pub fn session_gone() -> WireError {
    WireError::new(
        flyte_auth_proto::ErrorKind::Internal,
        "session task stopped unexpectedly; see the agent log",
    )
}

/// Messages to a session actor.
#[derive(Debug)]
pub(crate) enum Command {
    GetToken {
        profile: Box<Profile>,
        min_valid: Duration,
        browser_env: BrowserEnv,
        waiter: Waiter,
    },
    Login {
        profile: Box<Profile>,
        method: AuthMode,
        import: bool,
        browser_env: BrowserEnv,
        waiter: Waiter,
    },
    /// Answered with whether there was a login to forget (in memory or in the store).
    Logout { reply: oneshot::Sender<bool> },
    Status {
        reply: oneshot::Sender<SessionStatus>,
    },
}
