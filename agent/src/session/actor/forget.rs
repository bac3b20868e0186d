//! Forgetting a session that never obtained a token (a typo'd endpoint, an IdP nobody
//! could reach) once nobody has asked for it in `--forget-failed-secs`, without racing a
//! request that is just reaching it.

use std::time::Duration;

use tokio::time::Instant;

use super::Actor;
use crate::session::schedule::forgettable;

/// A session that could not be forgotten because a request was reaching it looks again
/// after this long.
const FORGET_RETRY: Duration = Duration::from_secs(1);

impl Actor {
    /// When this session may be forgotten, if it is the kind that may be: one that never
    /// held a login, with nothing in progress.
    pub(super) fn forget_at(&self) -> Option<Instant> {
        let holds_login = self.tokens.ever_obtained || self.tokens.refresh_token.is_some();
        let busy = self.phase.flow().is_some() || !self.waiters.is_empty();
        if holds_login || busy {
            return None;
        }
        let at = self.schedule.last_used + self.ctx.settings.forget_failed_session;
        Some(self.schedule.forget_not_before.map_or(at, |t| t.max(at)))
    }

    /// Takes this session out of the registry if it is still forgettable and no request is
    /// reaching it; returns whether it did (the actor then ends).
    pub(super) fn forget(&mut self) -> bool {
        let holds_login = self.tokens.ever_obtained || self.tokens.refresh_token.is_some();
        let busy = self.phase.flow().is_some() || !self.waiters.is_empty();
        let unused_for = self.schedule.last_used.elapsed();
        if !forgettable(
            holds_login,
            busy,
            unused_for,
            self.ctx.settings.forget_failed_session,
        ) {
            return false;
        }
        let Some(map) = self.registry.upgrade() else {
            return true;
        };
        // Under the write lock no request can look this session up. One that already did
        // holds a clone of its sender until its command is queued, and a queued command
        // waits in the inbox: either keeps the session.
        let mut map = map.write().unwrap_or_else(|e| e.into_inner());
        // Not listed any more (logout took it out): the actor ends when its last sender goes.
        let listed = map.get(&self.key).filter(|h| h.id == self.id);
        let reached = listed.is_none_or(|h| h.tx.strong_count() > 1) || !self.inbox.is_empty();
        if reached {
            self.schedule.forget_not_before = Some(Instant::now() + FORGET_RETRY);
            return false;
        }
        map.remove(&self.key);
        tracing::debug!(endpoint = %self.profile.endpoint, unused_s = unused_for.as_secs(),
            "forgetting a session that never obtained a token");
        true
    }
}
