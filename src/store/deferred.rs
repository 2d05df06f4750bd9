//! What the shared-state backend (Redis) needs from the local store: deferred expiry, a
//! token's record, and applying an expiry or a revocation decided elsewhere.

use std::sync::atomic::Ordering;

use super::deadline::revoked_until;
use super::memory::Store;
use super::table::shard_of;
use super::types::{Revocation, RevokeReason, Timing, TrackedRecord};
use crate::clock::UnixMs;
use crate::token::TokenKey;

impl Store {
    /// Deferred expiry (shared state): a passed deadline is reported, as `Check::Due` and by
    /// `expire_due`, but applied only by [`Store::settle_expiry`] once the shared state agrees.
    pub fn set_deferred_expiry(&self, on: bool) {
        self.defer_expiry.store(on, Ordering::Relaxed);
    }

    pub fn defers_expiry(&self) -> bool {
        self.defer_expiry.load(Ordering::Relaxed)
    }

    /// The tracked token's times (its last trial reset among them), when it is tracked.
    pub fn record(&self, key: &TokenKey) -> Option<TrackedRecord> {
        let shard = self.shards[shard_of(&key.0)].read();
        let idx = shard.find(&key.0)?;
        let (slot, ident) = (shard.slot(idx), shard.ident(idx));
        let trial = shard.trial(idx).map(|w| w.load(Ordering::Relaxed));
        Some(TrackedRecord {
            key: *key,
            last_activity_ms: slot.last_ms(),
            first_seen_ms: slot.first_ms(),
            jwt_exp_ms: slot.exp_ms(),
            subject: self.subjects.name(ident.subject),
            policy: ident.policy,
            sig: ident.sig,
            trial_last_ms: trial.and_then(|w| self.trial_record(w)),
        })
    }

    /// Applies an expiry (one this replica claimed, or decided alone while the shared state
    /// was unreachable): enforce → the key enters the revoked set until `rev.at_ms` plus the
    /// retention (cut at the JWT's `exp`); either way the token stops being tracked.
    pub fn settle_expiry(&self, rev: &Revocation, timing: &Timing, now_ms: UnixMs) {
        let exp = self.record(&rev.key).and_then(|r| r.jwt_exp_ms);
        let until = revoked_until(rev.at_ms, timing.retention_ms, exp);
        if rev.enforced {
            self.mark_revoked(&rev.key, rev.reason, until, now_ms);
        } else {
            self.untrack(&rev.key);
        }
    }

    /// A revocation learnt from elsewhere (another replica, the shared state): the key enters
    /// the revoked set (keeping a later `until` already there) and stops being tracked.
    /// Returns whether it was tracked here.
    pub fn mark_revoked(
        &self,
        key: &TokenKey,
        reason: RevokeReason,
        until_ms: UnixMs,
        now_ms: UnixMs,
    ) -> bool {
        if until_ms > now_ms {
            self.revoked
                .merge(*key, reason, until_ms, 0, &self.subjects);
        }
        self.untrack(key)
    }

    /// The revoked entry of a key still in force: (reason, until).
    pub fn revoked_entry(&self, key: &TokenKey, now_ms: UnixMs) -> Option<(RevokeReason, UnixMs)> {
        self.revoked.get(key, now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Check, Status};
    use super::*;

    const T0: UnixMs = 1_700_000_000_000;
    const IDLE: u64 = 60_000;

    fn timing(enforce: bool) -> Timing {
        Timing::simple(IDLE, None, enforce, 3_600_000)
    }

    fn deferring() -> Store {
        let s = Store::new(1000, 1000, T0);
        s.set_deferred_expiry(true);
        s
    }

    #[test]
    fn deferred_expiry_reports_due_and_changes_nothing() {
        let (s, t, k) = (deferring(), timing(true), TokenKey([7; 16]));
        s.track(&k, T0, None, &t);
        let Check::Due(rev) = s.check(&k, T0 + IDLE, &t, true) else {
            panic!("expected Due");
        };
        assert_eq!(
            (rev.reason, rev.at_ms),
            (RevokeReason::Inactivity, T0 + IDLE)
        );
        assert_eq!(s.tracked_len(), 1);
        assert_eq!(s.revoked_len(), 0);
        // Still due on the next request: nothing moved.
        assert!(matches!(s.check(&k, T0 + IDLE, &t, true), Check::Due(_)));
    }

    #[test]
    fn deferred_sweep_keeps_due_tokens_tracked_until_settled() {
        let (s, t, k) = (deferring(), timing(true), TokenKey([8; 16]));
        s.track(&k, T0, None, &t);
        assert_eq!(s.expire_due(T0 + IDLE, &t).len(), 1);
        assert_eq!(s.tracked_len(), 1);
        // Due again next tick while nobody settled it.
        assert_eq!(s.expire_due(T0 + IDLE + 1000, &t).len(), 1);
        let rev = s.expire_due(T0 + IDLE + 2000, &t).remove(0);
        s.settle_expiry(&rev, &t, T0 + IDLE + 2000);
        assert_eq!(s.tracked_len(), 0);
        assert!(s.expire_due(T0 + IDLE + 3000, &t).is_empty());
        assert_eq!(
            s.check(&k, T0 + IDLE + 3000, &t, true),
            Check::Revoked(RevokeReason::Inactivity)
        );
    }

    #[test]
    fn newer_activity_from_elsewhere_rearms_a_due_token() {
        let (s, t, k) = (deferring(), timing(true), TokenKey([9; 16]));
        s.track(&k, T0, None, &t);
        assert_eq!(s.expire_due(T0 + IDLE, &t).len(), 1);
        let newer = TrackedRecord {
            key: k,
            last_activity_ms: T0 + 30_000,
            first_seen_ms: T0,
            jwt_exp_ms: None,
            ..Default::default()
        };
        s.import(&[newer], &[], T0 + IDLE, &t);
        assert!(s.expire_due(T0 + IDLE + 1000, &t).is_empty());
        assert_eq!(
            s.check(&k, T0 + IDLE + 1000, &t, false),
            Check::Active {
                deadline_ms: T0 + 30_000 + IDLE
            }
        );
        assert_eq!(s.expire_due(T0 + 30_000 + IDLE, &t).len(), 1);
    }

    #[test]
    fn settled_shadow_expiry_only_stops_tracking() {
        let (s, t, k) = (deferring(), timing(false), TokenKey([10; 16]));
        s.track(&k, T0, None, &t);
        let Check::Due(rev) = s.check(&k, T0 + IDLE, &t, true) else {
            panic!("expected Due");
        };
        s.settle_expiry(&rev, &t, T0 + IDLE);
        assert_eq!(s.check(&k, T0 + IDLE, &t, true), Check::Unknown);
        assert_eq!(s.revoked_len(), 0);
    }

    #[test]
    fn revocation_learnt_elsewhere_stops_tracking_and_keeps_later_until() {
        let (s, t, k) = (deferring(), timing(true), TokenKey([11; 16]));
        s.track(&k, T0, None, &t);
        assert!(s.mark_revoked(&k, RevokeReason::Admin, T0 + 5000, T0));
        assert!(!s.mark_revoked(&k, RevokeReason::Inactivity, T0 + 4000, T0));
        assert_eq!(
            s.status(&k, T0, &t),
            Status::Revoked {
                reason: RevokeReason::Admin,
                until_ms: T0 + 5000
            }
        );
        assert_eq!(s.tracked_len(), 0);
    }

    #[test]
    fn memory_backend_still_expires_on_the_spot() {
        let (s, t, k) = (Store::new(10, 1000, T0), timing(true), TokenKey([12; 16]));
        s.track(&k, T0, None, &t);
        assert!(matches!(
            s.check(&k, T0 + IDLE, &t, true),
            Check::Expired(_)
        ));
    }
}
