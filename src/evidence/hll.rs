//! A HyperLogLog of sampled tokens per template, over a sliding window of hours.
//!
//! Each register holds its rank (high 8 bits) and the hour it was last set or confirmed (low
//! 24 bits). A rank at least as high as the stored one replaces it and refreshes the hour; a
//! stored rank older than the window is replaced by any rank; reading counts a register only
//! when its hour is inside the window. This is exact for the common case (the same tokens keep
//! calling, so the token that set a register's maximum keeps refreshing it) and may
//! underestimate after churn, until a new token reaches that register: a known, bounded
//! trade for 4 bytes per register instead of a list of candidates per register.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use super::limits::{HLL_BITS, HLL_REGISTERS};

const HOUR_BITS: u32 = 24;
const HOUR_MASK: u64 = (1 << HOUR_BITS) - 1;

pub(super) fn registers() -> Box<[AtomicU32]> {
    (0..HLL_REGISTERS).map(|_| AtomicU32::new(0)).collect()
}

fn unpack(reg: u32) -> (u32, u64) {
    (reg >> HOUR_BITS, u64::from(reg) & HOUR_MASK)
}

/// Whether a register set at `set` still counts at `now` for a window of `hours`.
fn live(set: u64, now: u64, hours: u64) -> bool {
    // Hours are compared modulo 2^24 (1,900 years): a later hour than now (the clock stepped
    // back) counts as live.
    (now.wrapping_sub(set) & HOUR_MASK) < hours || (set.wrapping_sub(now) & HOUR_MASK) < hours
}

/// Adds a token (its 64-bit hash) seen at `hour`.
pub(super) fn add(regs: &[AtomicU32], hash: u64, hour: u64, hours: u64) {
    let index = usize::try_from(hash >> (64 - HLL_BITS)).unwrap_or(0);
    let Some(reg) = regs.get(index) else {
        return;
    };
    let rank = ((hash << HLL_BITS).leading_zeros() + 1).min(64 - HLL_BITS + 1);
    let hour = hour & HOUR_MASK;
    let new = (rank << HOUR_BITS) | hour as u32;
    let mut cur = reg.load(Relaxed);
    loop {
        let (old_rank, set) = unpack(cur);
        let replace = rank >= old_rank || (old_rank > 0 && !live(set, hour, hours));
        if !replace || cur == new {
            return;
        }
        match reg.compare_exchange_weak(cur, new, Relaxed, Relaxed) {
            Ok(_) => return,
            Err(actual) => cur = actual,
        }
    }
}

/// The estimated number of distinct tokens added in the window ending at `now`.
pub(super) fn estimate(regs: &[AtomicU32], now: u64, hours: u64) -> f64 {
    let now = now & HOUR_MASK;
    let m = regs.len() as f64;
    let (mut sum, mut zeros) = (0.0, 0usize);
    for reg in regs {
        let (rank, set) = unpack(reg.load(Relaxed));
        let rank = if rank > 0 && live(set, now, hours) {
            rank
        } else {
            0
        };
        sum += (-(f64::from(rank))).exp2();
        zeros += usize::from(rank == 0);
    }
    if m == 0.0 || sum == 0.0 {
        return 0.0;
    }
    let alpha = 0.7213 / (1.0 + 1.079 / m);
    let raw = alpha * m * m / sum;
    // Small cardinalities: linear counting over the empty registers is the better estimate.
    if raw <= 2.5 * m && zeros > 0 {
        m * (m / zeros as f64).ln()
    } else {
        raw
    }
}
