//! The effects hub: the one place a revocation reported by the token state fans out (audit
//! log, metrics, the recent-revocations ring, tunnels, hooks). The state layer defines the
//! [`Effects`] sink and is handed this hub at construction; it never sees the `App`.
//! Storing and publishing a revocation for other replicas is the state backend's part.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::clock::{rfc3339, Clock};
use crate::revocation::Hooks;
use crate::store::effects::Effects;
use crate::store::Revocation;
use crate::telemetry::{Metrics, RevocationRing};
use crate::token::TokenKey;
use crate::tunnels::Tunnels;

pub(crate) struct EffectsHub {
    pub(super) metrics: Arc<Metrics>,
    pub(super) recent_revocations: Arc<RevocationRing>,
    pub(super) tunnels: Arc<Tunnels>,
    pub(super) hooks: Arc<Hooks>,
    pub(super) clock: Clock,
    /// Names of the live `timeout.policies`, in order: a revocation's policy id → its name.
    pub(super) policy_names: Arc<ArcSwap<Vec<String>>>,
}

impl Effects for EffectsHub {
    /// Audit event, metrics, closing the token's tunnels, hooks.
    fn revoked(&self, rev: &Revocation) {
        let names = self.policy_names.load();
        audit(rev, policy_name(&names, rev.policy));
        if rev.enforced {
            self.recent_revocations.record(self.clock.now_ms());
            self.metrics.revocation(rev.reason.as_str()).inc();
            self.tunnels.close(&rev.key);
            self.hooks.revoked(rev);
        } else {
            self.metrics.shadow_revocations.inc();
        }
    }

    fn learned(&self, key: &TokenKey) {
        self.tunnels.close(key);
        self.hooks.forget(key);
    }

    fn forgotten(&self, key: &TokenKey) {
        self.hooks.forget(key);
    }
}

/// A policy id's name: None for the default (0) or an id the live config no longer has.
pub(crate) fn policy_name(names: &[String], policy: u8) -> Option<&str> {
    names
        .get(usize::from(policy).checked_sub(1)?)
        .map(String::as_str)
}

/// The `audit` event of a revocation (docs/reference.md, "Audit events"): `subject` and
/// `policy` when identity knew them.
fn audit(rev: &Revocation, policy: Option<&str>) {
    // An admin may revoke an id idlegate never tracked: it has no last activity.
    let known = rev.last_activity_ms > 0;
    let last_activity = known.then(|| rfc3339(rev.last_activity_ms));
    let idle_seconds = known.then(|| rev.at_ms.saturating_sub(rev.last_activity_ms) / 1000);
    tracing::info!(
        target: "audit",
        event = "revocation",
        token_id = %rev.key,
        reason = rev.reason.as_str(),
        last_activity = last_activity.as_deref(),
        idle_seconds,
        shadow = !rev.enforced,
        subject = rev.subject.as_deref(),
        policy,
    );
}

#[cfg(test)]
mod tests {
    use crate::store::RevokeReason;
    use crate::telemetry::metrics::REVOCATION_REASONS;

    /// Telemetry lists the reasons without importing the store: the lists must agree.
    #[test]
    fn every_revocation_reason_is_pre_registered() {
        let reasons = [
            RevokeReason::Inactivity,
            RevokeReason::Absolute,
            RevokeReason::Admin,
        ];
        assert_eq!(reasons.map(RevokeReason::as_str), REVOCATION_REASONS);
    }
}
