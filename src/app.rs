//! The shared state of a running gateway: the live policy (swapped atomically on Save or
//! reload), the token store, the keyer, metrics, open tunnels and revocation hooks.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};
use prometheus_client::metrics::counter::Counter;

use crate::admin::apis::CatalogSlot;
use crate::classify::Classifier;
use crate::clock::{duration_ms, rfc3339, Clock};
use crate::config::{Backend, Config, Mode};
use crate::revocation::Hooks;
use crate::store::redis::Shared;
use crate::store::{Revocation, Store, Timing};
use crate::telemetry::{Class, Metrics, RevocationRing};
use crate::token::Keyer;
use crate::tunnels::Tunnels;

/// The policy in force. Immutable; a change builds a new one and swaps it in whole, so a
/// request sees either the old or the new policy, never a mix.
pub struct Live {
    pub config: Arc<Config>,
    pub classifier: Classifier,
    /// One counter per classifier label, same order.
    pub exclusion_counters: Vec<Counter>,
    pub timing: Timing,
    /// `host:port` of `proxy.upstream` (port 80 when the URI names none).
    pub upstream_authority: Arc<str>,
}

impl Live {
    fn build(config: Config, metrics: &Metrics) -> Live {
        let ex = &config.exclusions;
        let classifier = Classifier::new(
            &ex.groups,
            &ex.enabled_defaults,
            &ex.custom,
            config.tokens.no_touch_header.is_some(),
        );
        let exclusion_counters = metrics.set_exclusions(classifier.labels());
        let timing = timing_of(&config);
        let upstream = &config.proxy.upstream;
        let upstream_authority: Arc<str> = format!(
            "{}:{}",
            upstream.host().unwrap_or("127.0.0.1"),
            upstream.port_u16().unwrap_or(80)
        )
        .into();
        Live {
            config: Arc::new(config),
            classifier,
            exclusion_counters,
            timing,
            upstream_authority,
        }
    }
}

pub fn timing_of(config: &Config) -> Timing {
    Timing {
        idle_ms: duration_ms(config.timeout.idle),
        absolute_ms: config.timeout.absolute.map(duration_ms),
        enforce: config.timeout.mode == Mode::Enforce,
        retention_ms: duration_ms(config.tokens.revoked_retention),
    }
}

/// Pre-resolved per-class request counters.
pub struct ClassCounters {
    pub activity: Counter,
    pub excluded: Counter,
    pub anonymous: Counter,
    pub rejected: Counter,
}

pub struct App {
    live: ArcSwap<Live>,
    pub store: Store,
    pub keyer: Keyer,
    pub clock: Clock,
    pub metrics: Metrics,
    pub classes: ClassCounters,
    pub tunnels: Tunnels,
    pub hooks: Hooks,
    /// The shared state (`state.backend = "redis"`); None with the memory backend, so the
    /// request path pays one branch for it.
    pub shared: Option<Arc<Shared>>,
    ready: AtomicBool,
    /// The API catalog for the admin type-ahead; reloaded when `catalog.openapi` changes.
    catalog: ArcSwap<CatalogSlot>,
    /// Enforced revocations per minute over the last hour (admin UI figures).
    pub recent_revocations: RevocationRing,
    /// Serialises config writers (admin Save, reload) and remembers the digest of the config
    /// file text last written or read, so that a file event caused by idlegate's own Save (or
    /// a repeated event for the same content) is recognised and skipped.
    pub config_file: parking_lot::Mutex<Option<[u8; 32]>>,
}

impl App {
    pub fn new(config: Config, keyer: Keyer, clock: Clock) -> Arc<App> {
        let metrics = Metrics::new();
        let store = Store::new(
            config.tokens.max_tracked,
            duration_ms(config.timeout.resolution).max(1),
            clock.now_ms(),
        );
        let hooks = Hooks::new(&config.revocation);
        let classes = ClassCounters {
            activity: metrics.class(Class::activity),
            excluded: metrics.class(Class::excluded),
            anonymous: metrics.class(Class::anonymous),
            rejected: metrics.class(Class::rejected),
        };
        let shared = (config.state.backend == Backend::Redis).then(|| {
            // Another replica may hold newer activity: expiry waits for the claim.
            store.set_deferred_expiry(true);
            Arc::new(Shared::new(&config, &metrics))
        });
        let catalog = CatalogSlot::load(config.catalog.openapi.as_deref());
        let live = Live::build(config, &metrics);
        Arc::new(App {
            live: ArcSwap::from_pointee(live),
            store,
            keyer,
            clock,
            metrics,
            classes,
            tunnels: Tunnels::default(),
            hooks,
            shared,
            ready: AtomicBool::new(false),
            catalog: ArcSwap::from_pointee(catalog),
            recent_revocations: RevocationRing::default(),
            config_file: parking_lot::Mutex::new(None),
        })
    }

    pub fn catalog(&self) -> Arc<CatalogSlot> {
        self.catalog.load_full()
    }

    pub fn live(&self) -> Guard<Arc<Live>> {
        self.live.load()
    }

    pub fn config(&self) -> Arc<Config> {
        self.live.load().config.clone()
    }

    /// Swaps in a new, already validated config. Returns the keys whose change needs a
    /// restart (listen addresses, workers, state backend), for the caller to warn about.
    pub fn apply(&self, config: Config) -> Vec<&'static str> {
        let old = self.live.load_full();
        let restart = keys_needing_restart(&old.config, &config);
        if old.config.catalog.openapi != config.catalog.openapi {
            let slot = CatalogSlot::load(config.catalog.openapi.as_deref());
            self.catalog.store(Arc::new(slot));
        }
        let new = Live::build(config, &self.metrics);
        let (was_on, now_on) = (old.config.timeout.enabled, new.config.timeout.enabled);
        let timing_changed = new.timing != old.timing;
        self.store.set_max_tracked(new.config.tokens.max_tracked);
        self.hooks.reconfigure(&new.config.revocation);
        self.live.store(Arc::new(new));
        if !was_on && now_on {
            // SPEC §10: switching the timeout back on starts every token afresh.
            self.store.clear_tracked();
        } else if timing_changed {
            // A new idle/absolute applies to every tracked token at once: per request it
            // already does (the check reads the live timing); re-file the wheel so the sweeper
            // frees memory and fires hooks at the new deadlines too.
            let live = self.live.load();
            self.store.rearm_all(self.clock.now_ms(), &live.timing);
        }
        restart
    }

    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Everything that follows a revocation decided on this replica, off the request's
    /// critical work: with Redis, storing and publishing it (queued while Redis is
    /// unreachable); then [`App::report_effects`].
    pub fn report_revocation(&self, rev: &Revocation) {
        if let (true, Some(shared)) = (rev.enforced, &self.shared) {
            let now_ms = self.clock.now_ms();
            if let Some((reason, until_ms)) = self.store.revoked_entry(&rev.key, now_ms) {
                shared.queue_revocation(&rev.key, reason, until_ms, now_ms);
            }
        }
        self.report_effects(rev);
    }

    /// Audit event, metrics, closing the token's tunnels, hooks (a revocation already in the
    /// shared state, e.g. a claimed expiry, gets only these).
    pub fn report_effects(&self, rev: &Revocation) {
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
        );
        if rev.enforced {
            self.recent_revocations.record(self.clock.now_ms());
            self.metrics.revocation(rev.reason.as_str()).inc();
            self.tunnels.close(&rev.key);
            self.hooks.revoked(rev);
        } else {
            self.metrics.shadow_revocations.inc();
        }
    }

    /// Refreshes the state gauges (called before each scrape).
    pub fn update_gauges(&self) {
        self.metrics
            .tokens_tracked
            .set(self.store.tracked_len() as i64);
        self.metrics
            .tokens_revoked
            .set(self.store.revoked_len() as i64);
    }
}

fn keys_needing_restart(old: &Config, new: &Config) -> Vec<&'static str> {
    let mut keys = Vec::new();
    if old.proxy.listen != new.proxy.listen {
        keys.push("proxy.listen");
    }
    if old.admin.listen != new.admin.listen {
        keys.push("admin.listen");
    }
    if old.proxy.workers != new.proxy.workers {
        keys.push("proxy.workers");
    }
    // The cap is sized at start; the keep-alive and header timeouts apply to each new
    // connection from the live config.
    if old.proxy.max_connections != new.proxy.max_connections {
        keys.push("proxy.max_connections");
    }
    if old.proxy.connect_timeout != new.proxy.connect_timeout {
        keys.push("proxy.connect_timeout");
    }
    if old.timeout.resolution != new.timeout.resolution {
        keys.push("timeout.resolution");
    }
    if old.tokens.hash_key_env != new.tokens.hash_key_env {
        keys.push("tokens.hash_key_env");
    }
    if old.state.backend != new.state.backend
        || old.state.snapshot != new.state.snapshot
        || old.state.snapshot_interval != new.state.snapshot_interval
        || old.state.sync_interval != new.state.sync_interval
        || old.state.redis_url != new.state.redis_url
        || old.state.prefix != new.state.prefix
    {
        keys.push("state");
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn max_connections_needs_a_restart_and_the_connection_timeouts_do_not() {
        let old = Config::with_upstream("http://127.0.0.1:1".parse().unwrap());
        let mut new = old.clone();
        new.proxy.keepalive_timeout = Duration::from_secs(5);
        new.proxy.header_timeout = Duration::from_secs(2);
        assert!(keys_needing_restart(&old, &new).is_empty());
        new.proxy.max_connections = 10;
        assert_eq!(keys_needing_restart(&old, &new), ["proxy.max_connections"]);
    }
}
