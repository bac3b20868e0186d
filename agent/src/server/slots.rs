//! The connection slots: at most `max` connections at once. When all are taken, an idle one
//! makes room for a newcomer: the longest idle among those that have been idle (answered
//! their last request, or never said anything since connecting) for a short grace. A client
//! sends its hello as soon as it connects and its request as soon as hello is answered, so
//! one that is silent for that long while the agent is full is not a client about to ask;
//! the grace keeps a burst from closing its own members between two of their frames. A
//! connection with a request in flight never makes room. On Unix one told to
//! close keeps its slot until it has ([`Slots::make_room`]), so open connections, and their
//! descriptors, never outnumber the slots.
//!
//! A slot's idle time lives in an atomic, so marking a connection busy or idle on each
//! request costs no lock; the table itself is locked only to admit and to release.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

/// `idle_since` of a slot whose connection has a request in flight.
const BUSY: u64 = u64::MAX;

/// Every live connection's slot.
#[derive(Debug)]
pub struct Slots {
    max: usize,
    /// How long a connection must have been idle before it may be closed to make room.
    grace: Duration,
    epoch: Instant,
    table: Mutex<Table>,
    /// Told whenever a slot is released or becomes idle.
    changed: Notify,
}

#[derive(Debug, Default)]
struct Table {
    next_id: u64,
    live: HashMap<u64, Arc<State>>,
}

#[derive(Debug)]
struct State {
    /// Microseconds since `epoch` when the connection last became idle (or connected), or
    /// [`BUSY`].
    idle_since: AtomicU64,
    /// Cancelled when the slot is taken away: the connection must close.
    evicted: CancellationToken,
}

/// What [`Slots::admit`] decided.
#[derive(Debug)]
pub enum Admission {
    /// A free slot.
    Free(Slot),
    /// A slot taken from an idle connection, which is told to close.
    MadeRoom(Slot),
    /// No slot can be had now.
    Full,
}

/// Whether a newcomer could have a slot now, and if not, when.
#[derive(Debug, PartialEq, Eq)]
pub enum Room {
    /// Now: a slot is free.
    Now,
    /// Once the connection just told to close has closed.
    Closing,
    /// At this instant an idle connection's grace ends (unless something frees earlier).
    At(Instant),
    /// Every slot has a request in flight.
    None,
}

enum Pick {
    Free,
    /// A connection told to close has not yet: wait for it rather than pick another.
    Closing,
    Take(u64),
    At(u64),
    Nothing,
}

impl Slots {
    /// Room for `max` connections (at least one); idle ones may be closed to make room once
    /// they have been idle for `grace`.
    pub fn new(max: usize, grace: Duration) -> Arc<Slots> {
        Arc::new(Slots {
            max: max.max(1),
            grace,
            epoch: Instant::now(),
            table: Mutex::new(Table::default()),
            changed: Notify::new(),
        })
    }

    /// A slot for a new connection, idle from now.
    pub fn admit(self: &Arc<Self>) -> Admission {
        let mut t = self.lock();
        let made_room = match self.pick(&t) {
            Pick::Free => false,
            Pick::Take(id) => {
                if let Some(victim) = t.live.remove(&id) {
                    victim.evicted.cancel();
                }
                true
            }
            Pick::Closing | Pick::At(_) | Pick::Nothing => return Admission::Full,
        };
        let id = t.next_id;
        t.next_id += 1;
        let state = Arc::new(State {
            idle_since: AtomicU64::new(self.now()),
            evicted: CancellationToken::new(),
        });
        t.live.insert(id, state.clone());
        let slot = Slot {
            id,
            state,
            slots: self.clone(),
        };
        if made_room {
            Admission::MadeRoom(slot)
        } else {
            Admission::Free(slot)
        }
    }

    /// Makes room for a newcomer if it can: `Now` when a slot is free; otherwise tells the
    /// longest-idle connection to close and answers `Closing` (its slot is free once it has
    /// closed, so descriptors never outnumber slots), or says when an idle connection's grace
    /// ends, or that every slot has a request in flight.
    pub fn make_room(&self) -> Room {
        let t = self.lock();
        match self.pick(&t) {
            Pick::Free => Room::Now,
            Pick::Closing => Room::Closing,
            Pick::Take(id) => {
                if let Some(victim) = t.live.get(&id) {
                    victim.evicted.cancel();
                }
                Room::Closing
            }
            Pick::At(micros) => Room::At(self.epoch + Duration::from_micros(micros)),
            Pick::Nothing => Room::None,
        }
    }

    /// Resolves at the next release or idling of a slot (or at once if one happened since
    /// the last call).
    pub async fn changed(&self) {
        self.changed.notified().await
    }

    /// Connections holding a slot now.
    #[cfg(test)]
    pub fn taken(&self) -> usize {
        self.lock().live.len()
    }

    fn pick(&self, t: &Table) -> Pick {
        if t.live.len() < self.max {
            return Pick::Free;
        }
        let now = self.now();
        let grace = u64::try_from(self.grace.as_micros()).unwrap_or(BUSY);
        let (mut take, mut soonest) = (None::<(u64, u64)>, None::<u64>);
        for (id, s) in &t.live {
            if s.evicted.is_cancelled() {
                return Pick::Closing;
            }
            let since = s.idle_since.load(Ordering::Acquire);
            if since == BUSY {
                continue;
            }
            let ready_at = since.saturating_add(grace);
            if ready_at <= now {
                let this = (since, *id);
                take = Some(take.map_or(this, |t| t.min(this)));
            } else {
                soonest = Some(soonest.map_or(ready_at, |t| t.min(ready_at)));
            }
        }
        match (take, soonest) {
            (Some((_, id)), _) => Pick::Take(id),
            (None, Some(at)) => Pick::At(at),
            (None, None) => Pick::Nothing,
        }
    }

    fn now(&self) -> u64 {
        // Never BUSY: that would take 584,000 years of uptime.
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(BUSY - 1)
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        // The table stays consistent whatever panicked while holding it: every update is a
        // single insert or remove.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One connection's slot; released when dropped.
#[derive(Debug)]
pub struct Slot {
    id: u64,
    state: Arc<State>,
    slots: Arc<Slots>,
}

impl Slot {
    /// A request is in flight: this connection may not be closed to make room.
    pub fn busy(&self) {
        self.state.idle_since.store(BUSY, Ordering::Release);
    }

    /// Hello or a request was answered: idle from now.
    pub fn idle(&self) {
        let now = self.slots.now();
        self.state.idle_since.store(now, Ordering::Release);
        self.slots.changed.notify_one();
    }

    /// Resolves once the slot was taken to make room for a newer connection.
    pub fn evicted(&self) -> WaitForCancellationFuture<'_> {
        self.state.evicted.cancelled()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // An evicted slot is already gone from the table (and its id is never reused).
        self.slots.lock().live.remove(&self.id);
        self.slots.changed.notify_one();
    }
}

#[cfg(test)]
mod tests;
