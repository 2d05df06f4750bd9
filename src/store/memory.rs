//! The in-memory store: sharded table, revoked set, wheel's pending handles, journal; the
//! request path's [`Store::check`] and [`Store::track`]. Elsewhere: `records.rs` (export,
//! import, journal), `expire.rs` (sweeper), `deferred.rs`, `trial.rs` (the trial list's timers).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::{Mutex, RwLock};

use super::deadline::{deadline, due_revocation, expiry, revoked_until};
use super::journal::Journal;
use super::revoked::RevokedSet;
use super::subjects::Subjects;
use super::table::{handle, shard_of, Ident, Shard, Slot, SHARDS};
use super::trial_word::Trial;
use super::types::{
    Check, Deadlines, NewIdent, Revocation, RevokeReason, Status, Timing, Track, MAX_SUBJECT_LEN,
};
use super::wheel::Sweeper;
use crate::clock::UnixMs;
use crate::token::TokenKey;

/// Tracked tokens, revoked keys and the expiry wheel. `Send + Sync`; shared behind an `Arc`.
///
/// Locks, always taken in this order: `sweep` (the sweeper's state, wheel included) → one
/// shard (or all, in index order) → `pending`. The request path takes only a shard lock.
pub struct Store {
    pub(super) shards: Box<[RwLock<Shard>]>,
    pub(super) revoked: RevokedSet,
    /// Handles of slots inserted since the last sweep; the sweeper files them in the wheel.
    /// (`track` cannot file them itself: the wheel's cascade reads slots, which would take a
    /// shard lock under the wheel's.)
    pub(super) pending: Mutex<Vec<u32>>,
    pub(super) sweep: Mutex<Sweeper>,
    pub(super) live: AtomicUsize,
    pub(super) max_tracked: AtomicUsize,
    pub(super) resolution_ms: u64,
    /// Shared state (Redis): a passed deadline is reported (`Check::Due`, `expire_due`) but
    /// not applied, because another replica may have seen newer activity.
    pub(super) defer_expiry: AtomicBool,
    /// The revocation journal (memory backend with a snapshot), attached at start.
    pub(super) journal: OnceLock<Journal>,
    /// Subjects of tracked and revoked tokens, interned (identity on).
    pub(super) subjects: Subjects,
    /// What the idents' policy ids stand for: id i + 1 = `policy_names[i]`. Held while the
    /// ids are remapped and while a snapshot exports them, so ids and names always agree.
    pub(super) policy_names: Mutex<Arc<Vec<String>>>,
    /// The trial list's state (`trial.rs`); its words live beside the slots.
    pub(super) trial: Trial,
}

impl Store {
    /// `resolution_ms` is the wheel's tick.
    pub fn new(max_tracked: usize, resolution_ms: u64, now_ms: UnixMs) -> Store {
        let resolution_ms = resolution_ms.max(1);
        Store {
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
            revoked: RevokedSet::new(),
            pending: Mutex::new(Vec::new()),
            sweep: Mutex::new(Sweeper::new(now_ms / resolution_ms, now_ms)),
            live: AtomicUsize::new(0),
            max_tracked: AtomicUsize::new(max_tracked),
            resolution_ms,
            defer_expiry: AtomicBool::new(false),
            journal: OnceLock::new(),
            subjects: Subjects::default(),
            policy_names: Mutex::new(Arc::default()),
            trial: Trial::default(),
        }
    }

    /// The request path: revoked? tracked and expired (revoke on the spot)? touch when
    /// `touch` (an `activity` request). Never blocks on the sweeper for long.
    pub fn check(&self, key: &TokenKey, now_ms: UnixMs, timing: &Timing, touch: bool) -> Check {
        self.check_signed(key, now_ms, timing, touch, 0)
    }

    /// [`Store::check`] of a token whose bytes hash to `sig` (0 = not compared): a tracked
    /// token verified with other bytes is `Check::Unverified` and nothing is touched. One
    /// lookup either way.
    pub fn check_signed(
        &self,
        key: &TokenKey,
        now_ms: UnixMs,
        timing: &Timing,
        touch: bool,
        sig: u64,
    ) -> Check {
        let si = shard_of(&key.0);
        {
            let shard = self.shards[si].read();
            if let Some(idx) = shard.find(&key.0) {
                let slot = shard.slot(idx);
                let ident = shard.ident(idx);
                if sig != 0 && ident.sig != sig {
                    return Check::Unverified;
                }
                let limits = &timing.limits(ident.policy);
                if let Some(active) = active(slot, now_ms, limits, touch) {
                    return active;
                }
                if self.defers_expiry() {
                    if let Some(rev) = due_revocation(slot, key, now_ms, limits) {
                        return Check::Due(self.with_ident(rev, ident));
                    }
                }
            } else {
                drop(shard);
                return self.check_revoked(key, now_ms);
            }
        }
        self.expire_now(si, key, now_ms, timing, touch, sig)
    }

    /// The slow path of `check`: the deadline had passed under the read lock. Re-checked under
    /// the write lock, where a concurrent touch may have saved the token.
    fn expire_now(
        &self,
        si: usize,
        key: &TokenKey,
        now_ms: UnixMs,
        timing: &Timing,
        touch: bool,
        sig: u64,
    ) -> Check {
        let mut shard = self.shards[si].write();
        let Some(idx) = shard.find(&key.0) else {
            drop(shard);
            return self.check_revoked(key, now_ms);
        };
        let slot = shard.slot(idx);
        let ident = shard.ident(idx);
        if sig != 0 && ident.sig != sig {
            return Check::Unverified;
        }
        if let Some(active) = active(slot, now_ms, &timing.limits(ident.policy), touch) {
            return active;
        }
        let Some(rev) = self.expire_slot(slot, ident, key, now_ms, timing) else {
            return Check::Unknown;
        };
        shard.kill(idx);
        self.live.fetch_sub(1, Ordering::Relaxed);
        Check::Expired(rev)
    }

    /// Builds the revocation of an expired slot and, when enforcing, enters the key in the
    /// revoked set — before the caller removes the slot, so no reader sees neither.
    pub(super) fn expire_slot(
        &self,
        slot: &Slot,
        ident: Ident,
        key: &TokenKey,
        now_ms: UnixMs,
        timing: &Timing,
    ) -> Option<Revocation> {
        let rev = due_revocation(slot, key, now_ms, &timing.of(ident.policy))?;
        if timing.enforce {
            let until = revoked_until(rev.at_ms, timing.retention_ms, slot.exp_ms());
            self.revoked.insert(
                *key,
                rev.reason,
                until,
                (ident.subject, ident.policy),
                &self.subjects,
            );
        }
        Some(self.with_ident(rev, ident))
    }

    /// The revocation with the token's subject name and policy.
    pub(super) fn with_ident(&self, rev: Revocation, ident: Ident) -> Revocation {
        Revocation {
            subject: self.subjects.name(ident.subject),
            policy: ident.policy,
            ..rev
        }
    }

    fn check_revoked(&self, key: &TokenKey, now_ms: UnixMs) -> Check {
        match self.revoked.get(key, now_ms) {
            Some((reason, _)) => Check::Revoked(reason),
            None => Check::Unknown,
        }
    }

    /// Starts tracking (`last_activity = first_seen = now_ms`) unless tracked, revoked, or the
    /// table is full. `jwt_exp_s` bounds the revoked retention later.
    pub fn track(
        &self,
        key: &TokenKey,
        now_ms: UnixMs,
        jwt_exp_s: Option<u64>,
        timing: &Timing,
    ) -> Track {
        self.track_with(key, now_ms, jwt_exp_s, timing, NewIdent::default())
    }

    /// [`Store::track`] of a verified token: its signature hash, subject and policy are kept.
    pub fn track_with(
        &self,
        key: &TokenKey,
        now_ms: UnixMs,
        jwt_exp_s: Option<u64>,
        timing: &Timing,
        new: NewIdent<'_>,
    ) -> Track {
        let si = shard_of(&key.0);
        let mut shard = self.shards[si].write();
        if let Some(idx) = shard.find(&key.0) {
            let slot = shard.slot(idx);
            let timing = timing.of(shard.ident(idx).policy);
            return Track::Existing {
                deadline_ms: deadline(slot.last_ms(), slot.first_ms(), &timing),
            };
        }
        if self.revoked.get(key, now_ms).is_some() {
            return Track::Revoked;
        }
        let exp_ms = jwt_exp_s.map(|s| s.saturating_mul(1000));
        let ident = self.ident_of(new);
        let slot = Slot::new(key.0, now_ms, now_ms, exp_ms);
        if !self.insert_slot(&mut shard, si, slot, ident, None) {
            self.subjects.release(ident.subject);
            return Track::Overflow;
        }
        Track::New {
            deadline_ms: deadline(now_ms, now_ms, &timing.of(ident.policy)),
        }
    }

    /// The stored form of a new token's ident (takes a reference to its subject).
    pub(super) fn ident_of(&self, new: NewIdent<'_>) -> Ident {
        Ident {
            sig: new.sig,
            subject: bounded(new.subject).map_or(0, |s| self.subjects.acquire(s)),
            policy: new.policy,
        }
    }

    /// Reserves room under `max_tracked`, stores the slot and queues it for the wheel. While a
    /// trial runs the slot gets its trial word: `trial_last_ms` as a record carries it
    /// (`Store::trial_word_of`), else its last activity.
    pub(super) fn insert_slot(
        &self,
        shard: &mut Shard,
        si: usize,
        slot: Slot,
        ident: Ident,
        trial_last_ms: Option<UnixMs>,
    ) -> bool {
        let max = self.max_tracked.load(Ordering::Relaxed);
        let reserved = self
            .live
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| {
                (n < max).then_some(n + 1)
            });
        if reserved.is_err() {
            return false;
        }
        let last_ms = slot.last_ms();
        let Some(idx) = shard.insert_with(slot, ident) else {
            self.live.fetch_sub(1, Ordering::Relaxed);
            return false;
        };
        if self.trial.is_on() {
            shard.set_trial(idx, self.trial_word_of(last_ms, trial_last_ms));
        }
        self.pending.lock().push(handle(si, idx));
        true
    }

    /// Stops tracking (upstream 401). Returns whether it was tracked.
    pub fn untrack(&self, key: &TokenKey) -> bool {
        let mut shard = self.shards[shard_of(&key.0)].write();
        let Some(idx) = shard.find(&key.0) else {
            return false;
        };
        shard.kill(idx);
        self.live.fetch_sub(1, Ordering::Relaxed);
        true
    }

    /// Revokes now with `reason` (admin revocation; also works for unknown keys).
    /// Returns the revocation (with the token's times when it was tracked; 0 when it was not).
    pub fn revoke(
        &self,
        key: &TokenKey,
        reason: RevokeReason,
        now_ms: UnixMs,
        timing: &Timing,
    ) -> Revocation {
        let mut shard = self.shards[shard_of(&key.0)].write();
        let tracked = shard.find(&key.0);
        let (last, first, exp, ident) = match tracked {
            Some(idx) => {
                let slot = shard.slot(idx);
                (
                    slot.last_ms(),
                    slot.first_ms(),
                    slot.exp_ms(),
                    shard.ident(idx),
                )
            }
            None => (0, 0, None, Ident::default()),
        };
        // A token revoked again (not tracked any more) keeps the subject its entry knew.
        let (subject, policy) = match ident.subject {
            0 => self.revoked.subject(key, now_ms),
            s => (s, ident.policy),
        };
        self.revoked.insert(
            *key,
            reason,
            revoked_until(now_ms, timing.retention_ms, exp),
            (subject, policy),
            &self.subjects,
        );
        if let Some(idx) = tracked {
            shard.kill(idx);
            self.live.fetch_sub(1, Ordering::Relaxed);
        }
        Revocation {
            key: *key,
            reason,
            last_activity_ms: last,
            first_seen_ms: first,
            at_ms: now_ms,
            enforced: true,
            subject: self.subjects.name(subject),
            policy,
        }
    }

    /// Read-only: a tracked token whose deadline passed shows as revoked (enforce) or unknown
    /// (shadow), as the next check would make it.
    pub fn status(&self, key: &TokenKey, now_ms: UnixMs, timing: &Timing) -> Status {
        {
            let shard = self.shards[shard_of(&key.0)].read();
            if let Some(idx) = shard.find(&key.0) {
                let slot = shard.slot(idx);
                let (last, first) = (slot.last_ms(), slot.first_ms());
                let timing = &timing.of(shard.ident(idx).policy);
                return match expiry(last, first, now_ms, timing) {
                    None => Status::Active {
                        last_activity_ms: last,
                        deadline_ms: deadline(last, first, timing),
                    },
                    Some((reason, at)) if timing.enforce => Status::Revoked {
                        reason,
                        until_ms: revoked_until(at, timing.retention_ms, slot.exp_ms()),
                    },
                    Some(_) => Status::Unknown,
                };
            }
        }
        match self.revoked.get(key, now_ms) {
            Some((reason, until_ms)) => Status::Revoked { reason, until_ms },
            None => Status::Unknown,
        }
    }

    pub fn set_max_tracked(&self, max: usize) {
        self.max_tracked.store(max, Ordering::Relaxed);
    }

    pub fn tracked_len(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    pub fn revoked_len(&self) -> usize {
        self.revoked.len()
    }
}

/// A subject the store may keep: one within [`MAX_SUBJECT_LEN`].
pub(super) fn bounded(subject: Option<&str>) -> Option<&str> {
    subject.filter(|s| s.len() <= MAX_SUBJECT_LEN)
}

/// `Check::Active` (touching when asked) unless the slot's deadline has passed at `now_ms`.
fn active(slot: &Slot, now_ms: UnixMs, timing: &impl Deadlines, touch: bool) -> Option<Check> {
    let (last, first) = (slot.last_ms(), slot.first_ms());
    if expiry(last, first, now_ms, timing).is_some() {
        return None;
    }
    let last = if touch { slot.touch(now_ms) } else { last };
    Some(Check::Active {
        deadline_ms: deadline(last, first, timing),
    })
}
