//! The trial list costs 8 bytes per tracked token (8.5 at most while the table grows under a
//! trial), and nothing without a trial
//! (docs/reference.md, "Trial list"). A test binary of its own, because it counts every
//! allocation of the process.

use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

use idlegate::store::{Store, Timing};
use idlegate::token::TokenKey;

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

const T0: u64 = 1_767_225_600_000;
const N: u64 = 100_000;

fn key(i: u64) -> TokenKey {
    let mut key = [0u8; 16];
    key.copy_from_slice(&blake3::hash(&i.to_le_bytes()).as_bytes()[..16]);
    TokenKey(key)
}

fn timing() -> Timing {
    Timing::simple(600_000, None, true, 3_600_000)
}

/// Bytes held after `f` that were not before (negative: freed).
fn held(f: impl FnOnce()) -> f64 {
    let region = Region::new(GLOBAL);
    f();
    let c = region.change();
    c.bytes_allocated as f64 - c.bytes_deallocated as f64 + c.bytes_reallocated as f64
}

#[test]
fn a_trial_costs_at_most_8_bytes_per_tracked_token_and_nothing_once_stopped() {
    let store = Store::new(4 * N as usize, 1_000, T0);
    for i in 0..N {
        store.track(&key(i), T0, None, &timing());
    }
    let start = held(|| store.set_trial(true, T0));
    let per_token = start / N as f64;
    println!("a trial started over {N} tracked tokens holds {per_token:.2} bytes per token");
    assert!(per_token <= 8.0, "{per_token} bytes per token");
    let stop = held(|| store.set_trial(false, T0));
    assert!(
        stop <= -(start * 0.99),
        "stopping frees the words: {stop} after {start}"
    );

    // Tokens tracked while a trial runs: the words grow by a sixteenth at a time.
    let with_trial = Store::new(4 * N as usize, 1_000, T0);
    with_trial.set_trial(true, T0);
    for i in 0..N {
        with_trial.track(&key(i), T0, None, &timing());
    }
    let words = -held(|| with_trial.set_trial(false, T0)) / N as f64;
    println!("{N} tokens tracked while a trial runs: {words:.2} bytes per token");
    assert!(words <= 8.5, "{words} bytes per token");
}
