//! The admin UI (docs/reference.md, "Admin API"): one page, its script and its style sheet, compiled into the binary
//! so the UI works without any network access at run time. The page asks for the admin token
//! itself and talks to `/api/v1`; serving it needs no authentication.

use std::sync::Arc;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::app::App;

const INDEX_HTML: &str = include_str!("ui/index.html");
const APP_JS: &str = include_str!("ui/app.js");
const APP_CSS: &str = include_str!("ui/app.css");
const POLICIES_JS: &str = include_str!("ui/policies.js");
const EVERYWHERE_JS: &str = include_str!("ui/everywhere.js");
const EVIDENCE_JS: &str = include_str!("ui/evidence.js");

/// Everything comes from this origin; no inline script or style, no framing, no plugins.
/// `connect-src 'self'` is implied by `default-src` and is what the page's `fetch` needs.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// `GET /`, `GET /ui/app.js`, `GET /ui/app.css`, and the scripts of the policies,
/// sign-out-everywhere and evidence sections.
pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(|| async { index() }))
        .route("/ui/app.js", get(|| async { script() }))
        .route("/ui/app.css", get(|| async { style() }))
        .route("/ui/policies.js", get(|| async { asset(POLICIES_JS, JS) }))
        .route(
            "/ui/everywhere.js",
            get(|| async { asset(EVERYWHERE_JS, JS) }),
        )
        .route("/ui/evidence.js", get(|| async { asset(EVIDENCE_JS, JS) }))
}

fn index() -> Response {
    asset(INDEX_HTML, "text/html; charset=utf-8")
}

const JS: &str = "text/javascript; charset=utf-8";

fn script() -> Response {
    asset(APP_JS, JS)
}

fn style() -> Response {
    asset(APP_CSS, "text/css; charset=utf-8")
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        // The assets change with the binary; a stale cached script after an upgrade would
        // talk to the API with yesterday's assumptions.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    (headers, body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_of(resp: &Response, name: header::HeaderName) -> &str {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    #[test]
    fn each_asset_has_its_content_type() {
        assert_eq!(
            header_of(&index(), header::CONTENT_TYPE),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            header_of(&script(), header::CONTENT_TYPE),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            header_of(&style(), header::CONTENT_TYPE),
            "text/css; charset=utf-8"
        );
    }

    #[test]
    fn every_asset_carries_a_strict_csp() {
        for resp in [index(), script(), style()] {
            let csp = header_of(&resp, header::CONTENT_SECURITY_POLICY);
            assert!(csp.starts_with("default-src 'self'"), "{csp}");
            assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
            assert_eq!(header_of(&resp, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        }
    }

    #[test]
    fn page_shows_the_six_labels_of_the_spec() {
        for label in [
            "Enable Inactivity Timeout",
            "Timeout minutes",
            "Default APIs to exclude",
            "Custom APIs to exclude",
            "Save",
        ] {
            assert!(INDEX_HTML.contains(&format!(">{label}<")), "{label}");
        }
        // Built per custom API by the script.
        assert!(APP_JS.contains("\"Remove from list\""));
    }

    #[test]
    fn assets_reference_no_external_url() {
        for text in [
            INDEX_HTML,
            APP_JS,
            APP_CSS,
            POLICIES_JS,
            EVERYWHERE_JS,
            EVIDENCE_JS,
        ] {
            assert!(!text.contains("http://") && !text.contains("https://"));
            assert!(!text.contains("//cdn"));
        }
    }

    #[test]
    fn page_has_no_inline_script_or_style() {
        // The CSP forbids them; one slipping in would silently break the page.
        assert!(!INDEX_HTML.contains("<script>"));
        assert!(!INDEX_HTML.contains("<style"));
        assert!(!INDEX_HTML.contains("style=\""));
        assert!(!INDEX_HTML.contains(" onclick="));
        assert!(INDEX_HTML.contains("<script src=\"/ui/app.js\" defer></script>"));
        assert!(INDEX_HTML.contains("href=\"/ui/app.css\""));
    }

    #[test]
    fn admin_token_lives_in_session_storage_only() {
        assert!(APP_JS.contains("sessionStorage"));
        assert!(!APP_JS.contains("localStorage"));
        assert!(!APP_JS.contains("document.cookie"));
    }

    #[test]
    fn section_scripts_are_loaded_and_set_server_strings_as_text_only() {
        for script in ["policies.js", "everywhere.js", "evidence.js"] {
            let tag = format!("<script src=\"/ui/{script}\" defer></script>");
            assert!(INDEX_HTML.contains(&tag), "{tag}");
        }
        for text in [APP_JS, POLICIES_JS, EVERYWHERE_JS, EVIDENCE_JS] {
            assert!(!text.contains("innerHTML") && !text.contains("insertAdjacentHTML"));
        }
    }

    #[test]
    fn timeout_choices_are_the_documented_minutes() {
        assert!(APP_JS.contains("[5, 10, 15, 30, 60, 120, 240, 480]"));
    }
}
