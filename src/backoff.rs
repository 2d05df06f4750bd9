//! Capped exponential backoff: the delay before the next retry doubles from a first delay up
//! to a cap. No jitter: the retrying tasks are few (one Redis connection supervisor, one JWKS
//! loader per gateway), so there is no crowd of clients to spread out. Revocation hooks retry
//! many deliveries at once and jitter theirs (`revocation::retry`).

use std::time::Duration;

/// The delays of one run of retries: `first`, `2 × first`, `4 × first` … never above `max`.
#[derive(Clone, Debug)]
pub(crate) struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    /// Starts at `first` (at most `max`).
    pub(crate) fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            next: first.min(max),
            max,
        }
    }

    /// The delay to wait now; the one after it is twice as long, up to the cap.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delays_ms(mut b: Backoff, n: usize) -> Vec<u128> {
        (0..n).map(|_| b.next_delay().as_millis()).collect()
    }

    #[test]
    fn doubles_up_to_the_cap() {
        let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        assert_eq!(
            delays_ms(b, 8),
            [100, 200, 400, 800, 1600, 3200, 5000, 5000]
        );
    }

    #[test]
    fn first_above_the_cap_starts_at_the_cap() {
        let b = Backoff::new(Duration::from_secs(9), Duration::from_secs(2));
        assert_eq!(delays_ms(b, 2), [2000, 2000]);
    }

    #[test]
    fn a_huge_cap_does_not_overflow() {
        let mut b = Backoff::new(Duration::from_secs(u64::MAX / 2), Duration::MAX);
        b.next_delay();
        assert_eq!(b.next_delay(), Duration::from_secs(u64::MAX / 2 * 2));
        b.next_delay();
        assert_eq!(b.next_delay(), Duration::MAX);
    }
}
