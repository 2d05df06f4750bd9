//! The upstream of `benches/proxy_cpu.sh` (README, "Benchmarks"): a small HTTP/1.1 server that
//! answers every request with `200` and a short JSON body, on keep-alive connections.
//!
//! It runs on one thread (a current-thread tokio runtime) so that every proxy in the
//! comparison talks to the same upstream doing the same work, and its CPU per request can be
//! read from `/proc` beside the proxy's to show the load was the same.
//!
//!     cargo run --release --example bench_upstream -- 127.0.0.1:19510

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const BODY: &[u8] = br#"{"ok":true,"id":"4b6f1c2e","name":"bench"}"#;
const DEFAULT_LISTEN: &str = "127.0.0.1:19510";

/// Every request gets the same answer: the upstream's cost must not depend on the proxy.
async fn answer(_request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::new(Bytes::from_static(BODY)));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let listen = std::env::args().nth(1);
    let listen = listen.as_deref().unwrap_or(DEFAULT_LISTEN);
    let addr: SocketAddr = listen.parse().map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("listen address {listen:?}: {e}"),
        )
    })?;
    let listener = TcpListener::bind(addr).await?;
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of descriptors or a connection reset before accept: keep serving the others.
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        // Small answers: without NODELAY each one would wait for the peer's delayed ACK.
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            // A connection the proxy drops mid-request is not this benchmark's concern.
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service_fn(answer))
                .await;
        });
    }
}
