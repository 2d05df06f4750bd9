//! Token status and admin revocation: `GET`/`DELETE /api/v1/tokens/{token_id}`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::auth::Admin;
use crate::app::App;
use crate::clock::{rfc3339, UnixMs};
use crate::store::{RevokeReason, Status};
use crate::token::TokenKey;

fn bad_id(text: &str) -> Response {
    let message = format!(
        "a token id is 32 hex digits (got {} characters)",
        text.len()
    );
    let body = json!({"errors": [{"field": "token_id", "message": message}]});
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

/// Whole seconds from `now` to `deadline`, rounded up.
pub fn remaining_seconds(deadline_ms: UnixMs, now_ms: UnixMs) -> u64 {
    deadline_ms.saturating_sub(now_ms).div_ceil(1000)
}

/// The status document: `last_activity` and `remaining_seconds` are null unless active; an
/// unknown id is exactly `{"state":"unknown"}`.
pub fn status_doc(status: Status, now_ms: UnixMs) -> serde_json::Value {
    match status {
        Status::Active {
            last_activity_ms,
            deadline_ms,
        } => json!({
            "state": "active",
            "last_activity": rfc3339(last_activity_ms),
            "remaining_seconds": remaining_seconds(deadline_ms, now_ms),
        }),
        Status::Revoked { reason, .. } => json!({
            "state": "revoked",
            "last_activity": null,
            "remaining_seconds": null,
            "reason": reason.as_str(),
        }),
        Status::Unknown => json!({"state": "unknown"}),
    }
}

/// `GET /api/v1/tokens/{token_id}`.
pub async fn get_status(
    _admin: Admin,
    State(app): State<Arc<App>>,
    Path(token_id): Path<String>,
) -> Response {
    // A token id is exactly 32 hex digits, either case.
    let Some(key) = TokenKey::from_hex(&token_id) else {
        return bad_id(&token_id);
    };
    let now = app.clock.now_ms();
    let status = app.store.status(&key, now, &app.live().timing);
    Json(status_doc(status, now)).into_response()
}

/// `DELETE /api/v1/tokens/{token_id}`: revokes now, known or not (an operator may revoke an
/// id seen in a log before the token comes back).
pub async fn revoke(
    admin: Admin,
    State(app): State<Arc<App>>,
    Path(token_id): Path<String>,
) -> Response {
    // A token id is exactly 32 hex digits, either case.
    let Some(key) = TokenKey::from_hex(&token_id) else {
        return bad_id(&token_id);
    };
    let now = app.clock.now_ms();
    let rev = app
        .store
        .revoke(&key, RevokeReason::Admin, now, &app.live().timing);
    tracing::info!(
        target: "audit",
        event = "admin_revocation",
        who = %admin.who,
        token_id = %key,
    );
    app.report_revocation(&rev);
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_id_must_be_exactly_32_hex_digits() {
        assert!(TokenKey::from_hex(&"a".repeat(32)).is_some());
        assert!(TokenKey::from_hex(&"A".repeat(32)).is_some());
        assert!(TokenKey::from_hex(&"a".repeat(31)).is_none());
        assert!(TokenKey::from_hex(&"a".repeat(33)).is_none());
        assert!(TokenKey::from_hex(&"g".repeat(32)).is_none());
        assert!(TokenKey::from_hex(&"é".repeat(16)).is_none());
    }

    #[test]
    fn remaining_is_rounded_up_to_whole_seconds() {
        assert_eq!(remaining_seconds(10_001, 9_000), 2);
        assert_eq!(remaining_seconds(10_000, 9_000), 1);
        assert_eq!(remaining_seconds(10_000, 10_000), 0);
        assert_eq!(remaining_seconds(5_000, 10_000), 0);
    }

    #[test]
    fn unknown_status_is_only_the_state() {
        assert_eq!(status_doc(Status::Unknown, 0), json!({"state": "unknown"}));
    }

    #[test]
    fn revoked_status_has_null_times() {
        let doc = status_doc(
            Status::Revoked {
                reason: RevokeReason::Admin,
                until_ms: 5,
            },
            0,
        );
        assert_eq!(doc["last_activity"], serde_json::Value::Null);
        assert_eq!(doc["remaining_seconds"], serde_json::Value::Null);
    }
}
