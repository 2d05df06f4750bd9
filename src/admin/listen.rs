//! The admin listener's connections, bounded like the proxy's.
//!
//! `axum::serve` accepts without limit and never closes a connection that sends nothing (its
//! version sniffing has no timeout), so a flood of idle connections on the admin port used up
//! the descriptors kept for snapshots and Redis; on an accept error it sleeps a fixed second.
//! Here the admin port has its own cap, well inside the descriptors the proxy leaves free, the
//! proxy's keep-alive and header timeouts, and the proxy's accept back-off.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use axum::Router;
use hyper::body::Incoming;
use hyper::service::{service_fn, Service};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::app::App;
use crate::proxy::accept::Acceptor;
use crate::proxy::idle::{Activity, InFlight, Timeouts, Tracked, WatchedIo};

/// Admin connections served at once: a fraction of the descriptors kept out of the proxy's
/// reach, so that a flood of the admin port leaves the rest for snapshots, Redis and hooks.
pub(crate) const MAX_CONNECTIONS: usize = 32;

/// Serves `router` until `shutdown` resolves, then stops accepting and drains.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    app: Arc<App>,
    shutdown: impl Future<Output = ()>,
) {
    let mut acceptor = Acceptor::new(
        "admin",
        listener,
        MAX_CONNECTIONS,
        Gauge::default(),
        Counter::default(),
    );
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The connection's own timer times idle connections and heads (see `proxy::idle`).
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(None);
    let (drain, draining) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer, slot) = tokio::select! {
            accepted = acceptor.accept() => accepted,
            _ = &mut shutdown => break,
        };
        let timeouts = Timeouts::of(&app.live().config.proxy);
        let activity = Activity::new();
        let io = WatchedIo::new(stream, activity.clone(), slot);
        let tower = TowerToHyperService::new(router.clone());
        let requests = activity.clone();
        let service = service_fn(move |req: http::Request<Incoming>| {
            let in_flight = InFlight::start(&requests);
            let call = tower.call(req);
            async move {
                let resp = match call.await {
                    Ok(resp) => resp,
                    Err(never) => match never {},
                };
                Ok::<_, Infallible>(resp.map(|body| Tracked::new(body, in_flight)))
            }
        });
        let connection = builder
            .serve_connection(TokioIo::new(io), service)
            .into_owned();
        tokio::spawn(crate::proxy::drive(
            connection,
            |c| c.graceful_shutdown(),
            activity,
            timeouts,
            draining.clone(),
            peer,
        ));
    }
    drop(acceptor);
    if !crate::proxy::drain_connections(drain, draining).await {
        tracing::warn!("admin drain timeout: closing remaining connections");
    }
}
