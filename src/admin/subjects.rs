//! Sign a user out everywhere: `GET` and `DELETE /api/v1/subjects/{subject}/tokens`
//! (docs/reference.md, "Admin API"). `{subject}` is percent-decoded by the router.

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::Json;
use serde_json::json;

use super::api_doc::Refusals;
use super::auth::Admin;
use super::error::{AdminError, ErrorMessage, InvalidBody};
use super::token_docs::{RevokedCount, SubjectTokenDoc, SubjectTokensDoc};
use super::tokens::durable;
use crate::app::App;
use crate::telemetry::audit_file;

/// Subjects longer than this are never kept (verification refuses them).
const SUBJECT_MAX_BYTES: usize = 256;

fn checked(subject: &str) -> Result<(), AdminError> {
    if subject.is_empty() || subject.len() > SUBJECT_MAX_BYTES {
        let message = format!(
            "a subject is 1 to {SUBJECT_MAX_BYTES} bytes (got {})",
            subject.len()
        );
        return Err(AdminError::field("subject", message));
    }
    Ok(())
}

/// The `{subject}` of the path, percent-decoded and checked. A segment that does not
/// percent-decode to UTF-8 is refused the same way.
fn subject_of(path: Result<Path<String>, PathRejection>) -> Result<String, AdminError> {
    let Path(subject) = path.map_err(|r| AdminError::field("subject", r.body_text()))?;
    checked(&subject)?;
    Ok(subject)
}

/// `GET /api/v1/subjects/{subject}/tokens`: every tracked or revoked-and-retained token of
/// the subject known to this replica, active ones first, newest first.
#[utoipa::path(
    get,
    path = "/subjects/{subject}/tokens",
    tag = "subjects",
    summary = "A subject's tokens",
    operation_id = "list_subject_tokens",
    params(("subject" = String, Path, description = "The subject, percent-encoded; 1 to 256 bytes once decoded")),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The subject's tokens known to this replica (none for an unknown subject)", body = SubjectTokensDoc),
        (status = 400, description = "Not a subject (`field` is `subject`)", body = InvalidBody),
        Refusals,
    )
)]
pub(crate) async fn list(
    _admin: Admin,
    State(app): State<Arc<App>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<SubjectTokensDoc>, AdminError> {
    let subject = subject_of(path)?;
    let now = app.clock.now_ms();
    let tokens = app
        .state()
        .subject_tokens(&subject, now)
        .await
        .iter()
        .map(|t| SubjectTokenDoc::of(t, app.policy_name(t.policy), now))
        .collect();
    Ok(Json(SubjectTokensDoc { subject, tokens }))
}

/// `DELETE /api/v1/subjects/{subject}/tokens`: revokes every active token of the subject
/// now (reason `admin`, hooks for each) and answers how many; 503 when one of them could not
/// be made durable (each is enforced all the same).
#[utoipa::path(
    delete,
    path = "/subjects/{subject}/tokens",
    tag = "subjects",
    summary = "Sign a subject out everywhere",
    operation_id = "revoke_subject_tokens",
    params(("subject" = String, Path, description = "The subject, percent-encoded; 1 to 256 bytes once decoded")),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Every active token of the subject is revoked, durably", body = RevokedCount),
        (status = 400, description = "Not a subject (`field` is `subject`)", body = InvalidBody),
        (status = 503, description = "Revoked and refused by this process, but one revocation is not durable: `revocation_not_durable` (journal) or `revocation_not_stored` (Redis)", body = ErrorMessage),
        Refusals,
    )
)]
pub(crate) async fn revoke_all(
    admin: Admin,
    State(app): State<Arc<App>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<RevokedCount>, AdminError> {
    let subject = subject_of(path)?;
    let now = app.clock.now_ms();
    let (revoked, durability) = app.state().revoke_subject(&subject, now).await;
    tracing::info!(
        target: "audit",
        event = "admin_subject_revocation",
        who = %admin.who,
        subject = %subject,
        revoked,
    );
    let fields = json!({ "subject": subject, "revoked": revoked });
    audit_file::admin("admin_subject_revocation", Some(&admin.who), now, fields);
    durable(durability)?;
    Ok(Json(RevokedCount { revoked }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subject_is_1_to_256_bytes() {
        assert!(checked("alice").is_ok());
        assert!(checked(&"a".repeat(256)).is_ok());
        assert!(checked("").is_err());
        assert!(checked(&"a".repeat(257)).is_err());
    }
}
