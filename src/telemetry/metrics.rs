//! Prometheus metrics (docs/reference.md, "Metrics"). Every family is registered at start
//! and every listed label value is created at 0, so dashboards and alerts see the series
//! before the first event. The hot path holds pre-resolved counter handles (`Counter` is an
//! `Arc` inside), so counting a request is one atomic add with no label hashing.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Class {
    activity,
    excluded,
    anonymous,
    rejected,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassLabel {
    class: Class,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ExclusionLabel {
    exclusion: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum UpstreamErrorKind {
    connect,
    timeout,
    other,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: UpstreamErrorKind,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpLabel {
    op: &'static str,
}

pub struct Metrics {
    pub(super) registry: Registry,
    requests: Family<ClassLabel, Counter>,
    excluded: Family<ExclusionLabel, Counter>,
    exclusion_labels: parking_lot::Mutex<Vec<String>>,
    pub tokens_tracked: Gauge,
    pub tokens_revoked: Gauge,
    pub tracking_overflow: Counter,
    revocations: Family<ReasonLabel, Counter>,
    pub shadow_revocations: Counter,
    pub upstream_duration: Histogram,
    upstream_errors: Family<KindLabel, Counter>,
    config_reloads: Family<ResultLabel, Counter>,
    pub hooks: super::hooks::HookMetrics,
    pub state_sync_lag: Gauge<f64, AtomicU64>,
    /// Lookups spared by the negative cache (Redis backend).
    pub negative_cache_hits: Counter,
    /// Ids in the negative cache.
    pub negative_cache_entries: Gauge,
    pub upstream_connections: Gauge,
    pub connections_open: Gauge,
    pub connections_rejected: Counter,
    state_errors: Family<OpLabel, Counter>,
    /// Verified tokens, JWKS, policies and subjects.
    pub identity: super::identity::IdentityMetrics,
    /// Live evidence: templates, overflow, memory.
    pub evidence: super::evidence::EvidenceMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// `idlegate_upstream_request_duration_seconds` buckets.
const UPSTREAM_BUCKETS: [f64; 16] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];

/// The revocation reasons, as `RevokeReason::as_str` spells them (pinned by a test in
/// `app::effects`; telemetry sits below the store and does not import it).
pub(crate) const REVOCATION_REASONS: [&str; 3] = ["inactivity", "absolute", "admin"];

impl Metrics {
    /// Every family registered, in the order of the exposition, and every listed label value
    /// created at 0.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let m = Metrics::unregistered();
        // Counters are registered without `_total`: the encoder appends it.
        m.register_requests(&mut registry);
        m.register_tokens(&mut registry);
        m.register_upstream(&mut registry);
        m.register_operations(&mut registry);
        m.register_connections(&mut registry);
        m.register_state(&mut registry);
        m.identity.register(&mut registry);
        m.evidence.register(&mut registry);
        m.create_label_values();
        Metrics { registry, ..m }
    }

    fn unregistered() -> Metrics {
        Metrics {
            registry: Registry::default(),
            requests: Family::default(),
            excluded: Family::default(),
            exclusion_labels: Default::default(),
            tokens_tracked: Gauge::default(),
            tokens_revoked: Gauge::default(),
            tracking_overflow: Counter::default(),
            revocations: Family::default(),
            shadow_revocations: Counter::default(),
            upstream_duration: Histogram::new(UPSTREAM_BUCKETS.into_iter()),
            upstream_errors: Family::default(),
            config_reloads: Family::default(),
            hooks: Default::default(),
            state_sync_lag: Gauge::default(),
            negative_cache_hits: Counter::default(),
            negative_cache_entries: Gauge::default(),
            upstream_connections: Gauge::default(),
            connections_open: Gauge::default(),
            connections_rejected: Counter::default(),
            state_errors: Family::default(),
            identity: Default::default(),
            evidence: Default::default(),
        }
    }

    fn register_requests(&self, r: &mut Registry) {
        r.register(
            "idlegate_requests",
            "Proxied requests by class",
            self.requests.clone(),
        );
        r.register(
            "idlegate_excluded_requests",
            "Requests that did not reset the idle timer, by exclusion",
            self.excluded.clone(),
        );
    }

    fn register_tokens(&self, r: &mut Registry) {
        r.register(
            "idlegate_tokens_tracked",
            "Tokens tracked now",
            self.tokens_tracked.clone(),
        );
        r.register(
            "idlegate_tokens_revoked",
            "Size of the revoked set (enforced revocations kept for their retention)",
            self.tokens_revoked.clone(),
        );
        r.register(
            "idlegate_tracking_overflow",
            "Tokens not tracked because tokens.max_tracked was reached",
            self.tracking_overflow.clone(),
        );
        r.register(
            "idlegate_revocations",
            "Revocations by reason",
            self.revocations.clone(),
        );
        r.register(
            "idlegate_shadow_revocations",
            "Tokens that would have been revoked in shadow mode",
            self.shadow_revocations.clone(),
        );
    }

    fn register_upstream(&self, r: &mut Registry) {
        r.register(
            "idlegate_upstream_request_duration_seconds",
            "Time from forwarding a request to the upstream's response head",
            self.upstream_duration.clone(),
        );
        r.register(
            "idlegate_upstream_errors",
            "Upstream failures by kind",
            self.upstream_errors.clone(),
        );
    }

    /// Config reloads and revocation hooks.
    fn register_operations(&self, r: &mut Registry) {
        r.register(
            "idlegate_config_reloads",
            "Config reloads by result",
            self.config_reloads.clone(),
        );
        self.hooks.register(r);
        r.register(
            "idlegate_log_lines_dropped",
            "Log lines dropped because the log buffer was full (audit lines wait instead)",
            super::log_pipe::dropped(),
        );
        r.register(
            "idlegate_audit_write_errors",
            "Failed writes (or reopens) of the audit file; each is also logged",
            super::audit_file::write_errors(),
        );
    }

    fn register_connections(&self, r: &mut Registry) {
        r.register(
            "idlegate_upstream_connections",
            "Open connections to the upstream (idle in the pools or busy)",
            self.upstream_connections.clone(),
        );
        r.register(
            "idlegate_connections_open",
            "Open client connections to the proxy listener",
            self.connections_open.clone(),
        );
        r.register(
            "idlegate_connections_rejected",
            "Client connections that waited for a slot under proxy.max_connections",
            self.connections_rejected.clone(),
        );
    }

    fn register_state(&self, r: &mut Registry) {
        r.register(
            "idlegate_state_sync_lag_seconds",
            "Age of the oldest unflushed state change (Redis backend)",
            self.state_sync_lag.clone(),
        );
        r.register(
            "idlegate_state_errors",
            "State backend errors by operation",
            self.state_errors.clone(),
        );
        r.register(
            "idlegate_negative_cache_hits",
            "Redis lookups spared because the id was found unknown within state.negative_ttl",
            self.negative_cache_hits.clone(),
        );
        r.register(
            "idlegate_negative_cache_entries",
            "Ids remembered as unknown to Redis (Redis backend)",
            self.negative_cache_entries.clone(),
        );
    }

    /// Dashboards and alerts see every listed series before its first event.
    fn create_label_values(&self) {
        for class in [
            Class::activity,
            Class::excluded,
            Class::anonymous,
            Class::rejected,
        ] {
            let _ = self.requests.get_or_create(&ClassLabel { class });
        }
        for reason in REVOCATION_REASONS {
            self.revocation(reason);
        }
        for kind in [
            UpstreamErrorKind::connect,
            UpstreamErrorKind::timeout,
            UpstreamErrorKind::other,
        ] {
            self.upstream_error(kind);
        }
        for result in ["ok", "error"] {
            let _ = self.config_reloads.get_or_create(&ResultLabel { result });
        }
        for op in ["read", "write", "publish"] {
            self.state_error(op);
        }
        self.hooks.create_label_values();
        self.identity.create_label_values();
    }

    pub fn class(&self, class: Class) -> Counter {
        self.requests.get_or_create(&ClassLabel { class }).clone()
    }

    /// Handles for the given exclusion labels, in order; series of labels no longer
    /// configured are removed so that the family shows exactly the live exclusions.
    pub fn set_exclusions(&self, labels: &[String]) -> Vec<Counter> {
        let mut live = self.exclusion_labels.lock();
        for old in live.iter().filter(|old| !labels.contains(old)) {
            self.excluded.remove(&ExclusionLabel {
                exclusion: old.clone(),
            });
        }
        *live = labels.to_vec();
        labels
            .iter()
            .map(|l| {
                self.excluded
                    .get_or_create(&ExclusionLabel {
                        exclusion: l.clone(),
                    })
                    .clone()
            })
            .collect()
    }

    /// `reason` is one of [`REVOCATION_REASONS`].
    pub fn revocation(&self, reason: &'static str) -> Counter {
        self.revocations
            .get_or_create(&ReasonLabel { reason })
            .clone()
    }

    pub fn upstream_error(&self, kind: UpstreamErrorKind) -> Counter {
        self.upstream_errors
            .get_or_create(&KindLabel { kind })
            .clone()
    }

    pub fn config_reload(&self, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.config_reloads
            .get_or_create(&ResultLabel { result })
            .inc();
    }

    pub fn state_error(&self, op: &'static str) -> Counter {
        self.state_errors.get_or_create(&OpLabel { op }).clone()
    }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
