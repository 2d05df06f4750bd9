//! The parts of the admin API's OpenAPI document that every handler's annotation shares: the
//! admin token's security scheme and the refusals any `/api/v1` operation can answer before
//! its handler runs. The document itself is assembled in [`super::openapi`].

use std::collections::BTreeMap;

use utoipa::openapi::response::{ResponseBuilder, ResponsesBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Header, OpenApi, Ref, RefOr, Response};
use utoipa::{IntoResponses, Modify};

/// The name of the admin token's security scheme, as the handlers' `security(...)` say it.
pub(crate) const ADMIN_TOKEN: &str = "admin_token";

/// Adds the admin token's security scheme (docs/reference.md, "Admin API", "Authentication").
pub(crate) struct AdminTokenScheme;

impl Modify for AdminTokenScheme {
    fn modify(&self, openapi: &mut OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "The value of the environment variable named by `admin.token_env`, as \
                 `Authorization: Bearer <secret>`.",
            ))
            .build();
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(ADMIN_TOKEN, SecurityScheme::Http(scheme));
    }
}

fn json_response(description: &str, schema: &str) -> ResponseBuilder {
    let content = Content::new(Some(Ref::from_schema_name(schema)));
    ResponseBuilder::new()
        .description(description)
        .content("application/json", content)
}

/// What every `/api/v1` operation that needs the admin token may answer before its handler
/// runs: the `Host` check (421), then authentication (401, 403). See
/// [`super::error::AdminError`] for the bodies.
pub(crate) struct Refusals;

impl IntoResponses for Refusals {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let unauthorized = json_response(
            "Missing or wrong admin token (`error` is `unauthorized`)",
            "ErrorMessage",
        )
        .header(
            "WWW-Authenticate",
            Header::builder()
                .description(Some("Always `Bearer`."))
                .build(),
        );
        let not_configured = json_response(
            "No admin token is configured; the message names the variable to set (`error` is \
             `admin_token_not_configured`)",
            "ErrorMessage",
        );
        let responses = ResponsesBuilder::new()
            .response("401", unauthorized)
            .response("403", not_configured)
            .response("421", misdirected())
            .build();
        responses.responses
    }
}

/// What a path outside the probes answers when its `Host` is not in `admin.allowed_hosts`.
pub(crate) fn misdirected() -> ResponseBuilder {
    json_response(
        "The `Host` is not in `admin.allowed_hosts` (checked before authentication)",
        "MisdirectedBody",
    )
}

/// Only the `Host` check stands before an operation that needs no token (`/metrics`, the
/// document itself).
pub(crate) struct HostRefusal;

impl IntoResponses for HostRefusal {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        ResponsesBuilder::new()
            .response("421", misdirected())
            .build()
            .responses
    }
}
