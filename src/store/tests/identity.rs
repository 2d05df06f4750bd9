//! What identity adds to the store (docs/reference.md, "Identity"): deadlines by policy,
//! policies kept by name, the verified signature, a subject's tokens, subjects shared and
//! freed.

use super::*;

const MINUTE: u64 = 60_000;
const DAY: u64 = 86_400_000;

/// Default: idle `IDLE`, no absolute. Policy 1: idle 5 min, absolute 1 day. Policy 2: idle
/// 30 s. Policy 3: idle off, absolute 1 day. Policy 4: idle off, no absolute.
fn with_policies() -> Timing {
    let mut t = enforce();
    t.policies[0] = PolicyTiming {
        idle_ms: 5 * MINUTE,
        absolute_ms: Some(DAY),
    };
    t.policies[1] = PolicyTiming {
        idle_ms: 30_000,
        absolute_ms: None,
    };
    t.policies[2] = PolicyTiming {
        idle_ms: u64::MAX,
        absolute_ms: Some(DAY),
    };
    t.policies[3] = PolicyTiming {
        idle_ms: u64::MAX,
        absolute_ms: None,
    };
    t
}

fn ident(subject: &str, policy: u8, sig: u64) -> NewIdent<'_> {
    NewIdent {
        sig,
        subject: Some(subject),
        policy,
    }
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn is_expired(c: &Check, reason: RevokeReason) -> bool {
    matches!(c, Check::Expired(rev) if rev.reason == reason)
}

#[test]
fn a_token_expires_at_its_policys_idle_and_not_the_defaults() {
    let (s, t) = (store(), with_policies());
    s.track_with(&key(1), T0, None, &t, ident("a", 1, 1));
    s.track_with(&key(2), T0, None, &t, ident("a", 2, 2));
    s.track(&key(3), T0, None, &t);
    assert!(matches!(
        s.check(&key(2), T0 + 30_000, &t, false),
        Check::Expired(_)
    ));
    assert!(is_expired(
        &s.check(&key(3), T0 + IDLE, &t, false),
        RevokeReason::Inactivity
    ));
    assert!(matches!(
        s.check(&key(1), T0 + 5 * MINUTE - 1, &t, false),
        Check::Active { deadline_ms } if deadline_ms == T0 + 5 * MINUTE
    ));
    let Check::Expired(rev) = s.check(&key(1), T0 + 5 * MINUTE, &t, false) else {
        panic!("policy 1 expires at its own idle");
    };
    assert_eq!(
        (rev.reason, rev.at_ms, rev.policy),
        (RevokeReason::Inactivity, T0 + 5 * MINUTE, 1)
    );
    assert_eq!(rev.subject.as_deref(), Some("a"));
}

#[test]
fn a_token_expires_at_its_policys_absolute_and_not_the_defaults() {
    let (s, t) = (store(), with_policies());
    s.track_with(&key(1), T0, None, &t, ident("a", 1, 1));
    // Active every 4 minutes: never idle for 5, but the day runs out.
    let mut now = T0;
    while now + 4 * MINUTE < T0 + DAY {
        now += 4 * MINUTE;
        assert!(matches!(
            s.check(&key(1), now, &t, true),
            Check::Active { .. }
        ));
    }
    assert!(is_expired(
        &s.check(&key(1), T0 + DAY, &t, true),
        RevokeReason::Absolute
    ));
}

#[test]
fn idle_off_never_expires_by_inactivity_but_still_by_absolute() {
    let (s, t) = (store(), with_policies());
    s.track_with(&key(1), T0, None, &t, ident("kiosk", 3, 1));
    s.track_with(&key(2), T0, None, &t, ident("kiosk", 4, 2));
    assert!(s.expire_due(T0 + DAY - 1000, &t).is_empty());
    assert!(matches!(
        s.check(&key(1), T0 + DAY - 1, &t, false),
        Check::Active { deadline_ms } if deadline_ms == T0 + DAY
    ));
    let revs = s.expire_due(T0 + DAY, &t);
    assert_eq!(revs.len(), 1);
    assert_eq!(
        (revs[0].key, revs[0].reason),
        (key(1), RevokeReason::Absolute)
    );
    // Without an absolute, not even ten years of silence end it.
    let later = T0 + 3650 * DAY;
    assert!(s.expire_due(later, &t).is_empty());
    assert!(matches!(
        s.check(&key(2), later, &t, false),
        Check::Active { .. }
    ));
}

#[test]
fn a_live_change_of_a_policys_timing_applies_to_tracked_tokens() {
    let (s, t) = (store(), with_policies());
    s.track_with(&key(1), T0, None, &t, ident("a", 1, 1));
    s.track_with(&key(2), T0, None, &t, ident("a", 1, 2));
    s.expire_due(T0 + 1000, &t); // both filed in the wheel at the 5-minute deadline
    let mut shorter = t;
    shorter.policies[0].idle_ms = MINUTE;
    // The check reads the live timing...
    assert!(is_expired(
        &s.check(&key(1), T0 + MINUTE, &shorter, false),
        RevokeReason::Inactivity
    ));
    // ...and the sweeper, once re-armed, fires at the new deadline.
    s.rearm_all(T0 + 1000, &shorter);
    assert!(s.expire_due(T0 + MINUTE - 1, &shorter).is_empty());
    let revs = s.expire_due(T0 + MINUTE, &shorter);
    assert_eq!(revs.len(), 1);
    assert_eq!((revs[0].key, revs[0].policy), (key(2), 1));
}

#[test]
fn remap_moves_policy_ids_and_a_removed_policys_tokens_fall_back_to_default() {
    let (s, t) = (store(), with_policies());
    s.set_policy_names(names(&["a", "b", "c"]));
    for (i, policy) in [(1, 1), (2, 2), (3, 3), (4, 0)] {
        s.track_with(&key(i), T0, None, &t, ident("x", policy, 0));
    }
    s.set_policy_names(names(&["c", "a"]));
    let policy_of = |i| s.ident(&key(i), T0).1;
    assert_eq!(
        [policy_of(1), policy_of(2), policy_of(3), policy_of(4)],
        [2, 0, 1, 0]
    );
    assert_eq!(s.policy_names().as_slice(), names(&["c", "a"]).as_slice());
    s.remap_policies(&[0, 2, 1]);
    assert_eq!([policy_of(1), policy_of(2), policy_of(3)], [1, 0, 2]);
}

#[test]
fn verified_says_same_other_or_untracked() {
    let (s, t) = (store(), enforce());
    s.track_with(&key(1), T0, None, &t, ident("a", 0, 42));
    s.track(&key(2), T0, None, &t);
    assert_eq!(s.verified(&key(1), 42), Verified::Same);
    assert_eq!(s.verified(&key(1), 43), Verified::Other);
    assert_eq!(s.verified(&key(2), 0), Verified::Other, "never verified");
    assert_eq!(s.verified(&key(3), 42), Verified::Untracked);
}

#[test]
fn attach_records_signature_subject_and_policy_of_a_tracked_token() {
    let (s, t) = (store(), with_policies());
    s.track(&key(1), T0, None, &t);
    assert!(s.attach(&key(1), ident("alice", 2, 7)));
    assert_eq!(s.verified(&key(1), 7), Verified::Same);
    assert_eq!(s.ident(&key(1), T0), (Some("alice".into()), 2));
    let record = s.record(&key(1)).unwrap();
    assert_eq!((record.sig, record.policy), (7, 2));
    assert_eq!(record.subject.as_deref(), Some("alice"));
    // Another signature of the same token id keeps the subject reference it holds.
    assert!(s.attach(&key(1), ident("alice", 2, 8)));
    assert_eq!(s.verified(&key(1), 8), Verified::Same);
    assert!(!s.attach(&key(2), ident("bob", 1, 9)), "untracked");
    assert_eq!(s.subjects_len(), 1);
    // Its policy now decides its deadline: policy 2 idles out after 30 s.
    assert!(matches!(
        s.check(&key(1), T0 + 30_000, &t, false),
        Check::Expired(_)
    ));
}

#[test]
fn subject_tokens_lists_active_newest_first_then_revoked_and_no_other_subject() {
    let (s, t) = (store(), with_policies());
    s.track_with(&key(1), T0, None, &t, ident("alice", 1, 1));
    s.track_with(&key(2), T0, None, &t, ident("alice", 0, 2));
    s.track_with(&key(3), T0, None, &t, ident("alice", 0, 3));
    s.track_with(&key(4), T0, None, &t, ident("bob", 0, 4));
    s.check(&key(2), T0 + 20, &t, true);
    s.check(&key(1), T0 + 10, &t, true);
    s.revoke(&key(3), RevokeReason::Admin, T0 + 30, &t);
    let listed = s.subject_tokens("alice", T0 + 40, &t);
    let keys: Vec<_> = listed.iter().map(|x| x.key).collect();
    assert_eq!(keys, [key(2), key(1), key(3)]);
    assert_eq!(listed[1].policy, 1);
    assert_eq!(listed[1].until_ms, T0 + 10 + 5 * MINUTE);
    assert_eq!(listed[0].revoked, None);
    assert_eq!(listed[2].revoked, Some(RevokeReason::Admin));
    assert_eq!(listed[2].policy, 0);
    assert!(s.subject_tokens("carol", T0, &t).is_empty());
}

#[test]
fn a_revoked_token_keeps_its_policy_and_follows_its_name() {
    let (s, t) = (store(), with_policies());
    s.set_policy_names(names(&["a", "b"]));
    s.track_with(&key(1), T0, None, &t, ident("alice", 2, 1));
    s.revoke(&key(1), RevokeReason::Admin, T0 + 1, &t);
    assert_eq!(s.subject_tokens("alice", T0 + 2, &t)[0].policy, 2);
    assert_eq!(s.ident(&key(1), T0 + 2).1, 2);
    s.set_policy_names(names(&["b", "a"]));
    assert_eq!(s.subject_tokens("alice", T0 + 2, &t)[0].policy, 1);
    s.set_policy_names(names(&["a"]));
    assert_eq!(
        s.subject_tokens("alice", T0 + 2, &t)[0].policy,
        0,
        "removed: default"
    );
}

#[test]
fn a_subject_is_stored_once_and_freed_with_its_last_token_and_revoked_entry() {
    let (s, t) = (
        store(),
        Timing {
            retention_ms: 10_000,
            ..enforce()
        },
    );
    for i in 0..10 {
        s.track_with(&key(i), T0, None, &t, ident("alice", 0, u64::from(i) + 1));
    }
    assert_eq!(s.subjects_len(), 1);
    assert_eq!(s.expire_due(T0 + IDLE, &t).len(), 10);
    assert_eq!(s.subjects_len(), 1, "the revoked entries keep the subject");
    assert_eq!(s.subject_tokens("alice", T0 + IDLE, &t).len(), 10);
    s.expire_due(T0 + IDLE + 10_000, &t); // retention over: purged
    assert_eq!(s.revoked_len(), 0);
    assert_eq!(s.subjects_len(), 0);
    assert!(s.subject_tokens("alice", T0 + IDLE + 10_000, &t).is_empty());
}

#[test]
fn admin_revoke_keeps_the_subject_in_the_revoked_entry() {
    let (s, t) = (store(), with_policies());
    s.track_with(&key(1), T0, None, &t, ident("alice", 1, 1));
    let rev = s.revoke(&key(1), RevokeReason::Admin, T0 + 5, &t);
    assert_eq!((rev.subject.as_deref(), rev.policy), (Some("alice"), 1));
    s.expire_due(T0 + 1000, &t); // the wheel frees the dead slot
    assert_eq!(s.ident(&key(1), T0 + 1000).0.as_deref(), Some("alice"));
    assert_eq!(s.subjects_len(), 1);
    let (_, revoked) = s.export();
    assert_eq!(revoked[0].subject.as_deref(), Some("alice"));
    // Revoked again (no longer tracked): the entry still knows its subject.
    let again = s.revoke(&key(1), RevokeReason::Admin, T0 + 2000, &t);
    assert_eq!(again.subject.as_deref(), Some("alice"));
    assert_eq!(s.subjects_len(), 1);
}

#[test]
fn policy_counts_count_tracked_tokens_by_policy() {
    let (s, t) = (store(), with_policies());
    s.track(&key(1), T0, None, &t);
    s.track_with(&key(2), T0, None, &t, ident("a", 0, 2));
    s.track_with(&key(3), T0, None, &t, ident("a", 1, 3));
    s.track_with(&key(4), T0, None, &t, ident("b", 1, 4));
    s.track_with(&key(5), T0, None, &t, ident("b", 3, 5));
    let counts = s.policy_counts();
    assert_eq!(counts.len(), MAX_POLICIES + 1);
    assert_eq!(&counts[..4], &[2, 2, 0, 1]);
    s.revoke(&key(3), RevokeReason::Admin, T0, &t);
    assert_eq!(&s.policy_counts()[..4], &[2, 1, 0, 1]);
}

#[test]
fn a_subject_longer_than_the_limit_is_not_kept() {
    let (s, t) = (store(), enforce());
    let long = "x".repeat(MAX_SUBJECT_LEN + 1);
    let at_limit = "y".repeat(MAX_SUBJECT_LEN);
    s.track_with(&key(1), T0, None, &t, ident(&long, 0, 1));
    s.track_with(&key(2), T0, None, &t, ident(&at_limit, 0, 2));
    assert_eq!(s.ident(&key(1), T0).0, None);
    assert_eq!(s.ident(&key(2), T0).0.as_deref(), Some(at_limit.as_str()));
    assert_eq!(s.subjects_len(), 1);
}
