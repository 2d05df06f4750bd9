//! Per-template request counters in hourly buckets, one atomic per bucket.
//!
//! A cell packs the hour it counts (high 24 bits, hours since the Unix epoch: enough until the
//! year 3883) with the count (low 40 bits). Counting is one `fetch_add` when the cell already
//! holds the current hour; a cell still holding an hour older than the window is restarted
//! with a compare-and-swap, so buckets are recycled lazily by the requests themselves and no
//! background task is needed. Reading ignores cells whose hour is outside the window.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

const COUNT_BITS: u32 = 40;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;
const HOUR_MASK: u64 = (1 << (64 - COUNT_BITS)) - 1;

fn hour_of(cell: u64) -> u64 {
    cell >> COUNT_BITS
}

pub(super) fn cells(hours: usize) -> Box<[AtomicU64]> {
    (0..hours).map(|_| AtomicU64::new(0)).collect()
}

/// Counts one request at `hour` (hours since the epoch).
pub(super) fn count(cells: &[AtomicU64], hour: u64) {
    let hour = hour & HOUR_MASK;
    let Some(cell) = slot(cells, hour) else {
        return;
    };
    let prev = cell.fetch_add(1, Relaxed);
    // The same hour (the common case), or a later one when the clock stepped back: counted.
    if hour_of(prev) >= hour {
        return;
    }
    // An older hour: our increment went to a bucket that is being recycled. Restart the cell
    // at this hour with a count of 1, unless another request did it first.
    let mut cur = cell.load(Relaxed);
    loop {
        if hour_of(cur) > hour {
            return;
        }
        if hour_of(cur) == hour {
            cell.fetch_add(1, Relaxed);
            return;
        }
        match cell.compare_exchange_weak(cur, (hour << COUNT_BITS) | 1, Relaxed, Relaxed) {
            Ok(_) => return,
            Err(actual) => cur = actual,
        }
    }
}

/// Requests counted in the hours `first..=last`.
pub(super) fn total(cells: &[AtomicU64], first: u64, last: u64) -> u64 {
    let (first, last) = (first & HOUR_MASK, last & HOUR_MASK);
    cells
        .iter()
        .map(|c| c.load(Relaxed))
        .filter(|&c| (first..=last).contains(&hour_of(c)))
        .map(|c| c & COUNT_MASK)
        .sum()
}

/// The cells that hold any count at all (tests: an unsampled request touches one).
#[cfg(test)]
pub(super) fn touched(cells: &[AtomicU64]) -> usize {
    cells.iter().filter(|c| c.load(Relaxed) != 0).count()
}

fn slot(cells: &[AtomicU64], hour: u64) -> Option<&AtomicU64> {
    let len = u64::try_from(cells.len()).ok().filter(|&l| l > 0)?;
    cells.get(usize::try_from(hour % len).ok()?)
}
