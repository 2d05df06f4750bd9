//! Unit tests of the interval statistics and the token timelines.

use super::*;

const MIN: u64 = 60_000;

#[test]
fn periodic_needs_four_intervals_with_low_variation() {
    assert!(interval_stats(&mut [60_000, 61_000, 59_000, 60_000]).periodic);
    assert!(!interval_stats(&mut [60_000, 61_000, 59_000]).periodic);
    assert!(!interval_stats(&mut [1_000, 60_000, 5_000, 300_000]).periodic);
    assert!(!interval_stats(&mut [0, 0, 0, 0, 0]).periodic);
}

#[test]
fn median_of_even_count_is_the_mean_of_the_middle_two() {
    let s = interval_stats(&mut [4, 1, 3, 2]);
    assert_eq!(s.median_ms, Some(2.5));
    assert_eq!(interval_stats(&mut []).median_ms, None);
}

#[test]
fn token_whose_requests_end_before_the_deadline_is_never_revoked() {
    let t = timeline(
        [(0, true), (10 * MIN, false), (29 * MIN, false)],
        Some(30 * MIN),
        None,
    )
    .unwrap();
    assert_eq!(t.revoke_at_ms, None);
    assert_eq!(t.longest_gap_ms, 29 * MIN);
    assert_eq!(t.resetting, 1);
}

#[test]
fn later_request_reaching_the_deadline_reveals_the_revocation() {
    let reqs = [
        (0, true),
        (10 * MIN, false),
        (30 * MIN, false),
        (31 * MIN, true),
    ];
    let t = timeline(reqs, Some(30 * MIN), None).unwrap();
    assert_eq!(t.revoke_at_ms, Some(30 * MIN));
    assert_eq!(t.longest_gap_ms, 31 * MIN);
}

#[test]
fn revoked_token_stays_revoked_despite_later_activity() {
    let reqs = [
        (0, true),
        (31 * MIN, true),
        (32 * MIN, true),
        (90 * MIN, true),
    ];
    let t = timeline(reqs, Some(30 * MIN), None).unwrap();
    assert_eq!(t.revoke_at_ms, Some(30 * MIN));
    assert_eq!(t.longest_gap_ms, 58 * MIN);
}

#[test]
fn first_request_starts_the_timer_even_when_excluded() {
    let reqs = [(0, false), (20 * MIN, false), (31 * MIN, false)];
    let t = timeline(reqs, Some(30 * MIN), None).unwrap();
    assert_eq!(t.revoke_at_ms, Some(30 * MIN));
    assert_eq!(t.resetting, 0);
}

#[test]
fn absolute_deadline_applies_when_it_comes_first() {
    let reqs = (0..20).map(|i| (i * 10 * MIN, true));
    let t = timeline(reqs, Some(30 * MIN), Some(60 * MIN)).unwrap();
    assert_eq!(t.revoke_at_ms, Some(60 * MIN));
}

#[test]
fn gap_runs_to_the_last_request_when_no_reset_follows() {
    let reqs = [
        (0, true),
        (5 * MIN, true),
        (6 * MIN, false),
        (25 * MIN, false),
    ];
    let t = timeline(reqs, Some(30 * MIN), None).unwrap();
    assert_eq!(t.longest_gap_ms, 20 * MIN);
}

#[test]
fn idle_off_never_revokes_for_inactivity() {
    let reqs = [(0, true), (600 * MIN, false), (6_000 * MIN, true)];
    let t = timeline(reqs, None, None).unwrap();
    assert_eq!(t.revoke_at_ms, None);
    assert_eq!(t.longest_gap_ms, 6_000 * MIN);
}

#[test]
fn idle_off_still_meets_the_absolute_deadline() {
    let reqs = [(0, true), (10 * MIN, true), (70 * MIN, true)];
    let t = timeline(reqs, None, Some(60 * MIN)).unwrap();
    assert_eq!(t.revoke_at_ms, Some(60 * MIN));
}

/// Idle 30 min. Both policies start the timer at 0; the request at 10 min resets it under the
/// current exclusions only (the what-if excludes it): current deadline 40 min, what-if 30 min.
fn what_if_pair(later: &[u64]) -> (Timeline, Timeline) {
    let idle = Some(30 * MIN);
    let times = || [0, 10 * MIN].into_iter().chain(later.iter().copied());
    let current = timeline(times().map(|t| (t, true)), idle, None).unwrap();
    let changed = timeline(times().map(|t| (t, t == 0)), idle, None).unwrap();
    (current, changed)
}

#[test]
fn what_if_deadline_first_without_a_request_before_the_current_one_is_not_listed() {
    // The next request (45 min) comes after both deadlines: both refuse it.
    let (current, changed) = what_if_pair(&[45 * MIN]);
    assert_eq!(current.revoke_at_ms, Some(40 * MIN));
    assert_eq!(changed.revoke_at_ms, Some(30 * MIN));
    assert_eq!(changed.revoke_trigger_ms, Some(45 * MIN));
    assert_eq!(what_if_refusal(Some(&current), Some(&changed)), None);
}

#[test]
fn what_if_refusing_a_request_the_current_exclusions_let_through_is_listed_at_its_deadline() {
    // 35 min: past the what-if deadline, before the current one.
    let (current, changed) = what_if_pair(&[35 * MIN, 45 * MIN]);
    assert_eq!(changed.revoke_trigger_ms, Some(35 * MIN));
    assert_eq!(
        what_if_refusal(Some(&current), Some(&changed)),
        Some(30 * MIN)
    );
}

#[test]
fn what_if_revoking_a_token_the_current_exclusions_never_revoke_is_listed() {
    let (current, changed) = what_if_pair(&[39 * MIN]);
    assert_eq!(current.revoke_at_ms, None);
    assert_eq!(
        what_if_refusal(Some(&current), Some(&changed)),
        Some(30 * MIN)
    );
    assert_eq!(what_if_refusal(Some(&current), Some(&current)), None);
}

#[test]
fn the_trigger_is_the_first_request_at_or_after_the_deadline() {
    let t = timeline(
        [(0, true), (30 * MIN, true), (31 * MIN, true)],
        Some(30 * MIN),
        None,
    );
    let t = t.unwrap();
    assert_eq!(
        (t.revoke_at_ms, t.revoke_trigger_ms),
        (Some(30 * MIN), Some(30 * MIN))
    );
}
