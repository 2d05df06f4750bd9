//! Shared by the hardening tests: an upstream that records every request it receives (so a
//! test can assert that a request was NOT forwarded), and raw HTTP/1.1 on a TCP socket (for
//! heads a well-behaved client library will not send).
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as the upstream received it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Every header line, in order, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The whole body, or why reading it failed (the gateway aborted the request).
    pub body: Result<Vec<u8>, String>,
}

impl Seen {
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<Seen>>>);

impl Recorder {
    pub fn seen(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }

    /// Polls every 20 ms, for at most `within`, until a request for `path` was recorded.
    pub async fn wait_for(&self, path: &str, within: Duration) -> Option<Seen> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let found = self.seen().into_iter().find(|s| s.path == path);
            if found.is_some() || tokio::time::Instant::now() >= deadline {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// An HTTP/1.1 upstream that records each request once its body has ended (or failed) and
/// answers `200 ok`.
pub async fn recording_upstream() -> (SocketAddr, Recorder) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let recorder = Recorder::default();
    let shared = recorder.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let recorder = shared.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| record(recorder.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, recorder)
}

async fn record(
    recorder: Recorder,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .map_err(|e| e.to_string());
    let headers = parts
        .headers
        .iter()
        .map(|(n, v)| {
            let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (n.as_str().to_owned(), v)
        })
        .collect();
    recorder.0.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers,
        body,
    });
    Ok(Response::new(Full::new(Bytes::from_static(b"ok"))))
}

/// One HTTP/1.1 response read off a raw socket.
#[derive(Debug)]
pub struct RawReply {
    pub status: u16,
    /// The head, lowercased, for `contains` checks.
    pub head: String,
    pub body: String,
}

impl RawReply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn closes(&self) -> bool {
        self.head.contains("\r\nconnection: close\r\n")
    }
}

/// Reads one response (head, then a `Content-Length` body) within 20 s.
pub async fn read_reply(stream: &mut TcpStream) -> RawReply {
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed before a response head");
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().unwrap());
        while buf.len() < head_end + length {
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed inside a response body");
            buf.extend_from_slice(&chunk[..n]);
        }
        let status = head[9..12].parse().unwrap();
        let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned();
        RawReply { status, head, body }
    };
    tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .expect("a response within 20 s")
}

/// Sends `request` on a new connection and reads one response.
pub async fn raw(addr: SocketAddr, request: &str) -> RawReply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    read_reply(&mut stream).await
}

/// Whether the peer closes `stream` (EOF, or a reset) within 20 s, discarding what it sends.
pub async fn closed_by_peer(stream: &mut TcpStream) -> bool {
    let mut sink = Vec::new();
    let done = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut sink));
    done.await.is_ok()
}
