//! The one place where idlegate's own answers are made: refused tokens (401), upstream
//! failures (502/504) and oversized heads (431). Each carries a short JSON body.

use super::pool::PooledBody;
use crate::store::RevokeReason;
use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::{Either, Full};

/// Bodies the proxy answers with: the upstream's streamed body, or one of our own.
pub type ProxyBody = Either<PooledBody, Full<Bytes>>;

/// Why the proxy answers itself instead of relaying the upstream.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("upstream connection failed: {0}")]
    Connect(String),
    #[error("upstream did not answer within {0:?}")]
    Timeout(std::time::Duration),
    #[error("upstream failed: {0}")]
    Other(String),
    #[error("request header block of {size} bytes exceeds proxy.max_header_bytes ({max})")]
    HeadTooLarge { size: usize, max: usize },
    #[error("{}", .0.description())]
    Revoked(RevokeReason),
    /// `state.on_error = "closed"` and the shared state (Redis) cannot say whether this
    /// unknown token is revoked.
    #[error("token state is temporarily unavailable")]
    Unavailable,
}

impl ProxyError {
    pub fn into_response(self) -> Response<ProxyBody> {
        match self {
            ProxyError::Revoked(reason) => revoked(reason),
            ProxyError::Connect(_) | ProxyError::Other(_) => {
                json(StatusCode::BAD_GATEWAY, "bad_gateway", &self.to_string())
            }
            ProxyError::Unavailable => {
                let mut resp = json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    &self.to_string(),
                );
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                resp
            }
            ProxyError::Timeout(_) => json(
                StatusCode::GATEWAY_TIMEOUT,
                "gateway_timeout",
                &self.to_string(),
            ),
            ProxyError::HeadTooLarge { .. } => {
                let mut resp = json(
                    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                    "request_header_fields_too_large",
                    &self.to_string(),
                );
                // SPEC §10: after a 431 the connection is closed.
                resp.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
                resp
            }
        }
    }
}

fn revoked(reason: RevokeReason) -> Response<ProxyBody> {
    let mut resp = json(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        reason.description(),
    );
    let challenge = format!(
        "Bearer error=\"invalid_token\", error_description=\"{}\"",
        reason.description()
    );
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

fn json(status: StatusCode, error: &str, description: &str) -> Response<ProxyBody> {
    let body = serde_json::json!({ "error": error, "error_description": description }).to_string();
    let mut resp = Response::new(Either::Right(Full::new(Bytes::from(body))));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoked_answer_is_rfc6750_with_json_body() {
        let resp = ProxyError::Revoked(RevokeReason::Inactivity).into_response();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            resp.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"invalid_token\", error_description=\"token revoked after inactivity\""
        );
    }

    #[test]
    fn unavailable_state_is_503_temporarily_unavailable() {
        let resp = ProxyError::Unavailable.into_response();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "1");
    }

    #[test]
    fn oversized_head_closes_the_connection() {
        let resp = ProxyError::HeadTooLarge { size: 10, max: 5 }.into_response();
        assert_eq!(resp.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        assert_eq!(resp.headers()[header::CONNECTION], "close");
    }
}
