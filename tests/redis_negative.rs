//! The negative cache with the Redis backend: an id unknown here and in Redis is not asked
//! again within `state.negative_ttl`. Commands are counted with `INFO commandstats` on a
//! private redis-server, so no other test's traffic is counted.

mod common;
mod redis_support;

use std::time::Duration;

use common::Gateway;
use idlegate::clock::Clock;
use idlegate::config::TrackMode;
use redis_support::*;

const HITS: &str = "idlegate_negative_cache_hits_total";

/// How many `HMGET` (the lookup of a locally unknown token) Redis has served.
async fn lookups(url: &str) -> u64 {
    let mut conn = connect(url).await;
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("cmdstat_hmget:calls="))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

/// A replica that tracks only what the upstream accepts: garbage sent to `/status/401` is
/// never tracked, so every request of it would be a lookup without the cache.
async fn replica(url: &str, prefix: &str, clock: &Clock) -> Gateway {
    let up = common::upstream().await;
    let mut c = config(up, url, prefix);
    c.tokens.track = TrackMode::Accepted;
    c.state.negative_ttl = Duration::from_secs(2);
    let gw = gateway_on(c, clock).await;
    assert!(connected(&gw).await, "reaches Redis");
    gw
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_garbage_costs_one_lookup_per_distinct_id_per_ttl() {
    let Some(server) = Server::start().await else {
        return;
    };
    let url = server.url();
    let clock = Clock::new();
    let gw = replica(&url, &unique_prefix(), &clock).await;
    let before = lookups(&url).await;
    for round in 0..10 {
        for id in 0..5 {
            let reply = gw.get("/status/401", Some(&format!("garbage-{id}"))).await;
            assert_eq!(reply.status, 401, "round {round}");
        }
    }
    assert_eq!(
        lookups(&url).await - before,
        5,
        "one lookup per distinct id"
    );
    assert_eq!(gw.metric(HITS).await, 45.0);
    assert_eq!(gw.metric("idlegate_negative_cache_entries").await, 5.0);

    // Past two TTLs every id is asked again, once.
    clock.advance(Duration::from_secs(5));
    for _ in 0..3 {
        for id in 0..5 {
            gw.get("/status/401", Some(&format!("garbage-{id}"))).await;
        }
    }
    assert_eq!(
        lookups(&url).await - before,
        10,
        "one more per id after the TTL"
    );
    gw.running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_elsewhere_is_refused_at_once_despite_a_cached_unknown() {
    let Some(server) = Server::start().await else {
        return;
    };
    let url = server.url();
    let (clock, prefix) = (Clock::new(), unique_prefix());
    let a = replica(&url, &prefix, &clock).await;
    let b = replica(&url, &prefix, &clock).await;
    // B finds the id unknown everywhere and remembers it.
    assert_eq!(b.get("/status/401", Some("stolen")).await.status, 401);
    assert_eq!(b.get("/status/401", Some("stolen")).await.status, 401);
    assert_eq!(b.metric(HITS).await, 1.0);
    // A revokes it (an admin revoking a token it never saw); B learns it from the message.
    let key = common::keyer().key("stolen");
    let app = &a.running.app;
    app.state()
        .revoke(&key, idlegate::store::RevokeReason::Admin, clock.now_ms());
    let refused = b
        .eventually(Duration::from_secs(2), || async {
            b.get("/ok", Some("stolen")).await.status == 401
        })
        .await;
    assert!(
        refused,
        "the revocation is not hidden by the cached unknown"
    );
    assert_eq!(b.metric("idlegate_negative_cache_entries").await, 0.0);
    for gw in [a, b] {
        gw.running.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_tracked_here_leaves_the_cache() {
    let Some(server) = Server::start().await else {
        return;
    };
    let url = server.url();
    let clock = Clock::new();
    let gw = replica(&url, &unique_prefix(), &clock).await;
    assert_eq!(gw.get("/status/401", Some("new")).await.status, 401);
    assert_eq!(gw.metric("idlegate_negative_cache_entries").await, 1.0);
    // Accepted now: tracked, so no longer unknown.
    assert_eq!(gw.get("/ok", Some("new")).await.status, 200);
    assert_eq!(gw.metric("idlegate_negative_cache_entries").await, 0.0);
    gw.running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_tracked_on_another_replica_leaves_the_cache_at_its_first_flush() {
    let Some(server) = Server::start().await else {
        return;
    };
    let url = server.url();
    let (clock, prefix) = (Clock::new(), unique_prefix());
    let a = replica(&url, &prefix, &clock).await;
    let b = replica(&url, &prefix, &clock).await;
    // B finds the id unknown everywhere and remembers it (the clock stands still: the
    // entry cannot age out during this test).
    assert_eq!(b.get("/status/401", Some("signed-in")).await.status, 401);
    assert_eq!(b.metric("idlegate_negative_cache_entries").await, 1.0);
    // A tracks it; A's first flush announces it, and B forgets its "unknown".
    assert_eq!(a.get("/ok", Some("signed-in")).await.status, 200);
    let forgotten = b
        .eventually(Duration::from_secs(2), || async {
            b.metric("idlegate_negative_cache_entries").await == 0.0
        })
        .await;
    assert!(forgotten, "a track elsewhere clears the cached unknown");
    // B's next request looks the token up again (no cache hit) and imports it as tracked.
    let hits = b.metric(HITS).await;
    assert_eq!(b.get("/ok", Some("signed-in")).await.status, 200);
    assert_eq!(b.metric(HITS).await, hits, "asked Redis, not the cache");
    let key = common::keyer().key("signed-in");
    let status = b.running.app.state().status(&key, clock.now_ms());
    assert!(
        matches!(status, idlegate::store::Status::Active { .. }),
        "{status:?}"
    );
    for gw in [a, b] {
        gw.running.stop().await.unwrap();
    }
}
