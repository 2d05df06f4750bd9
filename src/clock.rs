//! The one clock. Token times are wall-clock milliseconds since the Unix epoch (they are
//! persisted and shared between replicas), but they advance with tokio's monotonic clock so
//! that tests can pause and advance time with `tokio::time::pause`/`advance`. Tests that talk
//! over real sockets cannot pause tokio (it would auto-advance while sockets wait); they move
//! the clock forward by hand with [`Clock::advance`] instead.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// Milliseconds since the Unix epoch.
pub type UnixMs = u64;

#[derive(Clone, Debug)]
pub struct Clock {
    base_instant: Instant,
    base_unix_ms: UnixMs,
    /// Manual forward jumps (tests); shared by every clone.
    skew_ms: Arc<AtomicU64>,
    /// Stands still between manual jumps ([`Clock::paused_at`]).
    paused: bool,
}

impl Clock {
    /// Anchors tokio's clock to the system's wall clock once.
    pub fn new() -> Self {
        let base_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Clock {
            base_instant: Instant::now(),
            base_unix_ms,
            skew_ms: Arc::default(),
            paused: false,
        }
    }

    /// A clock whose "now" is `unix_ms` at this instant (tests).
    pub fn starting_at(unix_ms: UnixMs) -> Self {
        Clock {
            base_instant: Instant::now(),
            base_unix_ms: unix_ms,
            skew_ms: Arc::default(),
            paused: false,
        }
    }

    /// A clock that reads `unix_ms` and moves only by [`Clock::advance`] (tests that replay
    /// recorded times to the millisecond over real sockets, where tokio cannot be paused).
    pub fn paused_at(unix_ms: UnixMs) -> Self {
        Clock {
            paused: true,
            ..Clock::starting_at(unix_ms)
        }
    }

    /// Moves this clock (and every clone) forward by `by`, for tests over real sockets.
    pub fn advance(&self, by: Duration) {
        self.skew_ms.fetch_add(duration_ms(by), Ordering::Relaxed);
    }

    pub fn now_ms(&self) -> UnixMs {
        self.ms_at(Instant::now())
    }

    /// The wall-clock time of a tokio instant taken earlier (e.g. when a request head arrived).
    pub fn ms_at(&self, at: Instant) -> UnixMs {
        let since = if self.paused {
            0
        } else {
            at.saturating_duration_since(self.base_instant).as_millis() as u64
        };
        self.base_unix_ms + since + self.skew_ms.load(Ordering::Relaxed)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

/// RFC 3339 text with millisecond precision, UTC.
pub fn rfc3339(unix_ms: UnixMs) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(unix_ms)).to_string()
}

pub fn duration_ms(d: Duration) -> u64 {
    d.as_millis().min(u64::MAX as u128) as u64
}

/// Whole seconds from `now_ms` to `deadline_ms`, rounded up (0 once the deadline has passed):
/// what `Idle-Timeout-Remaining` and the admin token status report.
pub fn remaining_seconds(deadline_ms: UnixMs, now_ms: UnixMs) -> u64 {
    deadline_ms.saturating_sub(now_ms).div_ceil(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn clock_follows_paused_tokio_time() {
        let clock = Clock::starting_at(1_000_000);
        assert_eq!(clock.now_ms(), 1_000_000);
        tokio::time::advance(Duration::from_millis(1500)).await;
        assert_eq!(clock.now_ms(), 1_001_500);
    }

    #[tokio::test]
    async fn advance_moves_every_clone() {
        let clock = Clock::starting_at(0);
        let clone = clock.clone();
        clock.advance(Duration::from_secs(5));
        assert!(clone.now_ms() >= 5_000);
    }

    #[tokio::test(start_paused = true)]
    async fn a_paused_clock_moves_only_when_advanced() {
        let clock = Clock::paused_at(1_000_000);
        tokio::time::advance(Duration::from_millis(1500)).await;
        assert_eq!(clock.now_ms(), 1_000_000);
        clock.clone().advance(Duration::from_millis(250));
        assert_eq!(clock.ms_at(Instant::now()), 1_000_250);
    }

    #[test]
    fn remaining_seconds_round_up_and_stop_at_zero() {
        assert_eq!(remaining_seconds(10_001, 9_000), 2);
        assert_eq!(remaining_seconds(10_000, 9_000), 1);
        assert_eq!(remaining_seconds(10_000, 10_000), 0);
        assert_eq!(remaining_seconds(5_000, 10_000), 0);
    }

    #[test]
    fn rfc3339_has_millis() {
        assert_eq!(rfc3339(1_500), "1970-01-01T00:00:01.500Z");
    }
}
