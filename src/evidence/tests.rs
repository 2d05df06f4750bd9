//! The rules of live evidence's record path: sampling, hourly buckets, periodicity, the
//! distinct estimate and the memory bound.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use super::periodic::interval_stats;
use super::*;

/// 2026-01-01T00:00:00Z, a whole hour.
pub(super) const T0: u64 = 1_767_225_600_000;
const SEC: u64 = 1_000;

/// A token id as the gateway makes them: a hash, so its bits are uniform.
pub(super) fn token(i: u64) -> TokenKey {
    let hash = blake3::hash(&i.to_le_bytes());
    let mut key = [0u8; 16];
    key.copy_from_slice(&hash.as_bytes()[..16]);
    TokenKey(key)
}

pub(super) fn evidence(sample: u32) -> Evidence {
    let settings = EvidenceSettings {
        sample,
        ..EvidenceSettings::default()
    };
    Evidence::new(settings).unwrap()
}

/// Tokens `from..` that `e` samples (or not), `n` of them.
pub(super) fn tokens(e: &Evidence, sampled: bool, n: usize) -> Vec<TokenKey> {
    (0..)
        .map(token)
        .filter(|t| e.settings().samples(t) == sampled)
        .take(n)
        .collect()
}

#[test]
fn unsampled_record_touches_one_counter_only() {
    let e = evidence(16);
    let id = e.intern("GET", "/api/v2/users/me", None);
    let tok = tokens(&e, false, 1)[0];
    e.record(id, &tok, T0 + 5 * SEC);
    e.record(id, &tok, T0 + 6 * SEC);
    let t = e.templates.get(id.0).unwrap();
    assert_eq!(hourly::touched(&t.cells), 1);
    assert!(t.hll.get().is_none(), "no registers for an unsampled token");
    assert_eq!(e.tracker.pairs(), 0, "no history for an unsampled token");
    assert_eq!(e.report(T0 + 7 * SEC).apis[0].requests, 2);
}

#[test]
fn sampling_is_one_in_n_by_token_id_and_deterministic() {
    let e = evidence(16);
    let all: Vec<TokenKey> = (0..16_000).map(token).collect();
    let sampled = all.iter().filter(|t| e.settings().samples(t)).count();
    assert!((900..=1_100).contains(&sampled), "{sampled} of 16,000");
    for t in &all {
        let low = u64::from_le_bytes(t.0[..8].try_into().unwrap());
        assert_eq!(e.settings().samples(t), low % 16 == 0);
        assert_eq!(e.settings().samples(t), evidence(16).settings().samples(t));
    }
    let every = evidence(1);
    assert!(all.iter().all(|t| every.settings().samples(t)));
}

#[test]
fn window_rollover_drops_hours_older_than_the_window() {
    let e = Evidence::new(EvidenceSettings {
        window: Duration::from_secs(2 * 3600),
        sample: 1,
        ..EvidenceSettings::default()
    })
    .unwrap();
    let id = e.intern("GET", "/a", None);
    let h = |n: u64| T0 + n * HOUR_MS;
    e.record(id, &token(1), h(0) + 10);
    e.record(id, &token(2), h(1) + 10);
    let r = e.report(h(1) + 20);
    assert_eq!((r.apis[0].requests, r.apis[0].tokens), (2, 2));
    assert_eq!(r.since, crate::clock::rfc3339(h(0)));
    let r = e.report(h(2));
    assert_eq!(
        (r.apis[0].requests, r.apis[0].tokens),
        (1, 1),
        "hour 0 left"
    );
    assert!(e.report(h(3)).apis.is_empty(), "hours 0 and 1 left");
    // Hour 2 reuses hour 0's bucket: it starts again from zero.
    e.record(id, &token(3), h(2) + 10);
    let r = e.report(h(2) + 20);
    assert_eq!((r.apis[0].requests, r.apis[0].tokens), (2, 2));
}

/// Records `token` at the given offsets (ms) and returns the template's row.
fn row_after(times: &[u64]) -> EvidenceApi {
    let e = evidence(1);
    let id = e.intern("GET", "/api/v2/notifications", None);
    for &t in times {
        e.record(id, &token(7), T0 + t);
    }
    e.report(T0 + times.last().copied().unwrap_or(0))
        .apis
        .remove(0)
}

fn intervals_of(times: &[u64]) -> Vec<u64> {
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

/// The row agrees with `interval_stats` on the same intervals.
fn assert_agrees(times: &[u64], periodic: bool) {
    let row = row_after(times);
    let stats = interval_stats(&mut intervals_of(times));
    assert_eq!(stats.periodic, periodic);
    assert_eq!(row.periodic_tokens, u64::from(periodic));
    let median = stats.median_ms.filter(|_| periodic);
    assert_eq!(
        row.median_interval_seconds,
        median.map(|m| m.round() / 1000.0)
    );
}

#[test]
fn periodicity_of_a_token_every_60s_plus_minus_1s_is_periodic() {
    let jitter = [0, 1_000, 0, 999, 0, 0, 1_000, 0, 500, 0];
    let times: Vec<u64> = (0..10).map(|i| i * 60 * SEC + jitter[i as usize]).collect();
    assert_agrees(&times, true);
    assert_eq!(row_after(&times).median_interval_seconds, Some(60.0));
}

#[test]
fn periodicity_of_irregular_intervals_is_not_periodic() {
    assert_agrees(
        &[0, 5 * SEC, 125 * SEC, 155 * SEC, 455 * SEC, 460 * SEC],
        false,
    );
}

#[test]
fn periodicity_needs_four_intervals() {
    assert_agrees(&[0, 60 * SEC, 120 * SEC, 180 * SEC], false);
    assert_agrees(&[0, 60 * SEC, 120 * SEC, 180 * SEC, 240 * SEC], true);
}

#[test]
fn periodicity_counts_only_intervals_inside_the_window() {
    let e = Evidence::new(EvidenceSettings {
        window: Duration::from_secs(3600),
        sample: 1,
        ..EvidenceSettings::default()
    })
    .unwrap();
    let id = e.intern("GET", "/poll", None);
    // Five polls a minute apart at the end of hour 0, then one in hour 1: the window (hour 1)
    // holds no interval of both ends.
    for i in 0..5 {
        e.record(id, &token(1), T0 + HOUR_MS - 300 * SEC + i * 60 * SEC);
    }
    assert_eq!(e.report(T0 + HOUR_MS - 1).apis[0].periodic_tokens, 1);
    e.record(id, &token(1), T0 + HOUR_MS + 10 * SEC);
    assert_eq!(e.report(T0 + HOUR_MS + 20 * SEC).apis[0].periodic_tokens, 0);
}

#[test]
fn distinct_estimate_within_10_percent_for_10000_sampled_tokens() {
    let e = evidence(1);
    let id = e.intern("GET", "/api/v2/users/me", None);
    for i in 0..10_000 {
        e.record(id, &token(i), T0 + i);
        e.record(id, &token(i), T0 + i + 1);
    }
    let tokens = e.report(T0 + 20_000).apis[0].tokens;
    assert!((9_000..=11_000).contains(&tokens), "estimate {tokens}");
    // Sampled 1 in 4: the estimate of all tokens is the sampled estimate × 4.
    let e = evidence(4);
    let id = e.intern("GET", "/api/v2/users/me", None);
    for i in 0..40_000 {
        e.record(id, &token(i), T0 + i);
    }
    let tokens = e.report(T0 + 50_000).apis[0].tokens;
    assert!((36_000..=44_000).contains(&tokens), "estimate {tokens}");
    assert_eq!(tokens % 4, 0);
}

#[test]
fn memory_stays_within_the_bound_under_a_flood_of_paths_and_tokens() {
    let settings = EvidenceSettings {
        sample: 1,
        ..EvidenceSettings::default()
    };
    let bound = settings.memory_bound_bytes();
    let e = Evidence::new(settings).unwrap();
    // 100,000 distinct paths (some longer than a template may be) and tokens.
    let path = |i: u64| format!("/api/{i}/{}", "x".repeat((i % 700) as usize));
    for i in 0..100_000u64 {
        let id = e.intern("GET", &path(i), Some(&format!("group-{}", i % 2_000)));
        e.record(id, &token(i), T0 + i);
    }
    // Then 100,000 more tokens on the interned templates, to use up every tracked history.
    for i in 0..100_000u64 {
        let id = e.intern("GET", &path(i % 10_000), None);
        e.record(id, &token(1_000_000 + i), T0 + 100_000 + i);
    }
    assert_eq!(e.overflowed(), 90_000);
    assert!(e.untracked() > 0);
    assert_eq!(e.tracker.pairs(), 16 * 1_024);
    let used = e.memory_bytes();
    assert!(used <= bound, "{used} bytes used, bound {bound}");
    assert!(
        used > bound / 2,
        "the bound is not loose: {used} of {bound}"
    );
    assert_eq!(e.report(T0 + 300_000).apis.len(), 10_000);
}

#[test]
fn the_struct_fits_its_share_of_the_bound() {
    assert!(std::mem::size_of::<Evidence>() <= limits::STRUCT_BYTES);
}

#[test]
fn overflow_template_id_records_nothing_but_the_overflow() {
    let e = Evidence::new(EvidenceSettings {
        max_templates: 1,
        ..EvidenceSettings::default()
    })
    .unwrap();
    let a = e.intern("GET", "/a", None);
    assert_eq!(e.intern("GET", "/b", None), TemplateId::OVERFLOW);
    assert_eq!(
        e.intern("GET", "/a", None),
        a,
        "a known template keeps its id"
    );
    e.record(TemplateId::OVERFLOW, &token(1), T0);
    e.record(a, &token(1), T0);
    assert_eq!(e.overflowed(), 1);
    assert_eq!(e.report(T0).apis.len(), 1);
    assert_eq!(
        e.templates.get(a.0).unwrap().class.load(Relaxed),
        labels::ACTIVITY
    );
}
