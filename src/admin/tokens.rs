//! Token status and admin revocation: `GET`/`DELETE /api/v1/tokens/{token_id}`.

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::json;

use super::api_doc::Refusals;
use super::auth::Admin;
use super::error::{AdminError, ErrorMessage, InvalidBody};
use super::token_docs::{Holder, TokenStatusDoc};
use crate::app::App;
use crate::store::durable::Durability;
use crate::telemetry::audit_file;
use crate::token::TokenKey;

fn bad_id(text: &str) -> AdminError {
    let message = format!(
        "a token id is 32 hex digits (got {} characters)",
        text.len()
    );
    AdminError::field("token_id", message)
}

/// The `{token_id}` of the path: exactly 32 hex digits, either case. A segment that does not
/// even percent-decode to text is refused the same way.
fn token_key(path: Result<Path<String>, PathRejection>) -> Result<TokenKey, AdminError> {
    let Path(text) = path.map_err(|r| AdminError::field("token_id", r.body_text()))?;
    TokenKey::from_hex(&text).ok_or_else(|| bad_id(&text))
}

/// `GET /api/v1/tokens/{token_id}`.
#[utoipa::path(
    get,
    path = "/tokens/{token_id}",
    tag = "tokens",
    summary = "A token's state",
    operation_id = "get_token",
    params(("token_id" = String, Path, pattern = "^[0-9a-fA-F]{32}$", description = "32 hex digits, either case")),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The token's state; an unknown id is `{\"state\":\"unknown\"}`", body = TokenStatusDoc),
        (status = 400, description = "Not a token id (`field` is `token_id`)", body = InvalidBody),
        Refusals,
    )
)]
pub(crate) async fn get_status(
    _admin: Admin,
    State(app): State<Arc<App>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<TokenStatusDoc>, AdminError> {
    let key = token_key(path)?;
    let now = app.clock.now_ms();
    let status = app.state().status(&key, now);
    // Who holds it (identity on): null for an opaque token or the default policy.
    let holder = || {
        let (subject, policy) = app.state().ident(&key, now);
        Holder {
            subject: subject.as_deref().map(str::to_owned),
            policy: app.policy_name(policy),
        }
    };
    Ok(Json(TokenStatusDoc::of(status, now, holder)))
}

/// `DELETE /api/v1/tokens/{token_id}`: revokes now, known or not (an operator may revoke an
/// id seen in a log before the token comes back). Answers 204 only once the revocation is
/// durable: fsynced to the revocation journal (memory backend with a snapshot) or stored in
/// Redis. Otherwise 503: the token is refused here all the same.
#[utoipa::path(
    delete,
    path = "/tokens/{token_id}",
    tag = "tokens",
    summary = "Revoke a token now",
    operation_id = "revoke_token",
    params(("token_id" = String, Path, pattern = "^[0-9a-fA-F]{32}$", description = "32 hex digits, either case")),
    security(("admin_token" = [])),
    responses(
        (status = 204, description = "Revoked, and the revocation is durable"),
        (status = 400, description = "Not a token id (`field` is `token_id`)", body = InvalidBody),
        (status = 503, description = "Revoked and refused by this process, but not durable: `revocation_not_durable` (journal) or `revocation_not_stored` (Redis)", body = ErrorMessage),
        Refusals,
    )
)]
pub(crate) async fn revoke(
    admin: Admin,
    State(app): State<Arc<App>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, AdminError> {
    let key = token_key(path)?;
    let now = app.clock.now_ms();
    tracing::info!(
        target: "audit",
        event = "admin_revocation",
        who = %admin.who,
        token_id = %key,
    );
    let fields = json!({ "token_id": key.to_hex() });
    audit_file::admin("admin_revocation", Some(&admin.who), now, fields);
    answer(app.state().revoke_durably(&key, now).await)
}

/// 204 once kept; else 503 saying what holds and what does not.
fn answer(durability: Durability) -> Result<StatusCode, AdminError> {
    durable(durability).map(|()| StatusCode::NO_CONTENT)
}

/// An admin revocation's durability as the API says it: fine, or the 503 naming what holds.
pub(super) fn durable(durability: Durability) -> Result<(), AdminError> {
    match durability {
        Durability::Done => Ok(()),
        Durability::NotOnDisk => Err(AdminError::RevocationNotDurable),
        Durability::QueuedForRedis => Err(AdminError::RevocationNotStored),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::journal::Journal;
    use crate::store::{RevokeReason, Status};
    use axum::response::{IntoResponse, Response};

    #[test]
    fn token_id_must_be_exactly_32_hex_digits() {
        assert!(TokenKey::from_hex(&"a".repeat(32)).is_some());
        assert!(TokenKey::from_hex(&"A".repeat(32)).is_some());
        assert!(TokenKey::from_hex(&"a".repeat(31)).is_none());
        assert!(TokenKey::from_hex(&"a".repeat(33)).is_none());
        assert!(TokenKey::from_hex(&"g".repeat(32)).is_none());
        assert!(TokenKey::from_hex(&"é".repeat(16)).is_none());
    }

    async fn json_of(resp: Response) -> serde_json::Value {
        let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    fn app() -> Arc<App> {
        let config = crate::config::Config::with_upstream("http://127.0.0.1:9".parse().unwrap());
        let keyer = crate::token::Keyer::from_secret(b"tokens-test");
        App::new(config, keyer, crate::clock::Clock::new())
    }

    async fn delete(app: &Arc<App>, key: TokenKey) -> Response {
        let admin = Admin { who: "test".into() };
        revoke(admin, State(app.clone()), Ok(Path(key.to_hex())))
            .await
            .into_response()
    }

    #[tokio::test]
    async fn delete_answers_once_the_revocation_is_in_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.journal");
        let app = app();
        let (journal, _) = Journal::open(&path).unwrap();
        assert!(app.state().attach_journal(journal).is_ok());
        let resp = delete(&app, TokenKey([7; 16])).await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        let (_, records) = Journal::open(&path).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].key, TokenKey([7; 16]));
        assert_eq!(records[0].reason, RevokeReason::Admin);
    }

    #[tokio::test]
    async fn delete_the_journal_cannot_take_answers_503_and_is_enforced_anyway() {
        let dir = tempfile::tempdir().unwrap();
        let app = app();
        let (journal, _) = Journal::open_with_limit(&dir.path().join("s.journal"), 0).unwrap();
        assert!(app.state().attach_journal(journal).is_ok());
        let resp = delete(&app, TokenKey([8; 16])).await;
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        let doc = json_of(resp).await;
        assert_eq!(doc["error"], "revocation_not_durable");
        let message = doc["message"].as_str().unwrap();
        assert!(message.contains("enforced in memory") && message.contains("disk"));
        let status = app.state().status(&TokenKey([8; 16]), app.clock.now_ms());
        assert!(matches!(
            status,
            Status::Revoked {
                reason: RevokeReason::Admin,
                ..
            }
        ));
    }

    #[tokio::test]
    async fn without_a_snapshot_delete_answers_204_at_once() {
        let app = app();
        assert_eq!(
            delete(&app, TokenKey([9; 16])).await.status(),
            StatusCode::NO_CONTENT
        );
    }

    /// The bounded wait itself is pinned in `store::durable`.
    #[tokio::test]
    async fn queued_for_redis_answers_503() {
        let resp = answer(Durability::QueuedForRedis).into_response();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        let doc = json_of(resp).await;
        assert_eq!(doc["error"], "revocation_not_stored");
        let message = doc["message"].as_str().unwrap();
        assert!(message.contains("this replica") && message.contains("when Redis is back"));
    }
}
