//! The record phase, once the upstream answered: tracking settled by the answer
//! (`tokens.track = "accepted"`), the response cleaned, a protocol switch relayed, and
//! `Idle-Timeout-Remaining` (docs/reference.md, "Request path", steps 8–10).
//!
//! Layout: imports `decision.rs` (what it left) and `tracking.rs`; `upgrade.rs` and
//! `forward.rs` for the response.

use std::sync::Arc;

use http::{HeaderValue, Response, StatusCode};
use hyper::upgrade::OnUpgrade;

use super::decision::Decision;
use super::throttle::Throttle;
use super::tracking;
use crate::app::App;
use crate::proxy::forward;
use crate::proxy::pool::PooledBody;
use crate::proxy::respond::ProxyBody;
use crate::proxy::upgrade;

/// The upstream's response as the client gets it, with the token's tracking brought up to
/// date. `expose`: `timeout.expose_remaining`.
pub(super) fn record(
    app: &Arc<App>,
    overflow_warning: &Throttle,
    decision: Decision,
    mut resp: Response<PooledBody>,
    client_upgrade: Option<OnUpgrade>,
    expose: bool,
    now_ms: u64,
) -> Response<ProxyBody> {
    let Decision {
        key,
        mut deadline,
        settled_by_answer,
        candidate,
        who,
    } = decision;
    // An upstream 401 drops the token; any other answer accepts a candidate.
    if let (Some(key), true) = (&key, settled_by_answer) {
        if resp.status() == StatusCode::UNAUTHORIZED {
            tracking::untrack(app, key);
            deadline = None;
        } else if candidate.is_some() {
            let (raw, who) = (candidate.as_deref(), who.as_ref());
            deadline = tracking::track(app, overflow_warning, key, raw, who, now_ms);
        }
    }
    forward::clean_response(&mut resp);
    if let Some(on) = client_upgrade {
        if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
            upgrade::relay(app.clone(), key, on, &mut resp);
        }
    }
    if let (true, Some(d)) = (expose, deadline) {
        let secs = crate::clock::remaining_seconds(d, now_ms);
        resp.headers_mut()
            .insert("idle-timeout-remaining", HeaderValue::from(secs));
    }
    resp.map(ProxyBody::Left)
}
