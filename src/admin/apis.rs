//! The API catalog behind the admin type-ahead: `GET /api/v1/apis?q=TEXT&limit=N`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::auth::Admin;
use crate::app::App;
use crate::catalog::Catalog;

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;

/// Response header explaining an empty answer when there is no usable catalog.
pub const CATALOG_NOTE_HEADER: &str = "x-idlegate-catalog";

/// The catalog in use (or why there is none). A load failure is logged and leaves the
/// type-ahead empty; it never stops the gateway.
#[derive(Debug, Default)]
pub struct CatalogSlot {
    pub path: Option<PathBuf>,
    pub catalog: Option<Arc<Catalog>>,
    /// Why `catalog` is None.
    pub message: Option<String>,
}

impl CatalogSlot {
    pub fn load(path: Option<&Path>) -> CatalogSlot {
        let Some(path) = path else {
            return CatalogSlot {
                path: None,
                catalog: None,
                message: Some(
                    "no API catalog configured (set catalog.openapi); type a METHOD /path instead"
                        .into(),
                ),
            };
        };
        match Catalog::load(path) {
            Ok(catalog) => {
                tracing::info!(path = %path.display(), operations = catalog.len(), "API catalog loaded");
                CatalogSlot {
                    path: Some(path.to_path_buf()),
                    catalog: Some(Arc::new(catalog)),
                    message: None,
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot load the API catalog; the admin type-ahead stays empty");
                CatalogSlot {
                    path: Some(path.to_path_buf()),
                    catalog: None,
                    message: Some(format!("the API catalog could not be loaded: {e}")),
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    limit: Option<String>,
}

/// `GET /api/v1/apis`: `[{"method","path","summary"}]`, best first.
pub async fn search(
    _admin: Admin,
    State(app): State<Arc<App>>,
    Query(query): Query<SearchQuery>,
) -> Response {
    let limit = match parse_limit(query.limit.as_deref()) {
        Ok(limit) => limit,
        Err(message) => {
            let body = serde_json::json!({"errors": [{"field": "limit", "message": message}]});
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
    };
    let slot = app.catalog();
    match &slot.catalog {
        Some(catalog) => Json(catalog.search(&query.q, limit)).into_response(),
        None => {
            let note = slot.message.clone().unwrap_or_default();
            let note = note.replace(['\r', '\n'], " ");
            let header = axum::http::HeaderValue::from_str(&note)
                .unwrap_or(axum::http::HeaderValue::from_static("no API catalog"));
            ([(CATALOG_NOTE_HEADER, header)], Json(Vec::<()>::new())).into_response()
        }
    }
}

/// Default 20; larger values are capped at 100.
pub fn parse_limit(text: Option<&str>) -> Result<usize, String> {
    match text {
        None | Some("") => Ok(DEFAULT_LIMIT),
        Some(t) => t
            .parse::<usize>()
            .map(|n| n.min(MAX_LIMIT))
            .map_err(|_| format!("limit must be a whole number (got {t:?})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_defaults_to_20_and_caps_at_100() {
        assert_eq!(parse_limit(None), Ok(20));
        assert_eq!(parse_limit(Some("5")), Ok(5));
        assert_eq!(parse_limit(Some("1000")), Ok(100));
        assert!(parse_limit(Some("-1")).is_err());
    }

    #[test]
    fn missing_catalog_file_is_a_message_not_a_crash() {
        let slot = CatalogSlot::load(Some(Path::new("/nonexistent/catalog.json")));
        assert!(slot.catalog.is_none());
        assert!(slot.message.unwrap().contains("could not be loaded"));
    }
}
