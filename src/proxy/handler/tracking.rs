//! The token's tracking in the state layer: it starts being tracked (before forwarding with
//! `tokens.track = "all"`, once the upstream accepted it otherwise), or is dropped when the
//! upstream refuses it (docs/reference.md, "Tracking").
//!
//! Layout: the handler's only writes to the state layer besides the check and the verify
//! phase's; imports `throttle.rs` for the overflow warning and `verify.rs` for what a
//! verified token brings.

use super::throttle::Throttle;
use super::verify::Who;
use crate::app::App;
use crate::store::Track;
use crate::token::{self, TokenKey};

/// Starts tracking; returns the deadline when the token is tracked afterwards.
pub(super) fn track(
    app: &App,
    overflow_warning: &Throttle,
    key: &TokenKey,
    raw: Option<&str>,
    who: Option<&Who>,
    now_ms: u64,
) -> Option<u64> {
    let live = app.live();
    let exp = raw.and_then(token::jwt_exp);
    let ident = who.map(Who::ident).unwrap_or_default();
    match app
        .state()
        .track_verified(key, now_ms, exp, &live.timing, ident)
    {
        Track::New { deadline_ms } => {
            if let Some(raw) = raw {
                app.hooks.remember(*key, raw);
            }
            Some(deadline_ms)
        }
        Track::Existing { deadline_ms } => Some(deadline_ms),
        Track::Overflow => {
            app.metrics.tracking_overflow.inc();
            warn_overflow(overflow_warning, now_ms, live.config.tokens.max_tracked);
            None
        }
        Track::Revoked => None,
    }
}

/// The upstream refused the token (401) with `tokens.track = "accepted"`: it stops being
/// tracked.
pub(super) fn untrack(app: &App, key: &TokenKey) {
    app.state().untrack(key);
}

/// One warning a minute at most: overflow happens per request under attack.
fn warn_overflow(throttle: &Throttle, now_ms: u64, max: usize) {
    if throttle.ready(now_ms) {
        tracing::warn!(
            max_tracked = max,
            "tokens.max_tracked reached: new tokens are not tracked \
             (see idlegate_tracking_overflow_total)"
        );
    }
}
