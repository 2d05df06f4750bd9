//! Shared token state in Redis for several replicas behind one load balancer (SPEC §4, §10
//! "State details"; the design and failure table are in docs/replicas.md).
//!
//! The local [`Store`](crate::store::Store) stays the per-request source of truth. Redis adds:
//! - a lookup when a token is locally unknown (one round trip per token per replica);
//! - a dirty set of touched tokens, flushed every `state.sync_interval` (newest activity wins);
//! - expiry by claim: a locally due token is expired by one atomic script that knows every
//!   replica's flushed activity; the claiming replica alone runs audit and hooks;
//! - revocations published on a channel and stored as keys, so a replica that missed the
//!   message learns on lookup, on flush, on claim, or by the sweep after a reconnect.
//!
//! Tasks: the connection supervisor (`conn`: connect with backoff, subscribe, apply messages)
//! and the flusher (`sync`). Both start with [`spawn`].

mod conn;
mod keys;
mod path;
mod pubsub;
mod scripts;
mod sync;

pub use keys::Keys;
pub use scripts::{ClaimReply, FlushReply};
pub use sync::FlushStats;

/// Every parse of what Redis sends back (pub/sub messages, stored values, script and lookup
/// replies), for the fuzz targets and their corpus test.
pub(crate) mod decode {
    pub(crate) use super::keys::{parse_message, parse_revoked_value};
    pub(crate) use super::path::{decode_lookup, Known};
    pub(crate) use super::pubsub::decode_push;
    pub(crate) use super::scripts::{decode_claim, decode_flush};
}

use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::MultiplexedConnection;
use dashmap::DashMap;
use parking_lot::{Mutex, RwLock};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::{oneshot, Notify};

use crate::clock::UnixMs;
use crate::config::Config;
use crate::store::local::Local;
use crate::store::{Revocation, RevokeReason};
use crate::telemetry::Metrics;
use crate::token::TokenKey;
use scripts::Scripts;

/// Touched tokens waiting for the flush, at most; beyond, touches are dropped and counted.
const MAX_DIRTY: usize = 10_000_000;
/// Revocations waiting for Redis, at most (an outage with more loses the oldest, counted).
const MAX_PENDING: usize = 1_000_000;

/// A locally unknown token while Redis is unreachable and `state.on_error = "closed"`.
#[derive(Debug, thiserror::Error)]
#[error("token state is temporarily unavailable")]
pub struct Unavailable;

/// A revocation decided here that Redis has not stored yet.
#[derive(Debug)]
struct PendingRevocation {
    key: TokenKey,
    reason: RevokeReason,
    until_ms: UnixMs,
    since_ms: UnixMs,
    /// Told once Redis has stored it (an admin revocation waits for that before answering).
    stored: Option<oneshot::Sender<()>>,
}

struct ErrorCounters {
    read: Counter,
    write: Counter,
    publish: Counter,
}

/// The Redis side of the state: the backend `Redis` of [`TokenState`](crate::store::state::TokenState).
/// Its tasks get this replica's [`Local`] state.
pub struct Shared {
    keys: Keys,
    /// None when the URL could not be parsed (logged once): Redis then counts as unreachable.
    client: Option<::redis::Client>,
    scripts: Scripts,
    conn: RwLock<Option<MultiplexedConnection>>,
    up: AtomicBool,
    /// Token → when it first became dirty (for the sync-lag gauge).
    dirty: DashMap<TokenKey, UnixMs>,
    pending: Mutex<VecDeque<PendingRevocation>>,
    /// Oldest unflushed change, 0 = none.
    oldest_unflushed: AtomicU64,
    /// Wakes the flusher at once (a revocation to publish, a reconnect).
    flush_now: Notify,
    /// A command failed: the supervisor checks the connection.
    suspect: Notify,
    errors: ErrorCounters,
    /// `idlegate_state_sync_lag_seconds`.
    sync_lag: Gauge<f64, AtomicU64>,
    sync_interval: Duration,
    /// The data set's epoch seen at the last connect.
    epoch: Mutex<Option<String>>,
}

impl Shared {
    pub fn new(config: &Config, metrics: &Metrics) -> Shared {
        let state = &config.state;
        let url = state
            .redis_url
            .clone()
            .unwrap_or_else(|| "redis://127.0.0.1:6379".to_owned());
        let client = match resp3_client(&url) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::error!(error = %e, "state.redis_url is not usable; Redis counts as unreachable");
                None
            }
        };
        Shared {
            keys: Keys::new(&state.prefix),
            client,
            scripts: Scripts::new(),
            conn: RwLock::new(None),
            up: AtomicBool::new(false),
            dirty: DashMap::new(),
            pending: Mutex::new(VecDeque::new()),
            oldest_unflushed: AtomicU64::new(0),
            flush_now: Notify::new(),
            suspect: Notify::new(),
            errors: ErrorCounters {
                read: metrics.state_error("read"),
                write: metrics.state_error("write"),
                publish: metrics.state_error("publish"),
            },
            sync_lag: metrics.state_sync_lag.clone(),
            sync_interval: state.sync_interval.max(Duration::from_millis(10)),
            epoch: Mutex::new(None),
        }
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Connected to Redis now.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    /// Waits until connected, at most `within` (benchmarks, tests).
    pub async fn wait_up(&self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        while !self.is_up() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    /// The request path after a touch (or a new tracked token): queue it for the flush.
    /// Cheap when the token is already queued (one shard read lock).
    pub fn touched(&self, key: &TokenKey, now_ms: UnixMs) {
        if self.dirty.contains_key(key) {
            return;
        }
        if self.dirty.len() >= MAX_DIRTY {
            self.errors.write.inc();
            return;
        }
        self.dirty.entry(*key).or_insert(now_ms);
        self.note_unflushed(now_ms);
    }

    /// A revocation decided on this replica (admin, or an expiry while Redis was
    /// unreachable): stored and published by the flusher, at once when Redis is up, else as
    /// soon as it is back.
    pub fn queue_revocation(
        &self,
        key: &TokenKey,
        reason: RevokeReason,
        until_ms: UnixMs,
        now_ms: UnixMs,
    ) {
        self.enqueue(key, reason, until_ms, now_ms, None);
    }

    /// [`Shared::queue_revocation`], and the receiver is told once Redis has stored it (it
    /// errs if the revocation is dropped unstored, past the queue's bound).
    pub fn queue_revocation_stored(
        &self,
        key: &TokenKey,
        reason: RevokeReason,
        until_ms: UnixMs,
        now_ms: UnixMs,
    ) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        self.enqueue(key, reason, until_ms, now_ms, Some(tx));
        rx
    }

    fn enqueue(
        &self,
        key: &TokenKey,
        reason: RevokeReason,
        until_ms: UnixMs,
        now_ms: UnixMs,
        stored: Option<oneshot::Sender<()>>,
    ) {
        {
            let mut pending = self.pending.lock();
            if pending.len() >= MAX_PENDING {
                pending.pop_front();
                self.errors.write.inc();
                tracing::error!(
                    "more than {MAX_PENDING} revocations wait for Redis: the oldest is dropped \
                     (still revoked on this replica)"
                );
            }
            pending.push_back(PendingRevocation {
                key: *key,
                reason,
                until_ms,
                since_ms: now_ms,
                stored,
            });
        }
        self.note_unflushed(now_ms);
        self.flush_now.notify_one();
    }

    /// Touched tokens and revocations not yet in Redis.
    pub fn backlog(&self) -> (usize, usize) {
        (self.dirty.len(), self.pending.lock().len())
    }

    fn note_unflushed(&self, now_ms: UnixMs) {
        let _ = self.oldest_unflushed.compare_exchange(
            0,
            now_ms.max(1),
            Ordering::AcqRel,
            Ordering::Relaxed,
        );
    }

    /// The live connection, when there is one (a cheap clone of a multiplexed handle).
    fn connection(&self) -> Option<MultiplexedConnection> {
        self.conn.read().clone()
    }

    /// A command failed: count it and have the supervisor check the connection.
    fn failed(&self, counter: &Counter, what: &str, e: &dyn std::fmt::Display) {
        counter.inc();
        tracing::debug!(error = %e, "Redis {what} failed");
        self.suspect.notify_one();
    }

    /// A revocation decided on this replica (admin, or an expiry while Redis was
    /// unreachable): when enforced, stored and published (queued while Redis is
    /// unreachable); then the effects sink.
    pub(crate) fn report_decided(&self, local: &Local, rev: &Revocation) {
        if rev.enforced {
            let now_ms = local.clock.now_ms();
            if let Some((reason, until_ms)) = local.store.revoked_entry(&rev.key, now_ms) {
                self.queue_revocation(&rev.key, reason, until_ms, now_ms);
            }
        }
        local.effects().revoked(rev);
    }
}

/// Builds a client speaking RESP3, so one connection carries commands and the subscription.
fn resp3_client(url: &str) -> ::redis::RedisResult<::redis::Client> {
    let info = ::redis::Client::open(url)?.get_connection_info().clone();
    let mut redis = info.redis.clone();
    redis.protocol = ::redis::ProtocolVersion::RESP3;
    ::redis::Client::open(::redis::ConnectionInfo {
        addr: info.addr.clone(),
        redis,
    })
}

/// Starts the Redis tasks: the connection supervisor and the flusher. On `shutdown` the
/// flusher writes what is left (bounded), then the connection closes.
pub(crate) fn spawn(
    local: Arc<Local>,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let supervisor = tokio::spawn(conn::run(local.clone(), shared.clone(), async {
            let _ = stop_rx.await;
        }));
        sync::run(local, shared, shutdown).await;
        let _ = stop_tx.send(());
        let _ = supervisor.await;
    })
}
