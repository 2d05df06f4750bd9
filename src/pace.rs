//! Pacing of background bulk work (a mass expiry's sweep and its audit lines): the work runs
//! in short slices and the task rests between them, so that it takes at most a set share of a
//! core. On a small machine the proxy threads share the cores with it; a task that ran a
//! whole second of bulk work in one go would take a core from them for that second, and
//! every request queued behind it would wait (docs/reference.md, "Expiry and revocation").
//!
//! Pure: the caller measures its slices and sleeps for what [`Pace::rest`] returns.

use std::time::Duration;

/// Rests shorter than this are saved up: a timer cannot sleep for less than about a
/// millisecond, and a rest after every tiny slice would cost more than it spares.
const MIN_REST: Duration = Duration::from_millis(1);

/// Keeps a task's busy time to `share` of the wall time it takes.
#[derive(Clone, Debug)]
pub(crate) struct Pace {
    /// Rest owed per unit of work: (1 - share) / share.
    rest_per_work: f64,
    owed: Duration,
}

impl Pace {
    /// `share` of a core, clamped to (0.01, 1]; 1 never rests.
    pub(crate) fn new(share: f64) -> Pace {
        let share = share.clamp(0.01, 1.0);
        Pace {
            rest_per_work: (1.0 - share) / share,
            owed: Duration::ZERO,
        }
    }

    /// Counts a slice of work that took `busy`.
    pub(crate) fn worked(&mut self, busy: Duration) {
        self.owed += busy.mul_f64(self.rest_per_work);
    }

    /// The rest due now, once at least [`MIN_REST`] is owed (then nothing is owed any more).
    pub(crate) fn rest(&mut self) -> Option<Duration> {
        if self.owed < MIN_REST {
            return None;
        }
        Some(std::mem::take(&mut self.owed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quarter_share_rests_three_times_the_work() {
        let mut pace = Pace::new(0.25);
        pace.worked(Duration::from_millis(2));
        assert_eq!(pace.rest(), Some(Duration::from_millis(6)));
        assert_eq!(pace.rest(), None, "a rest is owed once");
    }

    #[test]
    fn short_rests_are_saved_up_until_a_millisecond_is_owed() {
        let mut pace = Pace::new(0.5);
        pace.worked(Duration::from_micros(400));
        assert_eq!(pace.rest(), None);
        pace.worked(Duration::from_micros(700));
        assert_eq!(pace.rest(), Some(Duration::from_micros(1100)));
    }

    #[test]
    fn a_full_share_never_rests() {
        let mut pace = Pace::new(1.0);
        pace.worked(Duration::from_secs(5));
        assert_eq!(pace.rest(), None);
    }
}
