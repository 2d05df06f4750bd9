//! The expiry rules (docs/reference.md, "Expiry and revocation"): pure functions of a token's times and the timing.

use super::table::Slot;
use super::types::{Deadlines, Revocation, RevokeReason};
use crate::clock::UnixMs;
use crate::token::TokenKey;

fn idle_deadline(last_ms: UnixMs, timing: &impl Deadlines) -> UnixMs {
    last_ms.saturating_add(timing.idle_ms())
}

fn absolute_deadline(first_ms: UnixMs, timing: &impl Deadlines) -> Option<UnixMs> {
    timing.absolute_ms().map(|a| first_ms.saturating_add(a))
}

/// The earliest of the idle and absolute deadlines.
pub(super) fn deadline(last_ms: UnixMs, first_ms: UnixMs, timing: &impl Deadlines) -> UnixMs {
    let idle = idle_deadline(last_ms, timing);
    absolute_deadline(first_ms, timing).map_or(idle, |abs| abs.min(idle))
}

/// When the token has expired at `now_ms` (a deadline `<= now`): the reason and the deadline
/// that passed first (inactivity on a tie).
pub(super) fn expiry(
    last_ms: UnixMs,
    first_ms: UnixMs,
    now_ms: UnixMs,
    timing: &impl Deadlines,
) -> Option<(RevokeReason, UnixMs)> {
    let idle = idle_deadline(last_ms, timing);
    let first = match absolute_deadline(first_ms, timing) {
        Some(abs) if abs < idle => (RevokeReason::Absolute, abs),
        _ => (RevokeReason::Inactivity, idle),
    };
    (first.1 <= now_ms).then_some(first)
}

/// How long a revoked key is kept: the retention from `at_ms`, cut at the JWT's `exp`.
pub(super) fn revoked_until(
    at_ms: UnixMs,
    retention_ms: u64,
    jwt_exp_ms: Option<UnixMs>,
) -> UnixMs {
    let until = at_ms.saturating_add(retention_ms);
    jwt_exp_ms.map_or(until, |exp| exp.min(until))
}

/// The revocation a slot would get at `now_ms`, when its deadline has passed. Changes nothing.
pub(super) fn due_revocation(
    slot: &Slot,
    key: &TokenKey,
    now_ms: UnixMs,
    timing: &impl Deadlines,
) -> Option<Revocation> {
    let (last, first) = (slot.last_ms(), slot.first_ms());
    let (reason, at_ms) = expiry(last, first, now_ms, timing)?;
    Some(Revocation {
        key: *key,
        reason,
        last_activity_ms: last,
        first_seen_ms: first,
        at_ms,
        enforced: timing.enforce(),
        subject: None,
        policy: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Timing;

    fn timing(idle_ms: u64, absolute_ms: Option<u64>) -> Timing {
        Timing::simple(idle_ms, absolute_ms, true, 1000)
    }

    #[test]
    fn expired_exactly_at_the_deadline() {
        let t = timing(100, None);
        assert_eq!(expiry(1000, 0, 1099, &t), None);
        assert_eq!(
            expiry(1000, 0, 1100, &t),
            Some((RevokeReason::Inactivity, 1100))
        );
    }

    #[test]
    fn reason_is_the_deadline_that_passed_first() {
        let t = timing(100, Some(500));
        // absolute 500 passed before idle 1100
        assert_eq!(
            expiry(1000, 0, 2000, &t),
            Some((RevokeReason::Absolute, 500))
        );
        // idle 400 passed before absolute 500
        assert_eq!(
            expiry(300, 0, 2000, &t),
            Some((RevokeReason::Inactivity, 400))
        );
        assert_eq!(deadline(300, 0, &t), 400);
        assert_eq!(deadline(1000, 0, &t), 500);
    }

    #[test]
    fn retention_is_bounded_by_jwt_exp() {
        assert_eq!(revoked_until(100, 1000, None), 1100);
        assert_eq!(revoked_until(100, 1000, Some(600)), 600);
        assert_eq!(revoked_until(100, 1000, Some(5000)), 1100);
    }
}
