//! What a trial list adds to a request (docs/reference.md, "Trial list"; README,
//! "Benchmarks"): the check and touch of a tracked token alone (`check`), then with the trial
//! step after it (`check+trial_step`: one more shard read lock, index probe and a
//! compare-and-swap on the token's trial word), for a request that resets under the trial
//! list and for one a trial-excluded API keeps alive; and the second classification of an
//! `activity` request, by the trial's own patterns (`classify_trial`), beside the first.
//! 100,000 tracked tokens; 1,024 of them checked in turn.
//!
//! Run: `cargo bench --bench trial`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use http::Method;

use idlegate::classify::{Classifier, Pattern};
use idlegate::config::builtin_groups;
use idlegate::store::{Store, Timing, TrialStep};
use idlegate::token::TokenKey;

const TOKENS: u64 = 100_000;

fn key(i: u64) -> TokenKey {
    let mut k = [0u8; 16];
    k.copy_from_slice(&blake3::hash(&i.to_le_bytes()).as_bytes()[..16]);
    TokenKey(k)
}

fn bench_trial(c: &mut Criterion) {
    let timing = Timing::simple(30 * 60_000, None, true, 86_400_000);
    let now = 1_800_000_000_000u64;
    let store = Store::new(10_000_000, 1000, now);
    for i in 0..TOKENS {
        store.track(&key(i), now, None, &timing);
    }
    store.set_trial(true, now);
    let keys: Vec<TokenKey> = (0..1024).map(key).collect();
    let mut i = 0usize;
    let mut at = now;
    let mut next = || {
        i = (i + 1) % keys.len();
        at += 1;
        (&keys[i], at)
    };
    c.bench_function("trial/check", |b| {
        b.iter(|| {
            let (k, at) = next();
            black_box(store.check(k, at, &timing, true))
        })
    });
    for (name, step) in [
        ("trial/check+trial_step_reset", TrialStep::Reset),
        ("trial/check+trial_step_kept", TrialStep::Kept(3)),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| {
                let (k, at) = next();
                black_box(store.check(k, at, &timing, true));
                black_box(store.trial_step(k, at, &timing, step))
            })
        });
    }

    // Five groups enforced; the sixth and one pattern on trial. The trial's classifier holds
    // only its own (`Live::build`).
    let groups = builtin_groups();
    let enabled: Vec<String> = groups.iter().skip(1).map(|g| g.id.clone()).collect();
    let on_trial = vec![groups[0].id.clone()];
    let custom = vec![Pattern::parse("GET /api/v2/analytics/poll").unwrap()];
    let enforced = Classifier::new(&groups, &enabled, &[], true);
    let trial = Classifier::new(&groups, &on_trial, &custom, false);
    let path = "/api/v2/routing/queues/abcd/members";
    for (name, classifier) in [
        ("trial/classify", &enforced),
        ("trial/classify_trial", &trial),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| black_box(classifier.classify(&Method::GET, black_box(path), None, false)))
        });
    }
}

criterion_group!(benches, bench_trial);
criterion_main!(benches);
