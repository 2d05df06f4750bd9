//! The one seam for shared token state: [`TokenState`]. The request path, the admin API, the
//! sweeper, persistence and the Redis tasks' start all go through it; nothing above the
//! store reaches the in-memory table or the Redis backend directly.
//!
//! # Plan of the seam
//!
//! - **An enum of backends, not a trait.** [`Backend`] is `Memory` or `Redis`; each
//!   operation is one `match`. A trait object would put a dynamic call on every request;
//!   the enum is the one branch the request path already paid (`Option<Arc<Shared>>`), and
//!   each backend keeps its own types (the Redis futures, its tasks). Redis Cluster or
//!   Sentinel is another connection inside `store/redis/` (or one more variant here whose
//!   code lives in its own folder): nothing above this file changes.
//! - **The local store stays the per-request source of truth** for both backends
//!   ([`Local`]: store, clock, effects sink, policy, readiness). Redis completes a local
//!   check (lookup of an unknown token, claim of a due one, touches queued for the flush).
//! - **Operations**: [`check`](TokenState::check) (with the Redis lookup and claim),
//!   [`track`](TokenState::track) (touches are part of `check`), [`untrack`](TokenState::untrack),
//!   [`revoke`](TokenState::revoke) and the admin's
//!   [`revoke_durably`](TokenState::revoke_durably) (journal fsync or Redis-stored wait,
//!   decided here, in `durable.rs`), [`status`](TokenState::status),
//!   [`export`](TokenState::export) (list), [`expire_due`](TokenState::expire_due) (sweeper),
//!   persistence hooks, [`spawn`](TokenState::spawn) of the backend's tasks.
//! - **Effects flow one way.** A revocation decided here is reported as a value to
//!   [`Effects`](super::effects::Effects), implemented above (`app::effects`) and handed in at
//!   construction; so is one learnt from another replica, and a token forgotten. Storing and
//!   publishing a revocation for the other replicas is the backend's part and happens here,
//!   before the sink is told.
//! - **Values down, not calls up.** The live timing and `on_error` are pushed with
//!   [`apply`](TokenState::apply); readiness is a flag the Redis supervisor sets and
//!   [`is_ready`](TokenState::is_ready) reads.
//! - **Identity**: a verified token's signature hash, subject and policy live beside its
//!   slot in the local store (`store/identity.rs`, `store/subjects.rs`);
//!   [`verified`](TokenState::verified), [`track_verified`](TokenState::track_verified),
//!   [`subject_tokens`](TokenState::subject_tokens) are here;
//!   [`revoke_subject`](TokenState::revoke_subject) is in `durable.rs`.
//!
//! Imports: this file → `local`, `effects`, `redis`, the store's types; never `app`,
//! `admin`, `proxy` or `revocation`.

use std::future::Future;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::effects::{Effects, Policy};
use super::expire::SWEEP_BATCH;
use super::identity::{SubjectToken, Verified};
use super::journal::Journal;
use super::local::Local;
use super::memory::Store;
use super::redis::{FlushStats, Shared, Unavailable};
use super::types::TrackedRecord;
use super::types::{
    Check, NewIdent, Revocation, RevokeReason, RevokedRecord, Status, Timing, Track,
};
use crate::clock::{duration_ms, Clock, UnixMs};
use crate::config::{Backend as BackendKind, Config};
use crate::pace::Pace;
use crate::proxy_load::LoadWatch;
use crate::telemetry::Metrics;
use crate::token::TokenKey;

/// A mass expiry's share of a core while the proxy threads work ([`crate::pace`]; full speed
/// while they are idle): a million tokens in some 17 s. At a quarter a steady client's slowest
/// request rose from 6–10 ms to 17–23 ms on 2 cores, at a twentieth it did not (`bash
/// benches/mass_expiry.sh`). Meanwhile each request checks its token's deadline itself.
const SWEEP_SHARE: f64 = 0.05;

/// Where the state is kept beyond this replica's memory.
#[derive(Clone)]
pub(crate) enum Backend {
    /// This replica alone (snapshot and revocation journal when `state.snapshot` is set).
    Memory,
    /// Shared with other replicas through Redis.
    Redis(Arc<Shared>),
}

/// Token state of a running gateway. Cheap to clone (two `Arc`s).
#[derive(Clone)]
pub struct TokenState {
    pub(crate) local: Arc<Local>,
    pub(crate) backend: Backend,
}

impl TokenState {
    pub fn new(
        config: &Config,
        metrics: &Metrics,
        clock: Clock,
        effects: Arc<dyn Effects>,
    ) -> TokenState {
        let store = Store::new(
            config.tokens.max_tracked,
            duration_ms(config.timeout.resolution).max(1),
            clock.now_ms(),
        );
        let backend = match config.state.backend {
            BackendKind::Memory => Backend::Memory,
            BackendKind::Redis => {
                // Another replica may hold newer activity: expiry waits for the claim.
                store.set_deferred_expiry(true);
                Backend::Redis(Arc::new(Shared::new(config, metrics)))
            }
        };
        store.set_policy_names(super::effects::policy_names(config));
        let local = Local::new(store, clock, effects, Policy::of(config));
        TokenState {
            local: Arc::new(local),
            backend,
        }
    }

    /// The request path: revoked? expired (reported)? touched when `touch`. With Redis an
    /// unknown token is looked up and a due one claimed; `Unavailable` when Redis cannot be
    /// asked and `state.on_error = "closed"`. Never returns `Check::Due`.
    pub async fn check(
        &self,
        key: &TokenKey,
        now_ms: UnixMs,
        timing: &Timing,
        touch: bool,
    ) -> Result<Check, Unavailable> {
        let check = self.local.store.check(key, now_ms, timing, touch);
        self.complete(key, check, now_ms, timing, touch).await
    }

    /// [`TokenState::check`] of a token whose bytes hash to `sig` (identity on; 0 = not
    /// compared). A token verified here with other bytes is `Check::Unverified`, and one this
    /// replica does not hold is `Check::Unknown` without asking Redis: the caller verifies it
    /// first, then checks again with `sig` 0, so that nothing unverified touches shared state.
    pub async fn check_signed(
        &self,
        key: &TokenKey,
        now_ms: UnixMs,
        timing: &Timing,
        touch: bool,
        sig: u64,
    ) -> Result<Check, Unavailable> {
        let check = self
            .local
            .store
            .check_signed(key, now_ms, timing, touch, sig);
        match check {
            Check::Unknown | Check::Unverified if sig != 0 => Ok(check),
            check => self.complete(key, check, now_ms, timing, touch).await,
        }
    }

    /// What the backend adds to a local check: reporting (memory), or the lookup, claim and
    /// flush queue (Redis).
    async fn complete(
        &self,
        key: &TokenKey,
        check: Check,
        now_ms: UnixMs,
        timing: &Timing,
        touch: bool,
    ) -> Result<Check, Unavailable> {
        match &self.backend {
            Backend::Memory => {
                if let Check::Expired(rev) | Check::Due(rev) = &check {
                    self.local.effects().revoked(rev);
                }
                Ok(check)
            }
            // Unknown → lookup; due → claim; touch → queued for the flush. An expiry it
            // returns is reported already.
            Backend::Redis(shared) => {
                shared
                    .resolve(&self.local, key, check, now_ms, timing, touch)
                    .await
            }
        }
    }

    /// Starts tracking a token (queued for the flush with Redis when new).
    pub fn track(
        &self,
        key: &TokenKey,
        now_ms: UnixMs,
        jwt_exp_ms: Option<UnixMs>,
        timing: &Timing,
    ) -> Track {
        let track = self.local.store.track(key, now_ms, jwt_exp_ms, timing);
        if let (Track::New { .. }, Backend::Redis(shared)) = (&track, &self.backend) {
            shared.tracked_here(key, now_ms);
        }
        track
    }

    /// Stops tracking (the upstream refused the token); the sink forgets it. Returns whether
    /// it was tracked.
    pub fn untrack(&self, key: &TokenKey) -> bool {
        let was = self.local.store.untrack(key);
        if was {
            self.local.effects().forgotten(key);
        }
        was
    }

    /// Revokes now with `reason`, known or not, and reports it (stored and published with
    /// Redis, without waiting). The admin API uses [`TokenState::revoke_durably`].
    pub fn revoke(&self, key: &TokenKey, reason: RevokeReason, now_ms: UnixMs) -> Revocation {
        let timing = self.local.policy().timing;
        let rev = self.local.store.revoke(key, reason, now_ms, &timing);
        self.report_decided(&rev);
        rev
    }

    /// A revocation decided on this replica: with Redis, stored and published (queued while
    /// Redis is unreachable); then the sink.
    fn report_decided(&self, rev: &Revocation) {
        match &self.backend {
            Backend::Memory => self.local.effects().revoked(rev),
            Backend::Redis(shared) => shared.report_decided(&self.local, rev),
        }
    }

    /// A token's state for the admin API, under the live timing.
    pub fn status(&self, key: &TokenKey, now_ms: UnixMs) -> Status {
        let timing = self.local.policy().timing;
        self.local.store.status(key, now_ms, &timing)
    }

    /// Every tracked token and revoked key (snapshot, listing).
    pub fn export(&self) -> (Vec<TrackedRecord>, Vec<RevokedRecord>) {
        self.local.store.export()
    }

    pub fn tracked_len(&self) -> usize {
        self.local.store.tracked_len()
    }

    pub fn revoked_len(&self) -> usize {
        self.local.store.revoked_len()
    }

    /// The sweeper's tick: expires what is due, [`SWEEP_BATCH`] tokens at a time under short
    /// shard locks; each batch goes to the effects sink (memory: counted at once, the rest
    /// delivered later) or is claimed (Redis: the claim decides, and reports). Between batches
    /// the task yields and, while the proxy threads work, rests as [`SWEEP_SHARE`] owes
    /// (docs/reference.md, "Expiry and revocation"); no rests once `rush` is cancelled.
    pub(crate) async fn expire_due(&self, rush: &CancellationToken, proxy: &mut LoadWatch) {
        let timing = self.local.policy().timing;
        let mut pace = Pace::new(SWEEP_SHARE);
        (self.local.store).keep_trial_epoch(self.local.clock.now_ms());
        loop {
            let started = std::time::Instant::now();
            let now_ms = self.local.clock.now_ms();
            let (due, more) = self.local.store.expire_some(now_ms, &timing, SWEEP_BATCH);
            let work = started.elapsed();
            match &self.backend {
                Backend::Memory => self.local.effects().revoked_batch(due).await,
                Backend::Redis(shared) => shared.claim_due(&self.local, due, &timing).await,
            }
            if !more {
                return;
            }
            if !proxy.proxy_idle() {
                pace.worked(work);
                if pace.pause_unless(rush).await {
                    continue;
                }
            }
            tokio::task::yield_now().await;
        }
    }

    /// A config was applied: the new policy, the table's cap, the names of
    /// `timeout.policies` in order, and what a timing change does to tracked tokens.
    /// `timeout_switched_on`: switching the timeout back on starts every token afresh
    /// (docs/reference.md, "Expiry and revocation").
    pub fn apply(
        &self,
        policy: Policy,
        max_tracked: usize,
        timeout_switched_on: bool,
        policy_names: Vec<String>,
    ) {
        let store = &self.local.store;
        let old = self.local.policy();
        store.set_max_tracked(max_tracked);
        // Policies renamed, moved or removed: each token keeps its policy by name.
        store.set_policy_names(policy_names);
        self.local.set_policy(policy);
        if timeout_switched_on {
            store.clear_tracked();
        } else if policy.timing != old.timing {
            // A new idle/absolute applies to every tracked token at once: per request it
            // already does (the check reads the live timing); re-file the wheel so the
            // sweeper frees memory and fires hooks at the new deadlines too.
            store.rearm_all(self.local.clock.now_ms(), &policy.timing);
        }
    }

    /// Starts the backend's tasks (Redis: connection supervisor and flusher; on `shutdown`
    /// the flusher writes what is left). The memory backend has none and is ready at once.
    pub fn spawn(
        &self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Option<tokio::task::JoinHandle<()>> {
        match &self.backend {
            Backend::Memory => {
                self.local.set_ready();
                None
            }
            Backend::Redis(shared) => Some(super::redis::spawn(
                self.local.clone(),
                shared.clone(),
                shutdown,
            )),
        }
    }

    /// Ready to serve: at once with the memory backend, once Redis was reached with Redis.
    pub fn is_ready(&self) -> bool {
        self.local.is_ready()
    }

    /// Attaches the revocation journal admin revocations are made durable in (once, at
    /// start; a second one is refused and handed back).
    pub fn attach_journal(&self, journal: Journal) -> Result<(), Journal> {
        self.local.store.attach_journal(journal)
    }

    /// The Redis backend, for tests and benchmarks that watch its connection.
    pub fn redis(&self) -> Option<&Arc<Shared>> {
        match &self.backend {
            Backend::Redis(shared) => Some(shared),
            Backend::Memory => None,
        }
    }

    /// Writes pending revocations and touched tokens to Redis now (benchmarks, tests).
    pub async fn flush_to_redis(&self) -> Option<FlushStats> {
        Some(self.redis()?.flush(&self.local).await)
    }

    /// Whether the tracked token was verified with the bytes whose signature hash is `sig`.
    pub fn verified(&self, key: &TokenKey, sig: u64) -> Verified {
        self.local.store.verified(key, sig)
    }

    /// [`TokenState::track`] of a verified token, keeping its signature hash, subject and
    /// policy.
    pub fn track_verified(
        &self,
        key: &TokenKey,
        now_ms: UnixMs,
        jwt_exp_s: Option<u64>,
        timing: &Timing,
        ident: NewIdent<'_>,
    ) -> Track {
        let track = self
            .local
            .store
            .track_with(key, now_ms, jwt_exp_s, timing, ident);
        if let (Track::New { .. }, Backend::Redis(shared)) = (&track, &self.backend) {
            shared.tracked_here(key, now_ms);
        }
        track
    }

    /// Records a verification of a token already tracked (learnt from another replica).
    pub fn attach(&self, key: &TokenKey, ident: NewIdent<'_>) -> bool {
        self.local.store.attach(key, ident)
    }

    /// A token's subject and policy id (0 = default), when known here.
    pub fn ident(&self, key: &TokenKey, now_ms: UnixMs) -> (Option<Arc<str>>, u8) {
        self.local.store.ident(key, now_ms)
    }

    /// The tokens of `subject`, under the live timing: those known here and, with Redis, those
    /// only other replicas saw (their remaining time under the default timing). With Redis
    /// unreachable, those known here (logged).
    pub async fn subject_tokens(&self, subject: &str, now_ms: UnixMs) -> Vec<SubjectToken> {
        let timing = self.local.policy().timing;
        let here = self.local.store.subject_tokens(subject, now_ms, &timing);
        match &self.backend {
            Backend::Memory => here,
            Backend::Redis(shared) => shared.subject_tokens(subject, here, &timing).await,
        }
    }

    /// A tracked token's times, subject and policy, as this replica holds them.
    pub fn record(&self, key: &TokenKey) -> Option<TrackedRecord> {
        self.local.store.record(key)
    }

    /// Distinct subjects held here.
    pub fn subjects_len(&self) -> usize {
        self.local.store.subjects_len()
    }

    /// Tracked tokens by policy id (index 0 = default).
    pub fn policy_counts(&self) -> Vec<usize> {
        self.local.store.policy_counts()
    }
}
