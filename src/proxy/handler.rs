//! The request path of SPEC §2, in one place:
//! extract → key → check revoked (and expire on the spot) → classify → touch → forward → track.
//! Before it, heads that cannot be forwarded faithfully and requests with more than one
//! credential are refused.

mod checks;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use http::{HeaderValue, Request, Response};
use hyper::body::Incoming;
use tokio::time::Instant;

use super::forward;
use super::pool::Pool;
use super::respond::{ProxyBody, ProxyError};
use super::upgrade;
use crate::app::App;
use crate::config::TrackMode;
use crate::store::{Check, Track};
use crate::token::{self, Extracted, TokenKey};

/// Per-connection facts the handler needs.
#[derive(Clone)]
pub struct Conn {
    pub peer: SocketAddr,
    /// The peer's address as an `X-Forwarded-For` element, made once per connection.
    pub peer_ip: HeaderValue,
}

impl Conn {
    pub fn new(peer: SocketAddr) -> Conn {
        let peer_ip = HeaderValue::from_str(&peer.ip().to_string())
            .unwrap_or_else(|_| HeaderValue::from_static("unknown"));
        Conn { peer, peer_ip }
    }
}

pub struct Proxy {
    pub app: Arc<App>,
    /// This proxy thread's upstream connections.
    pool: Arc<Pool>,
    overflow_warning: Throttle,
    upstream_warning: Throttle,
}

/// At most one event per interval: warnings that would otherwise repeat on every request
/// (table full, upstream down) are logged once a minute; the metrics count every one.
struct Throttle(AtomicU64);

impl Throttle {
    const EVERY_MS: u64 = 60_000;

    fn new() -> Throttle {
        Throttle(AtomicU64::new(0))
    }

    fn ready(&self, now_ms: u64) -> bool {
        let last = self.0.load(Ordering::Relaxed);
        (last == 0 || now_ms.saturating_sub(last) >= Self::EVERY_MS)
            && self
                .0
                .compare_exchange(last, now_ms.max(1), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

impl Proxy {
    pub fn new(app: Arc<App>) -> Proxy {
        let pool = Pool::new(
            app.config().proxy.connect_timeout,
            app.metrics.upstream_connections.clone(),
        );
        Proxy {
            app,
            pool,
            overflow_warning: Throttle::new(),
            upstream_warning: Throttle::new(),
        }
    }

    pub async fn handle(&self, conn: Conn, req: Request<Incoming>) -> Response<ProxyBody> {
        // SPEC §10: `now` is when the request head was received.
        let received = Instant::now();
        let app = &self.app;
        let now_ms = app.clock.ms_at(received);
        let live = app.live();
        let cfg = &live.config;

        let head = head_size(&req);
        if head > cfg.proxy.max_header_bytes {
            return ProxyError::HeadTooLarge {
                size: head,
                max: cfg.proxy.max_header_bytes,
            }
            .into_response();
        }

        // 1. Extract: at most one credential. 2. Key (only when idle tracking is on).
        let (path, query) = (req.uri().path(), req.uri().query());
        let token = match checks::check_head(&req)
            .map(|()| token::extract_checked(&cfg.tokens.sources, req.headers(), query))
        {
            Ok(Extracted::One(token)) => Some(token),
            Ok(Extracted::None) => None,
            Ok(Extracted::Conflict(conflict)) => {
                return self.refuse(ProxyError::Credentials(conflict));
            }
            Err(refused) => return self.refuse(refused),
        };
        let enabled = cfg.timeout.enabled;
        let key = match (&token, enabled) {
            (Some(t), true) => Some(app.keyer.key(t)),
            _ => None,
        };

        // 4. Classify (pure; done before the check so the check can touch in one step).
        let no_touch = cfg
            .tokens
            .no_touch_header
            .as_ref()
            .is_some_and(|h| req.headers().contains_key(h));
        let exclusion = live
            .classifier
            .classify(req.method(), path, query, no_touch);

        // 3. Revoked? 5. Touch.
        let mut deadline = None;
        let mut candidate = false;
        if let Some(key) = &key {
            let touch = exclusion.is_none();
            let mut check = app.store.check(key, now_ms, &live.timing, touch);
            if let Some(shared) = &app.shared {
                // Unknown → lookup; due → claim; touch → queued for the flush. An expiry it
                // returns is reported already.
                match shared
                    .resolve(app, key, check, now_ms, &live.timing, touch)
                    .await
                {
                    Ok(c) => check = c,
                    Err(_) => return ProxyError::Unavailable.into_response(),
                }
            }
            match check {
                Check::Revoked(reason) => {
                    app.classes.rejected.inc();
                    return ProxyError::Revoked(reason).into_response();
                }
                Check::Expired(rev) | Check::Due(rev) => {
                    if app.shared.is_none() {
                        app.report_revocation(&rev);
                    }
                    if rev.enforced {
                        app.classes.rejected.inc();
                        return ProxyError::Revoked(rev.reason).into_response();
                    }
                    candidate = true;
                }
                Check::Active { deadline_ms } => deadline = Some(deadline_ms),
                Check::Unknown => candidate = true,
            }
        }
        match (&token, exclusion) {
            (None, _) => {
                app.classes.anonymous.inc();
            }
            (Some(_), None) => {
                app.classes.activity.inc();
            }
            (Some(_), Some(id)) => {
                app.classes.excluded.inc();
                live.exclusion_counters[id].inc();
            }
        }

        let track_all = cfg.tokens.track == TrackMode::All;
        if let (Some(key), true, true) = (&key, candidate, track_all) {
            deadline = self.track(key, token.as_deref(), now_ms);
            candidate = false;
        }

        // 6. Forward.
        let authority = live.upstream_authority.clone();
        let upstream_timeout = cfg.proxy.upstream_timeout;
        let expose = cfg.timeout.expose_remaining;
        let raw_for_track = if candidate {
            token.as_deref().map(|t| t.to_owned())
        } else {
            None
        };
        let mut req = req;
        if let Some(h) = &cfg.tokens.no_touch_header {
            req.headers_mut().remove(h);
        }
        let is_upgrade = forward::is_upgrade(req.headers());
        let client_upgrade = is_upgrade.then(|| hyper::upgrade::on(&mut req));
        let upstream_req = forward::upstream_request(
            req,
            &cfg.proxy.upstream,
            &conn.peer_ip,
            is_upgrade,
            cfg.proxy.body_timeout,
        );
        // The policy guard is not held across the upstream round trip.
        drop(live);
        let mut resp = match self
            .exchange(upstream_req, &authority, upstream_timeout, now_ms)
            .await
        {
            Ok(resp) => resp,
            Err(own_answer) => return own_answer,
        };

        // 7. Track on accept; an upstream 401 drops the token (track = "accepted").
        if let Some(key) = &key {
            if !track_all && resp.status() == http::StatusCode::UNAUTHORIZED {
                if app.store.untrack(key) {
                    app.hooks.forget(key);
                }
                deadline = None;
            } else if candidate && !track_all {
                deadline = self.track(key, raw_for_track.as_deref(), now_ms);
            }
        }
        forward::clean_response(&mut resp);
        if let Some(on) = client_upgrade {
            if resp.status() == http::StatusCode::SWITCHING_PROTOCOLS {
                upgrade::relay(app.clone(), key, on, &mut resp);
            }
        }
        // 8. Idle-Timeout-Remaining.
        if expose {
            if let Some(d) = deadline {
                let secs = d.saturating_sub(now_ms).div_ceil(1000);
                resp.headers_mut()
                    .insert("idle-timeout-remaining", HeaderValue::from(secs));
            }
        }
        resp.map(ProxyBody::Left)
    }

    /// A request refused before anything else is done: counted as `rejected`, not forwarded.
    fn refuse(&self, why: ProxyError) -> Response<ProxyBody> {
        self.app.classes.rejected.inc();
        tracing::debug!(reason = %why, "request refused");
        why.into_response()
    }

    /// Sends the upstream request; a failure becomes idlegate's own answer. Failures of the
    /// client's body are the client's: they are not counted as upstream errors.
    async fn exchange(
        &self,
        upstream_req: Result<Request<forward::RequestBody>, ProxyError>,
        authority: &Arc<str>,
        upstream_timeout: std::time::Duration,
        now_ms: u64,
    ) -> Result<Response<super::pool::PooledBody>, Response<ProxyBody>> {
        let outcome = match upstream_req {
            Ok(up) => {
                let started = Instant::now();
                let result = self.pool.send(authority, up, upstream_timeout).await;
                self.app
                    .metrics
                    .upstream_duration
                    .observe(started.elapsed().as_secs_f64());
                result
            }
            Err(e) => Err(e),
        };
        outcome.map_err(|e| {
            if matches!(e, ProxyError::MalformedBody | ProxyError::BodyTimeout(_)) {
                tracing::debug!(error = %e, "client request body failed");
                return e.into_response();
            }
            self.count_upstream_error(&e);
            if self.upstream_warning.ready(now_ms) {
                tracing::warn!(
                    error = %e,
                    "upstream request failed (further failures this minute: \
                     idlegate_upstream_errors_total only)"
                );
            }
            e.into_response()
        })
    }

    /// Starts tracking; returns the deadline when the token is tracked afterwards.
    fn track(&self, key: &TokenKey, raw: Option<&str>, now_ms: u64) -> Option<u64> {
        let live = self.app.live();
        let exp = raw.and_then(token::jwt_exp);
        match self.app.store.track(key, now_ms, exp, &live.timing) {
            Track::New { deadline_ms } => {
                if let Some(raw) = raw {
                    self.app.hooks.remember(*key, raw);
                }
                if let Some(shared) = &self.app.shared {
                    shared.touched(key, now_ms);
                }
                Some(deadline_ms)
            }
            Track::Existing { deadline_ms } => Some(deadline_ms),
            Track::Overflow => {
                self.app.metrics.tracking_overflow.inc();
                self.warn_overflow(now_ms, live.config.tokens.max_tracked);
                None
            }
            Track::Revoked => None,
        }
    }

    /// One warning a minute at most: overflow happens per request under attack.
    fn warn_overflow(&self, now_ms: u64, max: usize) {
        if self.overflow_warning.ready(now_ms) {
            tracing::warn!(
                max_tracked = max,
                "tokens.max_tracked reached: new tokens are not tracked \
                 (see idlegate_tracking_overflow_total)"
            );
        }
    }

    fn count_upstream_error(&self, e: &ProxyError) {
        use crate::admin::metrics::UpstreamErrorKind as K;
        let kind = match e {
            ProxyError::Connect(_) => K::connect,
            ProxyError::Timeout(_) => K::timeout,
            _ => K::other,
        };
        self.app.metrics.upstream_error(kind).inc();
    }
}

/// Bytes of the request head as it came on the wire: request line, header lines, blank line.
fn head_size<B>(req: &Request<B>) -> usize {
    let line = req.method().as_str().len()
        + 1
        + req.uri().path_and_query().map_or(1, |p| p.as_str().len())
        + 1
        + 8
        + 2;
    let headers: usize = req
        .headers()
        .iter()
        .map(|(n, v)| n.as_str().len() + 2 + v.len() + 2)
        .sum();
    line + headers + 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_lets_one_event_through_per_minute() {
        let t = Throttle::new();
        assert!(t.ready(1_000));
        assert!(!t.ready(30_000));
        assert!(!t.ready(60_999));
        assert!(t.ready(61_000));
    }

    #[test]
    fn head_size_counts_request_line_headers_and_blank_line() {
        let req = Request::get("/ab?c").header("x", "yz").body(()).unwrap();
        // "GET /ab?c HTTP/1.1\r\n" + "x: yz\r\n" + "\r\n"
        assert_eq!(head_size(&req), 20 + 7 + 2);
    }
}
