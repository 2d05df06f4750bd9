//! A mass expiry is settled a bounded batch at a time (docs/reference.md, "Expiry and
//! revocation"): each call of `expire_some` settles at most its budget, every due token is
//! reported exactly once across the calls, and a re-arm leaves the work to the sweeps. The
//! sweep rests only while the proxy works; at shutdown the sweeper task finishes a paced
//! sweep without its rests.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::clock::Clock;
use crate::config::Config;
use crate::proxy_load::{LoadWatch, ProxyLoad};
use crate::store::effects::Policy;
use crate::store::expire::SWEEP_BATCH;
use crate::store::state::TokenState;
use crate::telemetry::Metrics;

const N: u32 = 10_000;

fn tracked(n: u32) -> Store {
    let s = store();
    for i in 0..n {
        s.track(&key(i), T0, None, &enforce());
    }
    s
}

#[test]
fn a_mass_expiry_is_settled_at_most_a_budget_per_call() {
    let n = 2 * SWEEP_BATCH + 100;
    let s = tracked(n as u32);
    let t = enforce();
    let (first, more) = s.expire_some(T0 + IDLE, &t, SWEEP_BATCH);
    assert_eq!(first.len(), SWEEP_BATCH);
    assert!(more, "due tokens are left for the next call");
    assert_eq!(s.tracked_len(), n - SWEEP_BATCH);
    assert_eq!(
        s.revoked_len(),
        SWEEP_BATCH,
        "each batch is revoked as it is settled"
    );
    let (second, more) = s.expire_some(T0 + IDLE, &t, SWEEP_BATCH);
    assert_eq!(second.len(), SWEEP_BATCH);
    assert!(more);
    let (last, more) = s.expire_some(T0 + IDLE, &t, SWEEP_BATCH);
    assert_eq!(last.len(), 100);
    assert!(!more);
    assert_eq!(s.tracked_len(), 0);
}

#[test]
fn every_due_token_is_reported_exactly_once_across_batches() {
    let s = tracked(N);
    let t = enforce();
    let mut seen = HashSet::new();
    let mut calls = 0;
    loop {
        let (revs, more) = s.expire_some(T0 + IDLE, &t, 1_000);
        calls += 1;
        for rev in revs {
            assert!(seen.insert(rev.key), "{} reported twice", rev.key);
        }
        if !more {
            break;
        }
    }
    assert_eq!(seen.len(), N as usize);
    assert_eq!(calls, 10);
    assert!(
        s.expire_due(T0 + 10 * IDLE, &t).is_empty(),
        "nothing is left to report"
    );
}

#[test]
fn a_token_touched_while_the_backlog_waits_is_not_expired() {
    let s = tracked(N);
    // Re-armed under a shorter idle at T0 + 1 s: every handle waits in the backlog.
    let short = Timing::simple(5_000, None, true, 86_400_000);
    s.rearm_all(T0 + 1_000, &short);
    // Touched before its new deadline, then the sweeps run after it.
    assert!(matches!(
        s.check(&key(7), T0 + 4_000, &short, true),
        Check::Active { .. }
    ));
    let revs = s.expire_due(T0 + 5_000, &short);
    assert_eq!(revs.len(), N as usize - 1);
    assert!(revs.iter().all(|r| r.key != key(7)));
    assert!(matches!(
        s.check(&key(7), T0 + 5_000, &short, false),
        Check::Active { .. }
    ));
    let later = s.expire_due(T0 + 9_000, &short);
    assert_eq!(
        later.iter().map(|r| r.key).collect::<Vec<_>>(),
        vec![key(7)]
    );
}

#[test]
fn rearm_all_leaves_tokens_not_due_to_their_new_deadline() {
    let s = tracked(N);
    let short = Timing::simple(IDLE / 2, None, true, 86_400_000);
    s.rearm_all(T0 + 1_000, &short);
    assert!(s.expire_due(T0 + IDLE / 2 - 1, &short).is_empty());
    assert_eq!(s.tracked_len(), N as usize);
    assert_eq!(s.expire_due(T0 + IDLE / 2, &short).len(), N as usize);
}

/// The pace's rests are tokio sleeps: with the clock paused, the time they add shows.
#[tokio::test(start_paused = true)]
async fn at_shutdown_a_paced_mass_expiry_finishes_without_its_rests() {
    const TOKENS: usize = 20_000;
    let config = Config::with_upstream("http://127.0.0.1:1".parse().unwrap());
    let clock = Clock::paused_at(T0);
    let state = TokenState::new(&config, &Metrics::new(), clock.clone(), Arc::new(NoEffects));
    let timing = Policy::of(&config).timing;
    for i in 0..TOKENS as u32 {
        state.track(&key(i), T0, None, &timing);
    }
    clock.advance(config.timeout.idle + Duration::from_secs(1));
    let (stop, stopped) = oneshot::channel::<()>();
    let sweeper = tokio::spawn(crate::store::sweeper::run(
        state.clone(),
        Duration::from_secs(1),
        busy_proxy(),
        async {
            let _ = stopped.await;
        },
    ));
    while state.tracked_len() == TOKENS {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(
        state.tracked_len() > TOKENS / 2,
        "the paced sweep is under way"
    );
    let stopping = tokio::time::Instant::now();
    stop.send(()).unwrap();
    sweeper.await.unwrap();
    assert_eq!(state.tracked_len(), 0, "the sweep is finished, not dropped");
    assert_eq!(state.revoked_len(), TOKENS);
    assert_eq!(stopping.elapsed(), Duration::ZERO, "no rest after the stop");
}

/// A proxy that works all the time: each look at it finds 100 ms more of work.
fn busy_proxy() -> Arc<ProxyLoad> {
    let load = Arc::new(ProxyLoad::default());
    let worked = AtomicU64::new(0);
    load.add_source(Box::new(move || {
        Duration::from_millis(worked.fetch_add(100, Ordering::SeqCst))
    }));
    load
}

/// A proxy that never works.
fn idle_proxy() -> Arc<ProxyLoad> {
    let load = Arc::new(ProxyLoad::default());
    load.add_source(Box::new(|| Duration::from_secs(3)));
    load
}

/// How long (on the paused clock, so only the pace's rests count) one sweep of a mass
/// expiry of `tokens` takes with the proxy's load `load`.
async fn sweep_time(tokens: u32, load: &Arc<ProxyLoad>) -> Duration {
    let config = Config::with_upstream("http://127.0.0.1:1".parse().unwrap());
    let clock = Clock::paused_at(T0);
    let state = TokenState::new(&config, &Metrics::new(), clock.clone(), Arc::new(NoEffects));
    let timing = Policy::of(&config).timing;
    for i in 0..tokens {
        state.track(&key(i), T0, None, &timing);
    }
    clock.advance(config.timeout.idle + Duration::from_secs(1));
    // The sweeper's watch has looked at the proxy since the last tick, a second ago.
    let mut watch = LoadWatch::new(load.clone());
    tokio::time::advance(Duration::from_secs(1)).await;
    let started = tokio::time::Instant::now();
    state
        .expire_due(&CancellationToken::new(), &mut watch)
        .await;
    assert_eq!(state.tracked_len(), 0);
    assert_eq!(state.revoked_len(), tokens as usize);
    started.elapsed()
}

#[tokio::test(start_paused = true)]
async fn while_the_proxy_is_idle_a_mass_expiry_runs_without_rests() {
    assert_eq!(sweep_time(20_000, &idle_proxy()).await, Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn while_the_proxy_works_a_mass_expiry_rests_and_so_it_does_when_nobody_measures() {
    assert!(sweep_time(20_000, &busy_proxy()).await > Duration::ZERO);
    let unmeasured = Arc::new(ProxyLoad::default());
    assert!(sweep_time(20_000, &unmeasured).await > Duration::ZERO);
}
