//! The one place where a [`ProxyError`] becomes idlegate's own answer: refused tokens (401),
//! requests that cannot be checked or forwarded faithfully (400/405/408), upstream failures
//! (502/504), unavailable state (503) and oversized heads (431). Each carries a short JSON
//! body. The status follows the error's kind alone; its fault and retry flag do not change
//! what the client sees.
//!
//! Layout: above `error.rs` and `pool.rs` (for the upstream's body type); the handler is
//! the only caller.

use super::error::{ErrorKind, ProxyError};
use super::pool::PooledBody;
use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::{Either, Full};

/// Bodies the proxy answers with: the upstream's streamed body, or one of our own.
pub(super) type ProxyBody = Either<PooledBody, Full<Bytes>>;

/// Methods idlegate forwards (any but `CONNECT`): the common ones, for the 405's `Allow`.
const ALLOW: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, TRACE";

impl ProxyError {
    /// idlegate's own answer for this error.
    pub(super) fn into_response(self) -> Response<ProxyBody> {
        match &self.kind {
            ErrorKind::Revoked(reason) => invalid_token(reason.description()),
            ErrorKind::InvalidToken(why) => invalid_token(why),
            ErrorKind::Connect(_) | ErrorKind::Other(_) => {
                json(StatusCode::BAD_GATEWAY, "bad_gateway", &self.to_string())
            }
            ErrorKind::Unavailable => {
                let mut resp = json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    &self.to_string(),
                );
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                resp
            }
            ErrorKind::Timeout(_) => json(
                StatusCode::GATEWAY_TIMEOUT,
                "gateway_timeout",
                &self.to_string(),
            ),
            ErrorKind::Credentials(_) => {
                let mut resp = json(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    &self.to_string(),
                );
                resp.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_request\""),
                );
                resp
            }
            ErrorKind::BadRequest(_) => json(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &self.to_string(),
            ),
            ErrorKind::NoToken => {
                let mut resp = json(
                    StatusCode::UNAUTHORIZED,
                    "invalid_request",
                    &self.to_string(),
                );
                // RFC 6750 3.1: no error code when the request carries no credentials.
                resp.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                resp
            }
            ErrorKind::SessionMethod(allow) => {
                let mut resp = json(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    &self.to_string(),
                );
                resp.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(allow));
                resp
            }
            ErrorKind::SessionNotFound => {
                json(StatusCode::NOT_FOUND, "not_found", &self.to_string())
            }
            ErrorKind::MethodNotAllowed => {
                let mut resp = json(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    &self.to_string(),
                );
                resp.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(ALLOW));
                resp
            }
            // The request body was not read to its end: what follows on the connection
            // cannot be trusted to be the next request.
            ErrorKind::MalformedBody => closing(json(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &self.to_string(),
            )),
            ErrorKind::BodyTimeout(_) => closing(json(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                &self.to_string(),
            )),
            // After a 431 the connection is closed.
            ErrorKind::HeadTooLarge { .. } => closing(json(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "request_header_fields_too_large",
                &self.to_string(),
            )),
        }
    }
}

/// Asks the server to close the client connection after this answer.
fn closing(mut resp: Response<ProxyBody>) -> Response<ProxyBody> {
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// 401 with the RFC 6750 challenge naming why (a revoked token, or one that failed
/// verification). `why` never holds a quote or a control character.
fn invalid_token(why: &str) -> Response<ProxyBody> {
    let mut resp = json(StatusCode::UNAUTHORIZED, "invalid_token", why);
    let challenge = format!("Bearer error=\"invalid_token\", error_description=\"{why}\"");
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

fn json(status: StatusCode, error: &str, description: &str) -> Response<ProxyBody> {
    let body = serde_json::json!({ "error": error, "error_description": description });
    json_body(status, &body)
}

/// A JSON answer of idlegate's own (`Cache-Control: no-store`).
pub(super) fn json_body(status: StatusCode, body: &serde_json::Value) -> Response<ProxyBody> {
    let body = body.to_string();
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
    use crate::store::RevokeReason;
    use crate::token::Conflict;

    fn client(kind: ErrorKind) -> Response<ProxyBody> {
        ProxyError::client(kind).into_response()
    }

    #[test]
    fn revoked_answer_is_rfc6750_with_json_body() {
        let resp = client(ErrorKind::Revoked(RevokeReason::Inactivity));
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            resp.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"invalid_token\", error_description=\"token revoked after inactivity\""
        );
    }

    #[test]
    fn unavailable_state_is_503_temporarily_unavailable() {
        let resp = ProxyError::gateway(ErrorKind::Unavailable).into_response();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "1");
    }

    #[test]
    fn credential_conflict_is_rfc6750_invalid_request() {
        let resp = client(ErrorKind::Credentials(Conflict::AuthorizationRepeated));
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            resp.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"invalid_request\""
        );
        assert!(!resp.headers().contains_key(header::CONNECTION));
    }

    #[test]
    fn connect_is_405_with_allow() {
        let resp = client(ErrorKind::MethodNotAllowed);
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert!(!resp.headers()[header::ALLOW]
            .to_str()
            .unwrap()
            .contains("CONNECT"));
    }

    #[test]
    fn body_failures_close_the_connection() {
        let bad = client(ErrorKind::MalformedBody);
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert_eq!(bad.headers()[header::CONNECTION], "close");
        let stalled = client(ErrorKind::BodyTimeout(std::time::Duration::from_secs(1)));
        assert_eq!(stalled.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(stalled.headers()[header::CONNECTION], "close");
    }

    #[test]
    fn oversized_head_closes_the_connection() {
        let resp = client(ErrorKind::HeadTooLarge { size: 10, max: 5 });
        assert_eq!(resp.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        assert_eq!(resp.headers()[header::CONNECTION], "close");
    }
}
