//! The admin API's OpenAPI 3.1 document (docs/reference.md, "Admin API", "OpenAPI document"),
//! generated from the handlers' own annotations and answer types. The router of those
//! handlers is built from the same annotations ([`documented`]), so a route cannot be served
//! without being described. `GET /api/v1/openapi.json` serves the document, `idlegate openapi`
//! prints it, and `docs/openapi.json` is a copy that tests/openapi.rs keeps equal to it.

use std::sync::{Arc, LazyLock};

use axum::http::header;
use axum::response::IntoResponse;
use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::api_doc::{AdminTokenScheme, HostRefusal};
use super::error::{ErrorMessage, FieldError, InvalidBody, MisdirectedBody};
use super::{probes, routes};
use crate::app::App;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "idlegate admin API",
        description = "The admin listener of idlegate: probes, metrics, and the admin API under \
                       `/api/v1` (settings, catalog search, stats, live evidence, tokens, subjects). Every \
                       path but `/healthz` and `/readyz` first checks the `Host` header \
                       against `admin.allowed_hosts` (421)."
    ),
    modifiers(&AdminTokenScheme),
    components(schemas(ErrorMessage, MisdirectedBody, InvalidBody, FieldError)),
    tags(
        (name = "probes", description = "Liveness, readiness and metrics; no token"),
        (name = "settings", description = "The timeout policy, live"),
        (name = "catalog", description = "The upstream's API catalog"),
        (name = "stats", description = "Live figures"),
        (name = "evidence", description = "Live evidence: which APIs look like background polling"),
        (name = "tokens", description = "One token by its id"),
        (name = "subjects", description = "Every token of one user"),
        (name = "openapi", description = "This document"),
    )
)]
struct AdminApi;

/// The documented routes of the admin listener and their document, from one list.
pub(crate) fn documented() -> (Router<Arc<App>>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(AdminApi::openapi())
        .routes(routes!(probes::healthz))
        .routes(routes!(probes::readyz))
        .routes(routes!(probes::metrics_text))
        .routes(routes!(openapi_json))
        .nest("/api/v1", routes::routes())
        .split_for_parts()
}

/// The document as pretty JSON with a trailing newline: exactly `docs/openapi.json`.
pub(crate) fn document_json() -> String {
    static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
        let (_, document) = documented();
        // Serializing a document of strings, maps and numbers cannot fail.
        let text = document.to_pretty_json().unwrap_or_default();
        format!("{text}\n")
    });
    DOCUMENT.clone()
}

/// `GET /api/v1/openapi.json`: no token needed, the document holds no secret.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "openapi",
    summary = "This OpenAPI document",
    operation_id = "openapi",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of the admin listener", body = Object, content_type = "application/json"),
        HostRefusal,
    )
)]
async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document_json(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn document() -> Value {
        serde_json::from_str(&document_json()).unwrap()
    }

    #[test]
    fn the_document_is_openapi_3_1() {
        assert_eq!(document()["openapi"], "3.1.0");
    }

    /// A handler annotated with a scheme the document does not define would send clients to
    /// a missing definition.
    #[test]
    fn every_operation_needs_the_admin_token_or_nothing() {
        let doc = document();
        let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
        assert_eq!(
            schemes.keys().collect::<Vec<_>>(),
            [super::super::api_doc::ADMIN_TOKEN]
        );
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let needs_token = op.get("security").is_some();
                let under_api = path.starts_with("/api/v1/") && path != "/api/v1/openapi.json";
                assert_eq!(needs_token, under_api, "{method} {path}");
                if needs_token {
                    assert_eq!(op["security"], serde_json::json!([{"admin_token": []}]));
                    assert!(op["responses"]["401"].is_object(), "{method} {path}");
                }
            }
        }
    }
}
