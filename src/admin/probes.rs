//! The admin listener's endpoints for platforms: liveness, readiness and the Prometheus
//! exposition (docs/reference.md, "Admin API" and "Metrics"). None needs the admin token.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;

use super::api_doc::HostRefusal;
use crate::app::App;

/// `GET /healthz`: the process serves. Answers any `Host`.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "probes",
    summary = "Liveness",
    operation_id = "healthz",
    responses((status = 200, description = "The process serves", body = String, content_type = "text/plain", example = "ok"))
)]
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: state loaded and listeners up (with Redis: Redis reached). Answers any
/// `Host`.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "probes",
    summary = "Readiness",
    operation_id = "readyz",
    responses(
        (status = 200, description = "State is loaded and the listeners are up (with Redis: Redis was reached)", body = String, content_type = "text/plain", example = "ready"),
        (status = 503, description = "Not ready yet", body = String, content_type = "text/plain", example = "not ready"),
    )
)]
pub(crate) async fn readyz(State(app): State<Arc<App>>) -> impl IntoResponse {
    if app.is_ready() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}

/// `GET /metrics`.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "probes",
    summary = "Prometheus metrics",
    operation_id = "metrics",
    responses(
        (status = 200, description = "Prometheus text format 0.0.4", body = String, content_type = "text/plain; version=0.0.4; charset=utf-8"),
        HostRefusal,
    )
)]
pub(crate) async fn metrics_text(State(app): State<Arc<App>>) -> impl IntoResponse {
    app.update_gauges();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.metrics.encode(),
    )
}
