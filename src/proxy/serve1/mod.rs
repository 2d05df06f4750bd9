//! The own HTTP/1.1 server: the fast path for the requests most clients send — HTTP/1.1,
//! no body, no protocol switch ([`parse`] says exactly which). Each connection starts here;
//! the first request that is not simple hands the connection, with the bytes already read,
//! to hyper's `auto` server for the rest of its life, so every error answer and edge case
//! hyper handles (400, 431, HTTP/2 with prior knowledge, bodies, upgrades, `Expect`) stays
//! hyper's.
//!
//! Why: hyper's server side — its dispatcher, the service future, the response encoding —
//! was most of the user time idlegate spent per proxied request beyond nginx's. Here a
//! request's head is parsed into the header map of the previous response, its fields are
//! slices of the read buffer, the handler is called in line, and the head and a ready body go
//! out in one write.
//!
//! Layout: `date.rs` (the cached `date` value), `parse.rs` (request heads and the rule for
//! simple ones), `encode.rs` (response heads and framing, by hyper's rules), `rewind.rs` (the
//! IO hyper takes over), `conn.rs` (one connection's loop); this file the connection as the
//! proxy thread drives it, and the hand-over. Above `handler`, `idle.rs` and `respond.rs`.

mod conn;
mod date;
mod encode;
pub(crate) mod parse;
mod rewind;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;

use super::body::ClientBody;
use super::handler::{Conn, Proxy};
use super::idle::{Activity, InFlight, Tracked, WatchedIo};
use conn::{Ended, Own};
pub(crate) use encode::EncodeError;
use rewind::Rewind;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Most header fields in a request head (docs/reference.md, "Limits"); more → `431`. Envoy's
/// default too; browsers send 15–30.
pub(crate) const MAX_HEADER_FIELDS: usize = crate::proxy::fields::MAX_FIELDS;

/// Why a client connection ended with an error (logged at debug, never with request data).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ServeError {
    #[error("reading from the client: {0}")]
    Read(#[source] std::io::Error),
    #[error("writing to the client: {0}")]
    Write(#[source] std::io::Error),
    #[error("the response head cannot be written: {0}")]
    Head(#[from] EncodeError),
    #[error("the response body failed: {0}")]
    Body(#[source] BoxError),
    #[error("the response body ended {0} bytes short of its content-length")]
    ShortBody(u64),
    #[error("{0}")]
    Hyper(#[source] BoxError),
}

/// hyper's server, for the connections handed over to it.
pub(crate) fn builder(max_header_bytes: usize) -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    // hyper refuses heads beyond its read buffer with 431 and closes; the handler's exact
    // count covers heads between that and the configured limit. hyper's own header timeout
    // is off: it starts when the connection goes idle, so it would cut idle keep-alive
    // connections at the header timeout; `idle` times idle and half-sent heads apart.
    //
    // At most `MAX_HEADER_FIELDS` header fields: hyper parses into arrays of that many
    // entries, on the stack up to 100 and on the heap per request beyond (with the earlier
    // `max_header_bytes / 4`, 16,384 entries: two allocations of 512 KiB for every request,
    // about a fifth of the proxy's user time under load).
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .max_buf_size(max_header_bytes.max(8192))
        .max_headers(MAX_HEADER_FIELDS);
    b.http2()
        .timer(TokioTimer::new())
        .max_header_list_size(max_header_bytes.min(u32::MAX as usize) as u32);
    b
}

/// What a connection needs to be served, by the own server and by hyper after it.
pub(crate) struct Serving {
    pub proxy: Arc<Proxy>,
    pub conn: Conn,
    pub activity: Arc<Activity>,
    pub builder: Arc<auto::Builder<TokioExecutor>>,
    /// `proxy.max_header_bytes`.
    pub max_head: usize,
}

/// Serves a client connection: the own server first, hyper from the first request that is
/// not simple.
pub(crate) fn connection(io: WatchedIo, s: Serving) -> Connection<impl Future<Output = Ended>> {
    let closing = Arc::new(AtomicBool::new(false));
    let own = Own {
        proxy: s.proxy.clone(),
        conn: s.conn.clone(),
        activity: s.activity.clone(),
        max_head: s.max_head,
        closing: closing.clone(),
    };
    Connection {
        state: State::Own {
            serving: conn::serve(io, own),
        },
        closing,
        hyper: Some(s),
    }
}

pin_project_lite::pin_project! {
    /// A client connection, served by the own server or, once handed over, by hyper.
    pub(crate) struct Connection<F> {
        #[pin]
        state: State<F>,
        closing: Arc<AtomicBool>,
        hyper: Option<Serving>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F> {
        Own { #[pin] serving: F },
        Hyper { conn: Pin<Box<dyn Handed>> },
    }
}

impl<F> Connection<F> {
    /// Closes the connection at the next request boundary: at once when it is idle, after
    /// the response (with `connection: close`) when a request is in flight.
    pub(crate) fn graceful_shutdown(self: Pin<&mut Self>) {
        let this = self.project();
        this.closing.store(true, Relaxed);
        if let StateProj::Hyper { conn } = this.state.project() {
            conn.as_mut().graceful_shutdown();
        }
        // The own server sees the flag when it is polled next: `drive` polls the
        // connection again right after calling this.
    }
}

impl<F: Future<Output = Ended>> Future for Connection<F> {
    type Output = Result<(), ServeError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let handed = match this.state.as_mut().project() {
                StateProj::Hyper { conn } => {
                    return conn.as_mut().poll(cx).map_err(ServeError::Hyper)
                }
                StateProj::Own { serving } => match serving.poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ended::Closed(result)) => return Poll::Ready(result),
                    Poll::Ready(Ended::HandOver(io, read)) => (io, read),
                },
            };
            let Some(s) = this.hyper.take() else {
                return Poll::Ready(Ok(()));
            };
            let mut conn = hand_over(handed.0, handed.1, s);
            if this.closing.load(Relaxed) {
                conn.as_mut().graceful_shutdown();
            }
            this.state.set(State::Hyper { conn });
        }
    }
}

/// hyper's connection, as the connection holds it once handed over.
trait Handed: Future<Output = Result<(), BoxError>> + Send {
    fn graceful_shutdown(self: Pin<&mut Self>);
}

pin_project_lite::pin_project! {
    struct HyperConn<C> {
        #[pin]
        conn: C,
        shutdown: fn(Pin<&mut C>),
    }
}

impl<C: Future<Output = Result<(), BoxError>> + Send> Future for HyperConn<C> {
    type Output = Result<(), BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().conn.poll(cx)
    }
}

impl<C: Future<Output = Result<(), BoxError>> + Send> Handed for HyperConn<C> {
    fn graceful_shutdown(self: Pin<&mut Self>) {
        let this = self.project();
        (this.shutdown)(this.conn);
    }
}

/// hyper's server on the rest of the connection, the bytes already read first: the same
/// service, upgrades and all, as a connection that never met the own server.
fn hand_over(io: WatchedIo, read: Bytes, s: Serving) -> Pin<Box<dyn Handed>> {
    let Serving {
        proxy,
        conn,
        activity,
        builder,
        ..
    } = s;
    let service = service_fn(move |req: http::Request<Incoming>| {
        let (proxy, conn) = (proxy.clone(), conn.clone());
        let in_flight = InFlight::start(&activity);
        async move {
            let resp = proxy.handle(conn, req.map(ClientBody::Hyper)).await;
            Ok::<_, Infallible>(resp.map(|body| Tracked::new(body, in_flight)))
        }
    });
    let io = TokioIo::new(Rewind::new(read, io));
    let conn = builder
        .serve_connection_with_upgrades(io, service)
        .into_owned();
    Box::pin(HyperConn {
        conn,
        shutdown: |c| c.graceful_shutdown(),
    })
}
