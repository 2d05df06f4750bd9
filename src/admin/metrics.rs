//! Prometheus metrics (SPEC §7 "Metrics", §10 "Metrics"). Every family is registered at start
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

use crate::store::RevokeReason;

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
struct HookLabel {
    hook: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpLabel {
    op: &'static str,
}

pub struct Metrics {
    registry: Registry,
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
    hooks: Family<HookLabel, Counter>,
    pub state_sync_lag: Gauge<f64, AtomicU64>,
    pub upstream_connections: Gauge,
    pub connections_open: Gauge,
    pub connections_rejected: Counter,
    state_errors: Family<OpLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let m = Metrics {
            requests: Family::default(),
            excluded: Family::default(),
            exclusion_labels: Default::default(),
            tokens_tracked: Gauge::default(),
            tokens_revoked: Gauge::default(),
            tracking_overflow: Counter::default(),
            revocations: Family::default(),
            shadow_revocations: Counter::default(),
            upstream_duration: Histogram::new(
                [
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0, 30.0, 60.0,
                ]
                .into_iter(),
            ),
            upstream_errors: Family::default(),
            config_reloads: Family::default(),
            hooks: Family::default(),
            state_sync_lag: Gauge::default(),
            upstream_connections: Gauge::default(),
            connections_open: Gauge::default(),
            connections_rejected: Counter::default(),
            state_errors: Family::default(),
            registry: Registry::default(),
        };
        // Counters are registered without `_total`: the encoder appends it.
        registry.register(
            "idlegate_requests",
            "Proxied requests by class",
            m.requests.clone(),
        );
        registry.register(
            "idlegate_excluded_requests",
            "Requests that did not reset the idle timer, by exclusion",
            m.excluded.clone(),
        );
        registry.register(
            "idlegate_tokens_tracked",
            "Tokens tracked now",
            m.tokens_tracked.clone(),
        );
        registry.register(
            "idlegate_tokens_revoked",
            "Size of the revoked set (enforced revocations kept for their retention)",
            m.tokens_revoked.clone(),
        );
        registry.register(
            "idlegate_tracking_overflow",
            "Tokens not tracked because tokens.max_tracked was reached",
            m.tracking_overflow.clone(),
        );
        registry.register(
            "idlegate_revocations",
            "Revocations by reason",
            m.revocations.clone(),
        );
        registry.register(
            "idlegate_shadow_revocations",
            "Tokens that would have been revoked in shadow mode",
            m.shadow_revocations.clone(),
        );
        registry.register(
            "idlegate_upstream_request_duration_seconds",
            "Time from forwarding a request to the upstream's response head",
            m.upstream_duration.clone(),
        );
        registry.register(
            "idlegate_upstream_errors",
            "Upstream failures by kind",
            m.upstream_errors.clone(),
        );
        registry.register(
            "idlegate_config_reloads",
            "Config reloads by result",
            m.config_reloads.clone(),
        );
        registry.register(
            "idlegate_revocation_hook",
            "Revocation hook deliveries by hook and result",
            m.hooks.clone(),
        );
        registry.register(
            "idlegate_upstream_connections",
            "Open connections to the upstream (idle in the pools or busy)",
            m.upstream_connections.clone(),
        );
        registry.register(
            "idlegate_connections_open",
            "Open client connections to the proxy listener",
            m.connections_open.clone(),
        );
        registry.register(
            "idlegate_connections_rejected",
            "Client connections that waited for a slot under proxy.max_connections",
            m.connections_rejected.clone(),
        );
        registry.register(
            "idlegate_state_sync_lag_seconds",
            "Age of the oldest unflushed state change (Redis backend)",
            m.state_sync_lag.clone(),
        );
        registry.register(
            "idlegate_state_errors",
            "State backend errors by operation",
            m.state_errors.clone(),
        );
        for class in [
            Class::activity,
            Class::excluded,
            Class::anonymous,
            Class::rejected,
        ] {
            let _ = m.requests.get_or_create(&ClassLabel { class });
        }
        for reason in [
            RevokeReason::Inactivity,
            RevokeReason::Absolute,
            RevokeReason::Admin,
        ] {
            m.revocation(reason);
        }
        for kind in [
            UpstreamErrorKind::connect,
            UpstreamErrorKind::timeout,
            UpstreamErrorKind::other,
        ] {
            m.upstream_error(kind);
        }
        for result in ["ok", "error"] {
            let _ = m.config_reloads.get_or_create(&ResultLabel { result });
            for hook in ["webhook", "rfc7009"] {
                let _ = m.hooks.get_or_create(&HookLabel { hook, result });
            }
        }
        for op in ["read", "write", "publish"] {
            m.state_error(op);
        }
        Metrics { registry, ..m }
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

    pub fn revocation(&self, reason: RevokeReason) -> Counter {
        self.revocations
            .get_or_create(&ReasonLabel {
                reason: reason.as_str(),
            })
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

    pub fn hook_counters(&self) -> crate::revocation::ResultCounters {
        let c = |hook, result| {
            self.hooks
                .get_or_create(&HookLabel { hook, result })
                .clone()
        };
        crate::revocation::ResultCounters {
            webhook_ok: c("webhook", "ok"),
            webhook_error: c("webhook", "error"),
            rfc7009_ok: c("rfc7009", "ok"),
            rfc7009_error: c("rfc7009", "error"),
        }
    }

    pub fn state_error(&self, op: &'static str) -> Counter {
        self.state_errors.get_or_create(&OpLabel { op }).clone()
    }

    /// Prometheus text exposition format 0.0.4. prometheus-client writes OpenMetrics; the two
    /// differ only in the counter TYPE/HELP names and the `# EOF` trailer, fixed up here.
    pub fn encode(&self) -> String {
        let mut open = String::new();
        if prometheus_client::encoding::text::encode(&mut open, &self.registry).is_err() {
            return String::new();
        }
        let mut out = String::with_capacity(open.len());
        let mut counters = Vec::new();
        for line in open.lines() {
            if let Some(name) = line
                .strip_prefix("# TYPE ")
                .and_then(|r| r.strip_suffix(" counter"))
            {
                counters.push(name.to_string());
            }
        }
        for line in open.lines() {
            if line == "# EOF" {
                continue;
            }
            let fixed = fix_meta_line(line, &counters);
            out.push_str(fixed.as_deref().unwrap_or(line));
            out.push('\n');
        }
        out
    }
}

/// `# HELP x ...` / `# TYPE x counter` → `x_total` for counters (0.0.4 names the sample).
fn fix_meta_line(line: &str, counters: &[String]) -> Option<String> {
    for prefix in ["# HELP ", "# TYPE "] {
        if let Some(rest) = line.strip_prefix(prefix) {
            let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            if counters.iter().any(|c| c == name) {
                return Some(format!("{prefix}{name}_total {tail}"));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_and_label_value_is_exposed_at_start() {
        let m = Metrics::new();
        m.set_exclusions(&["client-diagnostics".into()]);
        let text = m.encode();
        for sample in [
            "idlegate_requests_total{class=\"activity\"} 0",
            "idlegate_requests_total{class=\"excluded\"} 0",
            "idlegate_requests_total{class=\"anonymous\"} 0",
            "idlegate_requests_total{class=\"rejected\"} 0",
            "idlegate_excluded_requests_total{exclusion=\"client-diagnostics\"} 0",
            "idlegate_tokens_tracked 0",
            "idlegate_tokens_revoked 0",
            "idlegate_tracking_overflow_total 0",
            "idlegate_revocations_total{reason=\"inactivity\"} 0",
            "idlegate_revocations_total{reason=\"absolute\"} 0",
            "idlegate_revocations_total{reason=\"admin\"} 0",
            "idlegate_shadow_revocations_total 0",
            "idlegate_upstream_request_duration_seconds_count 0",
            "idlegate_upstream_errors_total{kind=\"connect\"} 0",
            "idlegate_upstream_errors_total{kind=\"timeout\"} 0",
            "idlegate_upstream_errors_total{kind=\"other\"} 0",
            "idlegate_config_reloads_total{result=\"ok\"} 0",
            "idlegate_config_reloads_total{result=\"error\"} 0",
            "idlegate_revocation_hook_total{hook=\"webhook\",result=\"ok\"} 0",
            "idlegate_revocation_hook_total{hook=\"rfc7009\",result=\"error\"} 0",
            "idlegate_state_sync_lag_seconds 0",
            "idlegate_upstream_connections 0",
            "idlegate_connections_open 0",
            "idlegate_connections_rejected_total 0",
            "idlegate_state_errors_total{op=\"read\"} 0",
        ] {
            assert!(text.contains(sample), "missing {sample} in\n{text}");
        }
        assert!(!text.contains("# EOF"));
        assert!(text.contains("# TYPE idlegate_requests_total counter"));
    }

    #[test]
    fn exclusion_series_follow_the_live_labels() {
        let m = Metrics::new();
        let handles = m.set_exclusions(&["a".into(), "GET /x".into()]);
        handles[1].inc();
        m.set_exclusions(&["GET /x".into()]);
        let text = m.encode();
        assert!(!text.contains("exclusion=\"a\""));
        assert!(text.contains("idlegate_excluded_requests_total{exclusion=\"GET /x\"} 1"));
    }
}
