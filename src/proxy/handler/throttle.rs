//! A rate limit for warnings that would otherwise repeat on every request (the tracking table
//! full, the upstream down): one a minute is logged, the metrics count every one.
//!
//! Layout: a leaf of the handler; the tracking and forward phases each hold one.

use std::sync::atomic::{AtomicU64, Ordering};

/// At most one event per minute; lock-free, shared by the requests of one proxy thread.
pub(super) struct Throttle(AtomicU64);

impl Throttle {
    const EVERY_MS: u64 = 60_000;

    pub(super) fn new() -> Throttle {
        Throttle(AtomicU64::new(0))
    }

    pub(super) fn ready(&self, now_ms: u64) -> bool {
        let last = self.0.load(Ordering::Relaxed);
        (last == 0 || now_ms.saturating_sub(last) >= Self::EVERY_MS)
            && self
                .0
                .compare_exchange(last, now_ms.max(1), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_lets_one_event_through_per_minute() {
        let t = Throttle::new();
        assert!(t.ready(1_000));
        assert!(!t.ready(30_000));
        assert!(!t.ready(60_999));
        assert!(t.ready(61_000));
    }
}
