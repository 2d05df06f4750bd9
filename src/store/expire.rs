//! The sweeper's side of the store: filing new slots in the wheel, expiring what comes due
//! (lazily re-filing tokens touched since they were filed), freeing dead slots, purging the
//! revoked set, re-arming after a timing change, and clearing.

use std::sync::atomic::Ordering;

use super::deadline::deadline;
use super::deadline::due_revocation;
use super::memory::Store;
use super::table::{split, SlotState};
use super::types::{Revocation, Timing};
use super::wheel::Wheel;
use crate::clock::UnixMs;
use crate::token::TokenKey;

/// A full scan of the revoked set at most this often.
const PURGE_EVERY_MS: u64 = 5_000;
/// Due items settled per shard write lock, so a request on that shard never waits long (well
/// under a millisecond) behind the sweeper.
const CHUNK: usize = 256;
/// Due items settled per call of [`Store::expire_some`]: the caller hands their effects on
/// and may pause between calls, so a mass expiry never holds a thread or a lock for long.
/// A batch of 512 is some 0.3 ms of work; at 4,096 (3–4 ms at a time) a steady client on 2
/// cores saw single requests stall 22–29 ms during a mass expiry, at 512 about 10 ms.
pub(crate) const SWEEP_BATCH: usize = 512;

/// What became of a due wheel item.
enum Settled {
    Expired(Revocation),
    Refile(u64),
    Done,
}

impl Store {
    /// Everything [`Store::expire_some`] finds due at `now_ms`, in one call (tests, the
    /// deferred-expiry checks, benchmarks).
    pub fn expire_due(&self, now_ms: UnixMs, timing: &Timing) -> Vec<Revocation> {
        let mut all = Vec::new();
        loop {
            let (mut revs, more) = self.expire_some(now_ms, timing, SWEEP_BATCH);
            all.append(&mut revs);
            if !more {
                return all;
            }
        }
    }

    /// The sweeper's step: advances the wheel to `now_ms`, then settles at most `budget` of
    /// the due items — revokes (or, in shadow mode, drops) every token whose deadline has
    /// passed, re-files touched ones — and returns their revocations and whether due items
    /// are left. Once none are, purges revoked keys whose retention ended. A concurrent touch
    /// wins over expiry. With deferred expiry the returned tokens are only due: still
    /// tracked, for the caller to claim and settle.
    pub fn expire_some(
        &self,
        now_ms: UnixMs,
        timing: &Timing,
        budget: usize,
    ) -> (Vec<Revocation>, bool) {
        let mut sweeper = self.sweep.lock();
        self.file_pending(&mut sweeper.wheel, timing);
        let due = sweeper.wheel.advance(now_ms / self.resolution_ms, |&h| {
            self.deadline_tick(h, timing)
        });
        sweeper.queue(due);
        let batch = sweeper.next_batch(budget.max(1));
        let mut revocations = Vec::new();
        // The batch is in handle order: each run of one shard's handles is settled under that
        // shard's lock, at most CHUNK at a time.
        for run in batch.chunk_by(|a, b| split(*a).0 == split(*b).0) {
            for chunk in run.chunks(CHUNK) {
                let mut refile = Vec::new();
                let si = split(chunk[0]).0;
                self.settle_chunk(si, chunk, now_ms, timing, &mut revocations, &mut refile);
                for (h, tick) in refile {
                    sweeper.wheel.insert(h, tick);
                }
            }
        }
        if !sweeper.backlog.is_empty() {
            return (revocations, true);
        }
        // A mass expiry's backlog is large: give its memory back.
        sweeper.backlog = Vec::new();
        if now_ms >= sweeper.last_purge_ms.saturating_add(PURGE_EVERY_MS)
            || now_ms < sweeper.last_purge_ms
        {
            self.revoked.purge(now_ms, &self.subjects);
            sweeper.last_purge_ms = now_ms;
        }
        (revocations, false)
    }

    /// Settles due items of one shard under one write lock: frees dead slots, expires live ones
    /// whose deadline passed (re-checked here, so a touch that came first wins), and lists the
    /// rest for re-filing at their moved deadline.
    fn settle_chunk(
        &self,
        si: usize,
        chunk: &[u32],
        now_ms: UnixMs,
        timing: &Timing,
        revocations: &mut Vec<Revocation>,
        refile: &mut Vec<(u32, u64)>,
    ) {
        let defer = self.defers_expiry();
        let mut shard = self.shards[si].write();
        for &h in chunk {
            let idx = split(h).1;
            let settled = match shard.state(idx) {
                SlotState::Stale => Settled::Done,
                SlotState::Dead => {
                    self.subjects.release(shard.release(idx));
                    Settled::Done
                }
                SlotState::Live(slot) if defer => {
                    let key = TokenKey(slot.key());
                    let ident = shard.ident(idx);
                    let own = timing.of(ident.policy);
                    match due_revocation(slot, &key, now_ms, &own) {
                        // Left live for the claim; due again next tick until it is settled.
                        Some(rev) => {
                            revocations.push(self.with_ident(rev, ident));
                            Settled::Refile(now_ms / self.resolution_ms + 1)
                        }
                        None => Settled::Refile(self.tick_of(deadline(
                            slot.last_ms(),
                            slot.first_ms(),
                            &own,
                        ))),
                    }
                }
                SlotState::Live(slot) => {
                    let key = TokenKey(slot.key());
                    let ident = shard.ident(idx);
                    match self.expire_slot(slot, ident, &key, now_ms, timing) {
                        Some(rev) => Settled::Expired(rev),
                        None => Settled::Refile(self.tick_of(deadline(
                            slot.last_ms(),
                            slot.first_ms(),
                            &timing.of(ident.policy),
                        ))),
                    }
                }
            };
            match settled {
                Settled::Expired(rev) => {
                    self.subjects.release(shard.retire(idx));
                    self.live.fetch_sub(1, Ordering::Relaxed);
                    revocations.push(rev);
                }
                Settled::Refile(tick) => refile.push((h, tick)),
                Settled::Done => {}
            }
        }
    }

    /// Re-files every tracked token for the current timing (after `idle` changed): every
    /// handle goes to the sweeper's backlog, where the next sweeps expire the tokens now due
    /// and re-file the others at their new deadline, a bounded batch at a time. The caller
    /// (a config apply, on the admin's thread) takes no shard lock: it only moves and sorts
    /// the handles.
    pub fn rearm_all(&self, now_ms: UnixMs, timing: &Timing) {
        let _ = now_ms;
        let mut sweeper = self.sweep.lock();
        self.file_pending(&mut sweeper.wheel, timing);
        let items = sweeper.wheel.drain();
        sweeper.queue(items);
    }

    /// Forgets every tracked token (timeout switched off and on again). The revoked set stays.
    pub fn clear_tracked(&self) {
        let mut sweeper = self.sweep.lock();
        // All shard locks at once: no `track` may sit between inserting a slot and queueing it.
        let mut shards: Vec<_> = self.shards.iter().map(|s| s.write()).collect();
        for shard in shards.iter_mut() {
            for subject in shard.clear() {
                self.subjects.release(subject);
            }
        }
        self.pending.lock().clear();
        sweeper.wheel.clear();
        sweeper.backlog = Vec::new();
        self.live.store(0, Ordering::Relaxed);
    }

    /// Moves slots queued by `track`/`import` into the wheel.
    fn file_pending(&self, wheel: &mut Wheel<u32>, timing: &Timing) {
        let pending = std::mem::take(&mut *self.pending.lock());
        for h in pending {
            if let Some(tick) = self.deadline_tick(h, timing) {
                wheel.insert(h, tick);
            }
        }
    }

    /// The tick a wheel item is due at now: a live slot's real deadline, at once for a dead
    /// slot (so it is freed), None for a stale item.
    fn deadline_tick(&self, h: u32, timing: &Timing) -> Option<u64> {
        let (si, idx) = split(h);
        let shard = self.shards.get(si)?.read();
        match shard.state(idx) {
            SlotState::Live(slot) => {
                let timing = &timing.of(shard.ident(idx).policy);
                Some(self.tick_of(deadline(slot.last_ms(), slot.first_ms(), timing)))
            }
            SlotState::Dead => Some(0),
            SlotState::Stale => None,
        }
    }

    /// The first tick at or after `ms`, so an item never comes due before its deadline.
    fn tick_of(&self, ms: UnixMs) -> u64 {
        ms.div_ceil(self.resolution_ms)
    }
}
