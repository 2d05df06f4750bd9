//! The admin edge's one error type: every refusal of the admin listener is an [`AdminError`],
//! and [`AdminError::into_response`] is the one place that turns it into a status and a JSON
//! body. Handlers return `Result<_, AdminError>` and never build an error body themselves.
//!
//! Layout:
//! - [`FieldError`]: one problem with one field of a request (`{"field","message"}`);
//! - [`AdminError`]: the refusals, each with its status code and body;
//! - [`ErrorMessage`], [`MisdirectedBody`], [`InvalidBody`]: those bodies as types, which the
//!   OpenAPI document describes (see [`super::openapi`]);
//! - [`AdminError::into_response`]: the bodies, exactly as clients (and the admin UI) read them.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

pub(crate) use crate::config_change::FieldError;

/// Why the admin listener refuses a request.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AdminError {
    /// 403: the variable named by `admin.token_env` is unset or empty.
    #[error("no admin token configured (set {env})")]
    NotConfigured { env: String },
    /// 401: missing or wrong bearer token.
    #[error("missing or wrong admin token")]
    Unauthorized,
    /// 421: the `Host` is not in `admin.allowed_hosts`.
    #[error("Host not in admin.allowed_hosts")]
    MisdirectedHost,
    /// 400: `{"errors":[{"field","message"}]}`, and `"warnings"` (same shape) when a rejected
    /// settings change also drew warnings.
    #[error("invalid request ({} errors)", errors.len())]
    Invalid {
        errors: Vec<FieldError>,
        warnings: Vec<FieldError>,
    },
    /// 404: `GET /api/v1/evidence` while live evidence is off.
    #[error("live evidence is off")]
    EvidenceDisabled,
    /// 413: a request body over `limit` bytes.
    #[error("request body over {limit} bytes")]
    BodyTooLarge { limit: usize },
    /// 503: an admin revocation is enforced in memory but did not reach the journal.
    #[error("revocation not written to the journal")]
    RevocationNotDurable,
    /// 503: an admin revocation is enforced on this replica but Redis did not store it in time.
    #[error("revocation not stored in Redis")]
    RevocationNotStored,
    /// 500 with an empty body: the work behind the request failed (a task panicked).
    #[error("internal error")]
    Internal,
}

/// The body of a 401, 403, 404, 413 or 503: what went wrong as a code, and what to do as a sentence.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorMessage {
    pub error: ErrorCode,
    pub message: String,
}

/// The `error` of an `ErrorMessage`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ErrorCode {
    /// 403: no admin token is configured.
    AdminTokenNotConfigured,
    /// 401: missing or wrong admin token.
    Unauthorized,
    /// 413: the request body is too large.
    BodyTooLarge,
    /// 404: live evidence is off (`[evidence] enabled = false`).
    EvidenceDisabled,
    /// 503: a revocation enforced in memory did not reach the journal.
    RevocationNotDurable,
    /// 503: a revocation enforced on this replica did not reach Redis in time.
    RevocationNotStored,
}

/// The body of a 421; `error_description` as in OAuth error answers.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MisdirectedBody {
    pub error: MisdirectedCode,
    pub error_description: String,
}

/// The `error` of a `MisdirectedBody`: always `misdirected_request`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum MisdirectedCode {
    MisdirectedRequest,
}

/// The body of a 400: every problem found, each named by its field; `warnings` only when a
/// rejected settings change also drew some.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct InvalidBody {
    pub errors: Vec<FieldError>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub warnings: Vec<FieldError>,
}

impl AdminError {
    /// 400 naming one field.
    pub(crate) fn field(field: impl Into<String>, message: impl Into<String>) -> AdminError {
        AdminError::invalid(vec![FieldError::new(field, message)])
    }

    /// 400 with these errors and no warnings.
    pub(crate) fn invalid(errors: Vec<FieldError>) -> AdminError {
        AdminError::Invalid {
            errors,
            warnings: Vec::new(),
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        match self {
            AdminError::NotConfigured { env } => {
                let message = format!(
                    "the admin API is disabled because no admin token is configured: set the \
                     environment variable {env} (named by admin.token_env) to a secret value, \
                     restart idlegate, and send \"Authorization: Bearer <that value>\""
                );
                let body = ErrorMessage {
                    error: ErrorCode::AdminTokenNotConfigured,
                    message,
                };
                (StatusCode::FORBIDDEN, Json(body)).into_response()
            }
            AdminError::Unauthorized => {
                let body = ErrorMessage {
                    error: ErrorCode::Unauthorized,
                    message: "missing or wrong admin token (Authorization: Bearer <token>)".into(),
                };
                let challenge = [(header::WWW_AUTHENTICATE, "Bearer")];
                (StatusCode::UNAUTHORIZED, challenge, Json(body)).into_response()
            }
            AdminError::MisdirectedHost => {
                let body = MisdirectedBody {
                    error: MisdirectedCode::MisdirectedRequest,
                    error_description: "this Host is not in admin.allowed_hosts; add the name \
                                        you use to reach the admin listener there"
                        .into(),
                };
                (StatusCode::MISDIRECTED_REQUEST, Json(body)).into_response()
            }
            AdminError::Invalid { errors, warnings } => {
                let body = InvalidBody { errors, warnings };
                (StatusCode::BAD_REQUEST, Json(body)).into_response()
            }
            AdminError::EvidenceDisabled => {
                let body = ErrorMessage {
                    error: ErrorCode::EvidenceDisabled,
                    message: "live evidence is off: set enabled = true in [evidence] (or remove \
                              the key) and restart idlegate"
                        .into(),
                };
                (StatusCode::NOT_FOUND, Json(body)).into_response()
            }
            AdminError::BodyTooLarge { limit } => {
                let body = ErrorMessage {
                    error: ErrorCode::BodyTooLarge,
                    message: format!("the request body is larger than {limit} bytes"),
                };
                (StatusCode::PAYLOAD_TOO_LARGE, Json(body)).into_response()
            }
            AdminError::RevocationNotDurable => unavailable(
                ErrorCode::RevocationNotDurable,
                "the token is revoked and refused now (enforced in memory), but the revocation \
                 could not be written to disk (see the log): it is lost if idlegate stops before \
                 the next snapshot is written",
            ),
            AdminError::RevocationNotStored => unavailable(
                ErrorCode::RevocationNotStored,
                "the token is revoked and refused on this replica, but Redis did not store the \
                 revocation in time: it stays queued and is written when Redis is back (other \
                 replicas refuse the token from then on)",
            ),
            AdminError::Internal => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
}

fn unavailable(error: ErrorCode, message: &str) -> Response {
    let body = ErrorMessage {
        error,
        message: message.to_string(),
    };
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parts(error: AdminError) -> (StatusCode, String) {
        let resp = error.into_response();
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    // The HTTP-reachable answers are pinned in tests/admin_errors.rs.
    #[tokio::test]
    async fn revocation_answers_keep_their_exact_bodies() {
        let (status, body) = parts(AdminError::RevocationNotDurable).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            body,
            "{\"error\":\"revocation_not_durable\",\"message\":\"the token is revoked and \
             refused now (enforced in memory), but the revocation could not be written to disk \
             (see the log): it is lost if idlegate stops before the next snapshot is written\"}"
        );
        let (status, body) = parts(AdminError::RevocationNotStored).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            body,
            "{\"error\":\"revocation_not_stored\",\"message\":\"the token is revoked and \
             refused on this replica, but Redis did not store the revocation in time: it stays \
             queued and is written when Redis is back (other replicas refuse the token from \
             then on)\"}"
        );
    }

    #[tokio::test]
    async fn too_large_names_the_limit() {
        let (status, body) = parts(AdminError::BodyTooLarge { limit: 10 }).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            body,
            r#"{"error":"body_too_large","message":"the request body is larger than 10 bytes"}"#
        );
    }

    #[tokio::test]
    async fn internal_is_a_bare_500() {
        assert_eq!(
            parts(AdminError::Internal).await,
            (StatusCode::INTERNAL_SERVER_ERROR, String::new())
        );
    }

    #[tokio::test]
    async fn warnings_appear_only_when_there_are_some() {
        let (_, body) = parts(AdminError::field("mode", "bad")).await;
        assert_eq!(body, r#"{"errors":[{"field":"mode","message":"bad"}]}"#);
        let with = AdminError::Invalid {
            errors: vec![FieldError::new("proxy.upstream", "e")],
            warnings: vec![FieldError::new("idle_seconds", "w")],
        };
        let (status, body) = parts(with).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body,
            r#"{"errors":[{"field":"proxy.upstream","message":"e"}],"warnings":[{"field":"idle_seconds","message":"w"}]}"#
        );
    }
}
