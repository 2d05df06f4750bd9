//! Revocation hooks: the webhook and RFC 7009 revocation at the identity provider run
//! off the request path, after a revocation, with the metrics counting results.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::receiver::*;
use common::*;

#[tokio::test]
async fn webhook_and_rfc7009_are_called_on_revocation() {
    let up = upstream().await;
    let (hook_addr, mut hooks) = receiver(204).await;
    let (idp_addr, mut idp) = receiver(200).await;
    std::env::set_var("IDLEGATE_TEST_RFC7009_SECRET", "s3cret");
    let mut c = config(up);
    c.revocation.webhook = Some(format!("http://{hook_addr}/revoked").parse().unwrap());
    c.revocation.rfc7009 = Some(idlegate::config::Rfc7009Config {
        url: format!("http://{idp_addr}/oauth/revoke").parse().unwrap(),
        client_id: "gateway".into(),
        client_secret_env: "IDLEGATE_TEST_RFC7009_SECRET".into(),
    });
    let gw = gateway(c).await;
    let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.c2ln";
    assert_eq!(gw.get("/a", Some(token)).await.status, 200);
    gw.clock.advance(Duration::from_secs(3));
    assert_eq!(gw.get("/a", Some(token)).await.status, 401);

    let hook = next(&mut hooks).await;
    assert_eq!(hook.path, "/revoked");
    let doc: serde_json::Value = serde_json::from_str(&hook.body).unwrap();
    assert_eq!(doc["token_id"], token_id(token));
    assert_eq!(doc["reason"], "inactivity");
    assert!(doc["revoked_at"].as_str().unwrap().ends_with('Z'));
    assert!(doc["last_activity"].as_str().is_some());
    assert!(
        !hook.body.contains(token),
        "the webhook never carries the raw token"
    );

    let revoke = next(&mut idp).await;
    assert_eq!(revoke.path, "/oauth/revoke");
    assert_eq!(
        revoke.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(
        revoke.body,
        format!(
            "token={}&token_type_hint=access_token",
            token.replace('.', "%2E")
        )
    );
    // Basic base64("gateway:s3cret")
    assert_eq!(
        revoke.headers["authorization"],
        "Basic Z2F0ZXdheTpzM2NyZXQ="
    );

    let counted = gw
        .eventually(Duration::from_secs(5), || async {
            gw.metric("idlegate_revocation_hook_total{hook=\"webhook\",result=\"ok\"}")
                .await
                == 1.0
                && gw
                    .metric("idlegate_revocation_hook_total{hook=\"rfc7009\",result=\"ok\"}")
                    .await
                    == 1.0
        })
        .await;
    assert!(counted);
}

/// A webhook gateway with a short idle timeout; `dir` holds its snapshot when given.
async fn webhook_gateway(hook: SocketAddr, snapshot: Option<&std::path::Path>) -> Gateway {
    let up = upstream().await;
    let mut c = config(up);
    c.revocation.webhook = Some(format!("http://{hook}/revoked").parse().unwrap());
    c.state.snapshot = snapshot.map(|d| d.join("idlegate.state"));
    gateway(c).await
}

/// Tracks `token`, lets it expire, and checks it is refused.
async fn expire(gw: &Gateway, token: &str) {
    assert_eq!(gw.get("/a", Some(token)).await.status, 200);
    gw.clock.advance(Duration::from_secs(3));
    assert_eq!(gw.get("/a", Some(token)).await.status, 401);
}

const WEBHOOK_OK: &str = "idlegate_revocation_hook_total{hook=\"webhook\",result=\"ok\"}";
const WEBHOOK_ERROR: &str = "idlegate_revocation_hook_total{hook=\"webhook\",result=\"error\"}";
const WEBHOOK_QUEUE: &str = "idlegate_revocation_hook_queue{hook=\"webhook\"}";

#[tokio::test]
async fn a_failing_webhook_is_retried_until_it_succeeds_without_failing_requests() {
    let (hook_addr, mut hooks) = receiver_script(&[503, 500], 204).await;
    let gw = webhook_gateway(hook_addr, None).await;
    expire(&gw, "t").await;
    let first = next(&mut hooks).await;
    assert_eq!(
        gw.metric(WEBHOOK_QUEUE).await,
        1.0,
        "unfinished while retried"
    );
    assert_eq!(
        gw.get("/other", None).await.status,
        200,
        "requests unaffected"
    );
    let (second, third) = (next(&mut hooks).await, next(&mut hooks).await);
    assert_eq!(first.body, second.body, "the same event is sent again");
    assert_eq!(second.body, third.body);
    let delivered = gw
        .eventually(Duration::from_secs(5), || async {
            gw.metric(WEBHOOK_OK).await == 1.0 && gw.metric(WEBHOOK_QUEUE).await == 0.0
        })
        .await;
    assert!(delivered);
    assert_eq!(gw.metric(WEBHOOK_ERROR).await, 0.0);
}

#[tokio::test]
async fn a_webhook_answering_4xx_is_not_retried() {
    let (hook_addr, mut hooks) = receiver(400).await;
    let gw = webhook_gateway(hook_addr, None).await;
    expire(&gw, "t").await;
    next(&mut hooks).await;
    let given_up = gw
        .eventually(Duration::from_secs(5), || async {
            gw.metric(WEBHOOK_ERROR).await == 1.0
        })
        .await;
    assert!(given_up, "a 400 is an error at once, not after retries");
    // Counted as given up means finished: nothing is left that could send again.
    assert_eq!(gw.metric(WEBHOOK_QUEUE).await, 0.0);
    assert!(hooks.try_recv().is_err(), "one attempt only");
}

#[tokio::test]
async fn a_webhook_that_stays_down_is_given_up_after_retry_for() {
    let (hook_addr, mut hooks) = receiver(503).await;
    let up = upstream().await;
    let mut c = config(up);
    c.revocation.webhook = Some(format!("http://{hook_addr}/revoked").parse().unwrap());
    c.revocation.retry_for = Duration::from_secs(2);
    let gw = gateway(c).await;
    expire(&gw, "t").await;
    next(&mut hooks).await;
    next(&mut hooks).await;
    let given_up = gw
        .eventually(Duration::from_secs(10), || async {
            gw.metric(WEBHOOK_ERROR).await == 1.0
        })
        .await;
    assert!(given_up);
    assert_eq!(gw.metric(WEBHOOK_QUEUE).await, 0.0);
}

#[tokio::test]
async fn a_graceful_restart_keeps_unfinished_webhook_deliveries() {
    let dir = tempfile::tempdir().unwrap();
    let (down_addr, mut down) = receiver(503).await;
    let gw = webhook_gateway(down_addr, Some(dir.path())).await;
    let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.c2ln";
    expire(&gw, token).await;
    let attempted: serde_json::Value = serde_json::from_str(&next(&mut down).await.body).unwrap();
    gw.running.stop().await.unwrap();
    let kept_file = dir.path().join("idlegate.state.hooks");
    let kept = std::fs::read_to_string(&kept_file).expect("kept at stop");
    assert!(
        kept.contains(&token_id(token)) && !kept.contains(token),
        "{kept}"
    );

    let (up_addr, mut up) = receiver(204).await;
    let gw = webhook_gateway(up_addr, Some(dir.path())).await;
    let resumed: serde_json::Value = serde_json::from_str(&next(&mut up).await.body).unwrap();
    assert_eq!(resumed, attempted, "the same event, revoked_at included");
    let delivered = gw
        .eventually(Duration::from_secs(5), || async {
            gw.metric(WEBHOOK_OK).await == 1.0
        })
        .await;
    assert!(delivered);
    gw.running.stop().await.unwrap();
    assert!(!kept_file.exists(), "nothing pending: the file is removed");
}
