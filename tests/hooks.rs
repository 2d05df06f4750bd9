//! Revocation hooks: the webhook and RFC 7009 revocation at the identity provider run
//! off the request path, after a revocation, with the metrics counting results.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

struct Received {
    path: String,
    headers: http::HeaderMap,
    body: String,
}

/// A receiver answering `status` to every request and reporting what it got.
async fn receiver(status: u16) -> (SocketAddr, mpsc::UnboundedReceiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: http::Request<Incoming>| {
                    let tx = tx.clone();
                    async move {
                        let path = req.uri().path().to_string();
                        let headers = req.headers().clone();
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let _ = tx.send(Received {
                            path,
                            headers,
                            body: String::from_utf8_lossy(&body).into_owned(),
                        });
                        Ok::<_, Infallible>(
                            http::Response::builder()
                                .status(status)
                                .body(Full::new(Bytes::new()))
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("hook delivered in time")
        .expect("receiver alive")
}

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

#[tokio::test]
async fn a_failing_webhook_is_retried_then_counted_as_error_without_failing_requests() {
    let up = upstream().await;
    let (hook_addr, mut hooks) = receiver(500).await;
    let mut c = config(up);
    c.revocation.webhook = Some(format!("http://{hook_addr}/revoked").parse().unwrap());
    let gw = gateway(c).await;
    gw.get("/a", Some("t")).await;
    gw.clock.advance(Duration::from_secs(3));
    assert_eq!(gw.get("/a", Some("t")).await.status, 401);
    // Retried with backoff: a second attempt arrives.
    next(&mut hooks).await;
    next(&mut hooks).await;
    assert_eq!(
        gw.get("/other", Some("u")).await.status,
        200,
        "requests unaffected"
    );
    let failed = gw
        .eventually(Duration::from_secs(15), || async {
            gw.metric("idlegate_revocation_hook_total{hook=\"webhook\",result=\"error\"}")
                .await
                == 1.0
        })
        .await;
    assert!(failed, "after the last attempt the failure is counted");
}
