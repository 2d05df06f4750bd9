//! Forwarding, protocols and limits: headers, streaming, h2c, upgrades,
//! upstream failures, oversized heads, garbage input.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn hop_by_hop_headers_are_removed_and_forwarding_headers_added() {
    let up = upstream().await;
    let gw = gateway(config(up)).await;
    let req = Request::get(gw.url("/h"))
        .header("host", "api.example.test")
        .header("connection", "x-private")
        .header("x-private", "secret")
        .header("te", "trailers")
        .header("proxy-authorization", "Basic x")
        .header("x-forwarded-for", "10.0.0.1")
        .header("x-kept", "yes")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let r = gw.send(req).await;
    let h = &r.json()["headers"];
    assert_eq!(h["host"][0], "api.example.test", "Host forwarded unchanged");
    assert!(h.get("x-private").is_none());
    assert!(h.get("te").is_none());
    assert!(h.get("proxy-authorization").is_none());
    assert_eq!(h["x-kept"][0], "yes");
    assert_eq!(h["x-forwarded-for"][0], "10.0.0.1, 127.0.0.1");
    assert_eq!(h["x-forwarded-proto"][0], "http");
    assert_eq!(h["x-forwarded-host"][0], "api.example.test");
    assert!(h.get("via").is_none());
    // Response side: hop-by-hop headers of the upstream are removed too.
    assert!(!r.headers.contains_key("x-upstream-private"));
    assert!(!r.headers.contains_key("keep-alive"));
}

#[tokio::test]
async fn existing_forwarded_proto_and_host_are_kept() {
    let up = upstream().await;
    let gw = gateway(config(up)).await;
    let req = Request::get(gw.url("/h"))
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "edge.example")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let h = gw.send(req).await.json()["headers"].clone();
    assert_eq!(h["x-forwarded-proto"][0], "https");
    assert_eq!(h["x-forwarded-host"][0], "edge.example");
}

#[tokio::test]
async fn bodies_stream_both_ways() {
    let up = upstream().await;
    let gw = gateway(config(up)).await;
    let big = gw.get("/big/5000000", Some("t")).await;
    assert_eq!(big.status, 200);
    assert_eq!(big.body.len(), 5_000_000);
    let upload = Request::post(gw.url("/count"))
        .header("authorization", "Bearer t")
        .body(Full::new(Bytes::from(vec![7u8; 3_000_000])))
        .unwrap();
    assert_eq!(gw.send(upload).await.body, "3000000");
}

#[tokio::test]
async fn http2_prior_knowledge_clients_are_served() {
    let up = upstream().await;
    let gw = gateway(config(up)).await;
    let h2: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http();
    let req = Request::get(gw.url("/h2"))
        .header("authorization", "Bearer h2-token")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = h2.request(req).await.unwrap();
    assert_eq!(resp.version(), http::Version::HTTP_2);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let echo: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        echo["version"], "HTTP/1.1",
        "idlegate speaks HTTP/1.1 upstream"
    );
    assert_eq!(
        echo["headers"]["x-forwarded-host"][0],
        gw.running.proxy_addr.to_string()
    );
    assert_eq!(gw.metric("idlegate_tokens_tracked").await, 1.0);
}

async fn open_tunnel(gw: &Gateway, token: &str) -> TcpStream {
    let mut s = TcpStream::connect(gw.running.proxy_addr).await.unwrap();
    let head = format!(
        "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\nAuthorization: Bearer {token}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 1024];
    let n = s.read(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 101"), "got {text}");
    s
}

#[tokio::test]
async fn websocket_upgrade_passes_through_and_revocation_closes_it() {
    let up = upstream().await;
    let gw = gateway(config(up)).await;
    let mut tunnel = open_tunnel(&gw, "ws-token").await;
    tunnel.write_all(b"ping").await.unwrap();
    let mut buf = [0u8; 4];
    tunnel.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"ping");
    // Admin revocation closes the token's tunnel.
    gw.running.app.state().revoke(
        &keyer().key("ws-token"),
        idlegate::store::RevokeReason::Admin,
        gw.clock.now_ms(),
    );
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), tunnel.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "tunnel closed after revocation");
}

#[tokio::test]
async fn anonymous_upgrades_are_relayed_too() {
    let up = upstream().await;
    let gw = gateway(config(up)).await;
    let mut s = TcpStream::connect(gw.running.proxy_addr).await.unwrap();
    s.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 1024];
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 101"));
    s.write_all(b"anon").await.unwrap();
    let mut echo = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut echo))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&echo, b"anon");
}

#[tokio::test]
async fn unreachable_upstream_is_502_and_slow_upstream_504() {
    let closed = common::closed_addr();
    let gw = gateway(config(closed)).await;
    let r = gw.get("/x", Some("t")).await;
    assert_eq!(r.status, 502);
    assert_eq!(r.json()["error"], "bad_gateway");
    assert_eq!(
        gw.metric("idlegate_upstream_errors_total{kind=\"connect\"}")
            .await,
        1.0
    );
    assert_eq!(
        gw.metric("idlegate_tokens_tracked").await,
        0.0,
        "own answers never start tracking"
    );

    let up = upstream().await;
    let mut c = config(up);
    c.proxy.upstream_timeout = Duration::from_millis(300);
    let gw = gateway(c).await;
    let r = gw.get("/slow/3000", Some("t")).await;
    assert_eq!(r.status, 504);
    assert_eq!(r.json()["error"], "gateway_timeout");
    assert_eq!(
        gw.metric("idlegate_upstream_errors_total{kind=\"timeout\"}")
            .await,
        1.0
    );
    // A slow body after a prompt head is not cut.
    let r = gw.get("/big/2000000", Some("t")).await;
    assert_eq!(r.body.len(), 2_000_000);
}

// Before: hyper was allowed `max_header_bytes / 4` fields and so parsed every request into
// two heap arrays of 16,384 entries; at most 100 keeps them on the stack.
#[tokio::test]
async fn more_than_100_header_fields_get_431_from_the_gateway() {
    let up = upstream().await;
    let gw = gateway(config(up)).await;
    let with_fields = |n: usize| {
        // `host` is one of the fields.
        let mut b = Request::get(gw.url("/x"));
        for i in 1..n {
            b = b.header(format!("x-f{i}"), "1");
        }
        b.body(Full::new(Bytes::new())).unwrap()
    };
    // The test upstream (hyper) takes at most 100 fields itself, X-Forwarded-* included.
    assert_eq!(gw.send(with_fields(97)).await.status, 200);
    let sent = "idlegate_upstream_request_duration_seconds_count";
    let forwarded = gw.metric(sent).await;
    assert!(forwarded >= 1.0, "{sent} counts forwarded requests");
    match gw.client.request(with_fields(101)).await {
        Ok(r) => assert_eq!(r.status(), 431),
        Err(e) => panic!("expected 431, got {e}"),
    }
    assert_eq!(
        gw.metric(sent).await,
        forwarded,
        "refused by the gateway itself"
    );
}

#[tokio::test]
async fn oversized_header_block_gets_431() {
    let up = upstream().await;
    let mut c = config(up);
    c.proxy.max_header_bytes = 16384;
    let gw = gateway(c).await;
    let req = Request::get(gw.url("/x"))
        .header("x-big", "a".repeat(20_000))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = gw.client.request(req).await;
    match resp {
        Ok(r) => assert_eq!(r.status(), 431),
        Err(e) => panic!("expected 431, got {e}"),
    }
    // Just under the limit passes.
    let req = Request::get(gw.url("/x"))
        .header("x-big", "a".repeat(15_000))
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_eq!(gw.send(req).await.status, 200);
}

#[tokio::test]
async fn garbage_bytes_get_400_and_the_gateway_keeps_serving() {
    let up = upstream().await;
    let gw = gateway(config(up)).await;
    let mut s = TcpStream::connect(gw.running.proxy_addr).await.unwrap();
    s.write_all(b"\x16\x03\x01\x02\x00garbage\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 400"),
        "got {text}"
    );
    assert_eq!(gw.get("/still", None).await.status, 200);
}

#[tokio::test]
async fn own_errors_keep_the_client_connection_open() {
    let closed = common::closed_addr();
    let gw = gateway(config(closed)).await;
    let mut s = TcpStream::connect(gw.running.proxy_addr).await.unwrap();
    for _ in 0..2 {
        s.write_all(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = vec![0u8; 4096];
        let n = s.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 502"));
    }
}
