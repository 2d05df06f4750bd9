//! The trial list's shadow timers (docs/reference.md, "Trial list"): a request that reaches a
//! token's trial deadline while the enforced list keeps it alive is a would-be revocation, at
//! the trial deadline, with the APIs that kept it alive; then the trial timer waits for the
//! next reset. Nothing is kept without a trial.

use super::*;
use crate::store::{TrialStep, WouldRevoke};

const POLL: u32 = 7;
const CHAT: u32 = 9;

/// A store with a trial, and token 1 tracked at T0.
fn trial_store() -> Store {
    let s = store();
    s.set_trial(true, T0);
    s.track(&key(1), T0, None, &enforce());
    s
}

/// The enforced check (touching on enforced activity), then the trial step.
fn request(s: &Store, at: UnixMs, step: TrialStep) -> Option<WouldRevoke> {
    let t = enforce();
    let touch = !matches!(step, TrialStep::Excluded);
    assert!(matches!(
        s.check(&key(1), at, &t, touch),
        Check::Active { .. }
    ));
    s.trial_step(&key(1), at, &t, step)
}

#[test]
fn a_token_kept_alive_only_by_trial_excluded_apis_is_listed_at_its_trial_deadline() {
    let s = trial_store();
    for i in 1..=3 {
        assert_eq!(request(&s, T0 + i * 15_000, TrialStep::Kept(POLL)), None);
    }
    // T0 + 60 s is the trial deadline; the enforced one moved to T0 + 105 s.
    let w = request(&s, T0 + 70_000, TrialStep::Kept(CHAT)).expect("listed");
    assert_eq!(w.key, key(1));
    assert_eq!(w.at_ms, T0 + IDLE);
    assert_eq!(w.kept_alive_by, vec![(Some(POLL), 3)]);
    // Listed once; then it waits for the next reset.
    assert_eq!(request(&s, T0 + 80_000, TrialStep::Kept(POLL)), None);
    assert_eq!(request(&s, T0 + 90_000, TrialStep::Reset), None);
    assert_eq!(request(&s, T0 + 140_000, TrialStep::Kept(POLL)), None);
    let again = request(&s, T0 + 150_000, TrialStep::Kept(POLL)).expect("listed again");
    assert_eq!(again.at_ms, T0 + 90_000 + IDLE);
    assert_eq!(again.kept_alive_by, vec![(Some(POLL), 1)]);
}

#[test]
fn a_reset_under_the_trial_list_moves_the_trial_deadline_and_clears_the_counts() {
    let s = trial_store();
    request(&s, T0 + 30_000, TrialStep::Kept(POLL));
    assert_eq!(request(&s, T0 + 50_000, TrialStep::Reset), None);
    assert_eq!(request(&s, T0 + 100_000, TrialStep::Kept(POLL)), None);
    let w = request(&s, T0 + 110_000, TrialStep::Excluded).expect("listed");
    assert_eq!(w.at_ms, T0 + 50_000 + IDLE);
    assert_eq!(w.kept_alive_by, vec![(Some(POLL), 1)]);
}

#[test]
fn a_token_the_enforced_list_revokes_first_is_never_listed() {
    let s = trial_store();
    let t = enforce();
    // Only excluded requests: both deadlines are T0 + 60 s; the enforced check refuses.
    assert_eq!(request(&s, T0 + 30_000, TrialStep::Excluded), None);
    assert!(matches!(
        s.check(&key(1), T0 + IDLE, &t, false),
        Check::Expired(_)
    ));
    assert_eq!(
        s.trial_step(&key(1), T0 + IDLE, &t, TrialStep::Excluded),
        None
    );
}

#[test]
fn a_trial_started_later_times_each_token_from_its_last_activity() {
    let s = store();
    let t = enforce();
    s.track(&key(1), T0, None, &t);
    s.check(&key(1), T0 + 40_000, &t, true);
    assert_eq!(
        s.trial_step(&key(1), T0 + 50_000, &t, TrialStep::Kept(POLL)),
        None
    );
    s.set_trial(true, T0 + 50_000);
    assert_eq!(request(&s, T0 + 90_000, TrialStep::Kept(POLL)), None);
    let w = request(&s, T0 + 100_000, TrialStep::Kept(POLL)).expect("listed");
    assert_eq!(w.at_ms, T0 + 40_000 + IDLE);
}

#[test]
fn a_third_api_folds_into_other_and_an_unknown_api_is_other() {
    let s = trial_store();
    for (i, api) in [POLL, CHAT, 11, u32::MAX].into_iter().enumerate() {
        request(&s, T0 + 10_000 * (i as u64 + 1), TrialStep::Kept(api));
    }
    let w = request(&s, T0 + IDLE, TrialStep::Kept(POLL)).expect("listed");
    assert_eq!(w.kept_alive_by, vec![(Some(POLL), 1), (None, 3)]);
}

#[test]
fn no_trial_keeps_no_word_and_lists_nothing() {
    let s = store();
    let t = enforce();
    s.track(&key(1), T0, None, &t);
    for at in [T0 + 30_000, T0 + 59_000] {
        s.check(&key(1), at, &t, true);
        assert_eq!(s.trial_step(&key(1), at, &t, TrialStep::Kept(POLL)), None);
    }
    let (tracked, _) = s.export();
    assert_eq!(tracked[0].trial_last_ms, None);
    s.set_trial(true, T0 + 60_000);
    s.set_trial(false, T0 + 60_000);
    assert_eq!(s.export().0[0].trial_last_ms, None);
}

#[test]
fn export_and_import_carry_the_trial_reset_and_the_waiting_state() {
    let s = trial_store();
    request(&s, T0 + 10_000, TrialStep::Reset);
    request(&s, T0 + 30_000, TrialStep::Kept(POLL));
    let (tracked, revoked) = s.export();
    assert_eq!(tracked[0].trial_last_ms, Some(T0 + 10_000));
    let t = store();
    t.set_trial(true, T0 + 40_000);
    t.import(&tracked, &revoked, T0 + 40_000, &enforce());
    assert_eq!(t.export().0[0].trial_last_ms, Some(T0 + 10_000));
    // Waiting (listed) comes through as Some(0).
    request(&s, T0 + 75_000, TrialStep::Kept(POLL)).expect("listed");
    assert_eq!(s.export().0[0].trial_last_ms, Some(0));
}

#[test]
fn a_listed_token_takes_a_learnt_reset_only_while_its_trial_deadline_is_ahead() {
    let s = trial_store();
    let learnt = |t| TrackedRecord {
        key: key(1),
        last_activity_ms: t,
        first_seen_ms: T0,
        trial_last_ms: Some(t),
        ..TrackedRecord::default()
    };
    request(&s, T0 + 30_000, TrialStep::Kept(POLL));
    request(&s, T0 + 60_000, TrialStep::Kept(POLL)).expect("listed");
    // Another replica's reset whose trial deadline (T0 + 65 s) has passed: the listing stands.
    s.import(&[learnt(T0 + 5_000)], &[], T0 + 70_000, &enforce());
    assert_eq!(s.export().0[0].trial_last_ms, Some(0));
    assert_eq!(request(&s, T0 + 80_000, TrialStep::Kept(POLL)), None);
    // One whose deadline is ahead: the trial timer runs from it.
    s.import(&[learnt(T0 + 75_000)], &[], T0 + 85_000, &enforce());
    assert_eq!(s.export().0[0].trial_last_ms, Some(T0 + 75_000));
    assert_eq!(request(&s, T0 + 130_000, TrialStep::Kept(POLL)), None);
    let again = request(&s, T0 + 135_000, TrialStep::Kept(POLL)).expect("listed again");
    assert_eq!(again.at_ms, T0 + 75_000 + IDLE);
}

#[test]
fn a_tokens_record_carries_its_last_trial_reset() {
    let s = trial_store();
    assert_eq!(s.record(&key(1)).unwrap().trial_last_ms, Some(T0));
    request(&s, T0 + 30_000, TrialStep::Reset);
    assert_eq!(s.record(&key(1)).unwrap().trial_last_ms, Some(T0 + 30_000));
    request(&s, T0 + 60_000, TrialStep::Kept(POLL));
    request(&s, T0 + 90_000, TrialStep::Kept(POLL)).expect("listed");
    assert_eq!(s.record(&key(1)).unwrap().trial_last_ms, Some(0));
    s.set_trial(false, T0 + 90_000);
    assert_eq!(s.record(&key(1)).unwrap().trial_last_ms, None);
}
