//! Store bars (README, "Benchmarks"): the sweeper revokes 1,000,000 simultaneously expired
//! tokens in ≤ 1 s; a snapshot of 1,000,000 tokens writes and loads in ≤ 1 s each.
//!
//! cargo bench --bench store

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use idlegate::store::snapshot::{load_snapshot, write_snapshot};
use idlegate::store::{Store, Timing};
use idlegate::token::TokenKey;

const N: usize = 1_000_000;
const NOW: u64 = 1_800_000_000_000;

fn timing() -> Timing {
    Timing::simple(60_000, None, true, 86_400_000)
}

fn key(i: usize) -> TokenKey {
    let h = blake3::hash(&(i as u64).to_le_bytes());
    let mut k = [0u8; 16];
    k.copy_from_slice(&h.as_bytes()[..16]);
    TokenKey(k)
}

fn filled_store() -> Store {
    let store = Store::new(10_000_000, 1000, NOW);
    let t = timing();
    for i in 0..N {
        store.track(&key(i), NOW, None, &t);
    }
    // Files the pending slots in the wheel (the sweeper's first tick).
    store.expire_due(NOW, &t);
    store
}

fn bench_sweep(c: &mut Criterion) {
    let mut g = c.benchmark_group("sweeper");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("revoke_1M_expired", |b| {
        b.iter_batched(
            filled_store,
            |store| {
                let revs = store.expire_due(NOW + 61_000, &timing());
                assert_eq!(revs.len(), N);
                store
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn bench_snapshot(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.state");
    let store = filled_store();
    let mut g = c.benchmark_group("snapshot");
    g.sample_size(10).measurement_time(Duration::from_secs(15));
    g.bench_function("write_1M", |b| {
        b.iter(|| write_snapshot(&path, &store).unwrap())
    });
    write_snapshot(&path, &store).unwrap();
    g.bench_function("load_1M", |b| {
        b.iter_batched(
            || Store::new(10_000_000, 1000, NOW),
            |fresh| {
                let report = load_snapshot(&path, &fresh, NOW, &timing()).unwrap();
                assert_eq!(report.tracked, N);
                fresh
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// Memory per tracked token: RSS growth while tracking 1,000,000 tokens (printed, not timed).
fn report_memory(_: &mut Criterion) {
    let rss = || -> usize {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
        statm
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0)
            * 4096
    };
    let keys: Vec<TokenKey> = (0..N).map(key).collect();
    let before = rss();
    let started = Instant::now();
    let store = filled_store_from(&keys);
    let after = rss();
    println!(
        "memory: {} tracked tokens, RSS delta {:.1} MiB = {:.1} bytes/token (filled in {:?})",
        store.tracked_len(),
        (after - before) as f64 / 1048576.0,
        (after - before) as f64 / N as f64,
        started.elapsed()
    );
}

fn filled_store_from(keys: &[TokenKey]) -> Store {
    let store = Store::new(10_000_000, 1000, NOW);
    let t = timing();
    for k in keys {
        store.track(k, NOW, None, &t);
    }
    store.expire_due(NOW, &t);
    store
}

criterion_group!(benches, report_memory, bench_sweep, bench_snapshot);
criterion_main!(benches);
