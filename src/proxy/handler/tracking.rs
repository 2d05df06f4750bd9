//! Step 7 of the request path: a token starts being tracked (before forwarding with
//! `tokens.track = "all"`, once the upstream accepted it otherwise), or is dropped when the
//! upstream refuses it; and the rate limit for the warnings this repeats.

use std::sync::atomic::{AtomicU64, Ordering};

use super::{Proxy, Verdict};
use crate::store::Track;
use crate::token::{self, TokenKey};

impl Proxy {
    /// Step 7 once the upstream answered, with `tokens.track = "accepted"`: an accepted
    /// candidate starts being tracked; a token the upstream refused (401) is dropped.
    pub(super) fn settle(
        &self,
        key: &TokenKey,
        accepted: bool,
        verdict: &mut Verdict,
        raw: Option<String>,
        now_ms: u64,
    ) {
        if !accepted {
            self.app.state().untrack(key);
            verdict.deadline = None;
        } else if verdict.candidate {
            verdict.deadline = self.track(key, raw.as_deref(), now_ms);
        }
    }

    /// Starts tracking; returns the deadline when the token is tracked afterwards.
    pub(super) fn track(&self, key: &TokenKey, raw: Option<&str>, now_ms: u64) -> Option<u64> {
        let live = self.app.live();
        let exp = raw.and_then(token::jwt_exp);
        match self.app.state().track(key, now_ms, exp, &live.timing) {
            Track::New { deadline_ms } => {
                if let Some(raw) = raw {
                    self.app.hooks.remember(*key, raw);
                }
                Some(deadline_ms)
            }
            Track::Existing { deadline_ms } => Some(deadline_ms),
            Track::Overflow => {
                self.app.metrics.tracking_overflow.inc();
                self.warn_overflow(now_ms, live.config.tokens.max_tracked);
                None
            }
            Track::Revoked => None,
        }
    }

    /// One warning a minute at most: overflow happens per request under attack.
    fn warn_overflow(&self, now_ms: u64, max: usize) {
        if self.overflow_warning.ready(now_ms) {
            tracing::warn!(
                max_tracked = max,
                "tokens.max_tracked reached: new tokens are not tracked \
                 (see idlegate_tracking_overflow_total)"
            );
        }
    }
}

/// At most one event per interval: warnings that would otherwise repeat on every request
/// (table full, upstream down) are logged once a minute; the metrics count every one.
pub struct Throttle(AtomicU64);

impl Throttle {
    const EVERY_MS: u64 = 60_000;

    pub fn new() -> Throttle {
        Throttle(AtomicU64::new(0))
    }

    pub fn ready(&self, now_ms: u64) -> bool {
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
