//! Live evidence's request path: `record` of one request on a known template, for a token
//! that is not sampled (one atomic increment) and for one that is (also the distinct-token
//! registers and the token's interval history under a shard lock).
//!
//! cargo bench --bench evidence
//!
//! First run (one thread, no contention): unsampled 6.3 ns, sampled 21 ns, interning a known
//! template 21 ns. With the request path wired (load average 3.5 on 2 cores): unsampled 5.5 ns,
//! interning a known template 27 ns, a remembered path (`intern_request`) 25 ns, a raw path
//! normalised and interned (`intern_path`) 156–169 ns.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use idlegate::evidence::{Evidence, EvidenceSettings};
use idlegate::token::TokenKey;

/// 2026-01-01T00:00:00Z.
const T0: u64 = 1_767_225_600_000;

fn token(i: u64) -> TokenKey {
    let mut key = [0u8; 16];
    key.copy_from_slice(&blake3::hash(&i.to_le_bytes()).as_bytes()[..16]);
    TokenKey(key)
}

fn bench_record(c: &mut Criterion) {
    let evidence = match Evidence::new(EvidenceSettings::default()) {
        Ok(e) => e,
        Err(e) => panic!("default settings refused: {e}"),
    };
    let settings = evidence.settings().clone();
    let first = |sampled: bool| (0..).map(token).find(|t| settings.samples(t) == sampled);
    let (Some(unsampled), Some(sampled)) = (first(false), first(true)) else {
        panic!("no token of each kind");
    };
    let id = evidence.intern("GET", "/api/v2/users/{userId}/presences/purecloud", None);
    // Requests a millisecond apart, within one hour: the steady state of a busy template.
    let mut now = T0;
    c.bench_function("record, unsampled token", |b| {
        b.iter(|| {
            now += 1;
            evidence.record(black_box(id), black_box(&unsampled), now)
        })
    });
    let mut now = T0;
    c.bench_function("record, sampled token", |b| {
        b.iter(|| {
            now += 1;
            evidence.record(black_box(id), black_box(&sampled), now)
        })
    });
    c.bench_function("intern, known template", |b| {
        b.iter(|| {
            evidence.intern(
                black_box("GET"),
                black_box("/api/v2/users/{userId}/presences/purecloud"),
                None,
            )
        })
    });
    let raw = "/api/v2/users/3f2a6c1e-8d1b-4c3e-9f5a-2b7d8e9f0a1b/presences/purecloud";
    evidence.intern_path("GET", raw, Some("presence-polling"));
    c.bench_function("intern_path, known template, excluded", |b| {
        b.iter(|| evidence.intern_path(black_box("GET"), black_box(raw), Some("presence-polling")))
    });
    c.bench_function("intern_path, known template, activity", |b| {
        b.iter(|| evidence.intern_path(black_box("GET"), black_box(raw), None))
    });
    c.bench_function("intern_request, remembered path", |b| {
        b.iter(|| {
            let request = (black_box("GET"), black_box(raw));
            evidence.intern_request(request, 1, Some("presence-polling"), || None)
        })
    });
    c.bench_function("normalise only (har::normalise_path, allocating)", |b| {
        b.iter(|| idlegate::har::normalise_path(black_box(raw)))
    });
}

criterion_group!(benches, bench_record);
criterion_main!(benches);
