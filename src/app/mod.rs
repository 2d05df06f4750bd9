//! A running gateway's parts: the live policy (swapped atomically on Save or reload), the
//! token state, the keyer, metrics, open tunnels and revocation hooks.
//!
//! # Layout
//!
//! - this file: [`App`], [`Live`] and the config apply.
//! - `restart`: which config changes need a restart.
//! - [`trial`]: the trial list's would-be revocations, as listed; `trial_file`: kept beside
//!   the snapshot across a restart.
//! - [`effects`]: the effects hub, the one place a revocation reported by the token state
//!   fans out (audit log, metrics, recent-revocations ring, tunnels, hooks).

pub(crate) mod effects;
mod restart;
pub mod trial;
pub(crate) mod trial_file;

use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};
use prometheus_client::metrics::counter::Counter;

use crate::catalog::slot::CatalogSlot;
use crate::classify::Classifier;
use crate::clock::Clock;
use crate::config::Config;
use crate::evidence::{Evidence, TemplateId};
use crate::identity::Identity;
use crate::proxy_load::ProxyLoad;
use crate::revocation::Hooks;
use crate::store::effects::{timing_of, Policy};
use crate::store::state::TokenState;
use crate::store::{Timing, TrialStep};
use crate::telemetry::{Class, Metrics, RevocationRing};
use crate::token::{Keyer, TokenKey};
use crate::tunnels::Tunnels;
use effects::EffectsHub;
use trial::TrialLog;

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
    /// With a trial list: its own groups and patterns, asked about `activity` requests (an
    /// enforced exclusion is one under enforced + trial too; docs/reference.md, "Trial list").
    pub trial: Option<Classifier>,
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
        // Only the trial's own patterns: it is asked about requests the enforced list found
        // to be activity, so enforced + trial excludes one exactly when these match.
        let trial = (ex.has_trial())
            .then(|| Classifier::new(&ex.groups, &ex.trial_defaults, &ex.trial_custom, false));
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
            trial,
        }
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
    /// The token state, memory or Redis: the one way to it.
    state: TokenState,
    pub keyer: Keyer,
    pub clock: Clock,
    pub metrics: Arc<Metrics>,
    pub classes: ClassCounters,
    pub tunnels: Arc<Tunnels>,
    pub hooks: Arc<Hooks>,
    /// The API catalog for the admin type-ahead; reloaded when `catalog.openapi` changes.
    catalog: ArcSwap<CatalogSlot>,
    /// Enforced revocations per minute over the last hour (admin UI figures).
    pub recent_revocations: Arc<RevocationRing>,
    /// Serialises config writers (admin Save, reload) and remembers the digest of the config
    /// file text last written or read, so that a file event caused by idlegate's own Save (or
    /// a repeated event for the same content) is recognised and skipped.
    pub config_file: parking_lot::Mutex<Option<[u8; 32]>>,
    /// The JWT verifier, with `[identity]` (its settings need a restart).
    pub identity: Option<Arc<Identity>>,
    /// Names of the live `timeout.policies` (shared with the effects hub's audit events).
    policy_names: Arc<ArcSwap<Vec<String>>>,
    /// Where revocations fan out; the token state holds it as its effects sink.
    effects: Arc<EffectsHub>,
    /// Live evidence, with `[evidence] enabled` (sized at start: its settings need a restart).
    evidence: Option<Evidence>,
    /// The trial list's would-be revocations.
    pub trial: TrialLog,
    /// How busy the proxy threads are (each registers its runtime): a mass expiry's sweep
    /// runs at full speed while they are idle.
    pub(crate) proxy_load: Arc<ProxyLoad>,
}

impl App {
    pub fn new(config: Config, keyer: Keyer, clock: Clock) -> Arc<App> {
        let metrics = Arc::new(Metrics::new());
        let hooks = Arc::new(Hooks::new(&config.revocation, &metrics.hooks));
        let tunnels = Arc::new(Tunnels::default());
        let recent_revocations = Arc::new(RevocationRing::default());
        let policy_names = Arc::new(ArcSwap::from_pointee(names_of(&config)));
        metrics.identity.set_policies(&names_of(&config));
        let effects = Arc::new(EffectsHub {
            metrics: metrics.clone(),
            recent_revocations: recent_revocations.clone(),
            tunnels: tunnels.clone(),
            hooks: hooks.clone(),
            clock: clock.clone(),
            policy_names: policy_names.clone(),
            queue: Default::default(),
        });
        let state = TokenState::new(&config, &metrics, clock.clone(), effects.clone());
        let classes = ClassCounters {
            activity: metrics.class(Class::activity),
            excluded: metrics.class(Class::excluded),
            anonymous: metrics.class(Class::anonymous),
            rejected: metrics.class(Class::rejected),
        };
        let catalog = CatalogSlot::load(config.catalog.openapi.as_deref());
        let identity = config
            .identity
            .as_ref()
            .map(|c| Arc::new(Identity::new(c, metrics.clone())));
        // Validated with the config; a config built in code with bad settings runs without.
        let evidence = (config.evidence.enabled)
            .then(|| Evidence::new(config.evidence.settings.clone()))
            .and_then(|made| {
                made.map_err(|e| tracing::error!(error = %e, "live evidence off"))
                    .ok()
            });
        let trial = TrialLog::new(metrics.evidence.trial_revocations.clone());
        if config.exclusions.has_trial() {
            state.set_trial(true, clock.now_ms());
            trial.restart(Some(clock.now_ms()));
        }
        let live = Live::build(config, &metrics);
        Arc::new(App {
            live: ArcSwap::from_pointee(live),
            state,
            keyer,
            clock,
            metrics,
            classes,
            tunnels,
            hooks,
            catalog: ArcSwap::from_pointee(catalog),
            recent_revocations,
            config_file: parking_lot::Mutex::new(None),
            identity,
            policy_names,
            effects,
            evidence,
            trial,
            proxy_load: Arc::default(),
        })
    }

    /// Starts the task that delivers the audit events and hooks of sweep batches, paced
    /// (`app::effects`); it delivers what is queued once `stop` resolves.
    pub fn start_effects(
        &self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Option<tokio::task::JoinHandle<()>> {
        self.effects.start(stop)
    }

    /// The token state: the request path, the admin API and the background tasks talk to it.
    pub fn state(&self) -> &TokenState {
        &self.state
    }

    pub fn catalog(&self) -> Arc<CatalogSlot> {
        self.catalog.load_full()
    }

    /// Live evidence; None with `[evidence] enabled = false`.
    pub fn evidence(&self) -> Option<&Evidence> {
        self.evidence.as_ref()
    }

    /// Counts a request of `key` in live evidence (docs/reference.md, "Live evidence"): its
    /// template is the catalog operation `path` matches, else the path normalised as
    /// `idlegate har` does, remembered by exact method and path; `exclusion` is the label of
    /// the exclusion that matched (None: activity). A known template allocates nothing.
    pub fn record_evidence(
        &self,
        evidence: &Evidence,
        (method, path): (&str, &str),
        exclusion: Option<&str>,
        key: &TokenKey,
        now_ms: u64,
    ) -> TemplateId {
        let slot = self.catalog.load();
        let catalog = slot.catalog.as_deref();
        let template = || Some(catalog?.match_path(method, path)?.path.as_str());
        // Another catalog (a reload) is another key: its templates are found afresh.
        let id = evidence.intern_request((method, path), slot.generation, exclusion, template);
        evidence.record(id, key, now_ms);
        id
    }

    /// A request of a token alive under the enforced list, as the trial list sees it; lists
    /// the would-be revocation it reaches, if any (docs/reference.md, "Trial list").
    pub fn trial_step(&self, live: &Live, key: &TokenKey, step: TrialStep, now_ms: u64) {
        if let Some(w) = self.state.trial_step(key, now_ms, &live.timing, step) {
            self.trial.record(w, self.evidence.as_ref());
        }
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
        let restart = restart::keys_needing_restart(&old.config, &config);
        if old.config.catalog.openapi != config.catalog.openapi {
            let slot = CatalogSlot::load(config.catalog.openapi.as_deref());
            self.catalog.store(Arc::new(slot));
        }
        let new = Live::build(config, &self.metrics);
        // Switching the timeout back on starts every token afresh (docs/reference.md, "Tracking").
        let switched_on = !old.config.timeout.enabled && new.config.timeout.enabled;
        let policy = Policy::of(&new.config);
        let max_tracked = new.config.tokens.max_tracked;
        self.hooks.reconfigure(&new.config.revocation);
        let names = names_of(&new.config);
        self.metrics.identity.set_policies(&names);
        self.policy_names.store(Arc::new(names.clone()));
        let trial_changed = old.config.exclusions.trial_defaults
            != new.config.exclusions.trial_defaults
            || old.config.exclusions.trial_custom != new.config.exclusions.trial_custom;
        let has_trial = new.config.exclusions.has_trial();
        self.live.store(Arc::new(new));
        self.state.apply(policy, max_tracked, switched_on, names);
        // Another trial list starts over: its timers and listings (docs/reference.md, "Trial list").
        if trial_changed {
            let now_ms = self.clock.now_ms();
            self.state.set_trial(has_trial, now_ms);
            self.trial.restart(has_trial.then_some(now_ms));
        }
        restart
    }

    /// Ready to serve (memory: once started; Redis: once Redis was reached; with
    /// `[identity]`, once a first key set is loaded).
    pub fn is_ready(&self) -> bool {
        self.state.is_ready() && self.identity.as_ref().is_none_or(|i| i.is_ready())
    }

    /// The name of policy id `policy` (None = the default).
    pub fn policy_name(&self, policy: u8) -> Option<String> {
        effects::policy_name(&self.policy_names.load(), policy).map(str::to_owned)
    }

    /// Refreshes the state gauges (called before each scrape).
    pub fn update_gauges(&self) {
        let identity = &self.metrics.identity;
        identity.subjects.set(self.state.subjects_len() as i64);
        let counts = self.state.policy_counts();
        let names = self.policy_names.load();
        identity.set_policy_tokens("default", counts[0] as i64);
        for (name, n) in names.iter().zip(&counts[1..]) {
            identity.set_policy_tokens(name, *n as i64);
        }
        self.metrics
            .tokens_tracked
            .set(self.state.tracked_len() as i64);
        self.metrics
            .tokens_revoked
            .set(self.state.revoked_len() as i64);
        if let Some(e) = &self.evidence {
            (self.metrics.evidence).set(e.templates(), e.overflowed(), e.memory_bytes());
        }
    }
}

fn names_of(config: &Config) -> Vec<String> {
    config
        .timeout
        .policies
        .iter()
        .map(|p| p.name.clone())
        .collect()
}
