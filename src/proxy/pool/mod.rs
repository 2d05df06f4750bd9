//! The upstream connection pool: HTTP/1.1 keep-alive connections to `proxy.upstream`, one
//! pool per proxy thread (so its lock is never contended).
//!
//! A request without a body (most API calls) goes over idlegate's own HTTP/1.1 client
//! (`h1`): its head is written and the response read in the request's own task. A request
//! with a body, or one asking for a protocol switch, goes over hyper's client connection.
//!
//! Why not hyper-util's pooled client: it spawns a task per request to hand the connection
//! back once the response ends, and its checkout machinery costs more than the rest of our
//! request path together. Here the response body gives its connection back itself, in line,
//! the moment its last byte is read; a connection whose body is dropped half-read is closed.
//!
//! Layout: `body.rs` is the response body (it knows the pool only as a [`Home`]); this file
//! imports it, the own client `h1` and the low files `body.rs`, `error.rs` and `forward.rs`
//! of `proxy`; its
//! failures say who is at fault and whether the request was sent (see [`ProxyError`]).

mod body;

pub(crate) use body::PooledBody;

use std::future::poll_fn;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use http::{header, Method, Request, Response, StatusCode};
use http_body::Body;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use prometheus_client::metrics::gauge::Gauge;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::body::{ClientBody, RequestBody, RequestBodyError};
use super::error::{ErrorKind, ProxyError};
use super::forward::Forwarded;
use super::h1;
use body::Home;

/// Idle connections kept per proxy thread and client; beyond it a finished connection is
/// closed.
pub(super) const MAX_IDLE: usize = 1024;

pub(super) struct Pool {
    connect_timeout: Duration,
    /// Upstream connections open across every proxy thread, at most: each holds a descriptor,
    /// and one HTTP/2 client connection may carry many requests at once, so the client
    /// connection cap alone does not bound them (docs/reference.md, "Limits").
    slots: Arc<Semaphore>,
    /// `idlegate_upstream_connections`: up on connect, down when a connection ends.
    open: Gauge,
    idle: Mutex<Idle>,
    /// The reaper's waker (see [`spawn_reaper`]), registered on each idle own connection.
    reaper: Mutex<Option<Waker>>,
}

/// Idle connections and the upstream address they lead to (a reload may change it).
struct Idle {
    authority: Arc<str>,
    hyper: Vec<SendRequest<RequestBody>>,
    own: Vec<h1::Conn>,
}

impl Idle {
    /// The idle connections, emptied first when they lead to another upstream.
    fn to(&mut self, authority: &Arc<str>) -> &mut Idle {
        if self.authority != *authority {
            *self = Idle {
                authority: authority.clone(),
                hyper: Vec::new(),
                own: Vec::new(),
            };
        }
        self
    }
}

impl Home for Pool {
    fn hyper_back(&self, sender: SendRequest<RequestBody>, authority: Arc<str>) {
        let mut idle = self.idle.lock();
        let idle = idle.to(&authority);
        if idle.hyper.len() < MAX_IDLE {
            idle.hyper.push(sender);
        }
    }

    fn own_back(&self, mut conn: h1::Conn, authority: Arc<str>) {
        // The reaper is told when the upstream closes this connection while it is idle.
        let usable = match &*self.reaper.lock() {
            Some(waker) => conn.poll_usable(&mut Context::from_waker(waker)),
            None => true,
        };
        let mut idle = self.idle.lock();
        let idle = idle.to(&authority);
        if usable && idle.own.len() < MAX_IDLE {
            idle.own.push(conn);
        }
    }
}

impl Pool {
    /// A pool for this thread; its reaper runs on this thread's runtime.
    pub(super) fn new(connect_timeout: Duration, open: Gauge, slots: Arc<Semaphore>) -> Arc<Pool> {
        let pool = Arc::new(Pool {
            connect_timeout,
            slots,
            open,
            idle: Mutex::new(Idle {
                authority: Arc::from(""),
                hyper: Vec::new(),
                own: Vec::new(),
            }),
            reaper: Mutex::new(None),
        });
        spawn_reaper(&pool);
        pool
    }

    /// Sends `req` (origin-form URI, `Host` set) to `authority` (`host:port`) and waits at
    /// most `timeout` for the response head. A request that a stale pooled connection refused
    /// before sending it is retried on another connection.
    ///
    /// Borrowed, not moved: moved down four async layers, the request made the forwarding
    /// future 3,720 bytes instead of 1,088, copied whole at each call (README, "Benchmarks",
    /// a fourth round: 830 instructions a request).
    pub(super) async fn send(
        self: &Arc<Self>,
        authority: &Arc<str>,
        req: &mut Request<RequestBody>,
        forwarded: &Forwarded,
        timeout: Duration,
    ) -> Result<Response<PooledBody>, ProxyError> {
        if req.body().is_end_stream() && !req.headers().contains_key(header::UPGRADE) {
            self.send_own(authority, req, forwarded, timeout).await
        } else {
            forwarded.insert_into(req.headers_mut());
            let placeholder = Request::new(RequestBody::new(ClientBody::Empty, Duration::ZERO));
            let req = std::mem::replace(req, placeholder);
            // Boxed: its state would otherwise weigh on every request's future.
            Box::pin(self.send_hyper(authority, req, timeout)).await
        }
    }

    /// A request without a body, over the own client.
    async fn send_own(
        self: &Arc<Self>,
        authority: &Arc<str>,
        req: &mut Request<RequestBody>,
        forwarded: &Forwarded,
        timeout: Duration,
    ) -> Result<Response<PooledBody>, ProxyError> {
        loop {
            let (conn, reused) = match self.checkout_own(authority).await {
                Some(conn) => (conn, true),
                None => (Box::pin(self.connect_own(authority)).await?, false),
            };
            let limit = tokio::time::Instant::now() + timeout;
            let sent = h1::exchange(conn, req, forwarded.fields(), limit).await;
            match sent {
                // The request may have reached the upstream: never sent twice.
                Err(h1::ExchangeError::TimedOut) => {
                    return Err(ProxyError::upstream(ErrorKind::Timeout(timeout), false))
                }
                Ok(resp) => {
                    let home: Arc<dyn Home> = self.clone();
                    return Ok(resp.map(|b| PooledBody::own(b, (home, authority.clone()))));
                }
                Err(e) => {
                    let unsent = matches!(e, h1::ExchangeError::Unsent(_));
                    // A pooled connection the upstream closed while idle: nothing was
                    // written, or (an idempotent request) nothing came back at all.
                    let stale = unsent
                        || (matches!(e, h1::ExchangeError::NoResponse) && idempotent(req.method()));
                    if !(reused && stale) {
                        let why = ErrorKind::Other(error_chain(&e));
                        return Err(ProxyError::upstream(why, unsent));
                    }
                }
            }
        }
    }

    /// A request with a body or a protocol switch, over hyper's client connection.
    async fn send_hyper(
        self: &Arc<Self>,
        authority: &Arc<str>,
        mut req: Request<RequestBody>,
        timeout: Duration,
    ) -> Result<Response<PooledBody>, ProxyError> {
        loop {
            let (mut sender, reused) = match self.checkout_hyper(authority).await {
                Some(sender) => (sender, true),
                None => (self.connect_hyper(authority).await?, false),
            };
            let sent = tokio::time::timeout(timeout, sender.try_send_request(req)).await;
            match sent {
                // The request may have reached the upstream: never sent twice.
                Err(_) => return Err(ProxyError::upstream(ErrorKind::Timeout(timeout), false)),
                Ok(Ok(resp)) => {
                    // An upgraded connection leaves HTTP: it never returns to the pool.
                    let keep = resp.status() != StatusCode::SWITCHING_PROTOCOLS;
                    let home: Arc<dyn Home> = self.clone();
                    let home = (home, authority.clone());
                    let sender = keep.then_some(sender);
                    return Ok(resp.map(|body| PooledBody::hyper(body, sender, home)));
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

    /// An idle own connection to `authority` that the upstream has not closed, if any.
    async fn checkout_own(&self, authority: &Arc<str>) -> Option<h1::Conn> {
        loop {
            let mut conn = {
                let mut idle = self.idle.lock();
                if idle.authority != *authority {
                    return None;
                }
                idle.own.pop()?
            };
            if poll_fn(|cx| Poll::Ready(conn.poll_usable(cx))).await {
                return Some(conn);
            }
        }
    }

    /// An idle hyper connection to `authority` that is ready for a request, if any. Never
    /// waits for a busy one: a connection whose upstream answered early may still be sending a
    /// slow client's upload, and an unrelated request must not queue behind it.
    async fn checkout_hyper(&self, authority: &Arc<str>) -> Option<SendRequest<RequestBody>> {
        let mut busy = Vec::new();
        let found = loop {
            let Some(mut sender) = self.pop_hyper(authority) else {
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
            if idle.authority == *authority {
                idle.hyper.extend(busy);
            }
        }
        found
    }

    fn pop_hyper(&self, authority: &Arc<str>) -> Option<SendRequest<RequestBody>> {
        let mut idle = self.idle.lock();
        if idle.authority != *authority {
            return None;
        }
        idle.hyper.pop()
    }

    /// A new own connection to `authority`. Its failures leave the request unsent.
    async fn connect_own(&self, authority: &Arc<str>) -> Result<h1::Conn, ProxyError> {
        let (stream, slot) = self.open_stream(authority).await?;
        Ok(h1::Conn::new(stream, self.open.clone(), slot))
    }

    /// A new hyper connection to `authority`, its task spawned. Its failures leave the
    /// request unsent.
    async fn connect_hyper(
        &self,
        authority: &Arc<str>,
    ) -> Result<SendRequest<RequestBody>, ProxyError> {
        let (stream, slot) = self.open_stream(authority).await?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| connect_failed(format!("{authority}: {}", error_chain(&e))))?;
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

    /// A TCP connection to `authority` and its place under the descriptor budget.
    async fn open_stream(
        &self,
        authority: &Arc<str>,
    ) -> Result<(TcpStream, OwnedSemaphorePermit), ProxyError> {
        let slot = self.slot().await?;
        let connect = TcpStream::connect(&**authority);
        let stream = match tokio::time::timeout(self.connect_timeout, connect).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(connect_failed(format!("{authority}: {e}"))),
            Err(_) => {
                return Err(connect_failed(format!(
                    "{authority}: no connection within {:?}",
                    self.connect_timeout
                )))
            }
        };
        let _ = stream.set_nodelay(true);
        Ok((stream, slot))
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

/// Closes idle own connections that the upstream closed (or wrote to unasked) while they sat
/// in the pool, as hyper's connection task does for its own: a closed connection must not
/// hold a descriptor until the next request finds it. The reaper sleeps until one of the idle
/// connections becomes readable, then looks at each; it costs nothing per request.
fn spawn_reaper(pool: &Arc<Pool>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let weak = Arc::downgrade(pool);
    runtime.spawn(poll_fn(move |cx| {
        let Some(pool) = weak.upgrade() else {
            return Poll::Ready(());
        };
        *pool.reaper.lock() = Some(cx.waker().clone());
        pool.idle.lock().own.retain_mut(|conn| conn.poll_usable(cx));
        Poll::Pending
    }));
}

fn connect_failed(why: String) -> ProxyError {
    ProxyError::upstream(ErrorKind::Connect(why), true)
}

/// Methods a client may retry on its own (RFC 9110, 9.2.2).
fn idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
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

#[cfg(test)]
mod tests;
