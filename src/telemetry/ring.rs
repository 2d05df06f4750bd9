//! Enforced revocations per minute over the last hour, for the admin UI's figures.

use parking_lot::Mutex;

use crate::clock::UnixMs;

const MINUTE_MS: u64 = 60_000;
const SLOTS: usize = 60;

/// Enforced revocations per minute over the last hour: 60 slots, each tagged with the minute
/// it counts, so a slot left over from an earlier hour is recognised and ignored (no timer
/// needed to clear it).
#[derive(Debug)]
pub struct RevocationRing {
    /// `(minute since the epoch, revocations in it)`.
    slots: Mutex<[(u64, u64); SLOTS]>,
}

impl Default for RevocationRing {
    fn default() -> Self {
        // Minute u64::MAX is never "now", so every slot starts out of the window.
        RevocationRing {
            slots: Mutex::new([(u64::MAX, 0); SLOTS]),
        }
    }
}

impl RevocationRing {
    pub fn record(&self, now_ms: UnixMs) {
        self.record_n(now_ms, 1);
    }

    /// `n` revocations at once (a sweep batch): one lock, not `n`.
    pub fn record_n(&self, now_ms: UnixMs, n: u64) {
        let minute = now_ms / MINUTE_MS;
        let mut slots = self.slots.lock();
        let slot = &mut slots[(minute % SLOTS as u64) as usize];
        if slot.0 != minute {
            *slot = (minute, 0);
        }
        slot.1 += n;
    }

    /// Revocations in the current minute and the 59 before it.
    pub fn last_hour(&self, now_ms: UnixMs) -> u64 {
        let minute = now_ms / MINUTE_MS;
        let oldest = minute.saturating_sub(SLOTS as u64 - 1);
        self.slots
            .lock()
            .iter()
            .filter(|(m, _)| *m >= oldest && *m <= minute)
            .map(|(_, n)| n)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_counts_the_last_sixty_minutes_only() {
        let ring = RevocationRing::default();
        ring.record(0);
        ring.record(30 * MINUTE_MS);
        ring.record(30 * MINUTE_MS + 5);
        assert_eq!(ring.last_hour(59 * MINUTE_MS), 3);
        assert_eq!(ring.last_hour(60 * MINUTE_MS), 2);
        assert_eq!(ring.last_hour(90 * MINUTE_MS), 0);
    }

    #[test]
    fn ring_slot_reused_after_an_hour_starts_from_zero() {
        let ring = RevocationRing::default();
        ring.record(MINUTE_MS);
        ring.record(61 * MINUTE_MS);
        assert_eq!(ring.last_hour(61 * MINUTE_MS), 1);
    }
}
