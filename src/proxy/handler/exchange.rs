//! The forward phase: the request rewritten for the upstream (the no-touch header removed, a
//! protocol switch taken over), sent over this thread's pool, and a failure accounted for by
//! who is at fault (docs/reference.md, "Request path", step 7, and "Proxy error answers").
//!
//! Layout: imports `forward.rs` (the rewrite), `pool.rs` (the sending) and the low files
//! `body.rs` and `error.rs`; the answer itself is made by the caller through `respond.rs`.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, Request, Response};
use hyper::upgrade::OnUpgrade;
use tokio::time::Instant;

use super::throttle::Throttle;
use crate::app::{App, Live};
use crate::proxy::body::{ClientBody, RequestBody};
use crate::proxy::error::{ErrorKind, Fault, ProxyError};
use crate::proxy::forward::{self, Forwarded};
use crate::proxy::pool::{Pool, PooledBody};
use crate::telemetry::UpstreamErrorKind;

/// The upstream request and its `X-Forwarded-*` fields.
pub(super) type Upstream = (Request<RequestBody>, Forwarded);

/// Where forwarding goes and how long it waits, read from the live config before the
/// guard is let go: the policy guard is not held across the upstream round trip.
pub(super) struct Route {
    pub authority: Arc<str>,
    pub upstream_timeout: Duration,
}

impl Route {
    pub(super) fn of(live: &Live) -> Route {
        Route {
            authority: live.upstream_authority.clone(),
            upstream_timeout: live.config.proxy.upstream_timeout,
        }
    }
}

/// The upstream request: the no-touch header removed, a protocol switch taken over, the
/// request rewritten for the upstream.
pub(super) fn upstream_request(
    live: &Live,
    peer_ip: &HeaderValue,
    mut req: Request<ClientBody>,
) -> (Result<Upstream, ProxyError>, Option<OnUpgrade>) {
    let cfg = &live.config;
    if let Some(h) = &cfg.tokens.no_touch_header {
        req.headers_mut().remove(h);
    }
    let is_upgrade = forward::is_upgrade(req.headers());
    let client_upgrade = is_upgrade.then(|| hyper::upgrade::on(&mut req));
    let upstream_req = forward::upstream_request(
        req,
        &cfg.proxy.upstream,
        peer_ip,
        is_upgrade,
        cfg.proxy.body_timeout,
    );
    (upstream_req, client_upgrade)
}

/// Sends the upstream request and times the round trip. A failure is accounted for here;
/// the caller answers it.
///
/// The request is borrowed (`Pool::send` says why); the caller keeps it until the answer.
pub(super) async fn exchange(
    app: &App,
    pool: &Arc<Pool>,
    upstream_warning: &Throttle,
    (up, forwarded): &mut Upstream,
    route: &Route,
    now_ms: u64,
) -> Result<Response<PooledBody>, ProxyError> {
    let started = Instant::now();
    let result = pool
        .send(&route.authority, up, forwarded, route.upstream_timeout)
        .await;
    app.metrics
        .upstream_duration
        .observe(started.elapsed().as_secs_f64());
    result.inspect_err(|e| account_failure(app, upstream_warning, e, now_ms))
}

/// `idlegate_upstream_errors_total` and the warning (once a minute) for a failed forward,
/// or for a request that could not be rewritten for the upstream. Failures of the client's
/// body are the client's: they are not counted as upstream errors.
pub(super) fn account_failure(app: &App, upstream_warning: &Throttle, e: &ProxyError, now_ms: u64) {
    if e.fault == Fault::Client {
        tracing::debug!(error = %e, "client request body failed");
        return;
    }
    let kind = match e.kind {
        ErrorKind::Connect(_) => UpstreamErrorKind::connect,
        ErrorKind::Timeout(_) => UpstreamErrorKind::timeout,
        _ => UpstreamErrorKind::other,
    };
    app.metrics.upstream_error(kind).inc();
    if upstream_warning.ready(now_ms) {
        tracing::warn!(
            error = %e,
            "upstream request failed (further failures this minute: \
             idlegate_upstream_errors_total only)"
        );
    }
}
