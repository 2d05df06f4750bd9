//! The admin listener: health, readiness, metrics, the admin API (`/api/v1`) and the admin UI.
//!
//! Layout:
//! - this module: the router (probes, `/metrics`, `/api/v1`, the UI) and `serve`;
//! - [`routes`]: the `/api/v1` routes and the settings handlers (`GET`/`PUT /settings`);
//! - [`settings`]: the settings document, a `PUT` body read field by field, config diagnostics
//!   named by settings field (applying and saving is [`crate::config_change`]'s);
//! - [`catalog_search`]: `GET /apis`, the type-ahead over the API catalog;
//! - [`tokens`]: `GET`/`DELETE /tokens/{token_id}`; [`subjects`]: `GET`/`DELETE
//!   /subjects/{subject}/tokens`; [`stats`]: `GET /stats`;
//! - [`auth`]: the admin bearer token; [`host`]: the `Host` check;
//! - [`error`]: `AdminError`, the one place an admin refusal becomes a response;
//! - [`listen`]: the admin listener's bounded connections; [`ui`]: the UI's static assets.

pub(crate) mod auth;
pub(crate) mod catalog_search;
pub(crate) mod error;
pub(crate) mod host;
pub(crate) mod listen;
pub(crate) mod routes;
pub(crate) mod settings;
pub(crate) mod settings_policies;
pub(crate) mod stats;
pub(crate) mod subjects;
pub(crate) mod tokens;
pub(crate) mod ui;

use std::future::Future;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use crate::app::App;

pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .nest("/api/v1", routes::routes())
        .merge(ui::routes())
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            host::check_host,
        ))
        .with_state(app)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(app): State<Arc<App>>) -> impl IntoResponse {
    if app.is_ready() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}

async fn metrics_text(State(app): State<Arc<App>>) -> impl IntoResponse {
    app.update_gauges();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.metrics.encode(),
    )
}

/// Serves the admin router with its own connection cap and the proxy's connection timeouts
/// (see [`listen`]).
pub(crate) async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let router = router(app.clone());
    listen::serve(listener, router, app, shutdown).await;
}
