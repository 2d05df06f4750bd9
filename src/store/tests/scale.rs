//! Export/import round trips and the store at scale.

use super::*;

#[test]
fn export_import_round_trip() {
    let a = store();
    let t = enforce();
    a.track(&key(1), T0, Some((T0 + 3_600_000) / 1000), &t);
    a.track(&key(2), T0 + 5, None, &t);
    a.check(&key(2), T0 + 50, &t, true);
    a.revoke(&key(3), RevokeReason::Admin, T0, &t);
    let (tracked, revoked) = a.export();
    let b = store();
    b.import(&tracked, &revoked, T0 + 100, &t);
    let (mut t2, r2) = b.export();
    let mut t1 = tracked.clone();
    t1.sort_by_key(|r| r.key);
    t2.sort_by_key(|r| r.key);
    assert_eq!(t1, t2);
    assert_eq!(revoked, r2);
    assert_eq!(
        b.check(&key(3), T0 + 100, &t, true),
        Check::Revoked(RevokeReason::Admin)
    );
    assert_eq!(
        b.check(&key(2), T0 + 100, &t, false),
        Check::Active {
            deadline_ms: T0 + 50 + IDLE
        }
    );
}

#[test]
fn import_keeps_later_activity_and_expires_idle_tokens_at_once() {
    let s = store();
    let t = enforce();
    s.track(&key(1), T0 + 500, None, &t);
    let recs = [
        TrackedRecord {
            key: key(1),
            last_activity_ms: T0 + 100,
            first_seen_ms: T0,
            jwt_exp_ms: None,
            ..Default::default()
        },
        TrackedRecord {
            key: key(2),
            last_activity_ms: T0,
            first_seen_ms: T0,
            jwt_exp_ms: None,
            ..Default::default()
        },
    ];
    s.import(&recs, &[], T0 + IDLE + 200, &t);
    assert_eq!(
        s.status(&key(1), T0 + 600, &t),
        Status::Active {
            last_activity_ms: T0 + 500,
            deadline_ms: T0 + 500 + IDLE
        }
    );
    let revs = s.expire_due(T0 + IDLE + 200, &t);
    assert_eq!(revs.len(), 1);
    assert_eq!(revs[0].key, key(2));
    assert_eq!(revs[0].at_ms, T0 + IDLE);
}

#[test]
fn import_never_tracks_a_revoked_key() {
    let s = store();
    let t = enforce();
    let tracked = [TrackedRecord {
        key: key(1),
        last_activity_ms: T0,
        first_seen_ms: T0,
        jwt_exp_ms: None,
        ..Default::default()
    }];
    let revoked = [RevokedRecord {
        key: key(1),
        reason: RevokeReason::Admin,
        until_ms: T0 + 1000,
        subject: None,
    }];
    s.import(&tracked, &revoked, T0, &t);
    assert_eq!(s.tracked_len(), 0);
    assert_eq!(
        s.check(&key(1), T0, &t, true),
        Check::Revoked(RevokeReason::Admin)
    );
}

#[test]
fn hundred_thousand_tokens_expire_in_one_sweep() {
    let s = store();
    let t = enforce();
    for i in 0..100_000 {
        s.track(&key(i), T0 + u64::from(i % 1000), None, &t);
    }
    s.expire_due(T0 + 1000, &t);
    assert_eq!(s.tracked_len(), 100_000);
    let revs = s.expire_due(T0 + 1000 + IDLE, &t);
    assert_eq!(revs.len(), 100_000);
    assert_eq!(s.tracked_len(), 0);
    assert_eq!(s.revoked_len(), 100_000);
    assert!(s.expire_due(T0 + 10 * IDLE, &t).is_empty());
}

#[test]
fn concurrent_touches_and_sweeps_never_see_neither() {
    use std::sync::Arc;
    let s = Arc::new(store());
    let t = enforce();
    for i in 0..1000 {
        s.track(&key(i), T0, None, &t);
    }
    let sweeper = {
        let s = Arc::clone(&s);
        std::thread::spawn(move || {
            for step in 0..50 {
                s.expire_due(T0 + IDLE + step * 10, &t);
            }
        })
    };
    for i in 0..1000 {
        let c = s.check(&key(i), T0 + IDLE + 500, &t, true);
        assert!(
            !matches!(c, Check::Unknown | Check::Active { .. }),
            "key {i}: {c:?}"
        );
    }
    sweeper.join().expect("sweeper thread");
}

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

#[test]
#[ignore = "memory bar (see the README, Benchmarks): run alone with --ignored --test-threads=1"]
fn million_tracked_tokens_fit_in_64_bytes_each() {
    let s = store();
    let t = enforce();
    let before = rss_bytes();
    for i in 0..1_000_000 {
        s.track(&key(i), T0 + u64::from(i % 5000), None, &t);
    }
    s.expire_due(T0 + 5000, &t); // files every token in the wheel
    let per_token = (rss_bytes() - before) / 1_000_000;
    assert_eq!(s.tracked_len(), 1_000_000);
    eprintln!("{per_token} bytes per tracked token");
    assert!(per_token <= 64, "{per_token} bytes per tracked token");
}

#[test]
#[ignore = "memory bar (see the README, Benchmarks): run alone with --ignored --test-threads=1"]
fn million_tracked_tokens_with_identity_fit_in_96_bytes_each() {
    let s = store();
    let mut t = enforce();
    for (i, p) in t.policies.iter_mut().take(3).enumerate() {
        p.idle_ms = IDLE * (i as u64 + 2);
    }
    let before = rss_bytes();
    for i in 0..1_000_000u32 {
        // 10 tokens per subject, every token verified, policies 0–3.
        let subject = format!("user-{:08}@example.com", i / 10);
        let ident = NewIdent {
            sig: u64::from(i) + 1,
            subject: Some(&subject),
            policy: (i % 4) as u8,
        };
        s.track_with(&key(i), T0 + u64::from(i % 5000), None, &t, ident);
    }
    s.expire_due(T0 + 5000, &t); // files every token in the wheel
    let per_token = (rss_bytes() - before) / 1_000_000;
    assert_eq!(s.tracked_len(), 1_000_000);
    assert_eq!(s.subjects_len(), 100_000);
    eprintln!("{per_token} bytes per tracked token with identity");
    assert!(
        per_token <= 96,
        "{per_token} bytes per tracked token with identity"
    );
}
