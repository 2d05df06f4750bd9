//! The upstream connection pool: HTTP/1.1 keep-alive connections to `proxy.upstream`, one
//! pool per proxy thread (so its lock is never contended).
//!
//! Why not hyper-util's pooled client: it spawns a task per request to hand the connection
//! back once the response ends, and its checkout machinery costs more than the rest of our
//! request path together. Here the response body gives its connection back itself, in line,
//! the moment its last byte is read; a connection whose body is dropped half-read is closed.
//!
//! Layout: imports only the low files `body.rs` and `error.rs`; its failures say who is at
//! fault and whether the request was sent (see [`ProxyError`]).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use prometheus_client::metrics::gauge::Gauge;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::body::{RequestBody, RequestBodyError};
use super::error::{ErrorKind, ProxyError};

/// Idle connections kept per proxy thread; beyond it a finished connection is closed.
pub(super) const MAX_IDLE: usize = 1024;

pub(super) struct Pool {
    connect_timeout: Duration,
    /// Upstream connections open across every proxy thread, at most: each holds a descriptor,
    /// and one HTTP/2 client connection may carry many requests at once, so the client
    /// connection cap alone does not bound them (docs/reference.md, "Limits").
    slots: Arc<Semaphore>,
    /// `idlegate_upstream_connections`: up on connect, down when a connection ends.
    open: Gauge,
    /// Idle connections and the upstream address they lead to (a reload may change it).
    idle: Mutex<(Arc<str>, Vec<SendRequest<RequestBody>>)>,
}

impl Pool {
    pub(super) fn new(connect_timeout: Duration, open: Gauge, slots: Arc<Semaphore>) -> Arc<Pool> {
        Arc::new(Pool {
            connect_timeout,
            slots,
            open,
            idle: Mutex::new((Arc::from(""), Vec::new())),
        })
    }

    /// Sends `req` (origin-form URI, `Host` set) to `authority` (`host:port`) and waits at
    /// most `timeout` for the response head. A request that a stale pooled connection refused
    /// before sending it is retried on another connection.
    pub(super) async fn send(
        self: &Arc<Self>,
        authority: &Arc<str>,
        mut req: Request<RequestBody>,
        timeout: Duration,
    ) -> Result<Response<PooledBody>, ProxyError> {
        loop {
            let (mut sender, reused) = match self.checkout(authority).await {
                Some(sender) => (sender, true),
                None => (self.connect(authority).await?, false),
            };
            let sent = tokio::time::timeout(timeout, sender.try_send_request(req)).await;
            match sent {
                // The request may have reached the upstream: never sent twice.
                Err(_) => return Err(ProxyError::upstream(ErrorKind::Timeout(timeout), false)),
                Ok(Ok(resp)) => {
                    // An upgraded connection leaves HTTP: it never returns to the pool.
                    let keep = resp.status() != StatusCode::SWITCHING_PROTOCOLS;
                    let give_back = keep.then(|| (sender, self.clone(), authority.clone()));
                    return Ok(resp.map(|body| PooledBody::new(body, give_back)));
                }
                Ok(Err(mut e)) => {
                    let unsent = e.take_message();
                    let failed = exchange_error(e.error(), unsent.is_some());
                    match unsent {
                        // A stale pooled connection: a fresh one is expected to work.
                        Some(unsent) if failed.retry && reused => req = unsent,
                        _ => return Err(failed),
                    }
                }
            }
        }
    }

    /// An idle connection to `authority` that is ready for a request, if any. Never waits
    /// for a busy one: a connection whose upstream answered early may still be sending a slow
    /// client's upload, and an unrelated request must not queue behind it.
    async fn checkout(&self, authority: &Arc<str>) -> Option<SendRequest<RequestBody>> {
        let mut busy = Vec::new();
        let found = loop {
            let Some(mut sender) = self.pop(authority) else {
                break None;
            };
            if sender.is_closed() {
                continue;
            }
            // A connection handed back as its response ended may not have noticed yet: give
            // its task one turn (same thread) before calling it busy.
            let mut ready = poll_ready_now(&mut sender).await;
            if ready.is_none() {
                tokio::task::yield_now().await;
                ready = poll_ready_now(&mut sender).await;
            }
            match ready {
                Some(true) => break Some(sender),
                Some(false) => continue,
                None => busy.push(sender),
            }
        };
        if !busy.is_empty() {
            let mut idle = self.idle.lock();
            if idle.0 == *authority {
                idle.1.extend(busy);
            }
        }
        found
    }

    fn pop(&self, authority: &Arc<str>) -> Option<SendRequest<RequestBody>> {
        let mut idle = self.idle.lock();
        if *idle.0 != **authority {
            return None;
        }
        idle.1.pop()
    }

    fn give_back(&self, sender: SendRequest<RequestBody>, authority: Arc<str>) {
        let mut idle = self.idle.lock();
        if idle.0 != authority {
            // The upstream changed: connections to the old one are dropped.
            *idle = (authority, Vec::new());
        }
        if idle.1.len() < MAX_IDLE {
            idle.1.push(sender);
        }
    }

    /// A new connection to `authority`. Its failures leave the request unsent.
    async fn connect(&self, authority: &Arc<str>) -> Result<SendRequest<RequestBody>, ProxyError> {
        let failed = |why: String| ProxyError::upstream(ErrorKind::Connect(why), true);
        let slot = self.slot().await?;
        let connect = TcpStream::connect(&**authority);
        let stream = match tokio::time::timeout(self.connect_timeout, connect).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(failed(format!("{authority}: {e}"))),
            Err(_) => {
                return Err(failed(format!(
                    "{authority}: no connection within {:?}",
                    self.connect_timeout
                )))
            }
        };
        let _ = stream.set_nodelay(true);
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| failed(format!("{authority}: {}", error_chain(&e))))?;
        let open = self.open.clone();
        open.inc();
        tokio::spawn(async move {
            if let Err(e) = connection.with_upgrades().await {
                tracing::debug!(error = %e, "upstream connection ended with an error");
            }
            open.dec();
            drop(slot);
        });
        Ok(sender)
    }

    /// A place for one more upstream connection, waiting at most the connect timeout for one
    /// to free; none then is idlegate's own limit, not the upstream's fault.
    async fn slot(&self) -> Result<OwnedSemaphorePermit, ProxyError> {
        if let Ok(slot) = self.slots.clone().try_acquire_owned() {
            return Ok(slot);
        }
        let wait = self.slots.clone().acquire_owned();
        match tokio::time::timeout(self.connect_timeout, wait).await {
            Ok(Ok(slot)) => Ok(slot),
            _ => Err(ProxyError::gateway(ErrorKind::Connect(format!(
                "no upstream connection free within {:?}: the descriptor budget is in use",
                self.connect_timeout
            )))),
        }
    }
}

/// What a failed exchange means for the client. A failure of the client's own body is the
/// client's fault: the upstream did nothing wrong, and the text of the cause (internals of
/// the HTTP stack) is not for the client. `unsent`: the connection gave the request back
/// before writing any of it.
fn exchange_error(e: &hyper::Error, unsent: bool) -> ProxyError {
    match RequestBodyError::behind(e) {
        Some(RequestBodyError::Stalled(idle)) => ProxyError::client(ErrorKind::BodyTimeout(*idle)),
        Some(RequestBodyError::Client(cause)) => {
            tracing::debug!(error = %error_chain(&**cause), "client request body failed");
            ProxyError::client(ErrorKind::MalformedBody)
        }
        None => ProxyError::upstream(ErrorKind::Other(error_chain(e)), unsent),
    }
}

/// `Some(true)` ready, `Some(false)` closed, `None` still busy: one poll, no waiting.
async fn poll_ready_now(sender: &mut SendRequest<RequestBody>) -> Option<bool> {
    std::future::poll_fn(|cx| {
        Poll::Ready(match sender.poll_ready(cx) {
            Poll::Ready(Ok(())) => Some(true),
            Poll::Ready(Err(_)) => Some(false),
            Poll::Pending => None,
        })
    })
    .await
}

pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

type GiveBack = (SendRequest<RequestBody>, Arc<Pool>, Arc<str>);

/// The upstream's response body; returns its connection to the pool when it ends.
pub(crate) struct PooledBody {
    body: Incoming,
    give_back: Option<GiveBack>,
}

impl PooledBody {
    fn new(body: Incoming, give_back: Option<GiveBack>) -> PooledBody {
        let mut pooled = PooledBody { body, give_back };
        if pooled.body.is_end_stream() {
            pooled.release();
        }
        pooled
    }

    fn release(&mut self) {
        if let Some((sender, pool, authority)) = self.give_back.take() {
            pool.give_back(sender, authority);
        }
    }
}

impl Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        match &polled {
            // The server side may stop polling once `is_end_stream` says so: release on the
            // last frame, not only on the end marker.
            Poll::Ready(Some(Ok(_))) if self.body.is_end_stream() => self.release(),
            Poll::Ready(None) => self.release(),
            Poll::Ready(Some(Err(_))) => self.give_back = None,
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::error::Fault;

    #[tokio::test]
    async fn a_failed_connect_is_the_upstreams_and_leaves_the_request_unsent() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let authority: Arc<str> = Arc::from(listener.local_addr().unwrap().to_string());
        drop(listener);
        let pool = Pool::new(
            Duration::from_secs(1),
            Gauge::default(),
            Arc::new(Semaphore::new(8)),
        );
        let Err(e) = pool.connect(&authority).await else {
            panic!("nothing listens there");
        };
        assert!(matches!(e.kind, ErrorKind::Connect(_)), "{e}");
        assert_eq!(e.fault, Fault::Upstream);
        assert!(e.retry, "nothing was sent: safe on another connection");
    }

    // Before: every proxy thread opened upstream connections without a shared bound, so the
    // many streams of HTTP/2 clients could use up the descriptors reserved for the admin
    // listener and snapshots.
    #[tokio::test(start_paused = true)]
    async fn upstream_connections_are_bounded_across_the_pool_and_a_slot_frees_on_close() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let authority: Arc<str> = Arc::from(listener.local_addr().unwrap().to_string());
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        let slots = Arc::new(Semaphore::new(1));
        let pool = Pool::new(Duration::from_secs(2), Gauge::default(), slots.clone());
        let first = pool.connect(&authority).await.expect("a free slot");
        assert_eq!(slots.available_permits(), 0);
        let Err(e) = pool.connect(&authority).await else {
            panic!("the one slot is taken");
        };
        assert_eq!(e.fault, Fault::Gateway);
        assert!(e.to_string().contains("no upstream connection free"), "{e}");
        drop(first);
        // The connection task ends once its sender is gone, and gives the slot back.
        let _again = tokio::time::timeout(Duration::from_secs(5), pool.connect(&authority))
            .await
            .expect("the slot frees when the first connection ends")
            .expect("connects");
    }
}
