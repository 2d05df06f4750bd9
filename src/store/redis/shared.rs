//! [`Shared`], the Redis backend's state: the endpoint and its connection, the dirty set of
//! touched tokens, the revocations waiting for Redis, and the counters. Its other methods
//! live with what they do: `path` (lookup, claim), `sync` (flush), `pubsub`, `conn`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use dashmap::DashMap;
use parking_lot::{Mutex, RwLock};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::{oneshot, Notify};

use super::keys::Keys;
use super::link::Link;
use super::negative::NegativeCache;
use super::scripts::Scripts;
use super::sentinel::Sentinels;
use crate::clock::UnixMs;
use crate::config::{redacted_redis_url, ClusterUrl, Config, SentinelUrl};
use crate::store::local::Local;
use crate::store::{Revocation, RevokeReason};
use crate::telemetry::Metrics;
use crate::token::TokenKey;

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
pub(super) struct PendingRevocation {
    pub(super) key: TokenKey,
    pub(super) reason: RevokeReason,
    pub(super) until_ms: UnixMs,
    pub(super) since_ms: UnixMs,
    /// Told once Redis has stored it (an admin revocation waits for that before answering).
    pub(super) stored: Option<oneshot::Sender<()>>,
}

pub(super) struct ErrorCounters {
    pub(super) read: Counter,
    pub(super) write: Counter,
    pub(super) publish: Counter,
}

/// The Redis side of the state: the backend `Redis` of [`TokenState`](crate::store::state::TokenState).
/// Its tasks get this replica's [`Local`] state.
pub struct Shared {
    pub(super) keys: Keys,
    /// None when the URL could not be parsed (logged once): Redis then counts as unreachable.
    pub(super) endpoint: Option<Endpoint>,
    pub(super) scripts: Scripts,
    pub(super) conn: RwLock<Option<Link>>,
    pub(super) up: AtomicBool,
    /// Token → when it first became dirty (for the sync-lag gauge).
    pub(super) dirty: DashMap<TokenKey, UnixMs>,
    pub(super) pending: Mutex<VecDeque<PendingRevocation>>,
    /// Oldest unflushed change, 0 = none.
    pub(super) oldest_unflushed: AtomicU64,
    /// Wakes the flusher at once (a revocation to publish, a reconnect).
    pub(super) flush_now: Notify,
    /// A command failed: the supervisor checks the connection.
    pub(super) suspect: Notify,
    pub(super) errors: ErrorCounters,
    /// `idlegate_state_sync_lag_seconds`.
    pub(super) sync_lag: Gauge<f64, AtomicU64>,
    pub(super) sync_interval: Duration,
    /// The data set's epoch seen at the last connect.
    pub(super) epoch: Mutex<Option<String>>,
    /// Ids unknown here and in Redis, not asked again for `state.negative_ttl`.
    pub(super) negative: NegativeCache,
}

impl Shared {
    pub fn new(config: &Config, metrics: &Metrics) -> Shared {
        let state = &config.state;
        let url = state
            .redis_url
            .clone()
            .unwrap_or_else(|| "redis://127.0.0.1:6379".to_owned());
        let endpoint = Endpoint::from_url(&url)
            .map_err(|e| {
                tracing::error!(error = %e, url = %redacted_redis_url(&url),
                    "state.redis_url is not usable; Redis counts as unreachable");
            })
            .ok();
        Shared {
            keys: Keys::new(&state.prefix),
            endpoint,
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
            negative: NegativeCache::new(
                crate::clock::duration_ms(state.negative_ttl),
                metrics.negative_cache_hits.clone(),
                metrics.negative_cache_entries.clone(),
            ),
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
    /// A token this replica starts to track: no longer unknown, and queued for the flush.
    pub fn tracked_here(&self, key: &TokenKey, now_ms: UnixMs) {
        self.negative.forget(key);
        self.touched(key, now_ms);
    }

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

    /// Where a token's revocation is published, and with which command: the one channel, or
    /// on a cluster the shard channel of the token's slot (`shard`).
    pub(super) fn publish_target(&self, key: &TokenKey) -> (String, &'static str) {
        match self.endpoint {
            Some(Endpoint::Cluster(_)) => (self.keys.shard_channel(key), "SPUBLISH"),
            _ => (self.keys.channel(), "PUBLISH"),
        }
    }

    /// The live connection, when there is one (a cheap clone of a multiplexed handle).
    pub(super) fn connection(&self) -> Option<Link> {
        self.conn.read().clone()
    }

    /// A command failed: count it and have the supervisor check the connection.
    pub(super) fn failed(&self, counter: &Counter, what: &str, e: &dyn std::fmt::Display) {
        counter.inc();
        tracing::debug!(error = %e, "Redis {what} failed");
        self.suspect.notify_one();
    }

    /// A revocation decided on this replica (admin, or an expiry while Redis was
    /// unreachable): when enforced, stored and published (queued while Redis is
    /// unreachable); then the effects sink.
    pub(crate) fn report_decided(&self, local: &Local, rev: &Revocation) {
        self.negative.forget(&rev.key);
        if rev.enforced {
            let now_ms = local.clock.now_ms();
            if let Some((reason, until_ms)) = local.store.revoked_entry(&rev.key, now_ms) {
                self.queue_revocation(&rev.key, reason, until_ms, now_ms);
            }
        }
        local.effects().revoked(rev);
    }
}

/// Where the data is: one URL, the sentinels that name the master, or a cluster's seed nodes
/// (docs/reference.md, "Redis backend").
pub(super) enum Endpoint {
    Single(::redis::Client),
    Sentinel(Sentinels),
    Cluster(::redis::cluster::ClusterClient),
}

impl Endpoint {
    fn from_url(url: &str) -> Result<Endpoint, String> {
        if let Some(cluster) = ClusterUrl::parse(url) {
            return cluster
                .and_then(|c| cluster_client(&c).map_err(|e| e.to_string()))
                .map(Endpoint::Cluster);
        }
        match SentinelUrl::parse(url) {
            Some(Ok(sentinel)) => Ok(Endpoint::Sentinel(Sentinels::new(sentinel))),
            Some(Err(problem)) => Err(problem),
            None => resp3_client(url)
                .map(Endpoint::Single)
                .map_err(|e| e.to_string()),
        }
    }

    /// Sentinel mode: the master must be checked (`ROLE`) at connect and after a failure.
    pub(super) fn sentinels(&self) -> Option<&Sentinels> {
        match self {
            Endpoint::Single(_) | Endpoint::Cluster(_) => None,
            Endpoint::Sentinel(s) => Some(s),
        }
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

/// Requests that fail on a cluster are retried at most this often (redirects count): a
/// request path waits for a few, not for the crate's default 16 with waits up to minutes.
const CLUSTER_RETRIES: u32 = 4;

/// A cluster client speaking RESP3 (commands and the subscription share the node
/// connections), with the URL's user and password for every node.
fn cluster_client(url: &ClusterUrl) -> ::redis::RedisResult<::redis::cluster::ClusterClient> {
    let nodes = url
        .nodes
        .iter()
        .map(|(host, port)| ::redis::ConnectionInfo {
            addr: ::redis::ConnectionAddr::Tcp(host.clone(), *port),
            redis: ::redis::RedisConnectionInfo {
                username: url.username.clone(),
                password: url.password.clone(),
                protocol: ::redis::ProtocolVersion::RESP3,
                ..Default::default()
            },
        });
    ::redis::cluster::ClusterClientBuilder::new(nodes)
        .use_protocol(::redis::ProtocolVersion::RESP3)
        .retries(CLUSTER_RETRIES)
        .min_retry_wait(10)
        .max_retry_wait(200)
        .build()
}
