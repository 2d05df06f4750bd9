//! Requests that cannot be forwarded faithfully are refused by idlegate itself: `CONNECT`,
//! a missing, repeated or contradicting `Host`, a malformed or stalled request body. Real
//! gateway, real upstream that records what it received.

mod common;
#[path = "hardening/support.rs"]
mod support;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use support::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

async fn setup() -> (Gateway, Recorder) {
    let (up, recorder) = recording_upstream().await;
    (gateway(config(up)).await, recorder)
}

#[tokio::test]
async fn connect_is_405_with_allow_and_not_forwarded() {
    let (gw, recorder) = setup().await;
    let target = gw.running.proxy_addr;
    let r = raw(
        target,
        &format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(r.status, 405, "{r:?}");
    assert!(r.head.contains("\r\nallow: get, head, post"), "{r:?}");
    assert_eq!(r.json()["error"], "method_not_allowed");
    assert!(recorder.seen().is_empty());
    assert_eq!(
        gw.metric("idlegate_requests_total{class=\"rejected\"}")
            .await,
        1.0
    );
}

#[tokio::test]
async fn http11_without_host_or_with_two_is_400_and_not_forwarded() {
    let (gw, recorder) = setup().await;
    let addr = gw.running.proxy_addr;
    for head in [
        "GET /no-host HTTP/1.1\r\nConnection: close\r\n\r\n",
        "GET /two HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\nConnection: close\r\n\r\n",
        "GET /two HTTP/1.1\r\nHost: a.test\r\nhost: a.test\r\nConnection: close\r\n\r\n",
        "GET http://b.test/abs HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n",
        "GET http://b.test/abs HTTP/1.1\r\nConnection: close\r\n\r\n",
    ] {
        let r = raw(addr, head).await;
        assert_eq!(r.status, 400, "{head:?}: {r:?}");
        assert_eq!(r.json()["error"], "invalid_request", "{head:?}");
    }
    assert!(recorder.seen().is_empty(), "{:?}", recorder.seen());
    // Allowed: HTTP/1.0 without Host; an absolute target that names the Host.
    let r = raw(addr, "GET /old HTTP/1.0\r\n\r\n").await;
    assert_eq!(r.status, 200, "{r:?}");
    let head = "GET http://a.test/abs HTTP/1.1\r\nHost: A.test\r\nConnection: close\r\n\r\n";
    assert_eq!(raw(addr, head).await.status, 200);
    let seen = recorder.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].header_values("host"), ["A.test"]);
}

#[tokio::test]
async fn http2_host_that_contradicts_authority_is_400() {
    let (gw, recorder) = setup().await;
    let h2: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http();
    let req = |host: &str| {
        Request::get(gw.url("/h2"))
            .header("host", host)
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    let resp = h2.request(req("elsewhere.test")).await.unwrap();
    assert_eq!(resp.status(), 400);
    assert!(recorder.seen().is_empty());
    let resp = h2
        .request(req(&gw.running.proxy_addr.to_string()))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

/// The upstream errors of every kind, summed.
async fn upstream_errors(gw: &Gateway) -> f64 {
    let mut sum = 0.0;
    for kind in ["connect", "timeout", "other"] {
        let sample = format!("idlegate_upstream_errors_total{{kind=\"{kind}\"}}");
        sum += gw.metric(&sample).await;
    }
    sum
}

#[tokio::test]
async fn a_bad_chunked_body_is_400_without_internal_text_and_closes() {
    let (gw, _recorder) = setup().await;
    let mut s = TcpStream::connect(gw.running.proxy_addr).await.unwrap();
    s.write_all(
        b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\nhello\r\nzz\r\n",
    )
    .await
    .unwrap();
    let r = read_reply(&mut s).await;
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(
        r.json(),
        serde_json::json!({
            "error": "invalid_request",
            "error_description": "malformed request body"
        })
    );
    assert!(r.closes(), "{r:?}");
    assert!(closed_by_peer(&mut s).await, "the connection is closed");
    assert_eq!(upstream_errors(&gw).await, 0.0, "not the upstream's fault");
}

#[tokio::test]
async fn a_stalled_body_gets_408_and_the_upstream_request_is_aborted() {
    let (up, recorder) = recording_upstream().await;
    let mut c = config(up);
    c.proxy.body_timeout = Duration::from_millis(300);
    // Far longer: before the change, the stall ended only here, with a 504.
    c.proxy.upstream_timeout = Duration::from_secs(10);
    let gw = gateway(c).await;
    let mut s = TcpStream::connect(gw.running.proxy_addr).await.unwrap();
    s.write_all(b"POST /stall HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        .await
        .unwrap();
    let r = read_reply(&mut s).await;
    assert_eq!(r.status, 408, "{r:?}");
    assert_eq!(r.json()["error"], "request_timeout");
    assert!(r.closes(), "{r:?}");
    assert!(closed_by_peer(&mut s).await, "the connection is closed");
    let seen = recorder
        .wait_for("/stall", Duration::from_secs(10))
        .await
        .expect("the upstream saw the request start");
    assert!(
        seen.body.is_err(),
        "the upstream request was aborted: {seen:?}"
    );
    assert_eq!(upstream_errors(&gw).await, 0.0, "not the upstream's fault");
}

#[tokio::test]
async fn a_slow_but_steady_upload_is_never_cut() {
    let (up, recorder) = recording_upstream().await;
    let mut c = config(up);
    c.proxy.body_timeout = Duration::from_millis(300);
    let gw = gateway(c).await;
    let mut s = TcpStream::connect(gw.running.proxy_addr).await.unwrap();
    s.write_all(b"POST /steady HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        .await
        .unwrap();
    // Ten chunks, one every 100 ms: a second in all, more than three body timeouts.
    let mut every = tokio::time::interval(Duration::from_millis(100));
    for i in 0..10u8 {
        every.tick().await;
        s.write_all(format!("3\r\nab{i}\r\n").as_bytes())
            .await
            .unwrap();
    }
    s.write_all(b"0\r\n\r\n").await.unwrap();
    let r = read_reply(&mut s).await;
    assert_eq!(r.status, 200, "{r:?}");
    let seen = recorder.seen();
    let body = seen[0].body.as_ref().expect("complete body");
    let expected: String = (0..10).map(|i| format!("ab{i}")).collect();
    assert_eq!(String::from_utf8_lossy(body), expected);
}

#[tokio::test]
async fn an_upload_through_the_client_library_still_streams_intact() {
    let (gw, recorder) = setup().await;
    let upload = Request::post(gw.url("/big"))
        .body(Full::new(Bytes::from(vec![7u8; 1_000_000])))
        .unwrap();
    let resp = gw.client.request(upload).await.unwrap();
    assert_eq!(resp.status(), 200);
    let _ = resp.into_body().collect().await;
    assert_eq!(
        recorder.seen()[0].body.as_ref().map(|b| b.len()),
        Ok(1_000_000)
    );
}
