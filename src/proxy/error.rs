//! The proxy's error: what went wrong, who is at fault, and whether the request may be sent
//! again on another upstream connection (the model of pingora's `ErrorSource` and
//! `RetryType`).
//!
//! Layout: the lowest file of `proxy`; it imports nothing from its siblings, so the pool, the
//! rewrite and the handler all build on it. `respond.rs` turns an error into idlegate's own
//! answer, in one place.

use std::time::Duration;

use crate::store::RevokeReason;
use crate::token::Conflict;

/// Who caused a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fault {
    /// The request: its head, its body, or the credential it carries.
    Client,
    /// The upstream: it could not be reached or did not answer in time.
    Upstream,
    /// idlegate itself: its shared state, or its rewrite of the request.
    Gateway,
}

/// Why the proxy answers itself instead of relaying the upstream.
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
pub(super) struct ProxyError {
    pub kind: ErrorKind,
    pub fault: Fault,
    /// Safe to send on another upstream connection: the upstream never received the request.
    /// Whether it is sent again is the pool's choice (it retries only what a reused
    /// connection refused).
    pub retry: bool,
}

/// What went wrong; it alone decides the answer's status, body and headers.
#[derive(Debug, thiserror::Error)]
pub(super) enum ErrorKind {
    #[error("upstream connection failed: {0}")]
    Connect(String),
    #[error("upstream did not answer within {0:?}")]
    Timeout(Duration),
    #[error("upstream failed: {0}")]
    Other(String),
    #[error("request header block of {size} bytes exceeds proxy.max_header_bytes ({max})")]
    HeadTooLarge { size: usize, max: usize },
    #[error("{}", .0.description())]
    Revoked(RevokeReason),
    /// `[identity]` with `on_invalid = "reject"`: the JWT failed verification; the text is
    /// safe to show the client.
    #[error("{0}")]
    InvalidToken(String),
    /// `state.on_error = "closed"` and the shared state (Redis) cannot say whether this
    /// unknown token is revoked.
    #[error("token state is temporarily unavailable")]
    Unavailable,
    /// The request carries more than one credential.
    #[error("{0}")]
    Credentials(Conflict),
    /// A request head that cannot be forwarded faithfully (its `Host`, for one).
    #[error("{0}")]
    BadRequest(&'static str),
    /// The session status endpoint was asked without a token.
    #[error("no token in the request")]
    NoToken,
    /// The session status endpoint with a method it does not answer; `Allow` names the one
    /// it does.
    #[error("the session endpoint answers {0} only")]
    SessionMethod(&'static str),
    /// A path under the reserved session path that is not one of its endpoints.
    #[error("no such session endpoint")]
    SessionNotFound,
    /// `CONNECT`: idlegate is a reverse proxy, not a tunnel to any address.
    #[error("the CONNECT method is not supported")]
    MethodNotAllowed,
    /// The client's request body failed (bad chunked framing, early end). The cause stays in
    /// the logs: its text describes idlegate's internals, not the client's mistake.
    #[error("malformed request body")]
    MalformedBody,
    /// The client's request body sent nothing for `proxy.body_timeout`.
    #[error("the request body sent nothing for {0:?}")]
    BodyTimeout(Duration),
}

impl ProxyError {
    /// The request is refused for what it is or carries; sending it elsewhere changes nothing.
    pub(super) fn client(kind: ErrorKind) -> ProxyError {
        ProxyError {
            kind,
            fault: Fault::Client,
            retry: false,
        }
    }

    /// The upstream failed; `unsent` when it never received the request.
    pub(super) fn upstream(kind: ErrorKind, unsent: bool) -> ProxyError {
        ProxyError {
            kind,
            fault: Fault::Upstream,
            retry: unsent,
        }
    }

    /// idlegate failed on its own side; another upstream connection would not help.
    pub(super) fn gateway(kind: ErrorKind) -> ProxyError {
        ProxyError {
            kind,
            fault: Fault::Gateway,
            retry: false,
        }
    }

    /// A refusal for what the request carries (a revoked token, more than one credential, a
    /// head that cannot be forwarded faithfully): counted as class `rejected`.
    pub(super) fn is_refusal(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Revoked(_)
                | ErrorKind::InvalidToken(_)
                | ErrorKind::Credentials(_)
                | ErrorKind::BadRequest(_)
                | ErrorKind::MethodNotAllowed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_reads_as_its_kind() {
        let e = ProxyError::upstream(ErrorKind::Timeout(Duration::from_secs(2)), false);
        assert_eq!(e.to_string(), "upstream did not answer within 2s");
        assert_eq!((e.fault, e.retry), (Fault::Upstream, false));
    }

    #[test]
    fn only_refusals_for_what_the_request_carries_count_as_rejected() {
        let refused = ProxyError::client(ErrorKind::Revoked(RevokeReason::Inactivity));
        assert!(refused.is_refusal());
        assert!(ProxyError::client(ErrorKind::MethodNotAllowed).is_refusal());
        let head = ProxyError::client(ErrorKind::HeadTooLarge { size: 2, max: 1 });
        assert!(!head.is_refusal());
        assert!(!ProxyError::gateway(ErrorKind::Unavailable).is_refusal());
    }
}
