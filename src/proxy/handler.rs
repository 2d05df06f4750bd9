//! The request path of SPEC §2, in one place:
//! extract → key → check revoked (and expire on the spot) → classify → touch → forward → track.
//! Before it, heads that cannot be forwarded faithfully and requests with more than one
//! credential are refused.

mod checks;
mod tracking;

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;

use http::{HeaderValue, Request, Response};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use tokio::time::Instant;

use super::forward;
use super::pool::Pool;
use super::respond::{ProxyBody, ProxyError};
use super::upgrade;
use crate::app::{App, Live};
use crate::classify::ExclusionId;
use crate::config::TrackMode;
use crate::store::Check;
use crate::token::{self, Extracted, TokenKey};
use tracking::Throttle;

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

/// What the token check leaves for the rest of the request path.
#[derive(Default)]
struct Verdict {
    /// The token's deadline when it is tracked.
    deadline: Option<u64>,
    /// Not tracked yet: may start being tracked (before or after forwarding, per
    /// `tokens.track`).
    candidate: bool,
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

        // 1. Extract: at most one credential. 2. Key (only when idle tracking is on).
        let token = match admit(&live, &req) {
            Ok(token) => token,
            Err(refused) => return self.answer(refused),
        };
        let key = match (&token, cfg.timeout.enabled) {
            (Some(t), true) => Some(app.keyer.key(t)),
            _ => None,
        };

        // 4. Classify (pure; done before the check so the check can touch in one step).
        let exclusion = classify(&live, &req);

        // 3. Revoked? 5. Touch.
        let mut verdict = Verdict::default();
        if let Some(key) = &key {
            match self.check(&live, key, exclusion.is_none(), now_ms).await {
                Ok(v) => verdict = v,
                Err(refused) => return self.answer(refused),
            }
        }
        self.count_class(&live, token.is_some(), exclusion);

        let track_all = cfg.tokens.track == TrackMode::All;
        if let (Some(key), true, true) = (&key, verdict.candidate, track_all) {
            verdict.deadline = self.track(key, token.as_deref(), now_ms);
            verdict.candidate = false;
        }

        // 6. Forward.
        let authority = live.upstream_authority.clone();
        let upstream_timeout = cfg.proxy.upstream_timeout;
        let expose = cfg.timeout.expose_remaining;
        let raw_for_track = verdict
            .candidate
            .then(|| token.as_deref().map(str::to_owned))
            .flatten();
        let (upstream_req, client_upgrade) = upstream_request(&live, &conn, req);
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
        if let (Some(key), false) = (&key, track_all) {
            let accepted = resp.status() != http::StatusCode::UNAUTHORIZED;
            self.settle(key, accepted, &mut verdict, raw_for_track, now_ms);
        }
        forward::clean_response(&mut resp);
        if let Some(on) = client_upgrade {
            if resp.status() == http::StatusCode::SWITCHING_PROTOCOLS {
                upgrade::relay(app.clone(), key, on, &mut resp);
            }
        }
        // 8. Idle-Timeout-Remaining.
        if let (true, Some(d)) = (expose, verdict.deadline) {
            let secs = d.saturating_sub(now_ms).div_ceil(1000);
            resp.headers_mut()
                .insert("idle-timeout-remaining", HeaderValue::from(secs));
        }
        resp.map(ProxyBody::Left)
    }

    /// Steps 3 and 5 for a keyed token: refused when revoked (or expired just now, when
    /// enforced); otherwise its deadline, or whether it may start being tracked.
    async fn check(
        &self,
        live: &Live,
        key: &TokenKey,
        touch: bool,
        now_ms: u64,
    ) -> Result<Verdict, ProxyError> {
        let app = &self.app;
        // An expiry it returns is reported already.
        let check = match app.state().check(key, now_ms, &live.timing, touch).await {
            Ok(check) => check,
            Err(_) => return Err(ProxyError::Unavailable),
        };
        let candidate = Verdict {
            deadline: None,
            candidate: true,
        };
        match check {
            Check::Revoked(reason) => Err(ProxyError::Revoked(reason)),
            Check::Expired(rev) | Check::Due(rev) => {
                if rev.enforced {
                    return Err(ProxyError::Revoked(rev.reason));
                }
                Ok(candidate)
            }
            Check::Active { deadline_ms } => Ok(Verdict {
                deadline: Some(deadline_ms),
                candidate: false,
            }),
            Check::Unknown => Ok(candidate),
        }
    }

    /// `idlegate_requests_total` for a request that goes on to the upstream.
    fn count_class(&self, live: &Live, has_token: bool, exclusion: Option<ExclusionId>) {
        let classes = &self.app.classes;
        match (has_token, exclusion) {
            (false, _) => {
                classes.anonymous.inc();
            }
            (true, None) => {
                classes.activity.inc();
            }
            (true, Some(id)) => {
                classes.excluded.inc();
                live.exclusion_counters[id].inc();
            }
        }
    }

    /// idlegate's own answer instead of the upstream's. A request refused for what it
    /// carries (a revoked token, more than one credential, a head that cannot be forwarded
    /// faithfully) is counted as class `rejected`.
    fn answer(&self, why: ProxyError) -> Response<ProxyBody> {
        let refusal = matches!(
            why,
            ProxyError::Revoked(_)
                | ProxyError::Credentials(_)
                | ProxyError::BadRequest(_)
                | ProxyError::MethodNotAllowed
        );
        if refusal {
            self.app.classes.rejected.inc();
            tracing::debug!(reason = %why, "request refused");
        }
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

    fn count_upstream_error(&self, e: &ProxyError) {
        use crate::telemetry::UpstreamErrorKind as K;
        let kind = match e {
            ProxyError::Connect(_) => K::connect,
            ProxyError::Timeout(_) => K::timeout,
            _ => K::other,
        };
        self.app.metrics.upstream_error(kind).inc();
    }
}

/// The request's one token, or why idlegate answers itself: a head over
/// `proxy.max_header_bytes` (431), one that cannot be forwarded faithfully, or more than one
/// credential.
fn admit<'r>(live: &Live, req: &'r Request<Incoming>) -> Result<Option<Cow<'r, str>>, ProxyError> {
    checks::check_head(req, live.config.proxy.max_header_bytes)?;
    let sources = &live.config.tokens.sources;
    match token::extract_checked(sources, req.headers(), req.uri().query()) {
        Extracted::One(token) => Ok(Some(token)),
        Extracted::None => Ok(None),
        Extracted::Conflict(conflict) => Err(ProxyError::Credentials(conflict)),
    }
}

/// Step 4: `Some` names the exclusion that matched, `None` is activity.
fn classify(live: &Live, req: &Request<Incoming>) -> Option<ExclusionId> {
    let no_touch = live
        .config
        .tokens
        .no_touch_header
        .as_ref()
        .is_some_and(|h| req.headers().contains_key(h));
    let (path, query) = (req.uri().path(), req.uri().query());
    live.classifier
        .classify(req.method(), path, query, no_touch)
}

/// Step 6's request: the no-touch header removed, a protocol switch taken over, the request
/// rewritten for the upstream.
fn upstream_request(
    live: &Live,
    conn: &Conn,
    mut req: Request<Incoming>,
) -> (
    Result<Request<forward::RequestBody>, ProxyError>,
    Option<OnUpgrade>,
) {
    let cfg = &live.config;
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
    (upstream_req, client_upgrade)
}
