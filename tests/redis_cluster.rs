//! Cluster mode (`redis+cluster://…`): a private Redis Cluster whose nodes are `redis-server`
//! children (tests/redis_support/cluster.rs); the tests skip loudly when /usr/bin/redis-server
//! or /usr/bin/redis-cli is missing, and fail under CI. docs/replicas.md, the key layout and
//! the failure table.

mod common;
mod redis_support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::Gateway;
use idlegate::clock::Clock;
use redis_support::cluster::{cmd, free_ports, query, query_asking, url_of, Cluster};
use redis_support::sentinel::redis_server_available;
use redis_support::*;

/// A gateway on `url` whose tokens stay alive through a migration or failover (60 s idle).
async fn gateway(url: &str, prefix: &str, clock: &Clock) -> Gateway {
    let mut c = config(common::upstream().await, url, prefix);
    c.timeout.idle = Duration::from_secs(60);
    gateway_on(c, clock).await
}

/// Two gateways on the cluster, both connected.
async fn pair(cluster: &Cluster, prefix: &str, clock: &Clock) -> (Gateway, Gateway) {
    let a = gateway(&cluster.url(), prefix, clock).await;
    let b = gateway(&cluster.url(), prefix, clock).await;
    let within = Duration::from_secs(10);
    assert!(
        connected_within(&a, within).await,
        "A connected within 10 s"
    );
    assert!(
        connected_within(&b, within).await,
        "B connected within 10 s"
    );
    (a, b)
}

/// `<prefix>:{<id>}:<kind>`: a key of one token.
fn key_of(prefix: &str, token: &str, kind: &str) -> String {
    format!("{prefix}:{{{}}}:{kind}", common::token_id(token))
}

/// The Cluster slot of a token's keys: CRC16 (XMODEM) of its id, the hash tag, mod 16384.
fn slot_of(token: &str) -> u16 {
    let mut crc: u16 = 0;
    for &byte in common::token_id(token).as_bytes() {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc % 16384
}

/// The first token `<name>-<n>` whose keys live in `slot`.
fn token_in(slot: u16, name: &str) -> String {
    let named = (0..).map(|n| format!("{name}-{n}"));
    named.into_iter().find(|t| slot_of(t) == slot).unwrap()
}

/// `KEYS pattern` on one node: the keys it holds, whatever the state of their slot.
async fn keys_on(port: u16, pattern: &str) -> Vec<String> {
    let keys = query(port, &cmd(&["KEYS", pattern])).await;
    keys.unwrap_or_default()
}

/// `KEYS pattern` on every live master: where a token's keys are (test-only).
async fn keys_by_master(cluster: &Cluster, pattern: &str) -> HashMap<u16, Vec<String>> {
    let mut found = HashMap::new();
    for port in cluster.masters().await {
        found.insert(port, keys_on(port, pattern).await);
    }
    found
}

/// Waits (at most `within`) until some master holds `key`; answers its port.
async fn stored_on(cluster: &Cluster, key: &str, within: Duration) -> Option<u16> {
    let started = Instant::now();
    while started.elapsed() < within {
        for (port, keys) in keys_by_master(cluster, key).await {
            if keys.iter().any(|k| k == key) {
                return Some(port);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// Both gateways answer `/readyz` 200.
async fn assert_ready(a: &Gateway, b: &Gateway, when: &str) {
    assert_eq!(readyz(a).await, 200, "A is ready {when}");
    assert_eq!(readyz(b).await, 200, "B is ready {when}");
}

/// Field `l` (last activity, ms) of the `t` key on `port`, read with ASKING when the node is
/// importing the slot.
async fn last_activity(port: u16, tkey: &str) -> Option<u64> {
    let hget = cmd(&["HGET", tkey, "l"]);
    let l: Option<String> = query_asking(port, &hget).await.ok()?;
    l?.parse().ok()
}

/// Moves the clock 1 s on, uses `token` at the gateway, and waits (at most 3 s) until its
/// flush raised the last activity stored on `port`: the write reached that node.
async fn touch_reaches(gw: &Gateway, token: &str, port: u16, tkey: &str) -> bool {
    let before = last_activity(port, tkey).await.unwrap_or(0);
    gw.clock.advance(Duration::from_secs(1));
    assert_eq!(gw.get("/x", Some(token)).await.status, 200);
    gw.eventually(Duration::from_secs(3), || async {
        last_activity(port, tkey).await.is_some_and(|l| l > before)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_harness_is_ok() {
    let Some(cluster) = Cluster::start(3, 0).await else {
        return;
    };
    for port in cluster.live() {
        let info: String = query(port, &cmd(&["CLUSTER", "INFO"])).await.unwrap();
        assert!(info.contains("cluster_state:ok"), "node {port}: {info}");
    }
    let masters = cluster.masters().await;
    assert_eq!(masters.len(), 3);
    assert_eq!(cluster.url(), url_of(&masters));
    // Keys sharing a hash tag share a slot, served by one master.
    let (k1, k2) = ("p:{abc}:t", "p:{abc}:r");
    assert_eq!(cluster.keyslot(k1).await, cluster.keyslot(k2).await);
    assert!(masters.contains(&cluster.node_of_key(k1).await));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_a_cluster_share_tracking_and_revocations() {
    let Some(cluster) = Cluster::start(3, 0).await else {
        return;
    };
    let (prefix, clock) = (unique_prefix(), Clock::new());
    let (a, b) = pair(&cluster, &prefix, &clock).await;
    let (shared, revoked) = ("tok-cluster-shared", "tok-cluster-revoked");
    for t in [shared, revoked] {
        assert_eq!(a.get("/x", Some(t)).await.status, 200);
    }
    let tkey = key_of(&prefix, revoked, "t");
    let home = stored_on(&cluster, &tkey, Duration::from_secs(2))
        .await
        .expect("A flushed the token within 2 s");
    assert_eq!(
        home,
        cluster.node_of_key(&tkey).await,
        "on the master serving its slot"
    );
    for t in [shared, revoked] {
        assert_eq!(b.get("/x", Some(t)).await.status, 200, "B serves {t}");
    }
    admin_revoke(&a, revoked);
    assert!(
        refused_within(&b, revoked, Duration::from_secs(2))
            .await
            .is_some(),
        "B refuses the token revoked at A within 2 s"
    );
    let rkey = key_of(&prefix, revoked, "r");
    assert_eq!(cluster.keyslot(&rkey).await, cluster.keyslot(&tkey).await);
    let r_home = stored_on(&cluster, &rkey, Duration::from_secs(2)).await;
    assert_eq!(r_home, Some(home), "`r` sits on the master of `t`");
    assert_eq!(b.get("/x", Some(shared)).await.status, 200);
    a.running.stop().await.unwrap();
    b.running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_spread_over_the_masters() {
    let Some(cluster) = Cluster::start(3, 0).await else {
        return;
    };
    let (prefix, clock) = (unique_prefix(), Clock::new());
    let gw = gateway(&cluster.url(), &prefix, &clock).await;
    assert!(connected_within(&gw, Duration::from_secs(10)).await);
    for i in 0..60 {
        let t = format!("tok-spread-{i}");
        assert_eq!(gw.get("/x", Some(&t)).await.status, 200);
    }
    let pattern = format!("{prefix}:*:t");
    let all_flushed = gw
        .eventually(Duration::from_secs(5), || async {
            let found = keys_by_master(&cluster, &pattern).await;
            found.values().map(Vec::len).sum::<usize>() == 60
        })
        .await;
    let found = keys_by_master(&cluster, &pattern).await;
    assert!(all_flushed, "all 60 tokens flushed within 5 s: {found:?}");
    assert_eq!(found.len(), 3);
    for (port, keys) in &found {
        assert!(!keys.is_empty(), "master {port} holds some of the tokens");
    }
    gw.running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moved_and_ask_during_a_slot_migration_keep_tokens_served_and_revocations_flowing() {
    let Some(cluster) = Cluster::start(3, 0).await else {
        return;
    };
    let (prefix, clock) = (unique_prefix(), Clock::new());
    let a = gateway(&cluster.url(), &prefix, &clock).await;
    assert!(connected_within(&a, Duration::from_secs(10)).await);
    // Three tokens in one slot: T stays in use, the other two are revoked before B starts,
    // so B can learn those revocations only by looking their keys up.
    let t = "tok-migrated";
    let slot = slot_of(t);
    let (r_ask, r_moved) = (token_in(slot, "tok-ask"), token_in(slot, "tok-moved"));
    for tok in [t, &r_ask, &r_moved] {
        assert_eq!(a.get("/x", Some(tok)).await.status, 200);
    }
    admin_revoke(&a, &r_ask);
    admin_revoke(&a, &r_moved);
    let tkey = key_of(&prefix, t, "t");
    assert_eq!(cluster.keyslot(&tkey).await, slot);
    let from = cluster.node_of_key(&tkey).await;
    let revoked = [key_of(&prefix, &r_ask, "r"), key_of(&prefix, &r_moved, "r")];
    for key in [&tkey, &revoked[0], &revoked[1]] {
        let home = stored_on(&cluster, key, Duration::from_secs(2)).await;
        assert_eq!(home, Some(from), "{key} stored within 2 s");
    }
    let b = gateway(&cluster.url(), &prefix, &clock).await;
    assert!(connected_within(&b, Duration::from_secs(10)).await);
    let masters = cluster.masters().await;
    let to = *masters.iter().find(|&&p| p != from).unwrap();

    cluster.begin_migration(slot, from, to).await;
    assert_eq!(cluster.move_keys(slot, from, to).await, 3);
    assert_eq!(keys_on(to, &tkey).await, std::slice::from_ref(&tkey));
    // The source answers ASK for the moved keys: a first-sight lookup follows it.
    let status = b.get("/x", Some(&r_ask)).await.status;
    assert_eq!(status, 401, "B found the revocation behind ASK");
    assert_eq!(a.get("/x", Some(t)).await.status, 200, "A serves T");
    assert_eq!(b.get("/x", Some(t)).await.status, 200, "B serves T");

    cluster.finish_migration(slot, to).await;
    assert_eq!(cluster.node_of_key(&tkey).await, to);
    // Both still hold the old slot map: their next commands for the slot get MOVED.
    let status = b.get("/x", Some(&r_moved)).await.status;
    assert_eq!(status, 401, "B found the revocation behind MOVED");
    assert!(
        touch_reaches(&a, t, to, &tkey).await,
        "A's flush reached `to`"
    );
    assert!(
        touch_reaches(&b, t, to, &tkey).await,
        "B's flush reached `to`"
    );
    admin_revoke(&a, t);
    assert!(
        refused_within(&b, t, Duration::from_secs(2))
            .await
            .is_some(),
        "B refuses T within 2 s of its revocation at A"
    );
    let r_home = stored_on(&cluster, &key_of(&prefix, t, "r"), Duration::from_secs(2)).await;
    assert_eq!(r_home, Some(to), "the revocation sits on the new owner");
    a.running.stop().await.unwrap();
    b.running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_lost_and_back_keeps_serving_and_loses_no_revocation() {
    let Some(mut cluster) = Cluster::start(3, 1).await else {
        return;
    };
    let (prefix, clock) = (unique_prefix(), Clock::new());
    let (a, b) = pair(&cluster, &prefix, &clock).await;
    let t = "tok-failover";
    assert_eq!(a.get("/x", Some(t)).await.status, 200);
    assert_eq!(b.get("/x", Some(t)).await.status, 200);
    let tkey = key_of(&prefix, t, "t");
    let home = stored_on(&cluster, &tkey, Duration::from_secs(2))
        .await
        .expect("the token was flushed within 2 s");
    // Replicated before the kill, so the failover keeps it.
    let acked: i64 = query(home, &cmd(&["WAIT", "1", "2000"])).await.unwrap();
    assert_eq!(acked, 1, "the replica acknowledged the token");
    assert_ready(&a, &b, "before the kill").await;

    cluster.kill(home).await;
    for gw in [&a, &b] {
        assert_eq!(
            gw.get("/x", Some(t)).await.status,
            200,
            "T served during the outage"
        );
    }
    admin_revoke(&a, t);
    assert_ready(&a, &b, "during the outage").await;
    let new = cluster
        .wait_failover(home, Duration::from_secs(15))
        .await
        .expect("a replica took over within 15 s");
    assert_ready(&a, &b, "after the failover").await;
    assert!(
        refused_within(&b, t, Duration::from_secs(15))
            .await
            .is_some(),
        "B refuses T within 15 s of the failover"
    );
    let rkey = key_of(&prefix, t, "r");
    let r_home = stored_on(&cluster, &rkey, Duration::from_secs(5)).await;
    assert_eq!(r_home, Some(new), "the revocation sits on the new master");

    cluster.restart(home).await;
    assert!(
        cluster.wait_ok(Duration::from_secs(20)).await,
        "the cluster is ok again"
    );
    assert!(
        cluster.is_replica(home).await,
        "the old master rejoined as a replica"
    );
    let fresh = "tok-after-failover";
    assert_eq!(a.get("/x", Some(fresh)).await.status, 200);
    let fresh_key = key_of(&prefix, fresh, "t");
    assert!(stored_on(&cluster, &fresh_key, Duration::from_secs(5))
        .await
        .is_some());
    assert_eq!(b.get("/x", Some(fresh)).await.status, 200);
    assert_ready(&a, &b, "after the old master came back").await;
    a.running.stop().await.unwrap();
    b.running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_mode_is_not_ready_until_the_cluster_was_reached() {
    if !redis_server_available() {
        return;
    }
    let (prefix, clock) = (unique_prefix(), Clock::new());
    let ports = free_ports(3);
    let gw = gateway(&url_of(&ports), &prefix, &clock).await;
    let tried = gw
        .eventually(Duration::from_secs(3), || async {
            gw.metric("idlegate_state_errors_total{op=\"read\"}").await >= 1.0
        })
        .await;
    assert!(tried, "the gateway tried and failed to reach the cluster");
    assert_eq!(readyz(&gw).await, 503);
    let Some(_cluster) = Cluster::start_on(&ports, 0).await else {
        return;
    };
    assert!(connected_within(&gw, Duration::from_secs(10)).await);
    let ready = gw
        .eventually(Duration::from_secs(5), || async {
            readyz(&gw).await == 200
        })
        .await;
    assert!(
        ready,
        "/readyz answers 200 within 5 s of the cluster being up"
    );
    gw.running.stop().await.unwrap();
}

/// The harness's ports come from below the kernel's ephemeral range (bus ports too), so no
/// outgoing connection can take one before its node binds it.
#[test]
fn cluster_ports_are_distinct_free_and_below_the_ephemeral_range() {
    let ports = free_ports(8);
    let mut seen = ports.clone();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 8, "{ports:?}");
    let ephemeral = common::ports::ephemeral_start();
    for port in ports {
        let bus = u32::from(port) + u32::from(common::ports::BUS_OFFSET);
        assert!(bus < ephemeral, "{port}: bus {bus} reaches {ephemeral}");
        assert!(
            std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
            "{port} free"
        );
    }
}
