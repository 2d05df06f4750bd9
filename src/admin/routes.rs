//! The admin API under `/api/v1` (docs/reference.md, "Admin API"). Every endpoint needs the
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
use super::{catalog_search, stats, subjects, tokens};
use crate::app::App;
use crate::config::Config;
use crate::config_change::{self, ChangeSource, Rejected, Saved};

/// The routes, relative to `/api/v1`.
pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/settings", get(get_settings).put(put_settings))
        .route("/apis", get(catalog_search::search))
        .route("/stats", get(stats::get_stats))
        .route(
            "/subjects/{subject}/tokens",
            get(subjects::list).delete(subjects::revoke_all),
        )
        .route(
            "/tokens/{token_id}",
            get(tokens::get_status).delete(tokens::revoke),
        )
}

/// `GET /api/v1/settings`.
async fn get_settings(_admin: Admin, State(app): State<Arc<App>>) -> Json<SettingsDoc> {
    Json(SettingsDoc::of(&app.config()))
}

/// The answer to a valid `PUT`: the new settings document, whether it reached the file, and
/// what `idlegate check` would warn about in the resulting file:
/// `{...settings, "saved": bool, "save_error"?: string, "warnings": [{"field","message"}]}`.
/// A warning's `field` is the settings field it is about (`idle_seconds`,
/// `custom_exclusions[2]`…) or, for the rest of the config file, its dotted key.
#[derive(Debug, Serialize)]
pub(crate) struct PutAnswer {
    #[serde(flatten)]
    pub settings: SettingsDoc,
    /// false when the gateway has no config file, or saving failed (then `save_error` says
    /// why); the change is live either way.
    pub saved: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub save_error: Option<String>,
    pub warnings: Vec<FieldError>,
}

/// `PUT /api/v1/settings`: validate as a whole, apply live, save. A refused change answers
/// `400 {"errors":[{"field","message"}]}`, with `"warnings"` too when checking the resulting
/// file found some.
async fn put_settings(
    admin: Admin,
    State(app): State<Arc<App>>,
    body: Bytes,
) -> Result<Json<PutAnswer>, AdminError> {
    let value: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| AdminError::field("", format!("the body is not valid JSON: {e}")))?;
    // Saving does blocking file I/O (fsync): keep it off the async workers.
    let task = tokio::task::spawn_blocking(move || apply_put(&app, &admin, &value));
    task.await.map_err(|_| AdminError::Internal)?.map(Json)
}

/// Validates the body against the live settings, then hands the change to the one path of
/// every config change ([`config_change::change`]): checked as `idlegate check` checks the
/// resulting file, applied, saved.
pub(crate) fn apply_put(
    app: &App,
    admin: &Admin,
    body: &serde_json::Value,
) -> Result<PutAnswer, AdminError> {
    let read = |current: &Config| settings::read_put(body, current).map_err(Rejected::Settings);
    let source = ChangeSource::Settings {
        read: &read,
        who: &admin.who,
    };
    let applied = config_change::change(app, source).map_err(|rejected| match rejected {
        Rejected::Settings(errors) => AdminError::invalid(errors),
        Rejected::Config(diagnostics) => {
            let (errors, warnings) = settings::field_errors(&diagnostics);
            AdminError::Invalid { errors, warnings }
        }
    })?;
    let (_, warnings) = settings::field_errors(&applied.warnings);
    let (saved, save_error) = match applied.saved {
        Saved::InFile => (true, None),
        Saved::NoFile => (false, None),
        Saved::Failed(error) => (false, Some(error)),
    };
    Ok(PutAnswer {
        settings: SettingsDoc::of(&app.config()),
        saved,
        save_error,
        warnings,
    })
}
