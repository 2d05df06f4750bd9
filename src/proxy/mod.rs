//! The proxy listener: accepts HTTP/1.1 and HTTP/2 (prior knowledge) connections and runs
//! each request through [`handler::Proxy::handle`].
//!
//! Layout, lowest first; a file imports only from files above it in this list:
//! - `error.rs`: [`ProxyError`] — what went wrong, who is at fault, whether a retry is safe.
//! - `body.rs`: the client's request body on its way upstream (idle timer, failure marks).
//! - `fields.rs`: a parsed head's header fields as offsets, then as a `HeaderMap` (both
//!   the own server's request heads and the own client's response heads).
//! - `forward.rs`: the request rewrite for the upstream and the response clean-up.
//! - `h1/`: the own HTTP/1.1 client for requests without a body.
//! - `pool/`: this thread's keep-alive connections to the upstream, and their bodies.
//! - `respond.rs`: the one place a [`ProxyError`] becomes idlegate's own answer.
//! - `upgrade.rs`: the byte relay after `101 Switching Protocols`.
//! - `handler.rs` and `handler/`: the request path as its phases.
//! - `accept.rs`, `idle.rs`: the connection cap, the keep-alive and header timeouts.
//! - `serve1/`: the own HTTP/1.1 server for simple requests, handing the rest to hyper.
//! - this file: the listener, the proxy threads, each connection's timer and drain.

pub(crate) mod accept;
mod body;
mod error;
mod fields;
mod forward;
mod h1;
mod handler;
pub(crate) mod idle;
mod pool;
mod respond;
pub(crate) mod serve1;
mod upgrade;

pub(crate) use handler::{Conn, Proxy};

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::app::App;
use accept::{Acceptor, Slot};
use idle::{Activity, Expired, Timeouts, Verdict, WatchedIo};

/// How long in-flight requests may take to finish after shutdown begins (docs/reference.md, "Limits").
pub(crate) const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection handed from the acceptor to a proxy thread, with its place under the cap.
type Accepted = (std::net::TcpStream, SocketAddr, Slot);

/// Serves until `shutdown` resolves, then stops accepting and drains in-flight requests for
/// at most [`DRAIN_TIMEOUT`].
///
/// Thread per core: `proxy.workers` threads (0 = one per core) each run a single-threaded
/// runtime with its own upstream pool, and this task hands accepted connections to them in
/// turn. A request then never leaves its thread — client connection, handler and upstream
/// connection are polled together — which spares the cross-thread wake-ups that a shared
/// work-stealing pool costs on every proxied request.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()>,
) {
    let threads = match app.config().proxy.workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let config = app.config();
    let cap = accept::proxy_connection_cap(config.proxy.max_connections);
    // As many upstream connections as client connections: the descriptor budget counts two
    // per client connection.
    let upstream_slots = Arc::new(tokio::sync::Semaphore::new(cap));
    let mut workers = Vec::with_capacity(threads);
    let mut finished = Vec::with_capacity(threads);
    for i in 0..threads {
        match spawn_worker(i, app.clone(), upstream_slots.clone()) {
            Ok((tx, done)) => {
                workers.push(tx);
                finished.push(done);
            }
            Err(e) => tracing::error!(error = %e, "cannot start a proxy thread"),
        }
    }
    if workers.is_empty() {
        tracing::error!("no proxy thread could start");
        return;
    }
    let metrics = &app.metrics;
    let mut acceptor = Acceptor::new(
        "proxy",
        listener,
        cap,
        metrics.connections_open.clone(),
        metrics.connections_rejected.clone(),
    );
    tokio::pin!(shutdown);
    let mut next = 0usize;
    loop {
        tokio::select! {
            (stream, peer, slot) = acceptor.accept() => {
                let _ = stream.set_nodelay(true);
                match stream.into_std() {
                    Ok(std) => {
                        let _ = workers[next % workers.len()].send((std, peer, slot));
                        next = next.wrapping_add(1);
                    }
                    Err(e) => tracing::warn!(error = %e, %peer, "cannot hand over a connection"),
                }
            }
            _ = &mut shutdown => break,
        }
    }
    drop(acceptor);
    // Closing the queues tells each thread to drain; tunnels are closed at once.
    drop(workers);
    app.tunnels.close_all();
    for done in finished {
        let _ = done.await;
    }
}

/// Starts one proxy thread; returns its connection queue and a signal for when it has
/// drained.
fn spawn_worker(
    index: usize,
    app: Arc<App>,
    upstream_slots: Arc<tokio::sync::Semaphore>,
) -> std::io::Result<(mpsc::UnboundedSender<Accepted>, oneshot::Receiver<()>)> {
    let (tx, rx) = mpsc::unbounded_channel();
    let (done_tx, done_rx) = oneshot::channel();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    app.proxy_load.watch(runtime.handle().clone());
    std::thread::Builder::new()
        .name(format!("idlegate-proxy-{index}"))
        .spawn(move || {
            runtime.block_on(worker(rx, app, upstream_slots));
            let _ = done_tx.send(());
        })?;
    Ok((tx, done_rx))
}

/// One proxy thread: serves the connections it is handed until its queue closes, then drains.
async fn worker(
    mut connections: mpsc::UnboundedReceiver<Accepted>,
    app: Arc<App>,
    upstream_slots: Arc<tokio::sync::Semaphore>,
) {
    let proxy = Arc::new(Proxy::new(app.clone(), upstream_slots));
    let builder = Arc::new(serve1::builder(app.config().proxy.max_header_bytes));
    let (drain, draining) = watch::channel(false);
    while let Some((std, peer, slot)) = connections.recv().await {
        let stream = match tokio::net::TcpStream::from_std(std) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, %peer, "cannot register a connection");
                continue;
            }
        };
        // Timeouts and the head limit apply from the live config to each new connection.
        let (timeouts, max_head) = {
            let live = app.live();
            let proxy = &live.config.proxy;
            (Timeouts::of(proxy), proxy.max_header_bytes)
        };
        let activity = Activity::new();
        let io = WatchedIo::new(stream, activity.clone(), slot);
        let connection = serve1::connection(
            io,
            serve1::Serving {
                proxy: proxy.clone(),
                conn: Conn::new(peer),
                activity: activity.clone(),
                builder: builder.clone(),
                max_head,
            },
        );
        // Boxed, once per connection: `drive` keeps what it is given twice (argument and
        // pinned local), and the connection's future is most of it. 9,000 idle connections:
        // 184 → 145 MB RSS (`benches/conn_flood.py`), and no instruction more per request
        // (`benches/instructions.sh`).
        tokio::spawn(drive(
            Box::pin(connection),
            |c| c.get_mut().as_mut().graceful_shutdown(),
            activity,
            timeouts,
            draining.clone(),
            peer,
        ));
    }
    if drain_connections(drain, draining).await {
        tracing::debug!("proxy thread drained");
    } else {
        tracing::warn!("drain timeout: closing remaining connections");
    }
}

/// Tells every connection driven with a clone of `draining` to close gracefully, then waits
/// until the last one has ended, at most [`DRAIN_TIMEOUT`]; false when the time ran out.
/// Every connection holds a receiver, so the channel closes when the last one has ended.
pub(crate) async fn drain_connections(
    drain: watch::Sender<bool>,
    draining: watch::Receiver<bool>,
) -> bool {
    drop(draining);
    let _ = drain.send(true);
    tokio::select! {
        _ = drain.closed() => true,
        _ = tokio::time::sleep(DRAIN_TIMEOUT) => false,
    }
}

/// Drives one client connection with its one timer: the keep-alive and header timeouts of
/// [`idle`], and the graceful close when the proxy thread drains.
///
/// The timer is armed once and only re-armed when it fires, so a
/// busy connection costs no timer work per request. An idle connection is closed gracefully
/// (`shutdown`: an HTTP/2 client gets a GOAWAY) and dropped if that has not finished within
/// the shorter timeout; a half-sent head or a stalled response is dropped at once.
pub(crate) async fn drive<C, E>(
    conn: C,
    shutdown: fn(Pin<&mut C>),
    activity: Arc<Activity>,
    timeouts: Timeouts,
    mut drain: watch::Receiver<bool>,
    peer: SocketAddr,
) where
    C: Future<Output = Result<(), E>>,
    E: Display,
{
    tokio::pin!(conn);
    let timer = tokio::time::sleep(timeouts.shorter());
    tokio::pin!(timer);
    // Made once: a `changed()` made afresh on every turn of the loop would register with the
    // channel (a lock) each time the connection wakes, several times per request.
    let drain_signal = drain.changed();
    tokio::pin!(drain_signal);
    let mut draining = false;
    let mut closing = false;
    loop {
        tokio::select! {
            biased;
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, %peer, "client connection ended with an error");
                }
                return;
            }
            // A closed channel means the thread is going away: drain as well.
            _ = &mut drain_signal, if !draining => {
                draining = true;
                shutdown(conn.as_mut());
            }
            _ = timer.as_mut() => {
                if closing {
                    tracing::debug!(%peer, "idle connection did not close gracefully: dropped");
                    return;
                }
                let now = Instant::now();
                match activity.check(now, timeouts) {
                    Verdict::CheckAt(at) => timer.as_mut().reset(at),
                    Verdict::Close(Expired::Idle) => {
                        tracing::debug!(%peer, "closing an idle client connection");
                        closing = true;
                        shutdown(conn.as_mut());
                        timer.as_mut().reset(now + timeouts.shorter());
                    }
                    Verdict::Close(why) => {
                        tracing::debug!(%peer, ?why, "closing a client connection");
                        return;
                    }
                }
            }
        }
    }
}
