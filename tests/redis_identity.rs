//! Identity with replicas sharing Redis: a token verified on one replica is verified once on
//! the next (then known by its bytes), with the policy each replica derives itself; a forged
//! signature never reaches the shared state. Needs the Redis at 127.0.0.1:6379 (skips loudly
//! when it is missing, fails under CI).

mod common;
mod identity_support;
mod redis_support;

use std::time::Duration;

use common::Gateway;
use identity_support::*;
use idlegate::clock::Clock;
use redis_support::*;

const OK: &str = "idlegate_token_verifications_total{result=\"ok\"}";

async fn replica(
    up: std::net::SocketAddr,
    jwks: &std::path::Path,
    prefix: &str,
    clock: &Clock,
) -> Gateway {
    let gw = gateway_on(with_identity(config(up, SHARED_URL, prefix), jwks), clock).await;
    assert!(connected(&gw).await, "reaches Redis");
    gw
}

#[tokio::test]
async fn a_token_seen_on_one_replica_is_verified_once_on_the_next_and_a_forgery_touches_nothing() {
    if !shared_redis().await {
        return;
    }
    let (prefix, clock) = (unique_prefix(), Clock::new());
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("jwks.json");
    let signer = Signer::new("k1");
    write_jwks(&jwks, &[&signer]);
    let up = common::upstream().await;
    let a = replica(up, &jwks, &prefix, &clock).await;
    let b = replica(up, &jwks, &prefix, &clock).await;

    let token = signer.sign(&claims(clock.now_ms(), "heidi", &["supervisor"]));
    assert_eq!(a.get("/x", Some(&token)).await.status, 200);
    assert!(a.running.app.state().flush_to_redis().await.is_some());
    for _ in 0..3 {
        assert_eq!(b.get("/x", Some(&token)).await.status, 200);
    }
    assert_eq!(
        b.metric(OK).await,
        1.0,
        "verified once on B, then known by its bytes"
    );
    let doc = b.get("/.idlegate/session", Some(&token)).await.json();
    assert_eq!(doc["policy"], "supervisors", "B derived the policy itself");

    // A forged signature on B: refused before anything is touched or asked of Redis.
    let (input, _) = token.rsplit_once('.').unwrap();
    let forged = format!("{input}.{}", "A".repeat(86));
    let before = doc["idle_remaining_seconds"].as_u64().unwrap();
    clock.advance(Duration::from_secs(5));
    assert_eq!(b.get("/x", Some(&forged)).await.status, 401);
    let after = b.get("/.idlegate/session", Some(&token)).await.json();
    assert_eq!(
        after["idle_remaining_seconds"].as_u64().unwrap(),
        before - 5
    );

    a.running.stop().await.unwrap();
    b.running.stop().await.unwrap();
    cleanup(SHARED_URL, &prefix).await;
}
