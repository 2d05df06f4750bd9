//! Request heads off the wire, and the rule for which ones the own server answers itself: a
//! *simple* request — HTTP/1.1, complete, no body, no protocol switch, no `Expect`, at most
//! [`MAX_HEADER_FIELDS`] fields, within `proxy.max_header_bytes`, a target in origin form.
//! Everything else is hyper's ([`Parsed::Other`]), which keeps every error answer it makes.

use std::mem::MaybeUninit;

use bytes::{Bytes, BytesMut};
use http::header::HeaderMap;
use http::{Method, Request, Uri, Version};

use super::MAX_HEADER_FIELDS;
use crate::proxy::body::ClientBody;
use crate::proxy::fields::Spans;

/// The first bytes of HTTP/2 with prior knowledge (RFC 9113, 3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0";

/// Why a head is left to hyper.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NotSimple {
    Http2,
    /// Not HTTP/1.1 (HTTP/1.0 or older).
    Version,
    /// httparse refused it, or `http` refused its target or a field.
    Malformed,
    TooManyFields,
    TooLarge,
    /// Absolute form, authority form (`CONNECT`) or asterisk form.
    Target,
    Body,
    Upgrade,
    Expect,
}

/// What the front of the read buffer holds. The request is not boxed: that would be an
/// allocation per request, for a value that is moved once, into the handler.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum Parsed {
    /// A simple request, taken off the buffer. `close`: the client sent `Connection: close`.
    Simple {
        req: Request<ClientBody>,
        close: bool,
    },
    /// Not a complete head yet, and nothing says it will not be simple.
    Partial,
    /// hyper's to answer; the buffer is left as it was.
    Other(NotSimple),
}

/// Parses the head at the front of `buf`. A simple one is split off the buffer and becomes a
/// request whose field values and target are slices of what was read (no copy); its fields
/// go into `headers` (cleared first, its capacity reused). `max_head` is
/// `proxy.max_header_bytes`.
pub(crate) fn parse(buf: &mut BytesMut, max_head: usize, headers: &mut HeaderMap) -> Parsed {
    if buf.starts_with(H2_PREFACE) {
        return Parsed::Other(NotSimple::Http2);
    }
    // Left uninitialised: zeroing 100 fields (3.2 KB) was 4 % of a request's instructions.
    let mut fields = [const { MaybeUninit::uninit() }; MAX_HEADER_FIELDS];
    let mut parsed = httparse::Request::new(&mut []);
    let len = match parsed.parse_with_uninit_headers(buf, &mut fields) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > max_head => {
            return Parsed::Other(NotSimple::TooLarge)
        }
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => return Parsed::Other(NotSimple::TooManyFields),
        Err(_) => return Parsed::Other(NotSimple::Malformed),
    };
    if len > max_head {
        return Parsed::Other(NotSimple::TooLarge);
    }
    if parsed.version != Some(1) {
        return Parsed::Other(NotSimple::Version);
    }
    let (Some(method), Some(path)) = (parsed.method, parsed.path) else {
        return Parsed::Other(NotSimple::Malformed);
    };
    if !path.starts_with('/') {
        return Parsed::Other(NotSimple::Target);
    }
    let close = match simple_fields(parsed.headers) {
        Ok(close) => close,
        Err(why) => return Parsed::Other(why),
    };
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return Parsed::Other(NotSimple::Malformed);
    };
    // Offsets into the head, so that its fields can be made once it is split off.
    let target_at = path.as_ptr() as usize - buf.as_ptr() as usize;
    let target = (target_at, target_at + path.len());
    let mut spans = Spans::new();
    spans.record(buf, parsed.headers);
    let head = buf.split_to(len).freeze();
    match build(&head, method, target, &spans, headers) {
        Some(req) => Parsed::Simple { req, close },
        None => {
            // Never for a head httparse accepted, in practice; hyper answers it as it would.
            let mut whole = BytesMut::from(&head[..]);
            whole.extend_from_slice(buf);
            *buf = whole;
            Parsed::Other(NotSimple::Malformed)
        }
    }
}

/// Whether the fields leave the request simple; `Ok(true)` when they ask to close the
/// connection after it.
fn simple_fields(fields: &[httparse::Header<'_>]) -> Result<bool, NotSimple> {
    let mut close = false;
    for f in fields {
        let name = f.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            // A body of length 0 is no body; anything else is hyper's, malformed lengths too.
            if f.value != b"0" {
                return Err(NotSimple::Body);
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return Err(NotSimple::Body);
        } else if name.eq_ignore_ascii_case(b"upgrade") {
            return Err(NotSimple::Upgrade);
        } else if name.eq_ignore_ascii_case(b"expect") {
            return Err(NotSimple::Expect);
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in f.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                if token.eq_ignore_ascii_case(b"upgrade") {
                    return Err(NotSimple::Upgrade);
                }
                close |= token.eq_ignore_ascii_case(b"close");
            }
        }
    }
    Ok(close)
}

/// The request made of a head split off the read buffer.
fn build(
    head: &Bytes,
    method: Method,
    (t0, t1): (usize, usize),
    spans: &Spans,
    headers: &mut HeaderMap,
) -> Option<Request<ClientBody>> {
    let uri = Uri::from_maybe_shared(head.slice(t0..t1)).ok()?;
    spans.fill(head, headers).ok()?;
    let mut req = Request::new(ClientBody::Empty);
    *req.method_mut() = method;
    *req.uri_mut() = uri;
    *req.version_mut() = Version::HTTP_11;
    *req.headers_mut() = std::mem::take(headers);
    Some(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 16 * 1024;

    fn parse_str(wire: &str) -> (Parsed, BytesMut) {
        let mut buf = BytesMut::from(wire.as_bytes());
        let parsed = parse(&mut buf, MAX, &mut HeaderMap::new());
        (parsed, buf)
    }

    fn why(wire: &str) -> Option<NotSimple> {
        match parse_str(wire) {
            (Parsed::Other(why), buf) => {
                assert_eq!(&buf[..], wire.as_bytes(), "the buffer is left as it was");
                Some(why)
            }
            _ => None,
        }
    }

    #[test]
    fn a_bodiless_http11_request_in_origin_form_is_simple_and_taken_off_the_buffer() {
        let wire = "GET /a/%2e%2e/b?x=1 HTTP/1.1\r\nHost: api\r\nX-Multi: 1\r\nx-multi: 2\r\n\
                    content-length: 0\r\n\r\nGET /next";
        let (parsed, buf) = parse_str(wire);
        let Parsed::Simple { req, close } = parsed else {
            panic!("{parsed:?}")
        };
        assert!(!close);
        assert_eq!(req.method(), Method::GET);
        assert_eq!(req.uri(), "/a/%2e%2e/b?x=1");
        assert_eq!(req.version(), Version::HTTP_11);
        assert_eq!(req.headers()["host"], "api");
        let multi: Vec<_> = req.headers().get_all("x-multi").iter().collect();
        assert_eq!(multi, ["1", "2"]);
        assert!(matches!(req.body(), ClientBody::Empty));
        assert_eq!(&buf[..], b"GET /next", "the next request stays");
    }

    #[test]
    fn connection_close_is_simple_and_asks_to_close() {
        let (parsed, _) =
            parse_str("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\n\r\n");
        assert!(matches!(parsed, Parsed::Simple { close: true, .. }));
    }

    #[test]
    fn an_incomplete_head_asks_for_more_until_it_is_too_large() {
        assert!(matches!(
            parse_str("GET / HTTP/1.1\r\nHost: a\r\n").0,
            Parsed::Partial
        ));
        let long = format!("GET / HTTP/1.1\r\nx-long: {}", "a".repeat(MAX));
        assert_eq!(why(&long), Some(NotSimple::TooLarge));
        let complete = format!("GET / HTTP/1.1\r\nx-long: {}\r\n\r\n", "a".repeat(MAX));
        assert_eq!(why(&complete), Some(NotSimple::TooLarge));
    }

    #[test]
    fn http2_prior_knowledge_and_http10_are_hypers() {
        assert_eq!(
            why("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
            Some(NotSimple::Http2)
        );
        assert_eq!(why("GET / HTTP/1.0\r\n\r\n"), Some(NotSimple::Version));
    }

    #[test]
    fn a_request_with_a_body_is_hypers() {
        assert_eq!(
            why("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"),
            Some(NotSimple::Body)
        );
        assert_eq!(
            why("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Some(NotSimple::Body)
        );
        assert_eq!(
            why("GET / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: +0\r\n\r\n"),
            Some(NotSimple::Body)
        );
    }

    #[test]
    fn upgrades_and_expect_are_hypers() {
        assert_eq!(
            why("GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"),
            Some(NotSimple::Upgrade)
        );
        assert_eq!(
            why("GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n"),
            Some(NotSimple::Upgrade)
        );
        assert_eq!(
            why("GET / HTTP/1.1\r\nConnection: upgrade\r\n\r\n"),
            Some(NotSimple::Upgrade)
        );
        assert_eq!(
            why("GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n"),
            Some(NotSimple::Expect)
        );
    }

    #[test]
    fn targets_not_in_origin_form_are_hypers() {
        assert_eq!(
            why("GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n"),
            Some(NotSimple::Target)
        );
        assert_eq!(
            why("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"),
            Some(NotSimple::Target)
        );
        assert_eq!(
            why("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"),
            Some(NotSimple::Target)
        );
    }

    #[test]
    fn malformed_heads_and_too_many_fields_are_hypers() {
        assert_eq!(
            why("GET / HTTP/1.1\r\nbad header\r\n\r\n"),
            Some(NotSimple::Malformed)
        );
        assert_eq!(why("\x16\x03\x01\x02\x00\x01"), Some(NotSimple::Malformed));
        let many: String = (0..=MAX_HEADER_FIELDS)
            .map(|i| format!("x-{i}: 1\r\n"))
            .collect();
        assert_eq!(
            why(&format!("GET / HTTP/1.1\r\n{many}\r\n")),
            Some(NotSimple::TooManyFields)
        );
        let most: String = (0..MAX_HEADER_FIELDS)
            .map(|i| format!("x-{i}: 1\r\n"))
            .collect();
        let (parsed, _) = parse_str(&format!("GET / HTTP/1.1\r\n{most}\r\n"));
        assert!(
            matches!(parsed, Parsed::Simple { .. }),
            "exactly the most is simple"
        );
    }

    #[test]
    fn the_header_map_given_is_reused() {
        let mut cached = HeaderMap::with_capacity(32);
        cached.insert("x-old", http::HeaderValue::from_static("1"));
        let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"[..]);
        let Parsed::Simple { req, .. } = parse(&mut buf, MAX, &mut cached) else {
            panic!()
        };
        assert_eq!(req.headers().len(), 1, "cleared first");
        assert!(req.headers().capacity() >= 32, "its capacity kept");
    }
}
