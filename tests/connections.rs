//! Client connections are bounded: idle keep-alive connections and half-sent heads are closed,
//! a request in flight is not, and past `proxy.max_connections` new connections wait.

mod common;

use std::time::Duration;

use common::raw::read_response;
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bound of every wait for something that must happen (generous for a loaded machine).
const WITHIN: Duration = Duration::from_secs(10);

async fn connect(gw: &Gateway) -> TcpStream {
    TcpStream::connect(gw.running.proxy_addr).await.unwrap()
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n")
}

/// Sends a request and waits (bounded) for its response.
async fn request(s: &mut TcpStream, path: &str) -> String {
    s.write_all(get(path).as_bytes()).await.unwrap();
    tokio::time::timeout(WITHIN, read_response(s))
        .await
        .expect("a response in time")
        .expect("a response before the connection ends")
}

/// Whether the gateway closes the connection within `within` (anything it sends is skipped).
async fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let mut chunk = [0u8; 1024];
    let wait = async {
        loop {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    };
    tokio::time::timeout(within, wait).await.is_ok()
}

fn with_timeouts(
    up: std::net::SocketAddr,
    keepalive_ms: u64,
    header_ms: u64,
) -> idlegate::config::Config {
    let mut c = config(up);
    c.proxy.keepalive_timeout = Duration::from_millis(keepalive_ms);
    c.proxy.header_timeout = Duration::from_millis(header_ms);
    c
}

#[tokio::test]
async fn an_idle_keepalive_connection_is_closed_after_keepalive_timeout() {
    let up = upstream().await;
    let gw = gateway(with_timeouts(up, 300, 30_000)).await;
    let mut used = connect(&gw).await;
    assert!(request(&mut used, "/a").await.starts_with("HTTP/1.1 200"));
    let mut silent = connect(&gw).await;
    assert!(
        closed_within(&mut used, WITHIN).await,
        "idle after a request: closed"
    );
    assert!(
        closed_within(&mut silent, WITHIN).await,
        "never sent a byte: closed too"
    );
    let none_open = gw
        .eventually(WITHIN, || async {
            gw.metric("idlegate_connections_open").await == 0.0
        })
        .await;
    assert!(none_open, "the open-connections gauge comes back to 0");
    gw.running.stop().await.unwrap();
}

#[tokio::test]
async fn a_reloaded_keepalive_timeout_applies_to_new_connections() {
    let up = upstream().await;
    let gw = gateway(with_timeouts(up, 30_000, 30_000)).await;
    let restart = gw.running.app.apply(with_timeouts(up, 300, 30_000));
    assert!(restart.is_empty(), "{restart:?}");
    let mut s = connect(&gw).await;
    assert!(request(&mut s, "/a").await.starts_with("HTTP/1.1 200"));
    assert!(closed_within(&mut s, WITHIN).await);
    gw.running.stop().await.unwrap();
}

#[tokio::test]
async fn the_keepalive_timer_does_not_cut_a_request_in_flight() {
    let up = upstream().await;
    let gw = gateway(with_timeouts(up, 300, 300)).await;
    let mut s = connect(&gw).await;
    // The upstream takes five keep-alive timeouts to answer.
    let resp = request(&mut s, "/slow/1500").await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.ends_with("slow"), "{resp}");
    assert!(
        closed_within(&mut s, WITHIN).await,
        "idle once the response is sent: closed"
    );
    gw.running.stop().await.unwrap();
}

#[tokio::test]
async fn a_half_sent_head_is_closed_after_header_timeout_while_an_idle_connection_stays() {
    let up = upstream().await;
    let gw = gateway(with_timeouts(up, 30_000, 300)).await;
    let mut idle = connect(&gw).await;
    assert!(request(&mut idle, "/a").await.starts_with("HTTP/1.1 200"));
    // Idle from here on: longer than the half-sent head below lives.
    let mut half = connect(&gw).await;
    half.write_all(b"GET /a HTTP/1.1\r\nHost: test\r\n")
        .await
        .unwrap();
    assert!(
        closed_within(&mut half, WITHIN).await,
        "a head that never ends is closed"
    );
    // The idle connection outlived a header timeout: it is governed by the keep-alive one.
    let again = request(&mut idle, "/b").await;
    assert!(again.starts_with("HTTP/1.1 200"), "{again}");
    gw.running.stop().await.unwrap();
}

#[tokio::test]
async fn past_max_connections_a_connection_waits_is_counted_and_healthz_still_answers() {
    let up = upstream().await;
    let mut c = with_timeouts(up, 30_000, 30_000);
    c.proxy.max_connections = 2;
    let gw = gateway(c).await;
    let mut first = connect(&gw).await;
    let mut second = connect(&gw).await;
    assert!(request(&mut first, "/1").await.starts_with("HTTP/1.1 200"));
    assert!(request(&mut second, "/2").await.starts_with("HTTP/1.1 200"));
    assert_eq!(gw.metric("idlegate_connections_open").await, 2.0);

    let mut third = connect(&gw).await;
    third.write_all(get("/3").as_bytes()).await.unwrap();
    // Not served while both slots are taken (a bounded look: any answer here is a failure).
    let early = tokio::time::timeout(Duration::from_millis(300), read_response(&mut third)).await;
    assert!(early.is_err(), "served past the cap: {early:?}");
    assert_eq!(gw.metric("idlegate_connections_open").await, 2.0);

    let health = gw.client.get(
        format!("http://{}/healthz", gw.running.admin_addr)
            .parse()
            .unwrap(),
    );
    let health = tokio::time::timeout(WITHIN, health).await.unwrap().unwrap();
    assert_eq!(
        health.status(),
        200,
        "the admin listener is not behind the cap"
    );

    drop(first);
    let resp = tokio::time::timeout(WITHIN, read_response(&mut third))
        .await
        .expect("served once a slot frees")
        .expect("a response");
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert_eq!(
        gw.metric("idlegate_connections_rejected_total").await,
        1.0,
        "the connection that waited is counted"
    );
    gw.running.stop().await.unwrap();
}

#[tokio::test]
async fn an_idle_http2_connection_is_ended_after_keepalive_timeout() {
    use http_body_util::{BodyExt, Full};
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let up = upstream().await;
    let gw = gateway(with_timeouts(up, 300, 30_000)).await;
    let io = TokioIo::new(connect(&gw).await);
    let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
        .await
        .unwrap();
    let conn = tokio::spawn(conn);
    let req = http::Request::get(gw.url("/a"))
        .body(Full::new(bytes::Bytes::new()))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.into_body().collect().await.unwrap();
    // The client keeps its side open (the sender is alive): only the gateway can end it.
    let ended = tokio::time::timeout(WITHIN, conn).await;
    assert!(ended.is_ok(), "the gateway ends an idle HTTP/2 connection");
    drop(sender);
    gw.running.stop().await.unwrap();
}
