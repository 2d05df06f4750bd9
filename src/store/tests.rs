//! Behaviour of the `Store` facade: the contract the proxy, sweeper and admin API rely on.

use super::*;
use crate::clock::UnixMs;
use crate::token::TokenKey;

/// Snapshot export/import and behaviour at scale (100,000 and a million tokens).
mod scale;

/// Deadlines by policy, policies by name, signatures, subjects.
mod identity;

/// Identity through the seam: policies applied by name.
mod state_identity;

/// A mass expiry in bounded batches; at shutdown, without rests.
mod sweep;

/// The trial list's shadow timers.
mod trial;

const T0: UnixMs = 1_700_000_000_000;
const IDLE: u64 = 60_000;

/// A sink for tests of the seam ([`state::TokenState`]) that look at the state alone.
struct NoEffects;

impl effects::Effects for NoEffects {
    fn revoked(&self, _: &Revocation) {}
    fn learned(&self, _: &TokenKey) {}
    fn forgotten(&self, _: &TokenKey) {}
}

fn key(n: u32) -> TokenKey {
    let mut k = [0u8; 16];
    k[..4].copy_from_slice(&n.to_le_bytes());
    k[8..12].copy_from_slice(&n.wrapping_mul(2_654_435_761).to_le_bytes());
    TokenKey(k)
}

/// Keys that all land in shard 0.
fn key_in_shard0(n: u32) -> TokenKey {
    let mut k = key(n + 1).0;
    k[0] = 0;
    k[1] = n as u8;
    k[2] = (n >> 8) as u8;
    TokenKey(k)
}

fn enforce() -> Timing {
    Timing::simple(IDLE, None, true, 86_400_000)
}

fn shadow() -> Timing {
    Timing {
        enforce: false,
        ..enforce()
    }
}

fn store() -> Store {
    Store::new(1_000_000, 1000, T0)
}

#[test]
fn store_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
}

#[test]
fn unknown_key_checks_unknown() {
    let s = store();
    assert_eq!(s.check(&key(1), T0, &enforce(), true), Check::Unknown);
    assert_eq!(s.status(&key(1), T0, &enforce()), Status::Unknown);
}

#[test]
fn track_new_then_existing() {
    let s = store();
    let t = enforce();
    assert_eq!(
        s.track(&key(1), T0, None, &t),
        Track::New {
            deadline_ms: T0 + IDLE
        }
    );
    assert_eq!(
        s.track(&key(1), T0 + 5, None, &t),
        Track::Existing {
            deadline_ms: T0 + IDLE
        }
    );
    assert_eq!(s.tracked_len(), 1);
}

#[test]
fn touch_moves_the_deadline_and_no_touch_does_not() {
    let s = store();
    let t = enforce();
    s.track(&key(1), T0, None, &t);
    assert_eq!(
        s.check(&key(1), T0 + 10, &t, false),
        Check::Active {
            deadline_ms: T0 + IDLE
        }
    );
    assert_eq!(
        s.check(&key(1), T0 + 10, &t, true),
        Check::Active {
            deadline_ms: T0 + 10 + IDLE
        }
    );
    assert_eq!(
        s.status(&key(1), T0 + 20, &t),
        Status::Active {
            last_activity_ms: T0 + 10,
            deadline_ms: T0 + 10 + IDLE
        }
    );
}

#[test]
fn check_expires_exactly_at_the_deadline() {
    let s = store();
    let t = enforce();
    s.track(&key(1), T0, None, &t);
    assert!(matches!(
        s.check(&key(1), T0 + IDLE - 1, &t, false),
        Check::Active { .. }
    ));
    let Check::Expired(rev) = s.check(&key(1), T0 + IDLE, &t, true) else {
        panic!("expected expiry at the deadline");
    };
    assert_eq!(rev.reason, RevokeReason::Inactivity);
    assert_eq!(rev.at_ms, T0 + IDLE);
    assert_eq!(rev.last_activity_ms, T0);
    assert!(rev.enforced);
    assert_eq!(
        s.check(&key(1), T0 + IDLE, &t, true),
        Check::Revoked(RevokeReason::Inactivity)
    );
    assert_eq!(s.track(&key(1), T0 + IDLE, None, &t), Track::Revoked);
    assert_eq!(s.tracked_len(), 0);
}

#[test]
fn reason_when_both_passed_is_the_first_to_pass() {
    let s = store();
    let t = Timing {
        absolute_ms: Some(IDLE + 1000),
        ..enforce()
    };
    s.track(&key(1), T0, None, &t);
    s.check(&key(1), T0 + IDLE - 1, &t, true); // idle deadline now T0 + 2*IDLE - 1
    let Check::Expired(rev) = s.check(&key(1), T0 + 3 * IDLE, &t, true) else {
        panic!("expected expiry");
    };
    assert_eq!(rev.reason, RevokeReason::Absolute);
    assert_eq!(rev.at_ms, T0 + IDLE + 1000);
}

#[test]
fn sweeper_expires_due_tokens() {
    let s = store();
    let t = enforce();
    s.track(&key(1), T0, None, &t);
    assert!(s.expire_due(T0 + IDLE - 1, &t).is_empty());
    let revs = s.expire_due(T0 + IDLE, &t);
    assert_eq!(revs.len(), 1);
    assert_eq!(revs[0].key, key(1));
    assert_eq!(
        s.check(&key(1), T0 + IDLE, &t, true),
        Check::Revoked(RevokeReason::Inactivity)
    );
}

#[test]
fn touch_wins_over_sweeper_and_token_is_refiled() {
    let s = store();
    let t = enforce();
    s.track(&key(1), T0, None, &t);
    s.check(&key(1), T0 + IDLE - 1, &t, true);
    assert!(s.expire_due(T0 + IDLE, &t).is_empty());
    assert!(matches!(
        s.check(&key(1), T0 + IDLE, &t, false),
        Check::Active { .. }
    ));
    // The sweeper works in whole ticks (1 s here): due at the first tick after the deadline.
    assert!(s.expire_due(T0 + 2 * IDLE - 1, &t).is_empty());
    let revs = s.expire_due(T0 + 2 * IDLE, &t);
    assert_eq!(revs.len(), 1);
    assert_eq!(revs[0].at_ms, T0 + 2 * IDLE - 1);
}

#[test]
fn untrack_forgets_the_token() {
    let s = store();
    let t = enforce();
    s.track(&key(1), T0, None, &t);
    assert!(s.untrack(&key(1)));
    assert!(!s.untrack(&key(1)));
    assert_eq!(s.check(&key(1), T0, &t, true), Check::Unknown);
    assert!(s.expire_due(T0 + 10 * IDLE, &t).is_empty());
    assert_eq!(s.tracked_len(), 0);
}

#[test]
fn admin_revoke_of_unknown_key_revokes_it() {
    let s = store();
    let t = enforce();
    let rev = s.revoke(&key(9), RevokeReason::Admin, T0, &t);
    assert_eq!(rev.reason, RevokeReason::Admin);
    assert!(rev.enforced);
    assert_eq!(
        s.check(&key(9), T0 + 1, &t, true),
        Check::Revoked(RevokeReason::Admin)
    );
    assert_eq!(
        s.status(&key(9), T0, &t),
        Status::Revoked {
            reason: RevokeReason::Admin,
            until_ms: T0 + t.retention_ms
        }
    );
}

#[test]
fn admin_revoke_of_tracked_key_in_shadow_mode_is_enforced() {
    let s = store();
    let t = shadow();
    s.track(&key(1), T0, None, &t);
    let rev = s.revoke(&key(1), RevokeReason::Admin, T0 + 5, &t);
    assert_eq!(rev.first_seen_ms, T0);
    assert_eq!(
        s.check(&key(1), T0 + 6, &t, true),
        Check::Revoked(RevokeReason::Admin)
    );
    assert_eq!(s.tracked_len(), 0);
}

#[test]
fn revoked_retention_is_bounded_by_jwt_exp() {
    let s = store();
    let t = enforce();
    let exp_s = (T0 + 10 * IDLE) / 1000;
    s.track(&key(1), T0, Some(exp_s), &t);
    s.expire_due(T0 + IDLE, &t);
    assert_eq!(
        s.status(&key(1), T0 + IDLE, &t),
        Status::Revoked {
            reason: RevokeReason::Inactivity,
            until_ms: exp_s * 1000
        }
    );
    assert_eq!(s.check(&key(1), exp_s * 1000, &t, true), Check::Unknown);
}

#[test]
fn revoked_keys_are_purged_after_retention() {
    let s = store();
    let t = Timing {
        retention_ms: 10_000,
        ..enforce()
    };
    s.revoke(&key(1), RevokeReason::Admin, T0, &t);
    s.expire_due(T0 + 9_999, &t);
    assert_eq!(s.revoked_len(), 1);
    // Purges run at most every few seconds.
    s.expire_due(T0 + 10_000 + 5_000, &t);
    assert_eq!(s.revoked_len(), 0);
}

#[test]
fn shadow_mode_drops_without_revoking_and_retrack_works() {
    let s = store();
    let t = shadow();
    s.track(&key(1), T0, None, &t);
    let Check::Expired(rev) = s.check(&key(1), T0 + IDLE, &t, true) else {
        panic!("expected shadow expiry");
    };
    assert!(!rev.enforced);
    assert_eq!(s.revoked_len(), 0);
    assert_eq!(s.check(&key(1), T0 + IDLE, &t, true), Check::Unknown);
    assert!(matches!(
        s.track(&key(1), T0 + IDLE, None, &t),
        Track::New { .. }
    ));
    s.track(&key(2), T0, None, &t);
    let revs = s.expire_due(T0 + 2 * IDLE, &t);
    assert_eq!(revs.len(), 2);
    assert!(revs.iter().all(|r| !r.enforced));
    assert_eq!(s.revoked_len(), 0);
}

#[test]
fn rearm_all_applies_a_shorter_idle() {
    let s = store();
    let t = enforce();
    s.track(&key(1), T0, None, &t);
    s.expire_due(T0 + 1000, &t);
    let short = Timing {
        idle_ms: 5_000,
        ..t
    };
    s.rearm_all(T0 + 1000, &short);
    assert!(s.expire_due(T0 + 4_999, &short).is_empty());
    let revs = s.expire_due(T0 + 5_000, &short);
    assert_eq!(revs.len(), 1);
    assert_eq!(revs[0].at_ms, T0 + 5_000);
}

#[test]
fn clear_tracked_forgets_all_but_keeps_revoked() {
    let s = store();
    let t = enforce();
    s.track(&key(1), T0, None, &t);
    s.track(&key(2), T0, None, &t);
    s.revoke(&key(3), RevokeReason::Admin, T0, &t);
    s.clear_tracked();
    assert_eq!(s.tracked_len(), 0);
    assert_eq!(s.check(&key(1), T0, &t, true), Check::Unknown);
    assert_eq!(
        s.check(&key(3), T0, &t, true),
        Check::Revoked(RevokeReason::Admin)
    );
    assert!(s.expire_due(T0 + 10 * IDLE, &t).is_empty());
    assert!(matches!(s.track(&key(1), T0, None, &t), Track::New { .. }));
}

#[test]
fn overflow_at_max_tracked() {
    let s = Store::new(2, 1000, T0);
    let t = enforce();
    s.track(&key(1), T0, None, &t);
    s.track(&key(2), T0, None, &t);
    assert_eq!(s.track(&key(3), T0, None, &t), Track::Overflow);
    s.untrack(&key(1));
    assert!(matches!(s.track(&key(3), T0, None, &t), Track::New { .. }));
    s.set_max_tracked(3);
    assert!(matches!(s.track(&key(4), T0, None, &t), Track::New { .. }));
    assert_eq!(s.tracked_len(), 3);
}

#[test]
fn dead_slot_is_reused_only_after_the_wheel_frees_it() {
    let s = store();
    let t = enforce();
    s.track(&key_in_shard0(1), T0, None, &t);
    s.untrack(&key_in_shard0(1));
    s.track(&key_in_shard0(2), T0, None, &t);
    assert_eq!(s.shards[0].read().slab_len(), 2);
    s.expire_due(T0 + 1000, &t); // the dead slot's item is due at once: freed
    s.track(&key_in_shard0(3), T0 + 1000, None, &t);
    assert_eq!(s.shards[0].read().slab_len(), 2);
    assert!(matches!(
        s.check(&key_in_shard0(3), T0 + 1000, &t, false),
        Check::Active { .. }
    ));
    assert!(matches!(
        s.check(&key_in_shard0(2), T0 + 1000, &t, false),
        Check::Active { .. }
    ));
    let revs = s.expire_due(T0 + 1000 + IDLE, &t);
    assert_eq!(revs.len(), 2);
}

#[test]
fn expired_on_the_spot_slot_is_freed_by_the_sweeper() {
    let s = store();
    let t = enforce();
    s.track(&key_in_shard0(1), T0, None, &t);
    assert!(matches!(
        s.check(&key_in_shard0(1), T0 + IDLE, &t, true),
        Check::Expired(_)
    ));
    assert!(s.expire_due(T0 + IDLE, &t).is_empty());
    s.track(&key_in_shard0(2), T0 + IDLE, None, &t);
    assert_eq!(s.shards[0].read().slab_len(), 1);
}
