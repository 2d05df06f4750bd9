//! The admin listener's `Host` check: a DNS-rebinding page (evil.example resolving to
//! 127.0.0.1) makes the browser send `Host: evil.example`, so answering only the names in
//! `admin.allowed_hosts` keeps such a page from reading the UI, the API or `/metrics`.
//! `/healthz` and `/readyz` answer any host: platform probes use the pod's address.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::AdminError;
use crate::app::App;

/// Paths served whatever the `Host`.
const PROBES: [&str; 2] = ["/healthz", "/readyz"];

/// Middleware: 421 unless the request's `Host` is allowed (or the path is a probe).
pub(crate) async fn check_host(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    if PROBES.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    let allowed = host_allowed(req.headers(), &app.config().admin.allowed_hosts);
    if allowed {
        return next.run(req).await;
    }
    AdminError::MisdirectedHost.into_response()
}

/// Whether the one `Host` header names an allowed host, port ignored, case-insensitive.
/// No `Host`, or more than one, is refused.
pub(crate) fn host_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    if allowed.iter().any(|h| h == "*") {
        return true;
    }
    let mut hosts = headers.get_all(header::HOST).iter();
    let (Some(value), None) = (hosts.next(), hosts.next()) else {
        return false;
    };
    let Some(host) = value.to_str().ok().and_then(host_without_port) else {
        return false;
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    allowed.iter().any(|a| a.eq_ignore_ascii_case(host))
}

/// `name:port` → `name`, `[v6]:port` → `[v6]`; `None` when the value is malformed.
fn host_without_port(value: &str) -> Option<&str> {
    if value.starts_with('[') {
        let end = value.find(']')?;
        let (host, rest) = value.split_at(end + 1);
        return (rest.is_empty() || is_port(rest.strip_prefix(':')?)).then_some(host);
    }
    match value.split_once(':') {
        Some((host, port)) if is_port(port) && !host.is_empty() => Some(host),
        Some(_) => None,
        None if value.is_empty() => None,
        None => Some(value),
    }
}

fn is_port(text: &str) -> bool {
    !text.is_empty() && text.len() <= 5 && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn allowed() -> Vec<String> {
        ["127.0.0.1", "localhost", "[::1]"]
            .map(String::from)
            .to_vec()
    }

    fn with_hosts(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::HOST, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn loopback_names_are_allowed_with_or_without_port() {
        for host in [
            "127.0.0.1:9901",
            "localhost",
            "LocalHost:1",
            "[::1]:9901",
            "[::1]",
        ] {
            assert!(host_allowed(&with_hosts(&[host]), &allowed()), "{host}");
        }
    }

    #[test]
    fn a_rebinding_name_is_refused() {
        for host in [
            "evil.example",
            "evil.example:9901",
            "127.0.0.1.evil.example",
        ] {
            assert!(!host_allowed(&with_hosts(&[host]), &allowed()), "{host}");
        }
    }

    #[test]
    fn missing_duplicate_or_malformed_host_is_refused() {
        assert!(!host_allowed(&HeaderMap::new(), &allowed()));
        assert!(!host_allowed(
            &with_hosts(&["localhost", "localhost"]),
            &allowed()
        ));
        for bad in [
            "localhost:",
            "localhost:x",
            ":9901",
            "[::1",
            "[::1]x",
            "a:1:2",
        ] {
            assert!(!host_allowed(&with_hosts(&[bad]), &allowed()), "{bad}");
        }
    }

    #[test]
    fn a_trailing_dot_names_the_same_host() {
        assert!(host_allowed(&with_hosts(&["localhost.:9901"]), &allowed()));
    }

    #[test]
    fn star_allows_any_host() {
        let any = vec!["*".to_string()];
        assert!(host_allowed(&with_hosts(&["evil.example"]), &any));
    }
}
