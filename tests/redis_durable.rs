//! With Redis, an admin revocation answers 204 only once Redis holds it; while Redis cannot
//! take it the DELETE answers 503, the token is refused on this replica all the same, and the
//! revocation is written when Redis is back. Tests skip loudly without Redis (fail under CI).

mod common;
mod redis_support;

use std::time::Duration;

use bytes::Bytes;
use common::Gateway;
use http::Request;
use http_body_util::Full;
use idlegate::clock::Clock;
use redis_support::*;

const ADMIN_SECRET: &str = "redis-durable-admin";

fn with_admin(mut c: idlegate::config::Config, env: &str) -> idlegate::config::Config {
    std::env::set_var(env, ADMIN_SECRET);
    c.admin.token_env = env.to_owned();
    c
}

async fn delete(gw: &Gateway, token: &str) -> common::Reply {
    let url = format!(
        "http://{}/api/v1/tokens/{}",
        gw.running.admin_addr,
        common::token_id(token)
    );
    let req = Request::delete(url)
        .header("authorization", format!("Bearer {ADMIN_SECRET}"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    gw.send(req).await
}

/// Redis' revoked entry for `token`, if any.
async fn revoked_in_redis(url: &str, prefix: &str, token: &str) -> Option<String> {
    let mut conn = connect(url).await;
    let key = format!("{prefix}:{{{}}}:r", common::token_id(token));
    redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap_or(None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_delete_answers_204_once_redis_holds_the_revocation() {
    if !shared_redis().await {
        return;
    }
    let prefix = unique_prefix();
    let up = common::upstream().await;
    let cfg = with_admin(config(up, SHARED_URL, &prefix), "REDIS_DURABLE_T_UP");
    let gw = gateway_on(cfg, &Clock::new()).await;
    assert!(connected(&gw).await);
    assert_eq!(gw.get("/x", Some("tok-up")).await.status, 200);
    let reply = delete(&gw, "tok-up").await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    // Read at once, no polling: the 204 means Redis already holds it.
    let entry = revoked_in_redis(SHARED_URL, &prefix, "tok-up").await;
    assert!(
        entry.is_some_and(|e| e.starts_with("admin ")),
        "stored before the 204"
    );
    gw.running.stop().await.unwrap();
    cleanup(SHARED_URL, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_delete_while_redis_is_down_answers_503_and_is_written_when_it_is_back() {
    let Some(mut server) = Server::start().await else {
        return;
    };
    let (prefix, url) = (unique_prefix(), server.url());
    let up = common::upstream().await;
    let cfg = with_admin(config(up, &url, &prefix), "REDIS_DURABLE_T_DOWN");
    let gw = gateway_on(cfg, &Clock::new()).await;
    assert!(connected(&gw).await);
    assert_eq!(gw.get("/x", Some("tok-down")).await.status, 200);
    server.stop();
    assert!(disconnected(&gw).await);

    let reply = delete(&gw, "tok-down").await;
    assert_eq!(reply.status, 503, "{}", reply.body);
    let doc = reply.json();
    assert_eq!(doc["error"], "revocation_not_stored");
    let message = doc["message"].as_str().unwrap_or_default();
    assert!(message.contains("when Redis is back"), "{message}");
    assert_eq!(
        gw.get("/x", Some("tok-down")).await.status,
        401,
        "enforced on this replica"
    );

    server.restart().await;
    assert!(connected(&gw).await);
    let mut stored = false;
    for _ in 0..250 {
        if revoked_in_redis(&url, &prefix, "tok-down").await.is_some() {
            stored = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(stored, "written once Redis is back");
    gw.running.stop().await.unwrap();
}
