//! Per hook: how many deliveries are unfinished (bounded by `revocation.max_pending`), and how
//! many attempts may be in flight at once.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Semaphore;

use super::job::HookKind;
use crate::telemetry::hooks::{HookCounters, HookMetrics};

/// Attempts of one hook in flight at once: enough to keep up with a mass expiry against a
/// receiver answering in 100 ms (160 deliveries/s), few enough not to flood it.
pub(crate) const IN_FLIGHT_PER_HOOK: usize = 16;

pub(crate) struct Lane {
    pub counters: HookCounters,
    pending: AtomicUsize,
    pub permits: Semaphore,
}

impl Lane {
    fn new(counters: HookCounters) -> Lane {
        Lane {
            counters,
            pending: AtomicUsize::new(0),
            permits: Semaphore::new(IN_FLIGHT_PER_HOOK),
        }
    }

    /// Takes a place for one more delivery; false when `max` are unfinished.
    pub(crate) fn reserve(&self, max: usize) -> bool {
        let took = self
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok();
        if took {
            self.counters.queue.inc();
        }
        took
    }

    /// Gives back the place of a finished delivery.
    pub(crate) fn finish(&self) {
        self.pending.fetch_sub(1, Ordering::AcqRel);
        self.counters.queue.dec();
    }

    #[cfg(test)]
    pub(crate) fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }
}

pub(crate) struct Lanes {
    webhook: Lane,
    rfc7009: Lane,
}

impl Lanes {
    pub(crate) fn new(metrics: &HookMetrics) -> Lanes {
        Lanes {
            webhook: Lane::new(metrics.counters(HookKind::Webhook.as_str())),
            rfc7009: Lane::new(metrics.counters(HookKind::Rfc7009.as_str())),
        }
    }

    pub(crate) fn get(&self, kind: HookKind) -> &Lane {
        match kind {
            HookKind::Webhook => &self.webhook,
            HookKind::Rfc7009 => &self.rfc7009,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lane_holds_at_most_max_unfinished_deliveries_and_shows_them_in_the_gauge() {
        let lanes = Lanes::new(&HookMetrics::default());
        let lane = lanes.get(HookKind::Webhook);
        assert!(lane.reserve(2) && lane.reserve(2));
        assert!(!lane.reserve(2), "a third place past max_pending = 2");
        assert_eq!(lane.counters.queue.get(), 2);
        lane.finish();
        assert_eq!((lane.pending(), lane.counters.queue.get()), (1, 1));
        assert!(lane.reserve(2));
        assert_eq!(lanes.get(HookKind::Rfc7009).pending(), 0, "lanes are apart");
    }
}
