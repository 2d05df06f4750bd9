//! The trial list with Redis (docs/reference.md, "Trial list"; docs/replicas.md): a token's
//! last trial reset is shared like its last activity (field `tl` of its hash), so a replica
//! times the trial list from another replica's resets. Skips loudly without Redis (fails
//! under CI); owns a unique key prefix.

mod admin_support;
mod common;
mod redis_support;

use std::time::Duration;

use admin_support::{get, with_admin_env};
use common::{token_id, Gateway};
use idlegate::classify::Pattern;
use idlegate::clock::{rfc3339, Clock};
use idlegate::config::Config;
use redis_support::*;
use serde_json::Value;

const MINUTE: Duration = Duration::from_secs(60);
const HALF_MINUTE: Duration = Duration::from_secs(30);

/// Idle 10 minutes, the trial excluding `GET /poll`.
fn trial_config(up: std::net::SocketAddr, prefix: &str, env: &str) -> Config {
    let mut c = with_admin_env(config(up, SHARED_URL, prefix), env);
    c.timeout.idle = Duration::from_secs(600);
    c.exclusions.trial_custom = vec![Pattern::parse("GET /poll").unwrap()];
    c
}

/// The would-be revocations a replica lists (`GET /api/v1/evidence/trial`).
async fn would_revoke(gw: &Gateway) -> Vec<Value> {
    let reply = get(gw, "/api/v1/evidence/trial").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["would_revoke"].as_array().unwrap().clone()
}

/// `token`'s last activity on `gw` (`GET /api/v1/tokens/{id}`), in ms.
async fn last_activity(gw: &Gateway, token: &str) -> u64 {
    let status = get(gw, &format!("/api/v1/tokens/{}", token_id(token))).await;
    let last = status.json()["last_activity"].as_str().unwrap().to_owned();
    idlegate::har::parse_rfc3339_ms(&last).unwrap()
}

/// Writes what `gw` touched to Redis now.
async fn flush(gw: &Gateway) {
    let stats = gw.running.app.state().flush_to_redis().await;
    assert_eq!(stats.expect("redis backend").left, 0, "flushed");
}

/// The last trial reset Redis holds for `token` (field `tl` of its hash).
async fn shared_trial_reset(prefix: &str, token: &str) -> Option<u64> {
    let mut conn = connect(SHARED_URL).await;
    redis::cmd("HGET")
        .arg(format!("{prefix}:{{{}}}:t", token_id(token)))
        .arg("tl")
        .query_async(&mut conn)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_the_trial_timer_through_redis() {
    if !shared_redis().await {
        return;
    }
    let (prefix, clock, up) = (unique_prefix(), Clock::new(), common::upstream().await);
    let a_config = trial_config(up, &prefix, "IDLEGATE_ADMIN_TOKEN_T_REDIS_TRIAL_A");
    let a = gateway_on(a_config, &clock).await;
    let b_config = trial_config(up, &prefix, "IDLEGATE_ADMIN_TOKEN_T_REDIS_TRIAL_B");
    let b = gateway_on(b_config, &clock).await;
    assert!(
        connected(&a).await && connected(&b).await,
        "both reach Redis"
    );
    let t = "tok-trial";
    // At A: activity at 0 and at 4 minutes (the last trial reset), a poll at 4.5 minutes
    // (the last activity).
    assert_eq!(a.get("/work", Some(t)).await.status, 200);
    flush(&a).await;
    clock.advance(4 * MINUTE);
    assert_eq!(a.get("/work", Some(t)).await.status, 200);
    let reset_ms = last_activity(&a, t).await;
    flush(&a).await;
    clock.advance(HALF_MINUTE);
    assert_eq!(a.get("/poll", Some(t)).await.status, 200);
    flush(&a).await;
    assert_eq!(shared_trial_reset(&prefix, t).await, Some(reset_ms));
    // B first sees the token at 5 minutes and only polls: it times the trial from A's reset,
    // not from the first request (10 minutes) nor the last activity (14.5 minutes).
    clock.advance(HALF_MINUTE);
    for _ in 5..=13 {
        assert_eq!(b.get("/poll", Some(t)).await.status, 200);
        assert!(would_revoke(&b).await.is_empty());
        clock.advance(MINUTE);
    }
    assert_eq!(b.get("/poll", Some(t)).await.status, 200);
    let listed = would_revoke(&b).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["token_id"], token_id(t));
    assert_eq!(listed[0]["at"], rfc3339(reset_ms + 600_000));
    // Listed once: the reset Redis still holds, its deadline passed, does not start B's
    // trial timer again; a waiting token writes no reset.
    flush(&b).await;
    assert_eq!(shared_trial_reset(&prefix, t).await, Some(reset_ms));
    clock.advance(MINUTE);
    assert_eq!(b.get("/poll", Some(t)).await.status, 200);
    assert_eq!(would_revoke(&b).await.len(), 1);
    assert!(
        would_revoke(&a).await.is_empty(),
        "A served no request then"
    );
    for gw in [a, b] {
        gw.running.stop().await.unwrap();
    }
    cleanup(SHARED_URL, &prefix).await;
}
