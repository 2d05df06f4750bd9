//! A hook receiver: answers scripted statuses and reports every request it got.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

pub struct Received {
    pub path: String,
    pub headers: http::HeaderMap,
    pub body: String,
}

/// A receiver answering `status` to every request and reporting what it got.
pub async fn receiver(status: u16) -> (SocketAddr, mpsc::UnboundedReceiver<Received>) {
    receiver_script(&[], status).await
}

/// A receiver answering `first` in order, then `then` to every later request.
pub async fn receiver_script(
    first: &[u16],
    then: u16,
) -> (SocketAddr, mpsc::UnboundedReceiver<Received>) {
    let script = Arc::new(Mutex::new(first.iter().copied().collect::<VecDeque<u16>>()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            let script = script.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: http::Request<Incoming>| {
                    let tx = tx.clone();
                    let status = script.lock().unwrap().pop_front().unwrap_or(then);
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

pub async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("hook delivered in time")
        .expect("receiver alive")
}
