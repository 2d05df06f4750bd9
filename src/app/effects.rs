//! The effects hub: the one place a revocation reported by the token state fans out (audit
//! log, metrics, the recent-revocations ring, tunnels, hooks). The state layer defines the
//! [`Effects`] sink and is handed this hub at construction; it never sees the `App`.
//! Storing and publishing a revocation for other replicas is the state backend's part.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;
use tokio::sync::mpsc;

use crate::clock::{rfc3339, Clock};
use crate::pace::Pace;
use crate::revocation::Hooks;
use crate::store::effects::{BoxFuture, Effects};
use crate::store::Revocation;
use crate::telemetry::audit_file::{self, RevocationLine};
use crate::telemetry::metrics::REVOCATION_REASONS;
use crate::telemetry::{Metrics, RevocationRing};
use crate::token::TokenKey;
use crate::tunnels::Tunnels;

/// Sweep batches waiting for their audit lines and hooks: at most this many, each at most a
/// sweep batch (512), a million revocations and some 64 MB in all. A mass expiry of a million
/// tokens fits, so the sweep frees the table and counts every revocation within seconds while
/// the lines follow; beyond it the sweeper waits for room (docs/reference.md, "Expiry and
/// revocation").
const QUEUE_BATCHES: usize = 2_048;
/// Revocations delivered between two looks at the pace: a fraction of a millisecond.
const SLICE: usize = 128;
/// The share of a core the delivery of a mass expiry's audit lines and hooks may take: a
/// million lines take some 25–30 s. At half a core (0.5), with the sweep at half a core too,
/// a steady client's p99 rose ×2–3.8 during a mass expiry on 2 cores; at 0.1 (sweep 0.25)
/// ×1.4–1.9, against ×1.0–1.5 for a control run without expiry. Since a line is written
/// directly (`telemetry::json_line`, a third of tracing-subscriber's time), a twenty-fifth
/// keeps the lines as fast as a tenth was, and idlegate's background CPU during the sweep
/// fell by a third (`bash benches/mass_expiry.sh`, README "Benchmarks").
const DELIVERY_SHARE: f64 = 0.04;

pub(crate) struct EffectsHub {
    pub(super) metrics: Arc<Metrics>,
    pub(super) recent_revocations: Arc<RevocationRing>,
    pub(super) tunnels: Arc<Tunnels>,
    pub(super) hooks: Arc<Hooks>,
    pub(super) clock: Clock,
    /// Names of the live `timeout.policies`, in order: a revocation's policy id → its name.
    pub(super) policy_names: Arc<ArcSwap<Vec<String>>>,
    /// The queue of the delivery task, once started ([`EffectsHub::start`]); before that (and
    /// after it stopped) a batch is delivered in place.
    pub(super) queue: OnceLock<mpsc::Sender<Vec<Revocation>>>,
}

impl Effects for EffectsHub {
    /// Audit event, metrics, closing the token's tunnels, hooks.
    fn revoked(&self, rev: &Revocation) {
        self.count(std::slice::from_ref(rev));
        self.deliver(std::slice::from_ref(rev));
    }

    /// Counted and tunnels closed now; audit lines and hooks by the delivery task, paced.
    fn revoked_batch(&self, revs: Vec<Revocation>) -> BoxFuture<'_> {
        Box::pin(async move {
            if revs.is_empty() {
                return;
            }
            self.count(&revs);
            let Some(queue) = self.queue.get() else {
                self.deliver(&revs);
                return;
            };
            // Waits while the queue is full; a closed queue (shutdown) hands the batch back.
            if let Err(mpsc::error::SendError(revs)) = queue.send(revs).await {
                self.deliver(&revs);
            }
        })
    }

    fn learned(&self, key: &TokenKey) {
        self.tunnels.close(key);
        self.hooks.learned(key);
    }

    fn forgotten(&self, key: &TokenKey) {
        self.hooks.forget(key);
    }
}

impl EffectsHub {
    /// Starts the delivery task (inside a runtime). On `stop` it delivers what is queued
    /// without pacing, and later batches are delivered in place.
    pub(crate) fn start(
        self: &Arc<Self>,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let (tx, rx) = mpsc::channel(QUEUE_BATCHES);
        self.queue.set(tx).ok()?;
        Some(tokio::spawn(self.clone().run(rx, stop)))
    }

    async fn run(
        self: Arc<Self>,
        mut rx: mpsc::Receiver<Vec<Revocation>>,
        stop: impl Future<Output = ()>,
    ) {
        tokio::pin!(stop);
        let mut pace = Pace::new(DELIVERY_SHARE);
        loop {
            let batch = tokio::select! {
                batch = rx.recv() => batch,
                _ = &mut stop => break,
            };
            let Some(batch) = batch else { break };
            for slice in batch.chunks(SLICE) {
                let started = std::time::Instant::now();
                self.deliver(slice);
                pace.worked(started.elapsed());
                pace.pause().await;
            }
        }
        rx.close();
        while let Ok(batch) = rx.try_recv() {
            self.deliver(&batch);
        }
    }

    /// What must follow a revocation at once: the counters (per batch, one add per reason),
    /// the recent-revocations ring, and the token's upgraded connections closed.
    fn count(&self, revs: &[Revocation]) {
        let mut enforced = [0u64; REVOCATION_REASONS.len()];
        let mut shadow = 0;
        for rev in revs {
            if rev.enforced {
                let reason = rev.reason.as_str();
                if let Some(i) = REVOCATION_REASONS.iter().position(|r| *r == reason) {
                    enforced[i] += 1;
                }
                self.tunnels.close(&rev.key);
            } else {
                shadow += 1;
            }
        }
        for (reason, n) in REVOCATION_REASONS.iter().zip(enforced) {
            if n > 0 {
                self.metrics.revocation(reason).inc_by(n);
            }
        }
        let total: u64 = enforced.iter().sum();
        if total > 0 {
            self.recent_revocations.record_n(self.clock.now_ms(), total);
            self.count_by_policy(revs);
        }
        if shadow > 0 {
            self.metrics.shadow_revocations.inc_by(shadow);
        }
    }

    /// `idlegate_policy_revocations_total`: policy ids are small (at most 32 policies), so a
    /// batch is counted in one pass into a short array.
    fn count_by_policy(&self, revs: &[Revocation]) {
        let mut by_policy = [0u64; 256];
        for rev in revs.iter().filter(|r| r.enforced) {
            by_policy[usize::from(rev.policy)] += 1;
        }
        let names = self.policy_names.load();
        for (policy, n) in by_policy.iter().enumerate().filter(|(_, n)| **n > 0) {
            let name = policy_name(&names, policy as u8).unwrap_or("default");
            self.metrics.identity.policy_revoked(name, *n);
        }
    }

    /// What may follow later: the audit events and the hooks.
    fn deliver(&self, revs: &[Revocation]) {
        let names = self.policy_names.load();
        for rev in revs {
            audit(rev, policy_name(&names, rev.policy));
            if rev.enforced {
                self.hooks.revoked(rev);
            }
        }
    }
}

/// A policy id's name: None for the default (0) or an id the live config no longer has.
pub(crate) fn policy_name(names: &[String], policy: u8) -> Option<&str> {
    names
        .get(usize::from(policy).checked_sub(1)?)
        .map(String::as_str)
}

/// The `audit` event of a revocation (docs/reference.md, "Audit events"), in the log stream
/// and, with `[audit] file`, as a line of the audit file: `subject` and `policy` when
/// identity knew them.
fn audit(rev: &Revocation, policy: Option<&str>) {
    // An admin may revoke an id idlegate never tracked: it has no last activity.
    let known = rev.last_activity_ms > 0;
    let last_activity = known.then(|| rfc3339(rev.last_activity_ms));
    let idle_seconds = known.then(|| rev.at_ms.saturating_sub(rev.last_activity_ms) / 1000);
    let revoked_at = rfc3339(rev.at_ms);
    let replica = audit_file::replica();
    tracing::info!(
        target: "audit",
        event = "revocation",
        token_id = %rev.key,
        reason = rev.reason.as_str(),
        revoked_at,
        last_activity = last_activity.as_deref(),
        idle_seconds,
        shadow = !rev.enforced,
        subject = rev.subject.as_deref(),
        policy,
        replica,
    );
    if audit_file::enabled() {
        audit_file::write(&RevocationLine {
            schema: audit_file::SCHEMA,
            event: "revocation",
            token_id: &rev.key.to_hex(),
            subject: rev.subject.as_deref(),
            policy,
            reason: rev.reason.as_str(),
            revoked_at: &revoked_at,
            last_activity: last_activity.as_deref(),
            idle_seconds,
            shadow: !rev.enforced,
            replica,
        });
    }
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

#[cfg(test)]
#[path = "effects_tests.rs"]
mod batch_tests;
