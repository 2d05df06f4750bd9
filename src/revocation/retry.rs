//! When a hook delivery is tried again (docs/reference.md, "Revocation hooks"): a 2xx is
//! delivered; a 4xx other than 408 and 429 is refused for good (the receiver said the request
//! itself is wrong: sending it again cannot help); anything else (5xx, 408, 429, a network
//! error, a timeout) is retried after a jittered, doubling delay.

use std::time::Duration;

/// The first delay before a retry.
pub(super) const FIRST_DELAY: Duration = Duration::from_secs(1);
/// The longest delay between two attempts, and the most a `Retry-After` is obeyed.
pub(super) const MAX_DELAY: Duration = Duration::from_secs(300);

/// How one attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// The receiver answered this status; `retry_after` is its `Retry-After` in seconds.
    Answered {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// No answer: connect error, reset, or the attempt's timeout.
    Failed(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    Delivered,
    /// Not worth sending again.
    Refused,
    /// Worth sending again, not before this (the receiver's `Retry-After`, if any).
    Retry {
        not_before: Duration,
    },
}

pub(super) fn verdict(attempt: &Attempt) -> Verdict {
    match attempt {
        Attempt::Answered { status, .. } if (200..300).contains(status) => Verdict::Delivered,
        Attempt::Answered {
            status: 408 | 429,
            retry_after,
        }
        | Attempt::Answered {
            status: 500..=599,
            retry_after,
        } => Verdict::Retry {
            not_before: retry_after.unwrap_or_default().min(MAX_DELAY),
        },
        // 1xx/3xx are not answers a hook expects: as with 4xx, sending again would not change them.
        Attempt::Answered { .. } => Verdict::Refused,
        Attempt::Failed(_) => Verdict::Retry {
            not_before: Duration::ZERO,
        },
    }
}

/// Doubling delays from [`FIRST_DELAY`] up to [`MAX_DELAY`], each drawn uniformly from its
/// upper half ("equal jitter"): a receiver that comes back after an outage is not hit by every
/// gateway's retries at the same instant, and no delay is shorter than half its step.
pub(super) struct Jittered {
    step: Duration,
    random: fn() -> u64,
}

impl Jittered {
    pub(super) fn new() -> Jittered {
        Jittered::with_random(random_u64)
    }

    pub(super) fn with_random(random: fn() -> u64) -> Jittered {
        Jittered {
            step: FIRST_DELAY,
            random,
        }
    }

    /// The delay before the next attempt: at least `not_before`.
    pub(super) fn next_delay(&mut self, not_before: Duration) -> Duration {
        let half = self.step / 2;
        let spread = half.as_millis() as u64 + 1;
        let delay = half + Duration::from_millis((self.random)() % spread);
        self.step = (self.step * 2).min(MAX_DELAY);
        delay.max(not_before)
    }
}

fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    // Without randomness the delay is the step itself, still bounded: never a failure.
    let _ = getrandom::getrandom(&mut bytes);
    u64::from_le_bytes(bytes)
}

/// `Retry-After` in seconds (the HTTP-date form is rare for webhooks and is ignored).
pub(super) fn parse_retry_after(value: Option<&http::HeaderValue>) -> Option<Duration> {
    let secs: u64 = value?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(status: u16) -> Attempt {
        Attempt::Answered {
            status,
            retry_after: None,
        }
    }

    #[test]
    fn a_2xx_is_delivered() {
        for status in [200, 201, 202, 204, 299] {
            assert_eq!(verdict(&answered(status)), Verdict::Delivered);
        }
    }

    #[test]
    fn a_4xx_other_than_408_and_429_is_never_retried() {
        for status in [400, 401, 403, 404, 405, 410, 413, 422, 451, 499, 301, 304] {
            assert_eq!(verdict(&answered(status)), Verdict::Refused, "{status}");
        }
    }

    #[test]
    fn a_5xx_408_429_and_a_network_error_are_retried() {
        let retry = Verdict::Retry {
            not_before: Duration::ZERO,
        };
        for status in [408, 429, 500, 502, 503, 504, 599] {
            assert_eq!(verdict(&answered(status)), retry, "{status}");
        }
        assert_eq!(verdict(&Attempt::Failed("reset".into())), retry);
    }

    #[test]
    fn retry_after_is_obeyed_up_to_the_longest_delay() {
        let with = |secs| Attempt::Answered {
            status: 429,
            retry_after: Some(Duration::from_secs(secs)),
        };
        let not_before = |v| match v {
            Verdict::Retry { not_before } => not_before,
            other => panic!("{other:?}"),
        };
        assert_eq!(not_before(verdict(&with(7))), Duration::from_secs(7));
        assert_eq!(not_before(verdict(&with(86_400))), MAX_DELAY);
        let mut b = Jittered::with_random(|| 0);
        assert_eq!(b.next_delay(Duration::from_secs(7)), Duration::from_secs(7));
    }

    #[test]
    fn delays_double_within_their_upper_half_up_to_five_minutes() {
        let (mut low, mut high) = (
            Jittered::with_random(|| 0),
            Jittered::with_random(|| u64::MAX),
        );
        let mut step = FIRST_DELAY;
        for _ in 0..14 {
            let (l, h) = (
                low.next_delay(Duration::ZERO),
                high.next_delay(Duration::ZERO),
            );
            assert_eq!(l, step / 2);
            assert!(h >= step / 2 && h <= step, "{h:?} for step {step:?}");
            step = (step * 2).min(MAX_DELAY);
        }
        assert_eq!(low.next_delay(Duration::ZERO), MAX_DELAY / 2);
    }

    #[test]
    fn real_jitter_spreads_the_delays() {
        let delays: std::collections::HashSet<Duration> = (0..20)
            .map(|_| Jittered::new().next_delay(Duration::ZERO))
            .collect();
        assert!(delays.len() > 1, "20 first delays were all equal");
        assert!(delays
            .iter()
            .all(|d| *d >= FIRST_DELAY / 2 && *d <= FIRST_DELAY));
    }

    #[test]
    fn retry_after_in_seconds_is_read_and_anything_else_ignored() {
        let h = |s: &str| http::HeaderValue::from_str(s).unwrap();
        assert_eq!(
            parse_retry_after(Some(&h("120"))),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after(Some(&h("Wed, 21 Oct 2015 07:28:00 GMT"))),
            None
        );
        assert_eq!(parse_retry_after(Some(&h("-1"))), None);
        assert_eq!(parse_retry_after(None), None);
    }
}
