//! Request heads idlegate refuses before looking at tokens: those it cannot forward
//! faithfully to an HTTP/1.1 upstream.

use http::header::HOST;
use http::uri::{Authority, Scheme};
use http::{HeaderValue, Method, Request, Version};

use crate::proxy::ProxyError;

/// `CONNECT` would ask the upstream to open a tunnel, which a reverse proxy never forwards.
/// `Host` must be there once for HTTP/1.1 (HTTP/2 may carry it in `:authority` instead), since
/// the upstream routes on it; two of them, or a `Host` that names another authority than the
/// request target (absolute form, or HTTP/2 `:authority`), leave it to the upstream to pick
/// one, possibly not the one this gateway saw.
pub fn check_head<B>(req: &Request<B>) -> Result<(), ProxyError> {
    if req.method() == Method::CONNECT {
        return Err(ProxyError::MethodNotAllowed);
    }
    let mut hosts = req.headers().get_all(HOST).iter();
    let host = hosts.next();
    if hosts.next().is_some() {
        return Err(ProxyError::BadRequest("more than one Host header"));
    }
    let before_http11 = matches!(req.version(), Version::HTTP_09 | Version::HTTP_10);
    match (host, req.uri().authority()) {
        (Some(host), Some(target)) if !same_authority(host, target, req.uri().scheme()) => Err(
            ProxyError::BadRequest("the Host header does not match the request target"),
        ),
        (None, None) if !before_http11 => Err(ProxyError::BadRequest("missing Host header")),
        (None, Some(_)) if req.version() == Version::HTTP_11 => {
            Err(ProxyError::BadRequest("missing Host header"))
        }
        _ => Ok(()),
    }
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
        check_head(&req).err().map(|e| e.into_response().status())
    }

    fn get(uri: &str, version: Version, hosts: &[&str]) -> Request<()> {
        let mut b = Request::get(uri).version(version);
        for h in hosts {
            b = b.header(HOST, *h);
        }
        b.body(()).unwrap()
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
