//! `Store::check` on a big table in random order (README, "Benchmarks"): 100,000 and
//! 1,000,000 tracked tokens, identity off and on (a signature hash, 10 tokens per subject,
//! 4 policies). Every check finds its token, is active and touches it.
//!
//! Time per check (criterion):
//!
//!     cargo bench --bench check
//!
//! Cache lines missed per check, counted on a simulated cache (deterministic; the build
//! machine's VM has no hardware counters). `--lines TOKENS CHECKS on|off|unknown` runs the
//! checks only (`unknown`: of keys never tracked), and the simulation counts inside
//! `Store::check_signed` only:
//!
//!     cargo bench --bench check --no-run
//!     valgrind --tool=callgrind --cache-sim=yes --D1=32768,8,64 --LL=33554432,16,64 \
//!         --toggle-collect='*Store::check_signed' --callgrind-out-file=/tmp/cg.out \
//!         target/release/deps/check-<hash> --lines 1000000 1000000 on
//!     callgrind_annotate /tmp/cg.out | head -20
//!
//! (D1 = L1d of one core, 32 KiB; LL = the shared L3, 32 MiB.) Divide the D1mr + D1mw and
//! DLmr + DLmw totals by the checks.

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;
use idlegate::store::{Check, NewIdent, PolicyTiming, Store, Timing};
use idlegate::token::TokenKey;

const NOW: u64 = 1_800_000_000_000;

/// splitmix64: uniform keys and a random order, as fast under valgrind as natively.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn key(i: usize) -> TokenKey {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&mix(i as u64 * 2).to_le_bytes());
    k[8..].copy_from_slice(&mix(i as u64 * 2 + 1).to_le_bytes());
    TokenKey(k)
}

fn timing() -> Timing {
    let mut t = Timing::simple(30 * 60_000, None, true, 86_400_000);
    for (n, p) in t.policies.iter_mut().take(3).enumerate() {
        *p = PolicyTiming {
            idle_ms: 60_000 * (n as u64 + 10),
            absolute_ms: None,
        };
    }
    t
}

/// A store with `n` tracked tokens (with identity when `identity`), filed in the wheel.
fn filled(n: usize, identity: bool) -> Store {
    let store = Store::new(10_000_000, 1000, NOW);
    let t = timing();
    for i in 0..n {
        if identity {
            let subject = format!("user-{:08}@example.com", i / 10);
            let ident = NewIdent {
                sig: sig(i),
                subject: Some(&subject),
                policy: (i % 4) as u8,
            };
            store.track_with(&key(i), NOW, None, &t, ident);
        } else {
            store.track(&key(i), NOW, None, &t);
        }
    }
    store.expire_due(NOW, &t);
    store
}

fn sig(i: usize) -> u64 {
    mix(!(i as u64)) | 1
}

/// The token the `j`-th check asks about.
fn pick(j: usize, n: usize) -> usize {
    (mix(j as u64 ^ 0x5555) % n as u64) as usize
}

fn check(store: &Store, t: &Timing, i: usize, identity: bool, at: u64) -> Check {
    let sig = if identity { sig(i) } else { 0 };
    store.check_signed(&key(i), at, t, true, sig)
}

fn bench(c: &mut Criterion) {
    let t = timing();
    let mut g = c.benchmark_group("check");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for n in [100_000, 1_000_000] {
        for identity in [false, true] {
            let store = filled(n, identity);
            let name = format!(
                "{}k/identity_{}",
                n / 1000,
                if identity { "on" } else { "off" }
            );
            let mut j = 0usize;
            g.bench_function(name, |b| {
                b.iter(|| {
                    j = j.wrapping_add(1);
                    black_box(check(&store, &t, pick(j, n), identity, NOW + 1000))
                })
            });
        }
    }
    g.finish();
}

/// `--lines TOKENS CHECKS on|off|unknown`: the checks alone, for the cache simulation
/// (`unknown`: keys never tracked, identity off).
fn lines(args: &[String]) {
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    let n: usize = arg(0).parse().unwrap_or(100_000);
    let checks: usize = arg(1).parse().unwrap_or(n);
    let (identity, unknown) = (arg(2) == "on", arg(2) == "unknown");
    let store = filled(n, identity);
    let t = timing();
    let order: Vec<usize> = (0..checks).map(|j| pick(j, n)).collect();
    let mut expected = 0usize;
    for &i in &order {
        let i = if unknown { i + n } else { i };
        expected += usize::from(match check(&store, &t, i, identity, NOW + 1000) {
            Check::Active { .. } => !unknown,
            Check::Unknown => unknown,
            _ => false,
        });
    }
    assert_eq!(expected, checks);
    println!("{checks} checks of {n} tokens, identity {}", arg(2));
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--lines") {
        lines(&args[at + 1..]);
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
