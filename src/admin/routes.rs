//! The admin API under `/api/v1` (SPEC §7, §10 "Admin API details"). Every endpoint needs the
//! admin bearer token (see [`super::auth`]).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::auth::Admin;
use super::error::{AdminError, FieldError};
use super::settings::{self, SettingsDoc};
use super::{catalog_search, stats, tokens};
use crate::app::App;
use crate::config::save::{self, Settings};

/// The routes, relative to `/api/v1`.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/settings", get(get_settings).put(put_settings))
        .route("/apis", get(catalog_search::search))
        .route("/stats", get(stats::get_stats))
        .route(
            "/tokens/{token_id}",
            get(tokens::get_status).delete(tokens::revoke),
        )
}

/// `GET /api/v1/settings`.
async fn get_settings(_admin: Admin, State(app): State<Arc<App>>) -> Json<SettingsDoc> {
    Json(SettingsDoc::of(&app.config()))
}

/// The answer to a valid `PUT`: the new settings document, and whether it reached the file.
#[derive(Debug, Serialize)]
pub struct PutAnswer {
    #[serde(flatten)]
    pub settings: SettingsDoc,
    /// false when the gateway has no config file, or saving failed (then `save_error` says
    /// why); the change is live either way.
    pub saved: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub save_error: Option<String>,
}

/// `PUT /api/v1/settings`: validate as a whole, apply live, save.
async fn put_settings(
    admin: Admin,
    State(app): State<Arc<App>>,
    body: Bytes,
) -> Result<Json<PutAnswer>, AdminError> {
    let value: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| AdminError::field("", format!("the body is not valid JSON: {e}")))?;
    // Saving does blocking file I/O (fsync): keep it off the async workers.
    let task = tokio::task::spawn_blocking(move || apply_put(&app, &admin, &value));
    match task.await {
        Ok(Ok(answer)) => Ok(Json(answer)),
        Ok(Err(errors)) => Err(AdminError::invalid(errors)),
        Err(_) => Err(AdminError::Internal),
    }
}

/// Validates, applies and saves under the config-writers lock, so that a concurrent reload
/// or Save cannot interleave, and records the saved text's digest so that the file watcher
/// recognises idlegate's own write and does not reload it again.
pub fn apply_put(
    app: &App,
    admin: &Admin,
    body: &serde_json::Value,
) -> Result<PutAnswer, Vec<FieldError>> {
    let mut file_digest = app.config_file.lock();
    let current = app.config();
    let change = settings::read_put(body, &current)?;
    let changes = settings::describe(&Settings::of(&current), &change.settings);
    let (mut saved, mut save_error) = (current.path.is_some(), None);
    if !changes.is_empty() {
        app.apply(settings::config_with(&current, &change));
        if let Some(path) = &current.path {
            match save::save_settings(path, &change.settings) {
                Ok(text) => *file_digest = Some(*blake3::hash(text.as_bytes()).as_bytes()),
                Err(e) => {
                    tracing::error!(error = %e, "settings applied live but not saved");
                    (saved, save_error) = (false, Some(e.to_string()));
                }
            }
        }
        tracing::info!(
            target: "audit",
            event = "settings_change",
            who = %admin.who,
            changes = %serde_json::Value::from(changes),
            saved,
        );
    }
    Ok(PutAnswer {
        settings: SettingsDoc::of(&app.config()),
        saved,
        save_error,
    })
}
