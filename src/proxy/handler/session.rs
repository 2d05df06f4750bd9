//! The session status endpoint (docs/reference.md, "Session status"): `GET {status_path}`
//! tells a client how long its token has left without resetting the idle timer;
//! `POST {status_path}/extend` is one activity (the "Stay signed in" button) and never moves
//! the absolute deadline. Answered by idlegate, never forwarded; every other path under
//! `status_path` is reserved (404).
//!
//! Layout: a phase of the handler; imports `verify.rs` (a JWT is verified here as on the
//! request path) and the proxy's error and answer types.

use http::{Method, Request, Response, StatusCode};
use serde_json::json;

use super::verify::{verify, Who};
use crate::app::{App, Live};
use crate::clock::{duration_ms, remaining_seconds, rfc3339, UnixMs};
use crate::proxy::error::{ErrorKind, ProxyError};
use crate::proxy::respond::{json_body, ProxyBody};
use crate::store::Check;
use crate::token::TokenKey;

/// Which session endpoint a request is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Endpoint {
    Status,
    Extend,
    /// Under the reserved path, but not an endpoint.
    Other,
}

/// The endpoint a request path names, if it is under `status_path`.
pub(super) fn endpoint(status_path: &str, path: &str) -> Option<Endpoint> {
    let rest = path.strip_prefix(status_path)?;
    match rest {
        "" => Some(Endpoint::Status),
        "/extend" => Some(Endpoint::Extend),
        r if r.starts_with('/') => Some(Endpoint::Other),
        _ => None,
    }
}

/// Answers a session request. `token`/`key` come from the admit phase like any request's.
pub(super) async fn answer<B>(
    app: &App,
    live: &Live,
    req: &Request<B>,
    endpoint: Endpoint,
    token: Option<&str>,
    now_ms: UnixMs,
) -> Result<Response<ProxyBody>, ProxyError> {
    let extend = match (endpoint, req.method()) {
        (Endpoint::Status, &Method::GET | &Method::HEAD) => false,
        (Endpoint::Status, _) => return Err(method("GET, HEAD")),
        (Endpoint::Extend, &Method::POST) => true,
        (Endpoint::Extend, _) => return Err(method("POST")),
        (Endpoint::Other, _) => return Err(ProxyError::client(ErrorKind::SessionNotFound)),
    };
    let Some(token) = token else {
        return Err(ProxyError::client(ErrorKind::NoToken));
    };
    let (key, sig) = app.keyer.key_and_signature_hash(token);
    let who = verify(app, live, Some(&key), sig, Some(token), now_ms).await?;
    let check = app
        .state()
        .check(&key, now_ms, &live.timing, extend)
        .await
        .map_err(|_| ProxyError::gateway(ErrorKind::Unavailable))?;
    match check {
        Check::Revoked(reason) => Err(ProxyError::client(ErrorKind::Revoked(reason))),
        Check::Expired(rev) | Check::Due(rev) if rev.enforced => {
            Err(ProxyError::client(ErrorKind::Revoked(rev.reason)))
        }
        _ => Ok(json_body(
            StatusCode::OK,
            &status_json(app, live, &key, who.as_ref(), now_ms),
        )),
    }
}

fn method(allow: &'static str) -> ProxyError {
    ProxyError::client(ErrorKind::SessionMethod(allow))
}

/// The status document of a token, tracked or not.
fn status_json(
    app: &App,
    live: &Live,
    key: &TokenKey,
    who: Option<&Who>,
    now_ms: UnixMs,
) -> serde_json::Value {
    let record = app.state().record(key);
    let (state, policy, last, first) = match &record {
        Some(r) => ("active", r.policy, r.last_activity_ms, r.first_seen_ms),
        // Untracked: the policy verification chose, and a clock that would start now.
        None => ("untracked", who.map_or(0, |w| w.policy), now_ms, now_ms),
    };
    let timing = live.timing.of(policy);
    let idle = (timing.idle_ms != u64::MAX).then_some(timing.idle_ms);
    let idle_deadline = idle.map(|i| last.saturating_add(i));
    let absolute_deadline = timing.absolute_ms.map(|a| first.saturating_add(a));
    // Whole seconds, rounded up: as the admin API counts them.
    let remaining = |d: UnixMs| remaining_seconds(d, now_ms);
    let idle_remaining = idle_deadline.map(remaining);
    let warn_s = duration_ms(live.config.timeout.warn_before) / 1000;
    let expires = earliest(idle_deadline, absolute_deadline);
    json!({
        "token_id": key.to_hex(),
        "state": state,
        "policy": app.policy_name(policy),
        "idle_timeout_seconds": idle.map(|i| i / 1000),
        "idle_remaining_seconds": idle_remaining,
        "absolute_remaining_seconds": absolute_deadline.map(remaining),
        "expires_at": expires.map(rfc3339),
        "warning": idle_remaining.is_some_and(|r| r <= warn_s),
    })
}

fn earliest(a: Option<UnixMs>, b: Option<UnixMs>) -> Option<UnixMs> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserved_path_and_its_endpoints() {
        let p = "/.idlegate/session";
        assert_eq!(endpoint(p, "/.idlegate/session"), Some(Endpoint::Status));
        assert_eq!(
            endpoint(p, "/.idlegate/session/extend"),
            Some(Endpoint::Extend)
        );
        assert_eq!(endpoint(p, "/.idlegate/session/x"), Some(Endpoint::Other));
        assert_eq!(
            endpoint(p, "/.idlegate/session/extend/"),
            Some(Endpoint::Other)
        );
        assert_eq!(endpoint(p, "/.idlegate/sessions"), None);
        assert_eq!(endpoint(p, "/api/x"), None);
    }

    #[test]
    fn earliest_of_two_optional_deadlines() {
        assert_eq!(earliest(Some(5), Some(3)), Some(3));
        assert_eq!(earliest(None, Some(3)), Some(3));
        assert_eq!(earliest(Some(5), None), Some(5));
        assert_eq!(earliest(None, None), None);
    }
}
