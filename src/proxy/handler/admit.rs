//! The admit phase and the token's identity. Refused before tokens are looked at: heads too
//! large, and heads idlegate cannot forward faithfully to an HTTP/1.1 upstream; then requests
//! with more than one credential (docs/reference.md, "Request path", steps 1–3). What is let
//! in leaves with its one token, if any, and that token's key.
//!
//! Layout: imports only `proxy/error.rs` within `proxy`.

use std::borrow::Cow;

use http::header::HOST;
use http::uri::{Authority, Scheme};
use http::{HeaderValue, Method, Request, Version};

use crate::app::{App, Live};
use crate::proxy::error::{ErrorKind, ProxyError};
use crate::token::{self, Extracted, TokenKey};

/// The request's one token, or why idlegate answers itself: a head over
/// `proxy.max_header_bytes` (431), one that cannot be forwarded faithfully, or more than one
/// credential.
pub(super) fn admit<'r, B>(
    live: &Live,
    req: &'r Request<B>,
) -> Result<Option<Cow<'r, str>>, ProxyError> {
    check_head(req, live.config.proxy.max_header_bytes)?;
    let sources = &live.config.tokens.sources;
    match token::extract_checked(sources, req.headers(), req.uri().query()) {
        Extracted::One(token) => Ok(Some(token)),
        Extracted::None => Ok(None),
        Extracted::Conflict(conflict) => Err(ProxyError::client(ErrorKind::Credentials(conflict))),
    }
}

/// The token's key, only while idle tracking is on (`timeout.enabled`); with `[identity]`
/// and a JWS, also the hash of its signature (0 otherwise), from the same pass.
pub(super) fn identify(app: &App, live: &Live, token: Option<&str>) -> (Option<TokenKey>, u64) {
    match (token, live.config.timeout.enabled) {
        (Some(t), true) if app.identity.is_some() && token::signing_input(t).len() < t.len() => {
            let (key, sig) = app.keyer.key_and_signature_hash(t);
            (Some(key), sig)
        }
        (Some(t), true) => (Some(app.keyer.key(t)), 0),
        _ => (None, 0),
    }
}

/// A head over `max_header_bytes` is refused first (431). Then:
/// `CONNECT` would ask the upstream to open a tunnel, which a reverse proxy never forwards.
/// `Host` must be there once for HTTP/1.1 (HTTP/2 may carry it in `:authority` instead), since
/// the upstream routes on it; two of them, or a `Host` that names another authority than the
/// request target (absolute form, or HTTP/2 `:authority`), leave it to the upstream to pick
/// one, possibly not the one this gateway saw.
fn check_head<B>(req: &Request<B>, max_header_bytes: usize) -> Result<(), ProxyError> {
    let size = head_size(req);
    if size > max_header_bytes {
        return Err(ProxyError::client(ErrorKind::HeadTooLarge {
            size,
            max: max_header_bytes,
        }));
    }
    if req.method() == Method::CONNECT {
        return Err(ProxyError::client(ErrorKind::MethodNotAllowed));
    }
    let mut hosts = req.headers().get_all(HOST).iter();
    let host = hosts.next();
    if hosts.next().is_some() {
        return Err(bad_request("more than one Host header"));
    }
    let before_http11 = matches!(req.version(), Version::HTTP_09 | Version::HTTP_10);
    match (host, req.uri().authority()) {
        (Some(host), Some(target)) if !same_authority(host, target, req.uri().scheme()) => Err(
            bad_request("the Host header does not match the request target"),
        ),
        (None, None) if !before_http11 => Err(bad_request("missing Host header")),
        (None, Some(_)) if req.version() == Version::HTTP_11 => {
            Err(bad_request("missing Host header"))
        }
        _ => Ok(()),
    }
}

fn bad_request(why: &'static str) -> ProxyError {
    ProxyError::client(ErrorKind::BadRequest(why))
}

/// Bytes of the request head as it came on the wire: request line, header lines, blank line.
fn head_size<B>(req: &Request<B>) -> usize {
    let line = req.method().as_str().len()
        + 1
        + req.uri().path_and_query().map_or(1, |p| p.as_str().len())
        + 1
        + 8
        + 2;
    let headers: usize = req
        .headers()
        .iter()
        .map(|(n, v)| n.as_str().len() + 2 + v.len() + 2)
        .sum();
    line + headers + 2
}

/// Same host (any case) and same port, a missing port being the scheme's default.
fn same_authority(host: &HeaderValue, target: &Authority, scheme: Option<&Scheme>) -> bool {
    let Ok(host) = Authority::try_from(host.as_bytes()) else {
        return false;
    };
    let default_port = if scheme == Some(&Scheme::HTTPS) {
        443
    } else {
        80
    };
    host.host().eq_ignore_ascii_case(target.host())
        && host.port_u16().unwrap_or(default_port) == target.port_u16().unwrap_or(default_port)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    fn status(req: Request<()>) -> Option<StatusCode> {
        check_head(&req, 65536)
            .err()
            .map(|e| e.into_response().status())
    }

    fn get(uri: &str, version: Version, hosts: &[&str]) -> Request<()> {
        let mut b = Request::get(uri).version(version);
        for h in hosts {
            b = b.header(HOST, *h);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn head_size_counts_request_line_headers_and_blank_line() {
        let req = Request::get("/ab?c").header("x", "yz").body(()).unwrap();
        // "GET /ab?c HTTP/1.1\r\n" + "x: yz\r\n" + "\r\n"
        assert_eq!(head_size(&req), 20 + 7 + 2);
        let req = Request::get("/ab?c").header(HOST, "yz").body(()).unwrap();
        assert!(check_head(&req, 32).is_ok());
        let refused = check_head(&req, 31).map_err(|e| e.into_response().status());
        assert_eq!(refused, Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE));
    }

    #[test]
    fn connect_is_refused_with_405() {
        let req = Request::connect("example.test:443")
            .header(HOST, "example.test:443")
            .body(())
            .unwrap();
        assert_eq!(status(req), Some(StatusCode::METHOD_NOT_ALLOWED));
    }

    #[test]
    fn http11_needs_exactly_one_host() {
        assert_eq!(status(get("/x", Version::HTTP_11, &["a"])), None);
        assert_eq!(
            status(get("/x", Version::HTTP_11, &[])),
            Some(StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            status(get("/x", Version::HTTP_11, &["a", "b"])),
            Some(StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            status(get("/x", Version::HTTP_11, &["a", "a"])),
            Some(StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            status(get("http://a/x", Version::HTTP_11, &[])),
            Some(StatusCode::BAD_REQUEST)
        );
    }

    #[test]
    fn http10_may_omit_host_but_not_repeat_it() {
        assert_eq!(status(get("/x", Version::HTTP_10, &[])), None);
        assert_eq!(
            status(get("/x", Version::HTTP_10, &["a", "b"])),
            Some(StatusCode::BAD_REQUEST)
        );
    }

    #[test]
    fn host_must_match_the_target_authority() {
        let ok = [
            ("http://Api.Test/x", "api.test"),
            ("http://api.test:80/x", "api.test"),
            ("https://api.test/x", "api.test:443"),
            ("https://api.test/x", "api.test"),
            ("http://api.test:8080/x", "API.test:8080"),
        ];
        for (uri, host) in ok {
            assert_eq!(status(get(uri, Version::HTTP_11, &[host])), None, "{uri}");
        }
        let bad = [
            ("http://other.test/x", "api.test"),
            ("http://api.test:8080/x", "api.test"),
            ("https://api.test/x", "api.test:80"),
            ("http://api.test/x", "api.test, other.test"),
        ];
        for (uri, host) in bad {
            assert_eq!(
                status(get(uri, Version::HTTP_11, &[host])),
                Some(StatusCode::BAD_REQUEST),
                "{uri} {host}"
            );
        }
    }

    #[test]
    fn http2_takes_authority_or_host() {
        assert_eq!(status(get("http://a/x", Version::HTTP_2, &[])), None);
        assert_eq!(status(get("/x", Version::HTTP_2, &["a"])), None);
        assert_eq!(status(get("http://a/x", Version::HTTP_2, &["a"])), None);
        assert_eq!(
            status(get("http://a/x", Version::HTTP_2, &["b"])),
            Some(StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            status(get("/x", Version::HTTP_2, &[])),
            Some(StatusCode::BAD_REQUEST)
        );
    }
}
