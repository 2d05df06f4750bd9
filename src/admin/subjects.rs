//! Sign a user out everywhere: `GET` and `DELETE /api/v1/subjects/{subject}/tokens`
//! (docs/reference.md, "Admin API"). `{subject}` is percent-decoded by the router.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use serde_json::json;

use super::auth::Admin;
use super::error::AdminError;
use super::tokens::durable;
use crate::app::App;
use crate::clock::{remaining_seconds, rfc3339};
use crate::store::SubjectToken;
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

fn token_doc(app: &App, t: &SubjectToken, now_ms: u64) -> serde_json::Value {
    let state = match t.revoked {
        None => "active",
        Some(_) => "revoked",
    };
    json!({
        "token_id": t.key.to_hex(),
        "state": state,
        "reason": t.revoked.map(|r| r.as_str()),
        "policy": app.policy_name(t.policy),
        "last_activity": t.last_activity_ms.map(rfc3339),
        "remaining_seconds": t.revoked.is_none().then(|| remaining_seconds(t.until_ms, now_ms)),
    })
}

/// `GET /api/v1/subjects/{subject}/tokens`: every tracked or revoked-and-retained token of
/// the subject known to this replica, active ones first, newest first.
pub(crate) async fn list(
    _admin: Admin,
    State(app): State<Arc<App>>,
    Path(subject): Path<String>,
) -> Result<Json<serde_json::Value>, AdminError> {
    checked(&subject)?;
    let now = app.clock.now_ms();
    let tokens: Vec<_> = app
        .state()
        .subject_tokens(&subject, now)
        .await
        .iter()
        .map(|t| token_doc(&app, t, now))
        .collect();
    Ok(Json(json!({ "subject": subject, "tokens": tokens })))
}

/// `DELETE /api/v1/subjects/{subject}/tokens`: revokes every active token of the subject
/// now (reason `admin`, hooks for each) and answers how many; 503 when one of them could not
/// be made durable (each is enforced all the same).
pub(crate) async fn revoke_all(
    admin: Admin,
    State(app): State<Arc<App>>,
    Path(subject): Path<String>,
) -> Result<Json<serde_json::Value>, AdminError> {
    checked(&subject)?;
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
    Ok(Json(json!({ "revoked": revoked })))
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
