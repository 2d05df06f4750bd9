//! The upstream connection pool: keep-alive reuse, connections the upstream closed while idle,
//! and bodies dropped half-read.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A raw HTTP/1.1 upstream that counts connections. Each connection serves requests until
/// `per_connection` answers were written, then closes *without* saying so (no
/// `Connection: close`), as an upstream's idle timeout does.
async fn counting_upstream(per_connection: usize) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let id = counter.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                for _ in 0..per_connection {
                    let mut head = Vec::new();
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let body = format!("connection {id}");
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if stream.write_all(resp.as_bytes()).await.is_err() {
                        return;
                    }
                }
                // Close without notice once the quota is served.
            });
        }
    });
    (addr, connections)
}

#[tokio::test]
async fn sequential_requests_reuse_one_upstream_connection() {
    let (up, connections) = counting_upstream(usize::MAX).await;
    let mut c = config(up);
    c.proxy.workers = 1;
    let gw = gateway(c).await;
    for _ in 0..20 {
        let r = gw.get("/x", Some("t")).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body, "connection 1");
    }
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_connection_the_upstream_closed_while_idle_is_not_used_again() {
    let (up, connections) = counting_upstream(1).await;
    let mut c = config(up);
    c.proxy.workers = 1;
    let gw = gateway(c).await;
    for i in 1..=5 {
        let r = gw.get("/x", Some("t")).await;
        assert_eq!(
            r.status, 200,
            "request {i} served despite the closed idle connection"
        );
        // The upstream closed the connection after answering: wait until the gateway has
        // seen it end, so the next request must not be sent on it.
        let noticed = gw
            .eventually(Duration::from_secs(5), || async {
                gw.metric("idlegate_upstream_connections").await == 0.0
            })
            .await;
        assert!(noticed, "the closed upstream connection is noticed");
    }
    assert_eq!(connections.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn a_body_dropped_half_read_does_not_return_its_connection() {
    let up = upstream().await;
    let mut c = config(up);
    c.proxy.workers = 1;
    let gw = gateway(c).await;
    // Start a big response and drop it after the head.
    let resp = gw
        .client
        .get(gw.url("/big/8000000").parse().unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    drop(resp);
    // The next requests are served normally, on a healthy connection.
    for _ in 0..3 {
        let r = gw.get("/after", Some("t")).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["path"], "/after");
    }
}

/// A raw upstream that answers each request as soon as its head arrives, then keeps the
/// connection open and reads (and discards) whatever follows — an early answer to an upload
/// that is still streaming.
async fn early_answering_upstream() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let mut pending = Vec::new();
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => pending.extend_from_slice(&buf[..n]),
                    }
                    // Answer every complete head at once; body bytes are just discarded.
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        pending.drain(..end + 4);
                        let resp = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                        if stream.write_all(resp.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                    if pending.len() > 65536 {
                        pending.clear();
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn an_early_answer_to_a_stalled_upload_does_not_hold_up_other_requests() {
    let up = early_answering_upstream().await;
    let mut c = config(up);
    c.proxy.workers = 1;
    let gw = gateway(c).await;
    // An upload that announces 1 MB, sends 1 KB and stalls; the upstream answers at once and
    // keeps the connection open, so the pooled connection stays busy with the upload.
    let mut upload = tokio::net::TcpStream::connect(gw.running.proxy_addr)
        .await
        .unwrap();
    upload
        .write_all(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
        .await
        .unwrap();
    upload.write_all(&[b'a'; 1024]).await.unwrap();
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), upload.read(&mut buf))
        .await
        .expect("early answer relayed")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Another client is served while the upload is still open (liveness, bounded wait).
    let other = tokio::time::timeout(Duration::from_secs(5), gw.get("/other", None)).await;
    assert_eq!(
        other.expect("not queued behind the stalled upload").status,
        200
    );
    drop(upload);
}
