//! Revocation hooks (docs/reference.md, "Revocation hooks"): a webhook and RFC 7009 token revocation at the identity
//! provider. They run on a background task fed by a bounded queue, retry with backoff, and
//! never block or fail a request. A full queue drops the event and counts it as an error.

mod send;

use std::sync::Arc;

use arc_swap::ArcSwap;
use dashmap::DashMap;
use tokio::sync::mpsc;

use crate::config::RevocationConfig;
use crate::store::Revocation;
use crate::telemetry::HookCounters;
use crate::token::TokenKey;

/// Pending hook deliveries; beyond this, events are dropped (and counted as errors).
pub(crate) const QUEUE_BOUND: usize = 10_000;

pub(crate) struct Job {
    rev: Revocation,
    /// The raw token, only when RFC 7009 is configured.
    raw: Option<Box<str>>,
}

pub struct Hooks {
    config: Arc<ArcSwap<RevocationConfig>>,
    tx: parking_lot::Mutex<Option<mpsc::Sender<Job>>>,
    /// Raw tokens of tracked tokens, kept in memory only and only while RFC 7009 is
    /// configured: revocation at the IdP needs the token itself, not its id.
    raw_tokens: DashMap<TokenKey, Box<str>>,
    results: std::sync::OnceLock<HookCounters>,
}

impl Hooks {
    pub fn new(config: &RevocationConfig) -> Hooks {
        Hooks {
            config: Arc::new(ArcSwap::from_pointee(config.clone())),
            tx: parking_lot::Mutex::new(None),
            raw_tokens: DashMap::new(),
            results: std::sync::OnceLock::new(),
        }
    }

    /// Starts the delivery task (inside a runtime). `ok`/`error` counters per hook.
    pub fn start(&self, results: HookCounters) {
        let (tx, rx) = mpsc::channel(QUEUE_BOUND);
        *self.tx.lock() = Some(tx);
        let _ = self.results.set(results.clone());
        tokio::spawn(send::deliver(rx, self.config.clone(), results));
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

    pub fn revoked(&self, rev: &Revocation) {
        let raw = self.raw_tokens.remove(&rev.key).map(|(_, raw)| raw);
        let cfg = self.config.load();
        if cfg.webhook.is_none() && cfg.rfc7009.is_none() {
            return;
        }
        let Some(tx) = self.tx.lock().clone() else {
            return;
        };
        if tx
            .try_send(Job {
                rev: rev.clone(),
                raw,
            })
            .is_err()
        {
            tracing::warn!(token_id = %rev.key, "revocation hook queue full; event dropped");
            if let Some(results) = self.results.get() {
                send::count_dropped(results, &cfg);
            }
        }
    }
}
