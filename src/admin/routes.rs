//! The admin API under `/api/v1` (docs/reference.md, "Admin API"). Every endpoint but the
//! OpenAPI document needs the admin bearer token (see [`super::auth`]).
//!
//! The routes are built with their OpenAPI annotations (`utoipa_axum::routes!`), so a route
//! cannot be served without being described; [`super::openapi`] assembles the document.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::api_doc::Refusals;
use super::auth::Admin;
use super::error::{AdminError, ErrorMessage, FieldError, InvalidBody};
use super::settings::{self, SettingsChangeDoc, SettingsDoc};
use super::{catalog_search, evidence, evidence_trial, stats, subjects, tokens};
use crate::app::App;
use crate::config::Config;
use crate::config_change::{self, ChangeSource, Rejected, Saved};

/// The largest request body the admin API reads (a settings document is a few KiB).
pub(crate) const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The routes, relative to `/api/v1`, with their part of the OpenAPI document.
pub(crate) fn routes() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::new()
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(catalog_search::search))
        .routes(routes!(stats::get_stats))
        .routes(routes!(evidence::get_evidence))
        .routes(routes!(evidence_trial::get_evidence_trial))
        .routes(routes!(subjects::list, subjects::revoke_all))
        .routes(routes!(tokens::get_status, tokens::revoke))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

/// `GET /api/v1/settings`.
#[utoipa::path(
    get,
    path = "/settings",
    tag = "settings",
    summary = "The settings document",
    operation_id = "get_settings",
    security(("admin_token" = [])),
    responses((status = 200, description = "The live settings", body = SettingsDoc), Refusals)
)]
async fn get_settings(_admin: Admin, State(app): State<Arc<App>>) -> Json<SettingsDoc> {
    Json(SettingsDoc::of(&app.config()))
}

/// The answer to a valid `PUT`: the new settings document, whether it reached the file, and
/// what `idlegate check` would warn about in the resulting file:
/// `{...settings, "saved": bool, "save_error"?: string, "warnings": [{"field","message"}]}`.
/// A warning's `field` is the settings field it is about (`idle_seconds`,
/// `custom_exclusions[2]`…) or, for the rest of the config file, its dotted key.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PutAnswer {
    #[serde(flatten)]
    pub settings: SettingsDoc,
    /// false when the gateway has no config file, or saving failed (then `save_error` says
    /// why); the change is live either way.
    pub saved: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub save_error: Option<String>,
    pub warnings: Vec<FieldError>,
}

/// `PUT /api/v1/settings`: validate as a whole, apply live, save. A refused change answers
/// `400 {"errors":[{"field","message"}]}`, with `"warnings"` too when checking the resulting
/// file found some.
#[utoipa::path(
    put,
    path = "/settings",
    tag = "settings",
    summary = "Change the settings: validate, apply live, save",
    operation_id = "put_settings",
    request_body(
        content = SettingsChangeDoc,
        description = "Any part of the settings document",
        example = json!({
            "enabled": true,
            "idle_seconds": 1800,
            "mode": "enforce",
            "custom_exclusions": ["GET /api/v2/users/{userId}/presences/purecloud"],
            "policies": [{"name": "supervisors", "groups": ["supervisor", "admin"],
                          "idle_seconds": 3600, "absolute_seconds": 43200, "priority": 1}],
            "warn_before_seconds": 120
        })
    ),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Applied; the new settings, whether they were saved, and the warnings of the resulting file", body = PutAnswer),
        (status = 400, description = "Nothing applied: every error, each named by its field (`\"\"` for the body as a whole), and the warnings of the resulting file if any", body = InvalidBody),
        (status = 413, description = "The body is over 2 MiB (`error` is `body_too_large`)", body = ErrorMessage),
        (status = 500, description = "Applying the change failed unexpectedly; empty body"),
        Refusals,
    )
)]
async fn put_settings(
    admin: Admin,
    State(app): State<Arc<App>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<PutAnswer>, AdminError> {
    let body = body.map_err(refused_body)?;
    let value: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| AdminError::field("", format!("the body is not valid JSON: {e}")))?;
    // Saving does blocking file I/O (fsync): keep it off the async workers.
    let task = tokio::task::spawn_blocking(move || apply_put(&app, &admin, &value));
    task.await.map_err(|_| AdminError::Internal)?.map(Json)
}

/// A body that could not be read: over [`BODY_LIMIT`] (413), or cut off (400).
fn refused_body(rejection: BytesRejection) -> AdminError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AdminError::BodyTooLarge { limit: BODY_LIMIT }
    } else {
        AdminError::field("", rejection.body_text())
    }
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
