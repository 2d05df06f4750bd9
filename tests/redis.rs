//! The Redis backend: several replicas sharing token state in a real Redis.
//! Tests that need the shared Redis (127.0.0.1:6379) or /usr/bin/redis-server skip loudly when
//! it is missing, and fail under CI. Each test owns a unique key prefix.

mod common;
mod redis_support;

use std::time::{Duration, Instant};

use common::Gateway;
use idlegate::clock::Clock;
use idlegate::config::OnError;
use redis_support::*;

const INACTIVITY: &str = "idlegate_revocations_total{reason=\"inactivity\"}";

/// Whether Redis holds `token`'s last activity at or after `at_ms` (within 2 s).
async fn flushed(url: &str, prefix: &str, token: &str, at_ms: u64) -> bool {
    let mut conn = connect(url).await;
    let key = format!("{prefix}:{{{}}}:t", common::token_id(token));
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        let last: Option<u64> = redis::cmd("HGET")
            .arg(&key)
            .arg("l")
            .query_async(&mut conn)
            .await
            .unwrap_or(None);
        if last.is_some_and(|l| l >= at_ms) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

async fn pair(url: &str, prefix: &str, clock: &Clock) -> (Gateway, Gateway) {
    let up = common::upstream().await;
    let a = gateway_on(config(up, url, prefix), clock).await;
    let b = gateway_on(config(up, url, prefix), clock).await;
    assert!(
        connected(&a).await && connected(&b).await,
        "both reach Redis"
    );
    (a, b)
}

async fn stop(gws: [Gateway; 2]) {
    for gw in gws {
        gw.running.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activity_through_a_keeps_a_token_alive_for_b() {
    if !shared_redis().await {
        return;
    }
    let (prefix, clock) = (unique_prefix(), Clock::new());
    let (a, b) = pair(SHARED_URL, &prefix, &clock).await;
    let t = "tok-keepalive";
    assert_eq!(a.get("/x", Some(t)).await.status, 200);
    assert_eq!(b.get("/x", Some(t)).await.status, 200);
    // 4 × 1.2 s with activity through A only: B's own copy went idle long ago (2 s).
    for _ in 0..4 {
        clock.advance(Duration::from_millis(1200));
        let at = clock.now_ms();
        assert_eq!(a.get("/x", Some(t)).await.status, 200);
        assert!(
            flushed(SHARED_URL, &prefix, t, at).await,
            "A's touch reached Redis"
        );
    }
    assert_eq!(
        b.get("/x", Some(t)).await.status,
        200,
        "B learnt A's activity"
    );
    assert_eq!(a.metric(INACTIVITY).await + b.metric(INACTIVITY).await, 0.0);
    stop([a, b]).await;
    cleanup(SHARED_URL, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_revoked_on_a_is_refused_by_b_within_1_5_s() {
    if !shared_redis().await {
        return;
    }
    let (prefix, clock) = (unique_prefix(), Clock::new());
    let (a, b) = pair(SHARED_URL, &prefix, &clock).await;
    let t = "tok-admin-revoked";
    assert_eq!(a.get("/x", Some(t)).await.status, 200);
    assert_eq!(b.get("/x", Some(t)).await.status, 200);
    admin_revoke(&a, t);
    let took = refused_within(&b, t, Duration::from_millis(1500)).await;
    assert!(took.is_some(), "B refuses the token within 1.5 s");
    let r = b.get("/x", Some(t)).await;
    assert_eq!(
        r.json()["error_description"],
        "token revoked by an administrator"
    );
    // A replica that never saw the token learns it on first sight.
    let c = gateway_on(
        config(common::upstream().await, SHARED_URL, &prefix),
        &clock,
    )
    .await;
    assert!(connected(&c).await);
    assert_eq!(c.get("/x", Some(t)).await.status, 401);
    c.running.stop().await.unwrap();
    stop([a, b]).await;
    cleanup(SHARED_URL, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_expiry_is_claimed_by_one_replica_and_refused_by_all() {
    if !shared_redis().await {
        return;
    }
    let (prefix, clock) = (unique_prefix(), Clock::new());
    let (a, b) = pair(SHARED_URL, &prefix, &clock).await;
    let t = "tok-idle";
    assert_eq!(a.get("/x", Some(t)).await.status, 200);
    assert_eq!(b.get("/x", Some(t)).await.status, 200);
    clock.advance(Duration::from_secs(3));
    assert_eq!(a.get("/x", Some(t)).await.status, 401);
    assert!(refused_within(&b, t, Duration::from_millis(1500))
        .await
        .is_some());
    // Exactly one replica claimed it: one audit event, one hook, one count.
    let counted = a.metric(INACTIVITY).await + b.metric(INACTIVITY).await;
    assert_eq!(counted, 1.0);
    stop([a, b]).await;
    cleanup(SHARED_URL, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_killed_mid_traffic_recovers_and_loses_no_revocation() {
    if !shared_redis().await {
        return;
    }
    let (prefix, clock) = (unique_prefix(), Clock::new());
    let (a, b) = pair(SHARED_URL, &prefix, &clock).await;
    let (victim, busy) = ("tok-victim", "tok-busy");
    for gw in [&a, &b] {
        assert_eq!(gw.get("/x", Some(victim)).await.status, 200);
        assert_eq!(gw.get("/x", Some(busy)).await.status, 200);
    }
    let a = std::sync::Arc::new(a);
    let traffic = {
        let a = a.clone();
        tokio::spawn(async move {
            let mut failed = 0;
            for _ in 0..100 {
                if a.get("/x", Some(busy)).await.status != 200 {
                    failed += 1;
                }
            }
            failed
        })
    };
    assert!(kill_gateway_connections(SHARED_URL, &prefix).await >= 2);
    admin_revoke(&a, victim);
    assert_eq!(traffic.await.unwrap(), 0, "known tokens served throughout");
    assert!(
        refused_within(&b, victim, Duration::from_secs(3))
            .await
            .is_some(),
        "the revocation made during the reconnect reached B"
    );
    assert!(connected(&a).await && connected(&b).await);
    let a = std::sync::Arc::try_unwrap(a)
        .ok()
        .expect("traffic task done");
    stop([a, b]).await;
    cleanup(SHARED_URL, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_service_recovers_and_no_revocation_is_lost() {
    let Some(mut server) = Server::start().await else {
        return;
    };
    let (prefix, clock, url) = (unique_prefix(), Clock::new(), server.url());
    let (a, b) = pair(&url, &prefix, &clock).await;
    let (victim, known, early) = ("tok-victim", "tok-known", "tok-early");
    for gw in [&a, &b] {
        assert_eq!(gw.get("/x", Some(victim)).await.status, 200);
        assert_eq!(gw.get("/x", Some(known)).await.status, 200);
    }
    // Revoked and stored before the restart, which loses Redis' data (no persistence).
    admin_revoke(&a, early);
    assert!(refused_within(&b, early, Duration::from_millis(1500))
        .await
        .is_some());
    server.stop();
    assert!(disconnected(&a).await && disconnected(&b).await);
    // While Redis is down: revoke on A, keep serving known tokens, track a new one.
    admin_revoke(&a, victim);
    assert_eq!(a.get("/x", Some(victim)).await.status, 401);
    assert_eq!(b.get("/x", Some(known)).await.status, 200);
    let at = clock.now_ms();
    assert_eq!(a.get("/x", Some("tok-new")).await.status, 200);
    assert!(
        a.eventually(Duration::from_secs(2), || async {
            a.metric("idlegate_state_sync_lag_seconds").await > 0.0
        })
        .await,
        "sync lag grows while Redis is down"
    );
    assert!(
        a.eventually(Duration::from_secs(2), || async {
            a.metric("idlegate_state_errors_total{op=\"read\"}").await > 0.0
        })
        .await,
        "failed reconnects are counted"
    );
    server.restart().await;
    assert!(connected(&a).await && connected(&b).await, "both reconnect");
    assert!(
        refused_within(&b, victim, Duration::from_secs(3))
            .await
            .is_some(),
        "the revocation made while Redis was down reached B"
    );
    assert!(
        flushed(&url, &prefix, "tok-new", at).await,
        "touches made while down are written"
    );
    assert!(
        a.eventually(Duration::from_secs(2), || async {
            a.metric("idlegate_state_sync_lag_seconds").await == 0.0
        })
        .await
    );
    // The replicas wrote back what the empty Redis lost: a new replica learns on first sight.
    let c = gateway_on(config(common::upstream().await, &url, &prefix), &clock).await;
    assert!(connected(&c).await);
    assert!(
        c.eventually(Duration::from_secs(2), || async {
            c.get("/x", Some(early)).await.status == 401
        })
        .await,
        "a revocation stored before Redis lost its data is not lost"
    );
    c.running.stop().await.unwrap();
    stop([a, b]).await;
}

async fn with_redis_stopped(on_error: OnError) -> Option<(u16, String, String)> {
    let mut server = Server::start().await?;
    let (prefix, clock, url) = (unique_prefix(), Clock::new(), server.url());
    let mut cfg = config(common::upstream().await, &url, &prefix);
    cfg.state.on_error = on_error;
    let gw = gateway_on(cfg, &clock).await;
    assert!(connected(&gw).await);
    assert_eq!(gw.get("/x", Some("tok-known")).await.status, 200);
    server.stop();
    assert!(disconnected(&gw).await);
    let known = gw.get("/x", Some("tok-known")).await.status;
    assert_eq!(known, 200, "known tokens are served in both modes");
    let unknown = gw.get("/x", Some("tok-unknown")).await;
    let error = unknown.json()["error"].as_str().unwrap_or("").to_owned();
    let anonymous = gw.get("/x", None).await.status;
    assert_eq!(anonymous, 200, "requests without a token are not affected");
    gw.running.stop().await.unwrap();
    Some((unknown.status.as_u16(), error, prefix))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_error_open_serves_unknown_tokens_while_redis_is_down() {
    if let Some((status, _, _)) = with_redis_stopped(OnError::Open).await {
        assert_eq!(status, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_error_closed_refuses_unknown_tokens_with_503_while_redis_is_down() {
    if let Some((status, error, _)) = with_redis_stopped(OnError::Closed).await {
        assert_eq!(status, 503);
        assert_eq!(error, "temporarily_unavailable");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_with_redis_down_is_not_ready_until_redis_was_reached() {
    let Some(mut server) = Server::start().await else {
        return;
    };
    server.stop();
    let (prefix, clock) = (unique_prefix(), Clock::new());
    let gw = gateway_on(
        config(common::upstream().await, &server.url(), &prefix),
        &clock,
    )
    .await;
    assert_eq!(readyz(&gw).await, 503);
    assert_eq!(
        gw.get("/x", Some("tok")).await.status,
        200,
        "serves meanwhile (on_error = open)"
    );
    server.restart().await;
    assert!(connected(&gw).await);
    assert_eq!(readyz(&gw).await, 200);
    gw.running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shadow_expiry_is_counted_once_across_replicas_and_keeps_serving() {
    if !shared_redis().await {
        return;
    }
    let (prefix, clock) = (unique_prefix(), Clock::new());
    let up = common::upstream().await;
    let mut cfg = config(up, SHARED_URL, &prefix);
    cfg.timeout.mode = idlegate::config::Mode::Shadow;
    let a = gateway_on(cfg.clone(), &clock).await;
    let b = gateway_on(cfg, &clock).await;
    assert!(connected(&a).await && connected(&b).await);
    let t = "tok-shadow";
    assert_eq!(a.get("/x", Some(t)).await.status, 200);
    assert_eq!(b.get("/x", Some(t)).await.status, 200);
    clock.advance(Duration::from_secs(3));
    assert_eq!(
        a.get("/x", Some(t)).await.status,
        200,
        "shadow never refuses"
    );
    assert_eq!(b.get("/x", Some(t)).await.status, 200);
    let shadow = "idlegate_shadow_revocations_total";
    assert!(
        a.eventually(Duration::from_secs(2), || async {
            a.metric(shadow).await + b.metric(shadow).await >= 1.0
        })
        .await
    );
    assert_eq!(a.metric(shadow).await + b.metric(shadow).await, 1.0);
    assert_eq!(a.metric(INACTIVITY).await + b.metric(INACTIVITY).await, 0.0);
    stop([a, b]).await;
    cleanup(SHARED_URL, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_forgotten_by_redis_are_loaded_again() {
    // A private server: SCRIPT FLUSH must not disturb the other tests.
    let Some(server) = Server::start().await else {
        return;
    };
    let (prefix, clock, url) = (unique_prefix(), Clock::new(), server.url());
    let (a, b) = pair(&url, &prefix, &clock).await;
    let t = "tok-noscript";
    assert_eq!(a.get("/x", Some(t)).await.status, 200);
    assert_eq!(b.get("/x", Some(t)).await.status, 200);
    let mut conn = connect(&url).await;
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut conn)
        .await
        .unwrap();
    // The next revocation publish fails once (NOSCRIPT), the scripts come back, it is retried.
    admin_revoke(&a, t);
    assert!(refused_within(&b, t, Duration::from_millis(1500))
        .await
        .is_some());
    let r = b.get("/x", Some(t)).await;
    assert_eq!(
        r.json()["error_description"],
        "token revoked by an administrator"
    );
    stop([a, b]).await;
}
