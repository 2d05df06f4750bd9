//! Sentinel mode (`redis+sentinel://…`): a real master, replica and Sentinel, each a private
//! `redis-server` child; the tests skip loudly when /usr/bin/redis-server is missing, and fail
//! under CI. docs/reference.md, "Redis backend"; docs/replicas.md, the failure table.

mod common;
mod redis_support;

use std::time::{Duration, Instant};

use common::Gateway;
use idlegate::clock::Clock;
use redis_support::sentinel::{free_port, redis_server_available, SentinelSet};
use redis_support::*;

/// A gateway on `url` whose tokens stay alive through a failover (60 s idle).
async fn gateway(url: &str, prefix: &str, clock: &Clock) -> Gateway {
    let mut c = config(common::upstream().await, url, prefix);
    c.timeout.idle = Duration::from_secs(60);
    gateway_on(c, clock).await
}

/// Waits (at most 2 s) until `key` exists on the master, then until one replica has it
/// too (`WAIT 1 2000`).
async fn stored_and_replicated(master_url: &str, key: &str) -> bool {
    let mut conn = connect(master_url).await;
    let started = Instant::now();
    loop {
        let exists: i64 = redis::cmd("EXISTS")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
        if exists == 1 {
            break;
        }
        if started.elapsed() > Duration::from_secs(2) {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let acked: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(2000)
        .query_async(&mut conn)
        .await
        .unwrap();
    acked >= 1
}

/// How many connections named `idlegate:<prefix>` the server at `url` has.
async fn gateway_clients(url: &str, prefix: &str) -> usize {
    gateway_connection_ids(url, prefix).await.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_sentinel_share_tracking_and_revocations() {
    let Some(set) = SentinelSet::start().await else {
        return;
    };
    let (prefix, clock) = (unique_prefix(), Clock::new());
    // The first sentinel listed does not answer: the next one is asked.
    let url = format!(
        "redis+sentinel://127.0.0.1:{},127.0.0.1:{}/m",
        free_port(),
        set.sentinel_port
    );
    let a = gateway(&url, &prefix, &clock).await;
    let b = gateway(&url, &prefix, &clock).await;
    assert!(connected_within(&a, Duration::from_secs(10)).await);
    assert!(connected_within(&b, Duration::from_secs(10)).await);
    assert_eq!(gateway_clients(&set.master_url(), &prefix).await, 2);
    let t = "tok-sentinel-revoked";
    assert_eq!(a.get("/x", Some(t)).await.status, 200);
    assert_eq!(b.get("/x", Some(t)).await.status, 200);
    admin_revoke(&a, t);
    assert!(
        refused_within(&b, t, Duration::from_millis(1500))
            .await
            .is_some(),
        "B refuses the token within 1.5 s"
    );
    let r = b.get("/x", Some(t)).await;
    assert_eq!(
        r.json()["error_description"],
        "token revoked by an administrator"
    );
    a.running.stop().await.unwrap();
    b.running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinel_failover_keeps_serving_and_loses_no_replicated_revocation() {
    let Some(mut set) = SentinelSet::start().await else {
        return;
    };
    let (prefix, clock) = (unique_prefix(), Clock::new());
    let url = set.url();
    let a = gateway(&url, &prefix, &clock).await;
    let b = gateway(&url, &prefix, &clock).await;
    assert!(connected_within(&a, Duration::from_secs(10)).await);
    assert!(connected_within(&b, Duration::from_secs(10)).await);
    let (kept, revoked, later) = ("tok-kept", "tok-revoked-before", "tok-revoked-after");
    for t in [kept, revoked, later] {
        assert_eq!(a.get("/x", Some(t)).await.status, 200);
        assert_eq!(b.get("/x", Some(t)).await.status, 200);
    }
    admin_revoke(&a, revoked);
    let key = format!("{prefix}:{{{}}}:r", common::token_id(revoked));
    assert!(
        stored_and_replicated(&set.master_url(), &key).await,
        "the revocation reached the master and the replica"
    );

    set.kill_master();
    let killed = Instant::now();
    assert!(disconnected(&a).await, "A noticed the master is gone");
    // During the failover, tracked tokens are served from local state.
    assert_eq!(a.get("/x", Some(kept)).await.status, 200);
    assert_eq!(b.get("/x", Some(revoked)).await.status, 401);
    assert!(
        set.wait_promoted(Duration::from_secs(15)).await,
        "the Sentinel promoted the replica within 15 s"
    );
    assert!(connected_within(&a, Duration::from_secs(10)).await);
    assert!(connected_within(&b, Duration::from_secs(10)).await);
    assert_eq!(gateway_clients(&set.replica_url(), &prefix).await, 2);
    println!(
        "failover: both gateways on the new master {:?} after the kill",
        killed.elapsed()
    );

    // A fresh gateway learns the earlier revocation from the new master, by lookup.
    let c = gateway(&url, &prefix, &clock).await;
    assert!(connected_within(&c, Duration::from_secs(10)).await);
    assert_eq!(c.get("/x", Some(revoked)).await.status, 401);
    // A new revocation on one gateway reaches the other through the new master.
    admin_revoke(&a, later);
    assert!(
        refused_within(&b, later, Duration::from_millis(1500))
            .await
            .is_some(),
        "B refuses the new revocation within 1.5 s"
    );
    assert_eq!(a.get("/x", Some(kept)).await.status, 200);
    for gw in [a, b, c] {
        gw.running.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demoted_master_that_keeps_the_connection_is_left_on_the_first_readonly_write() {
    let Some(set) = SentinelSet::start().await else {
        return;
    };
    let (prefix, clock) = (unique_prefix(), Clock::new());
    let a = gateway(&set.url(), &prefix, &clock).await;
    assert!(connected_within(&a, Duration::from_secs(10)).await);
    let (kept, fresh) = ("tok-kept-while-demoted", "tok-touched-while-demoted");
    assert_eq!(a.get("/x", Some(kept)).await.status, 200);
    // The Sentinel would notice a master reporting itself a replica only after 20 s or more.
    set.demote_master().await;
    let demoted = Instant::now();
    assert_eq!(a.get("/x", Some(fresh)).await.status, 200);
    // Its flush gets READONLY; the check finds the server is no master: reconnect, and the
    // named server is refused at connect (`ROLE`) while it stays a replica.
    assert!(
        disconnected(&a).await,
        "the gateway left the demoted master"
    );
    assert!(
        demoted.elapsed() < Duration::from_secs(3),
        "left within 3 s of the first refused write, not when the Sentinel acts"
    );
    assert_eq!(gateway_clients(&set.master_url(), &prefix).await, 0);
    // Tracked tokens are served from local state meanwhile.
    assert_eq!(a.get("/x", Some(kept)).await.status, 200);
    set.restore_master().await;
    assert!(connected_within(&a, Duration::from_secs(10)).await);
    assert_eq!(gateway_clients(&set.master_url(), &prefix).await, 1);
    a.running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinel_mode_is_not_ready_until_the_master_was_reached() {
    if !redis_server_available() {
        return;
    }
    let (prefix, clock) = (unique_prefix(), Clock::new());
    let sentinel_port = free_port();
    let url = format!("redis+sentinel://127.0.0.1:{sentinel_port}/m");
    let gw = gateway(&url, &prefix, &clock).await;
    let tried = gw
        .eventually(Duration::from_secs(3), || async {
            gw.metric("idlegate_state_errors_total{op=\"read\"}").await >= 1.0
        })
        .await;
    assert!(tried, "the gateway tried and failed to reach a master");
    assert_eq!(readyz(&gw).await, 503);
    let Some(_set) = SentinelSet::start_with_sentinel_on(sentinel_port).await else {
        return;
    };
    assert!(connected_within(&gw, Duration::from_secs(10)).await);
    assert_eq!(readyz(&gw).await, 200);
    gw.running.stop().await.unwrap();
}
