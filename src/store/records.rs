//! The store's state as records: [`Store::export`] (list, snapshot, Redis recovery) and
//! [`Store::import`] (snapshot at start, Redis lookups and flushes); the revocation journal
//! admin revocations are made durable in.

use super::deadline::expiry;
use super::journal::Journal;
use super::memory::Store;
use super::table::{shard_of, Slot};
use super::types::{NewIdent, RevokedRecord, Timing, TrackedRecord};
use crate::clock::UnixMs;
use crate::token::TokenKey;

impl Store {
    /// Copies the state, one shard lock at a time.
    pub fn export(&self) -> (Vec<TrackedRecord>, Vec<RevokedRecord>) {
        let mut tracked = Vec::with_capacity(self.tracked_len());
        for shard in self.shards.iter() {
            let shard = shard.read();
            let words = shard.trial_words().map(|(_, w)| w);
            tracked.extend(
                shard
                    .live_slots()
                    .zip(words)
                    .map(|((s, ident), w)| TrackedRecord {
                        key: TokenKey(s.key()),
                        last_activity_ms: s.last_ms(),
                        first_seen_ms: s.first_ms(),
                        jwt_exp_ms: s.exp_ms(),
                        subject: self.subjects.name(ident.subject),
                        policy: ident.policy,
                        sig: ident.sig,
                        trial_last_ms: self.trial_record(w),
                    }),
            );
        }
        (tracked, self.revoked.export(&self.subjects))
    }

    /// Loads records (at start, before serving). Tracked records for keys already present keep
    /// the later activity and the later trial reset (`Store::merge_trial`). Revoked keys are never tracked; records beyond `max_tracked` are
    /// skipped. A token that went idle while down is due at the next sweep (and expires on its
    /// next check anyway).
    pub fn import(
        &self,
        tracked: &[TrackedRecord],
        revoked: &[RevokedRecord],
        now_ms: UnixMs,
        timing: &Timing,
    ) {
        for r in revoked.iter().filter(|r| r.until_ms > now_ms) {
            let subject = r.subject.as_deref().map_or(0, |s| self.subjects.acquire(s));
            self.revoked
                .merge(r.key, r.reason, r.until_ms, subject, &self.subjects);
            self.subjects.release(subject);
        }
        for r in tracked {
            let si = shard_of(&r.key.0);
            let mut shard = self.shards[si].write();
            if let Some(idx) = shard.find(&r.key.0) {
                let slot = shard.slot(idx);
                slot.touch(r.last_activity_ms);
                if let Some(cell) = shard.trial(idx) {
                    let (first, limits) = (slot.first_ms(), timing.limits(shard.ident(idx).policy));
                    let ahead = |t| expiry(t, first, now_ms, &limits).is_none();
                    self.merge_trial(cell, r.trial_last_ms, ahead);
                }
            } else if self.revoked.get(&r.key, now_ms).is_none() {
                let slot = Slot::new(r.key.0, r.last_activity_ms, r.first_seen_ms, r.jwt_exp_ms);
                let ident = self.ident_of(NewIdent {
                    sig: r.sig,
                    subject: r.subject.as_deref(),
                    policy: r.policy,
                });
                if !self.insert_slot(&mut shard, si, slot, ident, r.trial_last_ms) {
                    self.subjects.release(ident.subject);
                }
            }
        }
    }

    /// Attaches the revocation journal admin revocations are made durable in (once, at
    /// start; a second one is refused and handed back).
    pub fn attach_journal(&self, journal: Journal) -> Result<(), Journal> {
        self.journal.set(journal)
    }

    /// The revocation journal, when persistence is on (memory backend with a snapshot).
    pub fn journal(&self) -> Option<&Journal> {
        self.journal.get()
    }
}
