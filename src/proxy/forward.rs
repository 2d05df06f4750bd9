//! The request rewrite for the upstream (target URI, hop-by-hop headers, `X-Forwarded-*`) and
//! the response clean-up. Sending is the pool's (`pool.rs`).
//!
//! Layout: imports only the low files `body.rs` and `error.rs`.

use std::time::Duration;

use super::body::{ClientBody, RequestBody};
use super::error::{ErrorKind, ProxyError};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, Uri, Version};

// Names built at compile time: `HeaderName::from_static` called at run time looks the name up
// among the standard ones first, ~160 instructions each (callgrind, three per request).
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const HTTP2_SETTINGS: HeaderName = HeaderName::from_static("http2-settings");

// A static, not a const: a const array is built (and dropped, name by name) at each use.
static HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    HeaderName::from_static("proxy-connection"),
];

/// Removes hop-by-hop headers, those named in `Connection` included. For a connection
/// upgrade (`keep_upgrade`), `Connection: upgrade` and `Upgrade` pass through.
pub(super) fn strip_hop_by_hop(headers: &mut HeaderMap, keep_upgrade: bool) {
    // Most messages carry none: one pass over the names is cheaper than a hash lookup per
    // hop-by-hop name (this runs twice per proxied request).
    let present = headers.keys().any(is_hop_by_hop_or_upgrade);
    if present {
        let named: Vec<HeaderName> = headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
            .collect();
        for name in named {
            if !(keep_upgrade && name == header::UPGRADE) {
                headers.remove(name);
            }
        }
        for name in HOP_BY_HOP.iter() {
            headers.remove(name);
        }
        if !keep_upgrade {
            headers.remove(header::UPGRADE);
        }
    }
    if keep_upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    }
}

/// Whether `name` is in [`HOP_BY_HOP`] or is `Upgrade`. A match on the text (the compiler
/// switches on the length first) rather than nine `HeaderName` comparisons, two of them
/// byte by byte: this runs for every field of every request and response.
fn is_hop_by_hop_or_upgrade(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "proxy-connection"
            | "upgrade"
    )
}

/// Whether the request asks for a protocol switch idlegate relays (WebSocket and the like).
/// `Upgrade: h2c` is not relayed: such a request is served as HTTP/1.1 (docs/reference.md, "Forwarding").
pub(super) fn is_upgrade(headers: &HeaderMap) -> bool {
    let connection_upgrade = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    let protocol = headers.get(header::UPGRADE).and_then(|v| v.to_str().ok());
    connection_upgrade && protocol.is_some_and(|p| !p.trim().eq_ignore_ascii_case("h2c"))
}

/// Rewrites a client request into the upstream request: target URI, `Host`, hop-by-hop
/// headers, HTTP/1.1, and a body that ends when the client stalls for `body_timeout`. The
/// `X-Forwarded-For/-Proto/-Host` fields are returned apart, to be set as the head is
/// written ([`Forwarded`]).
pub(super) fn upstream_request(
    mut req: Request<ClientBody>,
    upstream: &Uri,
    client_ip: &HeaderValue,
    upgrade: bool,
    body_timeout: Duration,
) -> Result<(Request<RequestBody>, Forwarded), ProxyError> {
    let uri = target_uri(upstream, req.uri())?;
    let authority = req.uri().authority().map(|a| a.as_str().to_owned());
    *req.uri_mut() = uri;
    *req.version_mut() = Version::HTTP_11;
    let headers = req.headers_mut();
    strip_hop_by_hop(headers, upgrade);
    // One pass over the names (a request carries a handful) instead of two hash lookups.
    let (mut has_host, mut has_h2_settings) = (false, false);
    for name in headers.keys() {
        has_host |= name == header::HOST;
        has_h2_settings |= name == HTTP2_SETTINGS;
    }
    if has_h2_settings {
        headers.remove(HTTP2_SETTINGS);
    }
    // HTTP/2 carries the host in `:authority`; HTTP/1.1 upstreams need it as `Host`.
    if !has_host {
        if let Some(v) = authority.and_then(|a| HeaderValue::from_str(&a).ok()) {
            headers.insert(header::HOST, v);
        }
    }
    let forwarded = Forwarded::of(headers, client_ip);
    Ok((
        req.map(|body| RequestBody::new(body, body_timeout)),
        forwarded,
    ))
}

/// The `X-Forwarded-*` fields of an upstream request. Kept apart from the header map because
/// adding three fields to the map hyper parsed (sized for the fields it had) reallocates it on
/// every request; the own client writes them straight into the head, and only hyper's client
/// gets them inserted ([`Forwarded::insert_into`]).
pub(crate) struct Forwarded {
    fields: [(HeaderName, HeaderValue); 3],
    len: usize,
}

impl Forwarded {
    /// The fields for a request with `headers` from `client_ip`: its `X-Forwarded-For` list
    /// extended, `-Proto` and `-Host` unless the client sent them. One pass over the fields
    /// (a request carries a handful) instead of four hash lookups.
    fn of(headers: &HeaderMap, client_ip: &HeaderValue) -> Forwarded {
        let mut f = Forwarded {
            fields: std::array::from_fn(|_| (header::HOST, HeaderValue::from_static(""))),
            len: 0,
        };
        let mut earlier: Option<String> = None;
        let (mut has_proto, mut has_fwd_host, mut host) = (false, false, None);
        for (name, value) in headers {
            if *name == X_FORWARDED_FOR {
                if let Ok(value) = value.to_str() {
                    let list = earlier.get_or_insert_with(String::new);
                    if !list.is_empty() {
                        list.push_str(", ");
                    }
                    list.push_str(value);
                }
            } else if *name == X_FORWARDED_PROTO {
                has_proto = true;
            } else if *name == X_FORWARDED_HOST {
                has_fwd_host = true;
            } else if *name == header::HOST && host.is_none() {
                host = Some(value);
            }
        }
        let for_ = match earlier {
            None => Some(client_ip.clone()),
            Some(mut list) => {
                list.push_str(", ");
                list.push_str(client_ip.to_str().unwrap_or_default());
                HeaderValue::from_str(&list).ok()
            }
        };
        if let Some(v) = for_ {
            f.push(X_FORWARDED_FOR, v);
        }
        if !has_proto {
            f.push(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
        }
        if let Some(host) = host.filter(|_| !has_fwd_host) {
            f.push(X_FORWARDED_HOST, host.clone());
        }
        f
    }

    fn push(&mut self, name: HeaderName, value: HeaderValue) {
        self.fields[self.len] = (name, value);
        self.len += 1;
    }

    /// The fields, each replacing any field of its name in the request.
    pub(crate) fn fields(&self) -> &[(HeaderName, HeaderValue)] {
        &self.fields[..self.len]
    }

    pub(crate) fn insert_into(&self, headers: &mut HeaderMap) {
        for (name, value) in self.fields() {
            headers.insert(name.clone(), value.clone());
        }
    }
}

/// The origin-form target sent to the upstream: `upstream`'s path prefix (if any) followed by
/// the request's path and query as received (raw, no normalisation).
fn target_uri(upstream: &Uri, request: &Uri) -> Result<Uri, ProxyError> {
    let prefix = upstream.path().trim_end_matches('/');
    let path_and_query = match (prefix.is_empty(), request.path_and_query()) {
        (true, Some(pq)) => pq.clone(),
        (true, None) => http::uri::PathAndQuery::from_static("/"),
        (false, pq) => format!("{prefix}{}", pq.map_or("/", |p| p.as_str()))
            .parse()
            .map_err(|e| ProxyError::gateway(ErrorKind::Other(format!("bad target path: {e}"))))?,
    };
    Ok(Uri::from(path_and_query))
}

/// Removes hop-by-hop headers from the upstream's response (kept for a 101 upgrade).
pub(super) fn clean_response<B>(resp: &mut Response<B>) {
    let upgrade = resp.status() == http::StatusCode::SWITCHING_PROTOCOLS;
    strip_hop_by_hop(resp.headers_mut(), upgrade);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quick_hop_by_hop_check_knows_every_hop_by_hop_name_and_no_other() {
        for name in HOP_BY_HOP.iter().chain([&header::UPGRADE]) {
            assert!(is_hop_by_hop_or_upgrade(name), "{name}");
        }
        for name in [header::HOST, header::AUTHORIZATION, header::CONTENT_LENGTH] {
            assert!(!is_hop_by_hop_or_upgrade(&name), "{name}");
        }
        let custom = HeaderName::from_static("x-keep-alive");
        assert!(!is_hop_by_hop_or_upgrade(&custom));
    }

    fn forwarded(fields: &[(&str, &[u8])]) -> Vec<(String, String)> {
        let mut headers = HeaderMap::new();
        for (name, value) in fields {
            let value = HeaderValue::from_bytes(value).unwrap();
            headers.append(HeaderName::from_bytes(name.as_bytes()).unwrap(), value);
        }
        let client = HeaderValue::from_static("127.0.0.1");
        let f = Forwarded::of(&headers, &client);
        let text = |(n, v): &(HeaderName, HeaderValue)| (n.to_string(), v.to_str().unwrap().into());
        f.fields().iter().map(text).collect()
    }

    #[test]
    fn x_forwarded_for_joins_every_earlier_field_then_the_client() {
        let got = forwarded(&[
            ("x-forwarded-for", b"10.0.0.1"),
            ("host", b"api.test"),
            ("x-forwarded-for", b"10.0.0.2, 10.0.0.3"),
            ("x-forwarded-for", b"\xff-not-text"),
        ]);
        assert_eq!(got[0].1, "10.0.0.1, 10.0.0.2, 10.0.0.3, 127.0.0.1");
        assert_eq!(got[1], ("x-forwarded-proto".into(), "http".into()));
        assert_eq!(got[2], ("x-forwarded-host".into(), "api.test".into()));
    }

    #[test]
    fn forwarded_proto_and_host_sent_by_the_client_are_not_added_again() {
        let got = forwarded(&[
            ("host", b"api.test"),
            ("host", b"other.test"),
            ("x-forwarded-proto", b"https"),
        ]);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0], ("x-forwarded-for".into(), "127.0.0.1".into()));
        assert_eq!(
            got[1],
            ("x-forwarded-host".into(), "api.test".into()),
            "the first Host"
        );
        let got = forwarded(&[("x-forwarded-host", b"edge.test"), ("host", b"api.test")]);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[1].0, "x-forwarded-proto");
    }

    #[test]
    fn headers_named_in_connection_are_removed() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert(header::TE, HeaderValue::from_static("trailers"));
        h.insert("x-kept", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut h, false);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-kept"));
    }

    #[test]
    fn upgrade_headers_survive_for_websocket() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        assert!(is_upgrade(&h));
        strip_hop_by_hop(&mut h, true);
        assert_eq!(h[header::UPGRADE], "websocket");
        assert_eq!(h[header::CONNECTION], "upgrade");
    }

    #[test]
    fn h2c_upgrade_is_not_relayed() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("Upgrade, HTTP2-Settings"),
        );
        h.insert(header::UPGRADE, HeaderValue::from_static("h2c"));
        assert!(!is_upgrade(&h));
    }

    #[test]
    fn target_keeps_raw_path_and_prefix() {
        let up: Uri = "http://127.0.0.1:9000/base/".parse().unwrap();
        let req: Uri = "/a/%2e%2e/b?x=1".parse().unwrap();
        assert_eq!(
            target_uri(&up, &req).unwrap().to_string(),
            "/base/a/%2e%2e/b?x=1"
        );
        let up: Uri = "http://127.0.0.1:9000".parse().unwrap();
        assert_eq!(
            target_uri(&up, &req).unwrap().to_string(),
            "/a/%2e%2e/b?x=1"
        );
    }
}
