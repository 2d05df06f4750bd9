//! The API catalog behind the admin type-ahead: `GET /api/v1/apis?q=TEXT&limit=N`.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::api_doc::Refusals;
use super::auth::Admin;
use super::error::{AdminError, InvalidBody};
use crate::app::App;
use crate::catalog::Operation;

pub(crate) const DEFAULT_LIMIT: usize = 20;
pub(crate) const MAX_LIMIT: usize = 100;

/// Response header explaining an empty answer when there is no usable catalog.
pub(crate) const CATALOG_NOTE_HEADER: &str = "x-idlegate-catalog";

#[derive(Debug, Deserialize)]
pub(crate) struct SearchQuery {
    #[serde(default)]
    q: String,
    limit: Option<String>,
}

/// `GET /api/v1/apis`: `[{"method","path","summary"}]`, best first.
#[utoipa::path(
    get,
    path = "/apis",
    tag = "catalog",
    summary = "Search the API catalog",
    operation_id = "search_apis",
    params(
        ("q" = Option<String>, Query, description = "Words matched against paths, summaries and methods"),
        ("limit" = Option<String>, Query, pattern = "^[0-9]*$", description = "At most this many answers: a whole number; default 20, larger values capped at 100"),
    ),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Matching operations, best first; `[]` without a usable catalog", body = Vec<Operation>,
         headers(("x-idlegate-catalog" = String, description = "Only without a usable catalog: why there is none"))),
        (status = 400, description = "`limit` is not a whole number, or the query string does not decode", body = InvalidBody),
        Refusals,
    )
)]
pub(crate) async fn search(
    _admin: Admin,
    State(app): State<Arc<App>>,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Response, AdminError> {
    let Query(query) = query.map_err(|r| AdminError::field("", r.body_text()))?;
    let limit = parse_limit(query.limit.as_deref())
        .map_err(|message| AdminError::field("limit", message))?;
    let slot = app.catalog();
    Ok(match &slot.catalog {
        Some(catalog) => Json(catalog.search(&query.q, limit)).into_response(),
        None => {
            let note = slot.message.clone().unwrap_or_default();
            let note = note.replace(['\r', '\n'], " ");
            let header = axum::http::HeaderValue::from_str(&note)
                .unwrap_or(axum::http::HeaderValue::from_static("no API catalog"));
            ([(CATALOG_NOTE_HEADER, header)], Json(Vec::<()>::new())).into_response()
        }
    })
}

/// Default 20; larger values are capped at 100.
pub(crate) fn parse_limit(text: Option<&str>) -> Result<usize, String> {
    match text {
        None | Some("") => Ok(DEFAULT_LIMIT),
        // Any run of digits is a whole number: one too large for usize is capped too.
        Some(t) if t.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(t.parse::<usize>().unwrap_or(usize::MAX).min(MAX_LIMIT))
        }
        Some(t) => Err(format!("limit must be a whole number (got {t:?})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_past_any_integer_is_capped_and_a_sign_is_refused() {
        assert_eq!(
            parse_limit(Some("99999999999999999999999999")),
            Ok(MAX_LIMIT)
        );
        assert!(parse_limit(Some("-1")).is_err());
        assert!(parse_limit(Some("+5")).is_err());
    }

    #[test]
    fn limit_defaults_to_20_and_caps_at_100() {
        assert_eq!(parse_limit(None), Ok(20));
        assert_eq!(parse_limit(Some("5")), Ok(5));
        assert_eq!(parse_limit(Some("1000")), Ok(100));
        assert!(parse_limit(Some("-1")).is_err());
    }
}
