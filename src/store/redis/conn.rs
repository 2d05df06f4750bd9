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
use ::redis::cluster_async::ClusterConnection;
use ::redis::{cmd, AsyncConnectionConfig, PushInfo, PushKind, RedisResult};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use super::link::Link;
use super::sentinel;
use super::shared::{Endpoint, Shared};
use super::subscribe;
use crate::store::local::Local;

const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Bounds every command, so a silent network split stalls a request at most this long.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Reconnect delays: doubling from [`BACKOFF_FIRST`] up to [`BACKOFF_MAX`].
fn reconnect_backoff() -> Backoff {
    Backoff::new(BACKOFF_FIRST, BACKOFF_MAX)
}

/// A live connection: commands go over `link`; on a single server the subscription shares
/// it, on a cluster it has a connection of its own, kept open as long as this lives.
struct Connection {
    link: Link,
    subscriber: Option<ClusterConnection>,
    pushes: UnboundedReceiver<PushInfo>,
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
            Ok(mut connection) => {
                if failures > 0 || local.is_ready() {
                    tracing::info!("Redis connection restored");
                }
                failures = 0;
                backoff = reconnect_backoff();
                *shared.conn.write() = Some(connection.link.clone());
                shared.up.store(true, Ordering::Release);
                // /readyz answers 503 until Redis was reached once (docs/reference.md, "Redis backend").
                local.set_ready();
                shared.flush_now.notify_one();
                let ended = connected(&local, &shared, &mut connection, &mut shutdown).await;
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
/// changes itself, and the subscriptions have a connection of their own (`subscribe`).
async fn connect(shared: &Shared) -> RedisResult<Connection> {
    let Some(endpoint) = &shared.endpoint else {
        return Err(::redis::RedisError::from((
            ::redis::ErrorKind::InvalidClientConfig,
            "no usable state.redis_url",
        )));
    };
    let (tx, pushes) = unbounded_channel();
    let mut link = match endpoint {
        Endpoint::Cluster(client) => Link::Cluster(
            client
                .get_async_connection_with_config(cluster_config())
                .await?,
        ),
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
        .exec_async(&mut link)
        .await?;
    for script in shared.scripts.all() {
        script.load_async(&mut link).await?;
    }
    if let Endpoint::Cluster(client) = endpoint {
        let (subscriber, pushes) =
            subscribe::cluster_subscriber(client, cluster_config(), &shared.keys).await?;
        return Ok(Connection {
            link,
            subscriber: Some(subscriber),
            pushes,
        });
    }
    cmd("SUBSCRIBE")
        .arg(shared.keys.channel())
        .exec_async(&mut link)
        .await?;
    Ok(Connection {
        link,
        subscriber: None,
        pushes,
    })
}

fn cluster_config() -> ClusterConfig {
    ClusterConfig::new()
        .set_connection_timeout(CONNECT_TIMEOUT)
        .set_response_timeout(RESPONSE_TIMEOUT)
}

/// On a cluster, the subscriber lost a node connection or a slot left a master
/// (`sunsubscribe`): a new subscriber subscribes where the slots are now, then every tracked
/// token's revocation is re-checked, for a message published meanwhile. Commands go on.
/// False when that fails (a master is down): the connected phase ends.
async fn resubscribe(local: &Local, shared: &Shared, conn: &mut Connection) -> bool {
    let Some(Endpoint::Cluster(client)) = &shared.endpoint else {
        return false;
    };
    tracing::info!("Redis Cluster topology changed: subscribing again");
    match subscribe::cluster_subscriber(client, cluster_config(), &shared.keys).await {
        Ok((subscriber, pushes)) => {
            conn.subscriber = Some(subscriber);
            conn.pushes = pushes;
        }
        Err(e) => {
            shared.failed(&shared.errors.read, "cluster re-subscription", &e);
            return false;
        }
    }
    let recovered = shared.recover_missed(local).await;
    if recovered > 0 {
        tracing::info!(
            recovered,
            "revocations missed while re-subscribing, learnt from Redis"
        );
    }
    true
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
    conn: &mut Connection,
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
            push = conn.pushes.recv() => match push {
                // Cluster: only the subscriber is hit (a node connection, or a slot that
                // left a master).
                Some(PushInfo { kind: PushKind::Disconnection | PushKind::SUnsubscribe, .. })
                | None if conn.subscriber.is_some() => {
                    if !resubscribe(local, shared, conn).await {
                        return Ended::Lost;
                    }
                }
                Some(PushInfo { kind: PushKind::Disconnection, .. }) | None => return Ended::Lost,
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
