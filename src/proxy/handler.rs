//! The request path, as its phases (docs/reference.md, "Request path"): admit (head checks,
//! one credential) → identity (the token's key) → decision (classify, check revoked, touch)
//! → forward → record (tracking settled by the answer, `Idle-Timeout-Remaining`). Every
//! answer idlegate makes itself leaves through [`Proxy::answer`].
//!
//! Layout: this file composes the phases and imports from its children; they never import
//! from it. `admit.rs`, `decision.rs`, `exchange.rs` and `record.rs` are the phases;
//! `tracking.rs` holds the writes to the state layer and `throttle.rs` the warning limit.

mod admit;
mod decision;
mod exchange;
mod record;
mod session;
mod throttle;
mod tracking;
mod verify;

use std::net::SocketAddr;
use std::sync::Arc;

use http::{HeaderValue, Request, Response};
use tokio::time::Instant;

use super::body::ClientBody;
use super::error::ProxyError;
use super::pool::Pool;
use super::respond::ProxyBody;
use crate::app::App;
use admit::{admit, identify};
use decision::{decide, Presented};
use exchange::{account_failure, exchange, upstream_request, Route};
use record::record;
use throttle::Throttle;

/// Per-connection facts the handler needs.
#[derive(Clone)]
pub(crate) struct Conn {
    /// The peer's address as an `X-Forwarded-For` element, made once per connection.
    pub peer_ip: HeaderValue,
}

impl Conn {
    pub(crate) fn new(peer: SocketAddr) -> Conn {
        let peer_ip = HeaderValue::from_str(&peer.ip().to_string())
            .unwrap_or_else(|_| HeaderValue::from_static("unknown"));
        Conn { peer_ip }
    }
}

pub(crate) struct Proxy {
    pub app: Arc<App>,
    /// This proxy thread's upstream connections.
    pool: Arc<Pool>,
    overflow_warning: Throttle,
    upstream_warning: Throttle,
}

impl Proxy {
    /// `upstream_slots` bounds the upstream connections of every proxy thread together.
    pub(crate) fn new(app: Arc<App>, upstream_slots: Arc<tokio::sync::Semaphore>) -> Proxy {
        let pool = Pool::new(
            app.config().proxy.connect_timeout,
            app.metrics.upstream_connections.clone(),
            upstream_slots,
        );
        Proxy {
            app,
            pool,
            overflow_warning: Throttle::new(),
            upstream_warning: Throttle::new(),
        }
    }

    /// Answers one request: hyper's (its body [`ClientBody::Hyper`]) or the own server's
    /// ([`ClientBody::Empty`]).
    pub(crate) async fn handle(&self, conn: Conn, req: Request<ClientBody>) -> Response<ProxyBody> {
        // `now` is when the request head was received (docs/reference.md, "Request path").
        let now_ms = self.app.clock.ms_at(Instant::now());
        let app = &self.app;
        let live = app.live();

        let token = match admit(&live, &req) {
            Ok(token) => token,
            Err(refused) => return self.answer(refused),
        };
        let status_path = &live.config.proxy.status_path;
        if let Some(endpoint) = session::endpoint(status_path, req.uri().path()) {
            // Rare next to forwarding: boxed, so that its state does not weigh on every
            // request's future.
            let answered = Box::pin(session::answer(
                app,
                &live,
                &req,
                endpoint,
                token.as_deref(),
                now_ms,
            ))
            .await;
            return answered.unwrap_or_else(|refused| self.answer(refused));
        }
        let (key, sig) = identify(app, &live, token.as_deref());
        let decided = decide(
            app,
            &live,
            &self.overflow_warning,
            &req,
            Presented {
                key,
                token: token.as_deref(),
                sig,
            },
            now_ms,
        )
        .await;
        let decision = match decided {
            Ok(decision) => decision,
            Err(refused) => return self.answer(refused),
        };

        let route = Route::of(&live);
        let expose = live.config.timeout.expose_remaining;
        let (upstream_req, client_upgrade) = upstream_request(&live, &conn.peer_ip, req);
        drop(live);
        let mut upstream_req = match upstream_req {
            Ok(up) => up,
            Err(e) => {
                account_failure(app, &self.upstream_warning, &e, now_ms);
                return self.answer(e);
            }
        };
        let sent = exchange(
            app,
            &self.pool,
            &self.upstream_warning,
            &mut upstream_req,
            &route,
            now_ms,
        )
        .await;
        let resp = match sent {
            Ok(resp) => resp,
            Err(failed) => return self.answer(failed),
        };

        let overflow = &self.overflow_warning;
        record(
            app,
            overflow,
            decision,
            resp,
            client_upgrade,
            expose,
            now_ms,
        )
    }

    /// idlegate's own answer instead of the upstream's, the one way out of the request path
    /// for a [`ProxyError`]. A request refused for what it carries (a revoked token, more
    /// than one credential, a head that cannot be forwarded faithfully) is counted as class
    /// `rejected`.
    fn answer(&self, why: ProxyError) -> Response<ProxyBody> {
        if why.is_refusal() {
            self.app.classes.rejected.inc();
            tracing::debug!(reason = %why, "request refused");
        }
        why.into_response()
    }
}
