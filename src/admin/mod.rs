//! The admin listener: health, readiness, metrics, the admin API (`/api/v1`) and the admin UI.
//!
//! Layout:
//! - this module: the router (the documented routes and the UI) and `serve`;
//! - [`openapi`]: the OpenAPI document and the documented routes, built from the same
//!   annotations; [`api_doc`]: the document's shared parts (security scheme, refusals);
//! - [`probes`]: `/healthz`, `/readyz`, `/metrics`;
//! - [`routes`]: the `/api/v1` routes and the settings handlers (`GET`/`PUT /settings`);
//! - [`settings`]: the settings document, a `PUT` body read field by field, config diagnostics
//!   named by settings field (applying and saving is [`crate::config_change`]'s);
//! - [`catalog_search`]: `GET /apis`, the type-ahead over the API catalog;
//! - [`tokens`]: `GET`/`DELETE /tokens/{token_id}`; [`subjects`]: `GET`/`DELETE
//!   /subjects/{subject}/tokens`; [`token_docs`]: their answers as types; [`stats`]:
//!   `GET /stats`; [`evidence`]: `GET /evidence`, live evidence;
//! - [`auth`]: the admin bearer token; [`host`]: the `Host` check;
//! - [`error`]: `AdminError`, the one place an admin refusal becomes a response;
//! - [`listen`]: the admin listener's bounded connections; [`ui`]: the UI's static assets.

pub(crate) mod api_doc;
pub(crate) mod auth;
pub(crate) mod catalog_search;
pub(crate) mod error;
pub(crate) mod evidence;
pub(crate) mod evidence_trial;
pub(crate) mod host;
pub(crate) mod listen;
pub(crate) mod openapi;
pub(crate) mod probes;
pub(crate) mod routes;
pub(crate) mod settings;
pub(crate) mod settings_policies;
pub(crate) mod settings_trial;
pub(crate) mod stats;
pub(crate) mod subjects;
pub(crate) mod token_docs;
pub(crate) mod tokens;
pub(crate) mod ui;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

use crate::app::App;

/// Every route of the admin listener: the documented ones (see [`openapi`]) and the UI.
pub(crate) fn router(app: Arc<App>) -> Router {
    let (documented, _) = openapi::documented();
    documented
        .merge(ui::routes())
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            host::check_host,
        ))
        .with_state(app)
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
