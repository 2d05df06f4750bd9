//! Subscribing to the revocations: the one channel on a single server; on a Redis Cluster
//! every slot's shard channel (`shard`), at the master that serves the slot.
//!
//! On a cluster the subscriptions live on a connection of their own, which carries no other
//! command. Redis pushes `sunsubscribe` unasked when a slot leaves a master, and the `redis`
//! crate takes such a push for the reply of the oldest command waiting on that connection:
//! on a connection that also carried lookups and scripts, every reply after it would go to the
//! wrong command. On the subscriber connection nothing waits, so nothing is misread; the push
//! itself reaches the supervisor, which subscribes again on a new subscriber connection
//! (where the slots are now) and re-checks every tracked token, while commands go on.

use std::collections::HashMap;

use ::redis::cluster::{ClusterClient, ClusterConfig};
use ::redis::cluster_async::ClusterConnection;
use ::redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use ::redis::{cmd, PushInfo, RedisResult, Value};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use super::keys::Keys;
use super::shard::SLOTS;

/// The cluster's subscriber: a connection of its own, subscribed to every slot's shard
/// channel; its pushes (messages, `sunsubscribe`, a node connection's `Disconnection`) come
/// out of the receiver.
pub(super) async fn cluster_subscriber(
    client: &ClusterClient,
    config: ClusterConfig,
    keys: &Keys,
) -> RedisResult<(ClusterConnection, UnboundedReceiver<PushInfo>)> {
    let (tx, pushes) = unbounded_channel();
    let mut conn = client
        .get_async_connection_with_config(config.set_push_sender(tx))
        .await?;
    shard_channels(&mut conn, keys).await?;
    Ok((conn, pushes))
}

/// Subscribes to every slot's shard channel: one pipeline of `SSUBSCRIBE`s per master (one
/// round trip each; 16,384 single commands took over a second in a debug build).
async fn shard_channels(conn: &mut ClusterConnection, keys: &Keys) -> RedisResult<()> {
    let slots: Value = conn
        .route_command(
            cmd("CLUSTER").arg("SLOTS"),
            RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random),
        )
        .await?;
    let channels: Vec<String> = keys.shard_channels().collect();
    for ((host, port), slots) in masters_by_slot(&slots)? {
        let mut p = ::redis::pipe();
        for slot in slots {
            p.cmd("SSUBSCRIBE").arg(&channels[slot]);
        }
        let route = SingleNodeRoutingInfo::ByAddress { host, port };
        conn.route_pipeline(&p, 0, p.len(), route).await?;
    }
    Ok(())
}

/// `CLUSTER SLOTS` → the slots of each master. Fails unless every slot is served.
fn masters_by_slot(reply: &Value) -> RedisResult<HashMap<(String, u16), Vec<usize>>> {
    let Value::Array(ranges) = reply else {
        return Err(bad("CLUSTER SLOTS did not answer an array"));
    };
    let mut masters: HashMap<(String, u16), Vec<usize>> = HashMap::new();
    let mut served = 0;
    for range in ranges {
        let (start, end, master) = slot_range(range)?;
        if start > end || end >= SLOTS {
            return Err(bad("CLUSTER SLOTS answered a range out of bounds"));
        }
        masters.entry(master).or_default().extend(start..=end);
        served += end - start + 1;
    }
    if served != SLOTS {
        return Err(bad("the cluster does not serve every slot"));
    }
    Ok(masters)
}

/// One range of `CLUSTER SLOTS`: `[start, end, [host, port, id, …], replicas…]`.
fn slot_range(range: &Value) -> RedisResult<(usize, usize, (String, u16))> {
    let Value::Array(parts) = range else {
        return Err(bad("a CLUSTER SLOTS range is not an array"));
    };
    let int = |v: Option<&Value>| match v {
        Some(Value::Int(n)) => usize::try_from(*n).ok(),
        _ => None,
    };
    let (Some(start), Some(end)) = (int(parts.first()), int(parts.get(1))) else {
        return Err(bad("a CLUSTER SLOTS range has no bounds"));
    };
    let Some(Value::Array(node)) = parts.get(2) else {
        return Err(bad("a CLUSTER SLOTS range has no master"));
    };
    let host = match node.first() {
        Some(Value::BulkString(b)) => String::from_utf8(b.clone()).ok(),
        Some(Value::SimpleString(s)) => Some(s.clone()),
        _ => None,
    };
    let port = int(node.get(1)).and_then(|p| u16::try_from(p).ok());
    match (host, port) {
        (Some(host), Some(port)) if !host.is_empty() => Ok((start, end, (host, port))),
        _ => Err(bad("a CLUSTER SLOTS master has no address")),
    }
}

fn bad(what: &'static str) -> ::redis::RedisError {
    ::redis::RedisError::from((::redis::ErrorKind::ResponseError, what))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    fn range(start: i64, end: i64, port: i64) -> Value {
        let master = Value::Array(vec![text("127.0.0.1"), Value::Int(port), text("id")]);
        let replica = Value::Array(vec![text("127.0.0.1"), Value::Int(port + 100), text("r")]);
        Value::Array(vec![Value::Int(start), Value::Int(end), master, replica])
    }

    #[test]
    fn slots_are_grouped_by_their_master_and_replicas_are_ignored() {
        let reply = Value::Array(vec![
            range(0, 5460, 7000),
            range(5461, 10922, 7001),
            range(10923, 16383, 7002),
        ]);
        let masters = masters_by_slot(&reply).unwrap();
        assert_eq!(masters.len(), 3);
        assert_eq!(masters[&("127.0.0.1".to_string(), 7001)].len(), 5462);
        assert!(!masters.contains_key(&("127.0.0.1".to_string(), 7100)));
    }

    #[test]
    fn a_cluster_that_does_not_serve_every_slot_is_refused() {
        let partial = Value::Array(vec![range(0, 100, 7000)]);
        assert!(masters_by_slot(&partial).is_err());
        let out_of_bounds = Value::Array(vec![range(0, 16384, 7000)]);
        assert!(masters_by_slot(&out_of_bounds).is_err());
        assert!(masters_by_slot(&Value::Nil).is_err());
        assert!(masters_by_slot(&Value::Array(vec![Value::Int(1)])).is_err());
    }
}
