//! The own HTTP/1.1 server (src/proxy/serve1/): simple requests are answered by it, anything
//! else is handed to hyper with the bytes already read — on the first request or in the middle
//! of a connection — and the connection keeps its timeouts and its drain.

mod common;

use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bound of every wait for something that must happen (generous for a loaded machine).
const WITHIN: Duration = Duration::from_secs(10);

/// A raw client connection that keeps what it read past one response for the next: the
/// gateway may answer pipelined requests in one segment.
struct Client {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    async fn connect(gw: &Gateway) -> Client {
        let s = TcpStream::connect(gw.running.proxy_addr).await.unwrap();
        Client { s, buf: Vec::new() }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).await.unwrap();
    }

    /// One response with a `content-length` body, waited for (bounded).
    async fn response(&mut self) -> String {
        let wait = async {
            loop {
                if let Some(n) = raw::response_len(&self.buf) {
                    let resp: Vec<u8> = self.buf.drain(..n).collect();
                    return String::from_utf8_lossy(&resp).into_owned();
                }
                let mut chunk = [0u8; 4096];
                let n = self.s.read(&mut chunk).await.unwrap();
                assert!(n > 0, "the connection ended before a response");
                self.buf.extend_from_slice(&chunk[..n]);
            }
        };
        tokio::time::timeout(WITHIN, wait)
            .await
            .expect("a response in time")
    }

    /// Everything the gateway sends until it closes the connection (bounded).
    async fn until_closed(&mut self) -> String {
        let read = tokio::time::timeout(WITHIN, self.s.read_to_end(&mut self.buf)).await;
        assert!(read.is_ok(), "the gateway closes the connection");
        let all = std::mem::take(&mut self.buf);
        String::from_utf8_lossy(&all).into_owned()
    }
}

fn body_of(resp: &str) -> &str {
    resp.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

fn echo_path(resp: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body_of(resp)).expect("a JSON echo");
    v["path"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn pipelined_bodiless_requests_are_answered_in_order() {
    let gw = gateway(config(upstream().await)).await;
    let mut s = Client::connect(&gw).await;
    let pipelined: String = (1..=5)
        .map(|i| format!("GET /p/{i} HTTP/1.1\r\nHost: test\r\n\r\n"))
        .collect();
    s.send(pipelined.as_bytes()).await;
    for i in 1..=5 {
        let resp = s.response().await;
        assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
        assert_eq!(echo_path(&resp), format!("/p/{i}"));
        let lower = resp.to_ascii_lowercase();
        assert!(lower.contains("\r\ndate: "), "{resp}");
        assert!(
            !lower.contains("x-upstream-private"),
            "hop-by-hop removed: {resp}"
        );
    }
    gw.running.stop().await.unwrap();
}

#[tokio::test]
async fn a_head_sent_a_byte_at_a_time_is_answered_and_garbage_refused_at_once() {
    let gw = gateway(config(upstream().await)).await;
    let mut s = Client::connect(&gw).await;
    s.s.set_nodelay(true).unwrap();
    for b in b"GET /drip HTTP/1.1\r\nHost: test\r\nX-A: 1\r\n\r\n" {
        s.send(&[*b]).await;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(echo_path(&s.response().await), "/drip");
    // Not HTTP at all (a TLS ClientHello's first bytes): hyper's 400 straight away.
    let mut tls = Client::connect(&gw).await;
    tls.send(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]).await;
    let refused = tls.until_closed().await;
    assert!(refused.starts_with("HTTP/1.1 400"), "{refused}");
    gw.running.stop().await.unwrap();
}

#[tokio::test]
async fn a_request_with_a_body_after_a_simple_one_is_handed_to_hyper_mid_connection() {
    let gw = gateway(config(upstream().await)).await;
    let mut s = Client::connect(&gw).await;
    s.send(b"GET /first HTTP/1.1\r\nHost: test\r\n\r\n").await;
    assert_eq!(echo_path(&s.response().await), "/first");
    // The body's head and part of the body in one write, the rest later: hyper reads the
    // bytes the own server had read, then the socket.
    s.send(b"POST /count HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\n01234")
        .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    s.send(b"56789GET /after HTTP/1.1\r\nHost: test\r\n\r\n")
        .await;
    let counted = s.response().await;
    assert!(counted.starts_with("HTTP/1.1 200"), "{counted}");
    assert_eq!(body_of(&counted), "10");
    let after = s.response().await;
    assert_eq!(echo_path(&after), "/after", "hyper serves the rest");
    gw.running.stop().await.unwrap();
}

#[tokio::test]
async fn hyper_still_answers_what_is_not_simple() {
    let gw = gateway(config(upstream().await)).await;
    // A malformed head after a simple request: hyper's 400.
    let mut s = Client::connect(&gw).await;
    s.send(b"GET /ok HTTP/1.1\r\nHost: test\r\n\r\nGET / HTTP/1.1\r\nbad header\r\n\r\n")
        .await;
    assert_eq!(echo_path(&s.response().await), "/ok");
    let bad = s.until_closed().await;
    assert!(bad.starts_with("HTTP/1.1 400"), "{bad}");
    // HTTP/1.0 on the first request.
    let mut s = Client::connect(&gw).await;
    s.send(b"GET /old HTTP/1.0\r\nHost: test\r\n\r\n").await;
    let old = s.until_closed().await;
    assert!(old.starts_with("HTTP/1.0 200"), "{old}");
    gw.running.stop().await.unwrap();
}

#[tokio::test]
async fn http2_with_prior_knowledge_still_works() {
    use http_body_util::{BodyExt, Full};
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let gw = gateway(config(upstream().await)).await;
    let io = TokioIo::new(TcpStream::connect(gw.running.proxy_addr).await.unwrap());
    let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
        .await
        .unwrap();
    tokio::spawn(conn);
    for path in ["/h2/a", "/h2/b"] {
        let req = http::Request::get(gw.url(path))
            .body(Full::new(bytes::Bytes::new()))
            .unwrap();
        let resp = sender.send_request(req).await.unwrap();
        assert_eq!(resp.status(), 200);
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["path"], path);
    }
    gw.running.stop().await.unwrap();
}

#[tokio::test]
async fn head_204_and_304_get_no_body_and_the_connection_goes_on() {
    let gw = gateway(config(upstream().await)).await;
    let mut s = Client::connect(&gw).await;
    // Each answer is followed by another request's on the same connection: a body sent
    // where none may be would show up in front of the next status line.
    let requests = "HEAD /h HTTP/1.1\r\nHost: test\r\n\r\n\
                    GET /status/204 HTTP/1.1\r\nHost: test\r\n\r\n\
                    GET /status/304 HTTP/1.1\r\nHost: test\r\n\r\n\
                    GET /last HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
    s.send(requests.as_bytes()).await;
    let all = s.until_closed().await;
    let heads: Vec<&str> = all.split("HTTP/1.1 ").skip(1).collect();
    assert_eq!(heads.len(), 4, "{all}");
    assert!(heads[0].starts_with("200 OK\r\n"), "{all}");
    assert!(heads[0].ends_with("\r\n\r\n"), "no body after HEAD: {all}");
    let head_lower = heads[0].to_ascii_lowercase();
    assert!(
        head_lower.contains("content-length: "),
        "HEAD keeps the length of the GET: {all}"
    );
    assert!(heads[1].starts_with("204 No Content\r\n"), "{all}");
    assert!(heads[1].ends_with("\r\n\r\n"), "{all}");
    assert!(
        !heads[1].to_ascii_lowercase().contains("content-length"),
        "{all}"
    );
    assert!(heads[2].starts_with("304 Not Modified\r\n"), "{all}");
    assert!(heads[2].ends_with("\r\n\r\n"), "{all}");
    assert!(heads[3].starts_with("200 OK\r\n"), "{all}");
    gw.running.stop().await.unwrap();
}

#[tokio::test]
async fn connection_close_is_answered_with_connection_close_and_then_closed() {
    let gw = gateway(config(upstream().await)).await;
    let mut s = Client::connect(&gw).await;
    s.send(
        b"GET /bye HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\nHost: test\r\n\r\n",
    ).await;
    let all = s.until_closed().await;
    assert_eq!(
        all.matches("HTTP/1.1 ").count(),
        1,
        "nothing after it: {all}"
    );
    assert!(
        all.to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n"),
        "{all}"
    );
    assert_eq!(echo_path(&all), "/bye");
    gw.running.stop().await.unwrap();
}

#[tokio::test]
async fn a_half_sent_head_is_closed_after_the_header_timeout() {
    let mut c = config(upstream().await);
    c.proxy.keepalive_timeout = Duration::from_secs(30);
    c.proxy.header_timeout = Duration::from_millis(300);
    let gw = gateway(c).await;
    // On a fresh connection, and after a request served by the own server.
    let mut fresh = Client::connect(&gw).await;
    fresh.send(b"GET /a HTTP/1.1\r\nHost: te").await;
    let mut used = Client::connect(&gw).await;
    used.send(b"GET /a HTTP/1.1\r\nHost: test\r\n\r\n").await;
    assert_eq!(echo_path(&used.response().await), "/a");
    used.send(b"GET /b HTTP/1.1\r\nHost: te").await;
    for s in [&mut fresh, &mut used] {
        let started = tokio::time::Instant::now();
        let rest = s.until_closed().await;
        assert!(rest.is_empty(), "closed without an answer: {rest}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    gw.running.stop().await.unwrap();
}

#[tokio::test]
async fn a_drain_finishes_the_request_in_flight_and_closes_idle_connections() {
    let gw = gateway(config(upstream().await)).await;
    let mut idle = Client::connect(&gw).await;
    idle.send(b"GET /idle HTTP/1.1\r\nHost: test\r\n\r\n").await;
    assert_eq!(echo_path(&idle.response().await), "/idle");
    let mut busy = Client::connect(&gw).await;
    busy.send(b"GET /slow/700 HTTP/1.1\r\nHost: test\r\n\r\n")
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopping = tokio::spawn(gw.running.stop());
    let rest = idle.until_closed().await;
    assert!(rest.is_empty(), "an idle connection closes at once: {rest}");
    let answered = busy.until_closed().await;
    assert!(answered.starts_with("HTTP/1.1 200 OK\r\n"), "{answered}");
    assert!(
        answered
            .to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n"),
        "{answered}"
    );
    assert_eq!(body_of(&answered), "slow");
    stopping.await.unwrap().unwrap();
}
