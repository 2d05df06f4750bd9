//! The connection supervisor: connects (backoff 100 ms doubling to 5 s; in Sentinel mode
//! to the master the sentinels name, checked with `ROLE`), names the
//! connection, loads the scripts, subscribes to the revocation channel, recovers revocations
//! missed while disconnected, then applies messages until the connection is lost.
//!
//! One RESP3 connection carries commands and the subscription, so one `CLIENT KILL` or one
//! network failure loses both at once and one reconnect restores both.

use crate::backoff::Backoff;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use ::redis::cluster::ClusterConfig;
use ::redis::{cmd, AsyncConnectionConfig, PushInfo, PushKind, RedisResult};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use super::link::Link;
use super::sentinel;
use super::shared::{Endpoint, Shared};
use crate::store::local::Local;

const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Bounds every command, so a silent network split stalls a request at most this long.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);
/// Shard channels subscribed at once on a cluster.
const SUBSCRIBE_BATCH: usize = 512;

/// Reconnect delays: doubling from [`BACKOFF_FIRST`] up to [`BACKOFF_MAX`].
fn reconnect_backoff() -> Backoff {
    Backoff::new(BACKOFF_FIRST, BACKOFF_MAX)
}

/// Why the connected phase ended.
enum Ended {
    Lost,
    Shutdown,
}

pub(super) async fn run(
    local: Arc<Local>,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut backoff = reconnect_backoff();
    let mut failures = 0u64;
    loop {
        match connect(&shared).await {
            Ok((conn, pushes)) => {
                if failures > 0 || local.is_ready() {
                    tracing::info!("Redis connection restored");
                }
                failures = 0;
                backoff = reconnect_backoff();
                *shared.conn.write() = Some(conn);
                shared.up.store(true, Ordering::Release);
                // /readyz answers 503 until Redis was reached once (docs/reference.md, "Redis backend").
                local.set_ready();
                shared.flush_now.notify_one();
                let ended = connected(&local, &shared, pushes, &mut shutdown).await;
                shared.up.store(false, Ordering::Release);
                *shared.conn.write() = None;
                match ended {
                    Ended::Shutdown => return,
                    Ended::Lost => tracing::warn!(
                        "Redis connection lost: tracking locally, reconnecting \
                         (state.on_error decides for unknown tokens)"
                    ),
                }
            }
            Err(e) => {
                shared.errors.read.inc();
                failures += 1;
                if failures == 1 {
                    tracing::warn!(error = %e, "Redis unreachable; retrying with backoff");
                } else {
                    tracing::debug!(error = %e, failures, "Redis still unreachable");
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff.next_delay()) => {}
            _ = &mut shutdown => return,
        }
    }
}

/// Connects, names the connection (on a cluster: every node's), loads the scripts (on every
/// master) and subscribes. On a cluster, the client follows `MOVED`/`ASK` and topology
/// changes itself; a node connection that drops still ends the connected phase (its
/// `Disconnection` push), so the reconnect re-checks every tracked token's revocation.
async fn connect(shared: &Shared) -> RedisResult<(Link, UnboundedReceiver<PushInfo>)> {
    let Some(endpoint) = &shared.endpoint else {
        return Err(::redis::RedisError::from((
            ::redis::ErrorKind::InvalidClientConfig,
            "no usable state.redis_url",
        )));
    };
    let (tx, rx) = unbounded_channel();
    let mut conn = match endpoint {
        Endpoint::Cluster(client) => {
            let config = ClusterConfig::new()
                .set_connection_timeout(CONNECT_TIMEOUT)
                .set_response_timeout(RESPONSE_TIMEOUT)
                .set_push_sender(tx);
            Link::Cluster(client.get_async_connection_with_config(config).await?)
        }
        Endpoint::Single(client) => Link::Single(single(client, tx).await?),
        Endpoint::Sentinel(sentinels) => {
            let mut conn = single(&sentinels.master_client().await?, tx).await?;
            // A sentinel may still name the old master right after a failover.
            sentinel::ensure_master(&mut conn).await?;
            Link::Single(conn)
        }
    };
    cmd("CLIENT")
        .arg("SETNAME")
        .arg(shared.keys.client_name())
        .exec_async(&mut conn)
        .await?;
    for script in shared.scripts.all() {
        script.load_async(&mut conn).await?;
    }
    subscribe(shared, &mut conn).await?;
    Ok((conn, rx))
}

/// The revocation channel; on a cluster every slot's shard channel, each at its master.
async fn subscribe(shared: &Shared, conn: &mut Link) -> RedisResult<()> {
    if !matches!(conn, Link::Cluster(_)) {
        return cmd("SUBSCRIBE")
            .arg(shared.keys.channel())
            .exec_async(conn)
            .await;
    }
    let channels: Vec<String> = shared.keys.shard_channels().collect();
    let started = std::time::Instant::now();
    // In batches, so that each command's response timeout counts from near its sending.
    for chunk in channels.chunks(SUBSCRIBE_BATCH) {
        let subscriptions = chunk
            .iter()
            .map(|channel| {
                let mut c = cmd("SSUBSCRIBE");
                c.arg(channel);
                c
            })
            .collect();
        if let Some(e) = conn
            .batch(subscriptions)
            .await
            .into_iter()
            .find_map(Result::err)
        {
            return Err(e);
        }
    }
    tracing::debug!(
        channels = channels.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "subscribed to every slot's shard channel"
    );
    Ok(())
}

/// One RESP3 connection to one server, its pushes to `tx`.
async fn single(
    client: &::redis::Client,
    tx: tokio::sync::mpsc::UnboundedSender<PushInfo>,
) -> RedisResult<::redis::aio::MultiplexedConnection> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(CONNECT_TIMEOUT)
        .set_response_timeout(RESPONSE_TIMEOUT)
        .set_push_sender(tx);
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
}

/// Connected: recover what was missed, then apply messages until the connection is lost.
async fn connected(
    local: &Local,
    shared: &Shared,
    mut pushes: UnboundedReceiver<PushInfo>,
    shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
) -> Ended {
    if let Err(e) = shared.reseed_if_lost(local).await {
        shared.failed(&shared.errors.read, "epoch check", &e);
    }
    let recovered = shared.recover_missed(local).await;
    if recovered > 0 {
        tracing::info!(
            recovered,
            "revocations missed while disconnected, learnt from Redis"
        );
    }
    loop {
        tokio::select! {
            push = pushes.recv() => match push {
                Some(PushInfo { kind: PushKind::Disconnection, .. }) | None => return Ended::Lost,
                // A slot moved to another master (cluster): subscribe where it lives now.
                Some(PushInfo { kind: PushKind::SUnsubscribe, .. }) => return Ended::Lost,
                Some(push) => shared.apply_push(local, &push),
            },
            _ = shared.suspect.notified() => {
                if !shared.still_alive().await {
                    return Ended::Lost;
                }
            }
            _ = &mut *shutdown => return Ended::Shutdown,
        }
    }
}

impl Shared {
    /// After a failed command: is the connection still usable? The scripts are loaded
    /// again too, in case Redis forgot them (`SCRIPT FLUSH`, a failover).
    async fn still_alive(&self) -> bool {
        let Some(mut conn) = self.connection() else {
            return false;
        };
        let pong: RedisResult<String> = cmd("PING").query_async(&mut conn).await;
        if pong.is_err() {
            return false;
        }
        // Sentinel mode: a demoted master that kept us answers PING but refuses writes
        // (`READONLY`); reconnecting asks the sentinels for the new one.
        let in_sentinel_mode = self.endpoint.as_ref().and_then(Endpoint::sentinels);
        if in_sentinel_mode.is_some() && !matches!(sentinel::is_master(&mut conn).await, Ok(true)) {
            return false;
        }
        for script in self.scripts.all() {
            if script.load_async(&mut conn).await.is_err() {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_100ms_and_caps_at_5s() {
        let mut b = reconnect_backoff();
        let delays: Vec<u64> = (0..8).map(|_| b.next_delay().as_millis() as u64).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    }
}
