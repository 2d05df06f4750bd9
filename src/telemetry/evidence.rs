//! The live evidence families (docs/reference.md, "Metrics"): templates interned, requests of
//! templates that did not fit, the bytes the evidence holds, and the trial list's would-be
//! revocations. No labels. Refreshed before
//! each scrape from the evidence's own counts (0 with `[evidence] enabled = false`).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Default)]
pub struct EvidenceMetrics {
    templates: Gauge,
    overflow: Counter,
    memory_bytes: Gauge,
    /// Would-be revocations of the trial list (`app::trial`).
    pub trial_revocations: Counter,
}

impl EvidenceMetrics {
    pub(super) fn register(&self, r: &mut Registry) {
        r.register(
            "idlegate_evidence_templates",
            "API templates live evidence counts (at most evidence.max_templates)",
            self.templates.clone(),
        );
        r.register(
            "idlegate_evidence_overflow",
            "Requests live evidence did not count because their template did not fit in evidence.max_templates",
            self.overflow.clone(),
        );
        r.register(
            "idlegate_evidence_memory_bytes",
            "Bytes held by live evidence (bounded by its settings)",
            self.memory_bytes.clone(),
        );
        r.register(
            "idlegate_trial_revocations",
            "Tokens the trial list would have revoked while the enforced exclusions kept them alive",
            self.trial_revocations.clone(),
        );
    }

    /// Sets the three from the evidence's counts; `overflowed` only ever grows.
    pub fn set(&self, templates: usize, overflowed: u64, memory_bytes: usize) {
        self.templates
            .set(i64::try_from(templates).unwrap_or(i64::MAX));
        let seen = self.overflow.get();
        self.overflow.inc_by(overflowed.saturating_sub(seen));
        self.memory_bytes
            .set(i64::try_from(memory_bytes).unwrap_or(i64::MAX));
    }
}
