//! The periodicity rule shared by `idlegate har` and live evidence (docs/reference.md, "HAR
//! analysis"): the median of a series of intervals, and whether they are periodic (at least 4
//! intervals, coefficient of variation at most 0.25, population standard deviation).

/// Periodic = at least this many intervals …
const PERIODIC_MIN_INTERVALS: usize = 4;
/// … whose coefficient of variation is at most this.
const PERIODIC_MAX_CV: f64 = 0.25;

/// Median, and whether the intervals are periodic.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IntervalStats {
    pub median_ms: Option<f64>,
    pub cv: Option<f64>,
    pub periodic: bool,
}

pub fn interval_stats(intervals: &mut [u64]) -> IntervalStats {
    if intervals.is_empty() {
        return IntervalStats {
            median_ms: None,
            cv: None,
            periodic: false,
        };
    }
    intervals.sort_unstable();
    let n = intervals.len();
    let median = if n % 2 == 1 {
        intervals[n / 2] as f64
    } else {
        (intervals[n / 2 - 1] as f64 + intervals[n / 2] as f64) / 2.0
    };
    let mean = intervals.iter().map(|&i| i as f64).sum::<f64>() / n as f64;
    let variance = intervals
        .iter()
        .map(|&i| (i as f64 - mean).powi(2))
        .sum::<f64>()
        / n as f64;
    // All-zero intervals are a burst, not a period.
    let cv = (mean > 0.0).then(|| variance.sqrt() / mean);
    IntervalStats {
        median_ms: Some(median),
        cv,
        periodic: n >= PERIODIC_MIN_INTERVALS && cv.is_some_and(|cv| cv <= PERIODIC_MAX_CV),
    }
}
