//! `GET /api/v1/evidence/trial`: the trial list and the tokens it would have revoked while
//! the enforced exclusions kept them alive (docs/reference.md, "Admin API", "Trial").

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::api_doc::Refusals;
use super::auth::Admin;
use super::error::{AdminError, ErrorMessage};
use super::settings_trial::TrialDoc;
use crate::app::trial::{KeptAliveBy, Listed};
use crate::app::App;
use crate::clock::rfc3339;

/// The trial list and its would-be revocations on this replica.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TrialReportDoc {
    pub trial: TrialDoc,
    /// When the trial list in force started on this replica (set, changed, or the replica
    /// started); null without a trial list.
    #[schema(required = true)]
    pub since: Option<String>,
    /// Newest first, at most 1000.
    pub would_revoke: Vec<WouldRevokeDoc>,
}

/// A token the trial list would have revoked.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WouldRevokeDoc {
    /// The token id (32 hex digits); never the token.
    pub token_id: String,
    /// The verified subject, with `[identity]`; else null.
    #[schema(required = true)]
    pub subject: Option<String>,
    /// The would-be revocation: its last reset under the trial list + its idle timeout (or
    /// its absolute deadline, when earlier).
    pub at: String,
    /// The trial-excluded APIs that kept it alive under the enforced list.
    pub kept_alive_by: Vec<KeptAliveByDoc>,
}

/// An API that kept a token alive under the enforced list.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct KeptAliveByDoc {
    /// `*` for the APIs beyond the two named per token (template `(other APIs)`).
    pub method: String,
    pub template: String,
    /// The token's requests to it between its last reset under the trial list and `at`
    /// (the count stops at 255).
    pub count: u32,
}

impl From<Listed> for WouldRevokeDoc {
    fn from(l: Listed) -> Self {
        WouldRevokeDoc {
            token_id: l.token_id,
            subject: l.subject,
            at: rfc3339(l.at_ms),
            kept_alive_by: l.kept_alive_by.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<KeptAliveBy> for KeptAliveByDoc {
    fn from(k: KeptAliveBy) -> Self {
        KeptAliveByDoc {
            method: k.method,
            template: k.template,
            count: k.count,
        }
    }
}

/// `GET /api/v1/evidence/trial`.
#[utoipa::path(
    get,
    path = "/evidence/trial",
    tag = "evidence",
    summary = "The trial list and the tokens it would have revoked",
    operation_id = "get_evidence_trial",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The trial list in force and its would-be revocations, newest first", body = TrialReportDoc),
        (status = 404, description = "Live evidence is off (`[evidence] enabled = false`; `error` is `evidence_disabled`)", body = ErrorMessage),
        Refusals,
    )
)]
pub(crate) async fn get_evidence_trial(
    _admin: Admin,
    State(app): State<Arc<App>>,
) -> Result<Json<TrialReportDoc>, AdminError> {
    app.evidence().ok_or(AdminError::EvidenceDisabled)?;
    let config = app.config();
    Ok(Json(TrialReportDoc {
        trial: TrialDoc::of(&config),
        since: app.trial.since_ms().map(rfc3339),
        would_revoke: app.trial.listed().into_iter().map(Into::into).collect(),
    }))
}
