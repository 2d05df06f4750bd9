//! Live figures for the admin UI: tracked and revoked tokens, revocations in the last hour.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::api_doc::Refusals;
use super::auth::Admin;
use super::settings::ModeName;
use crate::app::App;

/// `GET /api/v1/stats` (docs/reference.md, "Admin API", "Stats").
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Stats {
    pub tracked_tokens: usize,
    pub revoked_tokens: usize,
    /// Enforced revocations in the current minute and the 59 before it.
    pub revocations_last_hour: u64,
    pub mode: ModeName,
    pub enabled: bool,
    /// Operations in the API catalog (0 when none is configured or it failed to load).
    pub catalog_operations: usize,
    /// Why the catalog is empty, when it is.
    #[schema(required = true)]
    pub catalog_message: Option<String>,
}

/// `GET /api/v1/stats`.
#[utoipa::path(
    get,
    path = "/stats",
    tag = "stats",
    summary = "Live figures",
    operation_id = "get_stats",
    security(("admin_token" = [])),
    responses((status = 200, description = "Live figures", body = Stats), Refusals)
)]
pub(crate) async fn get_stats(_admin: Admin, State(app): State<Arc<App>>) -> Json<Stats> {
    let config = app.config();
    let catalog = app.catalog();
    Json(Stats {
        tracked_tokens: app.state().tracked_len(),
        revoked_tokens: app.state().revoked_len(),
        revocations_last_hour: app.recent_revocations.last_hour(app.clock.now_ms()),
        mode: config.timeout.mode.into(),
        enabled: config.timeout.enabled,
        catalog_operations: catalog.catalog.as_ref().map_or(0, |c| c.len()),
        catalog_message: catalog.message.clone(),
    })
}
