//! Revocation hooks (docs/reference.md, "Revocation hooks"): a webhook and RFC 7009 token
//! revocation at the identity provider. They run off the request path and never block or fail
//! a request.
//!
//! # Layout
//!
//! - this module: [`Hooks`], what the rest of the gateway calls (a revocation to deliver,
//!   raw tokens to keep for RFC 7009, a reload), and the start/stop of delivery;
//! - `job`: one delivery and what it sends; `lane`: per hook, the bound on unfinished
//!   deliveries and on attempts in flight;
//! - `deliver`: the dispatcher and the retry loop; `retry`: which answers are retried, and
//!   the jittered delays; `send`: one attempt over HTTP(S);
//! - `lease`: one replica at a time makes a token's RFC 7009 call (Redis backend);
//! - `pending`: deliveries kept across a graceful restart.

mod deliver;
mod job;
mod lane;
mod lease;
mod pending;
mod retry;
mod send;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;
use dashmap::DashMap;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::clock::Clock;
use crate::config::RevocationConfig;
use crate::store::redis::Shared;
use crate::store::Revocation;
use crate::telemetry::hooks::HookMetrics;
use crate::token::TokenKey;
use deliver::{Ctx, Transport};
#[cfg(test)]
use job::HookKind;
use job::{Job, Payload, WebhookEvent};
use lane::Lanes;
use lease::{Lease, RedisLease};
pub(crate) use pending::path_beside as pending_path_beside;

pub struct Hooks {
    config: Arc<ArcSwap<RevocationConfig>>,
    lanes: Arc<Lanes>,
    tx: parking_lot::Mutex<Option<mpsc::UnboundedSender<Job>>>,
    /// Raw tokens of tracked tokens, kept in memory only and only while RFC 7009 is
    /// configured: revocation at the IdP needs the token itself, not its id.
    raw_tokens: DashMap<TokenKey, Box<str>>,
}

impl Hooks {
    pub fn new(config: &RevocationConfig, metrics: &HookMetrics) -> Hooks {
        Hooks {
            config: Arc::new(ArcSwap::from_pointee(config.clone())),
            lanes: Arc::new(Lanes::new(metrics)),
            tx: parking_lot::Mutex::new(None),
            raw_tokens: DashMap::new(),
        }
    }

    /// Starts delivery (inside a runtime): first the deliveries kept by the last graceful
    /// stop in `pending_file`, then every revocation. When `stop` resolves, attempts in
    /// flight finish and the deliveries not finished are written to `pending_file`.
    /// With the Redis backend, `shared` holds the lease that makes one replica call RFC 7009.
    pub fn start(
        self: &Arc<Self>,
        clock: Clock,
        pending_file: Option<PathBuf>,
        shared: Option<Arc<Shared>>,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let transport = HttpTransport {
            client: send::hook_client(),
        };
        let lease = shared.map(|s| Arc::new(RedisLease::new(s)) as Arc<dyn Lease>);
        self.start_with(transport, clock, pending_file, lease, stop)
    }

    fn start_with<T: Transport>(
        self: &Arc<Self>,
        transport: T,
        clock: Clock,
        pending_file: Option<PathBuf>,
        lease: Option<Arc<dyn Lease>>,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let (tx, rx) = mpsc::unbounded_channel();
        *self.tx.lock() = Some(tx);
        if let Some(path) = &pending_file {
            self.resume(path, &clock);
        }
        let ctx = Arc::new(Ctx {
            transport,
            config: self.config.clone(),
            lanes: self.lanes.clone(),
            lease,
        });
        let hooks = self.clone();
        tokio::spawn(async move {
            let unfinished = deliver::run(rx, ctx, stop).await;
            hooks.tx.lock().take();
            keep_unfinished(pending_file.as_deref(), &unfinished, &clock);
        })
    }

    /// Queues the deliveries a graceful stop kept.
    fn resume(&self, path: &std::path::Path, clock: &Clock) {
        match pending::load(path, clock) {
            Ok((jobs, bad)) => {
                if bad > 0 {
                    tracing::warn!(file = %path.display(), lines = bad, "unreadable lines in the pending hook deliveries skipped");
                }
                if !jobs.is_empty() {
                    tracing::info!(file = %path.display(), deliveries = jobs.len(), "resuming revocation hook deliveries kept at the last stop");
                }
                for job in jobs {
                    self.submit(job, &self.config.load());
                }
            }
            Err(e) => {
                tracing::error!(file = %path.display(), error = %e, "cannot read the pending hook deliveries")
            }
        }
    }

    pub fn reconfigure(&self, config: &RevocationConfig) {
        if config.rfc7009.is_none() {
            self.raw_tokens.clear();
        }
        self.config.store(Arc::new(config.clone()));
    }

    pub fn wants_raw_tokens(&self) -> bool {
        self.config.load().rfc7009.is_some()
    }

    /// Keeps the raw token of a tracked token (RFC 7009 only).
    pub fn remember(&self, key: TokenKey, raw: &str) {
        if self.wants_raw_tokens() && !self.raw_tokens.contains_key(&key) {
            self.raw_tokens.insert(key, raw.into());
        }
    }

    pub fn forget(&self, key: &TokenKey) {
        self.raw_tokens.remove(key);
    }

    /// Queues a delivery to each configured hook.
    pub fn revoked(&self, rev: &Revocation) {
        let raw = self.raw_tokens.remove(&rev.key).map(|(_, raw)| raw);
        let cfg = self.config.load();
        let retry_until = Instant::now() + cfg.retry_for;
        if cfg.webhook.is_some() {
            let payload = Payload::Webhook(WebhookEvent::of(rev));
            self.submit(Job::new(payload, retry_until), &cfg);
        }
        if let (Some(_), Some(raw)) = (&cfg.rfc7009, raw) {
            self.submit_rfc7009(rev.key, raw, &cfg);
        }
    }

    /// A revocation decided on another replica: with the raw token here, this replica is a
    /// candidate for the RFC 7009 call (one replica makes it, see `lease`).
    pub fn learned(&self, key: &TokenKey) {
        let Some((_, raw)) = self.raw_tokens.remove(key) else {
            return;
        };
        let cfg = self.config.load();
        if cfg.rfc7009.is_some() {
            self.submit_rfc7009(*key, raw, &cfg);
        }
    }

    fn submit_rfc7009(&self, key: TokenKey, raw: Box<str>, cfg: &RevocationConfig) {
        let token_id = key.to_hex();
        let payload = Payload::Rfc7009 { key, token_id, raw };
        self.submit(Job::new(payload, Instant::now() + cfg.retry_for), cfg);
    }

    fn submit(&self, job: Job, cfg: &RevocationConfig) {
        let lane = self.lanes.get(job.kind());
        let hook = job.kind().as_str();
        if !lane.reserve(cfg.max_pending) {
            lane.counters.error.inc();
            tracing::warn!(
                hook,
                token_id = job.token_id(),
                max_pending = cfg.max_pending,
                "revocation hook queue full; delivery dropped"
            );
            return;
        }
        let sent = match self.tx.lock().as_ref() {
            Some(tx) => tx.send(job).map_err(|refused| refused.0),
            None => Err(job),
        };
        if let Err(job) = sent {
            lane.finish();
            lane.counters.error.inc();
            tracing::warn!(
                hook,
                token_id = job.token_id(),
                "revocation hooks not running; delivery dropped"
            );
        }
    }

    #[cfg(test)]
    pub(crate) fn pending(&self, kind: HookKind) -> usize {
        self.lanes.get(kind).pending()
    }
}

fn keep_unfinished(path: Option<&std::path::Path>, jobs: &[Job], clock: &Clock) {
    let Some(path) = path else {
        if !jobs.is_empty() {
            tracing::warn!(deliveries = jobs.len(), "revocation hook deliveries not finished at stop are lost: set state.snapshot to keep them across a restart");
        }
        return;
    };
    match pending::save(path, jobs, clock) {
        Ok(not_kept) => {
            if not_kept > 0 {
                tracing::warn!(deliveries = not_kept, "RFC 7009 deliveries not finished at stop are lost: they need the raw token, which is never written to disk");
            }
            let kept = jobs.len() - not_kept;
            if kept > 0 {
                tracing::info!(file = %path.display(), deliveries = kept, "revocation hook deliveries not finished kept for the next start");
            }
        }
        Err(e) => {
            tracing::error!(file = %path.display(), error = %e, deliveries = jobs.len(), "cannot keep the pending hook deliveries")
        }
    }
}

struct HttpTransport {
    client: send::HttpClient,
}

impl Transport for HttpTransport {
    async fn attempt(&self, cfg: &RevocationConfig, payload: &Payload) -> Option<retry::Attempt> {
        send::attempt(&self.client, cfg, payload).await
    }
}

#[cfg(test)]
#[path = "hooks_tests.rs"]
mod hooks_tests;
