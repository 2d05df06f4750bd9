//! The revocation hook families (docs/reference.md, "Metrics"): delivery results by hook and
//! the deliveries not yet finished, by hook.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// The hooks, as the `hook` label spells them.
pub(crate) const HOOKS: [&str; 2] = ["webhook", "rfc7009"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HookResultLabel {
    hook: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HookLabel {
    hook: &'static str,
}

#[derive(Default)]
pub struct HookMetrics {
    results: Family<HookResultLabel, Counter>,
    queue: Family<HookLabel, Gauge>,
}

/// One hook's handles, resolved once.
#[derive(Clone, Debug, Default)]
pub struct HookCounters {
    /// Deliveries that got a 2xx.
    pub ok: Counter,
    /// Deliveries given up: refused (4xx), out of retry time, or dropped from a full queue.
    pub error: Counter,
    /// Deliveries accepted and not finished: waiting, in flight, or waiting to retry.
    pub queue: Gauge,
}

impl HookMetrics {
    pub(super) fn register(&self, r: &mut Registry) {
        r.register(
            "idlegate_revocation_hook",
            "Revocation hook deliveries by hook and result",
            self.results.clone(),
        );
        r.register(
            "idlegate_revocation_hook_queue",
            "Revocation hook deliveries not finished (waiting, in flight or retrying), by hook",
            self.queue.clone(),
        );
    }

    pub(super) fn create_label_values(&self) {
        for hook in HOOKS {
            self.counters(hook);
        }
    }

    /// The handles of `hook` (one of [`HOOKS`]).
    pub fn counters(&self, hook: &'static str) -> HookCounters {
        let result = |result| {
            self.results
                .get_or_create(&HookResultLabel { hook, result })
                .clone()
        };
        HookCounters {
            ok: result("ok"),
            error: result("error"),
            queue: self.queue.get_or_create(&HookLabel { hook }).clone(),
        }
    }
}
