//! Rows of the failure table of docs/replicas.md ("Failures and what they cost") that need a
//! Redis that is slow, or cut off from one replica only.

mod common;
mod redis_support;

use std::time::{Duration, Instant};

use idlegate::clock::Clock;
use idlegate::config::OnError;
use redis_support::cut::Relay;
use redis_support::*;

const READ_ERRORS: &str = "idlegate_state_errors_total{op=\"read\"}";

/// Pauses every client of the server for `ms` (a Redis that stops answering, then recovers).
async fn pause(url: &str, ms: u64) {
    let mut conn = connect(url).await;
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(ms)
        .arg("ALL")
        .query_async(&mut conn)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_redis_delays_a_first_sight_at_most_a_second_then_on_error_decides() {
    let Some(server) = Server::start().await else {
        return;
    };
    let (url, prefix, clock) = (server.url(), unique_prefix(), Clock::new());
    let mut c = config(common::upstream().await, &url, &prefix);
    c.state.on_error = OnError::Closed;
    let gw = gateway_on(c, &clock).await;
    assert!(connected(&gw).await);
    assert_eq!(gw.get("/x", Some("known")).await.status, 200);
    let errors = gw.metric(READ_ERRORS).await;
    pause(&url, 5_000).await;

    let started = Instant::now();
    assert_eq!(
        gw.get("/x", Some("known")).await.status,
        200,
        "known: local"
    );
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "no Redis on the way"
    );

    let started = Instant::now();
    let first_sight = gw.get("/x", Some("first-sight")).await;
    let waited = started.elapsed();
    assert_eq!(first_sight.status, 503, "on_error = closed decides");
    assert!(
        waited >= Duration::from_millis(900),
        "waited for Redis: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(3),
        "bounded by the 1 s timeout: {waited:?}"
    );
    assert!(gw.metric(READ_ERRORS).await > errors, "counted");
    gw.running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_replica_decides_alone_and_its_revocation_wins_when_the_split_heals() {
    let Some(server) = Server::start().await else {
        return;
    };
    let (url, prefix, clock) = (server.url(), unique_prefix(), Clock::new());
    let relay = Relay::start(format!("127.0.0.1:{}", server.port).parse().unwrap()).await;
    let up = common::upstream().await;
    let a = gateway_on(config(up, &relay.url(), &prefix), &clock).await;
    let b = gateway_on(config(up, &url, &prefix), &clock).await;
    assert!(connected(&a).await && connected(&b).await);
    for gw in [&a, &b] {
        assert_eq!(gw.get("/x", Some("shared")).await.status, 200);
    }

    relay.cut();
    assert!(disconnected(&a).await, "a notices the split");
    // Only B sees the token's activity; A's own is older than the 2 s idle timeout.
    for _ in 0..3 {
        clock.advance(Duration::from_millis(900));
        assert_eq!(
            b.get("/x", Some("shared")).await.status,
            200,
            "b keeps it alive"
        );
    }
    let a_expired = a
        .eventually(Duration::from_secs(3), || async {
            a.get("/x", Some("shared")).await.status == 401
        })
        .await;
    assert!(a_expired, "a decides on its own activity");
    assert_eq!(
        b.get("/x", Some("shared")).await.status,
        200,
        "each side decides alone"
    );

    relay.heal();
    assert!(connected(&a).await, "a reconnects");
    let b_refuses = b
        .eventually(Duration::from_secs(5), || async {
            b.get("/x", Some("shared")).await.status == 401
        })
        .await;
    assert!(b_refuses, "the revocation wins when the split heals");
    assert_eq!(
        a.get("/x", Some("shared")).await.status,
        401,
        "never undone"
    );
    for gw in [a, b] {
        gw.running.stop().await.unwrap();
    }
}
