//! Heads on the wire: the request head idlegate writes upstream, and the response head it
//! reads back with the body's framing (RFC 9112, sections 6.1–6.3).

use std::mem::MaybeUninit;

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, StatusCode};

use crate::proxy::fields::{BadField, Spans, MAX_FIELDS};

/// How the response body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body: a HEAD request, 204 or 304.
    Empty,
    Length(u64),
    Chunked,
    /// Until the upstream closes the connection.
    UntilClose,
}

/// A response head read off the connection; its fields went into the map the caller gave.
#[derive(Debug)]
pub(crate) struct Head {
    pub status: StatusCode,
    pub framing: Framing,
    /// The connection may carry another request once the body has been read.
    pub keep_alive: bool,
    /// What was read past the head (the start of the body), sharing one buffer with the
    /// field values.
    pub rest: Bytes,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum HeadError {
    #[error("invalid response head from the upstream: {0}")]
    Invalid(&'static str),
}

/// Writes the request line and header fields of `req` (origin-form target, `Host` already
/// set) into `out`; the `extra` fields replace any field of their names.
pub(crate) fn encode_request<B>(
    req: &Request<B>,
    extra: &[(HeaderName, HeaderValue)],
    out: &mut Vec<u8>,
) {
    out.clear();
    out.extend_from_slice(req.method().as_str().as_bytes());
    out.push(b' ');
    let target = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let replaced = |name: &HeaderName| extra.iter().any(|(n, _)| n == name);
    let kept = req.headers().iter().filter(|(name, _)| !replaced(name));
    for (name, value) in kept.chain(extra.iter().map(|(n, v)| (n, v))) {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    // As hyper's client does: a method that usually carries a body says it has none.
    let usually_has_body = matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH);
    if usually_has_body && !req.headers().contains_key(header::CONTENT_LENGTH) {
        out.extend_from_slice(b"content-length: 0\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Parses a complete response head at the front of `buf` into `headers` (cleared first; its
/// capacity is reused) and empties `buf`; `Ok(None)` when the head is not complete yet, and
/// then nothing is touched. The field values and the start of the body are slices of what was
/// read (no copy); the buffer is reclaimed for the next read once they are gone.
pub(crate) fn parse_response(
    buf: &mut BytesMut,
    method: &Method,
    headers: &mut HeaderMap,
) -> Result<Option<Head>, HeadError> {
    // Left uninitialised, and the spans in an `ArrayVec`: zeroing 100 fields and 100 spans
    // (6.4 KB) was 9 % of a proxied request's instructions (callgrind).
    let mut fields = [const { MaybeUninit::uninit() }; MAX_FIELDS];
    let mut parsed = httparse::Response::new(&mut []);
    let parser = httparse::ParserConfig::default();
    let len = match parser.parse_response_with_uninit_headers(&mut parsed, buf, &mut fields) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(HeadError::Invalid("too many header fields"))
        }
        Err(_) => return Err(HeadError::Invalid("not an HTTP/1.x response")),
    };
    let code = parsed.code.unwrap_or(0);
    let status = StatusCode::from_u16(code).map_err(|_| HeadError::Invalid("bad status code"))?;
    let http11 = parsed.version == Some(1);
    // Offsets into the head, so that the fields can be made once what was read has been
    // split off the buffer.
    let mut spans = Spans::new();
    spans.record(buf, parsed.headers);
    let mut read = buf.split().freeze();
    spans.fill(&read, headers).map_err(|bad| match bad {
        BadField::Name => HeadError::Invalid("bad header name"),
        BadField::Value => HeadError::Invalid("bad header value"),
    })?;
    let rest = read.split_off(len);
    let (framing, framing_keeps) = framing(method, status, headers)?;
    let keep_alive = framing_keeps && persistent(http11, headers);
    Ok(Some(Head {
        status,
        framing,
        keep_alive,
        rest,
    }))
}

/// The body's framing, and whether it leaves the connection usable (RFC 9112, 6.3).
fn framing(
    method: &Method,
    status: StatusCode,
    headers: &HeaderMap,
) -> Result<(Framing, bool), HeadError> {
    if method == Method::HEAD
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
        || status.is_informational()
    {
        return Ok((Framing::Empty, true));
    }
    if headers.contains_key(header::TRANSFER_ENCODING) {
        let last = headers
            .get_all(header::TRANSFER_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|c| !c.is_empty());
        let chunked = last.is_some_and(|c| c.eq_ignore_ascii_case("chunked"));
        // Both framings at once is how response smuggling starts: never reuse the connection.
        let both = headers.contains_key(header::CONTENT_LENGTH);
        return Ok(if chunked {
            (Framing::Chunked, !both)
        } else {
            (Framing::UntilClose, false)
        });
    }
    let mut length = None;
    for v in headers.get_all(header::CONTENT_LENGTH) {
        let text = v
            .to_str()
            .map_err(|_| HeadError::Invalid("bad content-length"))?;
        for part in text.split(',') {
            let n: u64 = part
                .trim()
                .parse()
                .ok()
                .filter(|_| part.trim().bytes().all(|b| b.is_ascii_digit()))
                .ok_or(HeadError::Invalid("bad content-length"))?;
            if length.is_some_and(|l| l != n) {
                return Err(HeadError::Invalid("conflicting content-length"));
            }
            length = Some(n);
        }
    }
    Ok(match length {
        Some(n) => (Framing::Length(n), true),
        None => (Framing::UntilClose, false),
    })
}

/// Whether the upstream keeps the connection open: HTTP/1.1 unless `Connection: close`,
/// HTTP/1.0 only with `Connection: keep-alive`.
fn persistent(http11: bool, headers: &HeaderMap) -> bool {
    let has = |token: &str| {
        headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    if http11 {
        !has("close")
    } else {
        has("keep-alive")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(wire: &[u8], method: Method) -> Result<Option<(Head, HeaderMap)>, HeadError> {
        let mut buf = BytesMut::from(wire);
        let mut headers = HeaderMap::new();
        let head = parse_response(&mut buf, &method, &mut headers)?;
        Ok(head.map(|h| (h, headers)))
    }

    #[test]
    fn a_request_head_is_written_as_received_in_origin_form() {
        let req = Request::get("/a/%2e%2e/b?x=1")
            .header("host", "up:9000")
            .header("x-multi", "1")
            .header("x-multi", "2")
            .body(())
            .unwrap();
        let mut out = Vec::new();
        encode_request(&req, &[], &mut out);
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            "GET /a/%2e%2e/b?x=1 HTTP/1.1\r\nhost: up:9000\r\nx-multi: 1\r\nx-multi: 2\r\n\r\n"
        );
        let xff = HeaderName::from_static("x-multi");
        encode_request(&req, &[(xff, HeaderValue::from_static("3"))], &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "GET /a/%2e%2e/b?x=1 HTTP/1.1\r\nhost: up:9000\r\nx-multi: 3\r\n\r\n",
            "an extra field replaces every field of its name"
        );
    }

    #[test]
    fn a_partial_head_asks_for_more_and_leaves_the_buffer_alone() {
        let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\ncontent-len"[..]);
        let mut headers = HeaderMap::new();
        headers.insert("x-kept", HeaderValue::from_static("1"));
        assert!(parse_response(&mut buf, &Method::GET, &mut headers)
            .unwrap()
            .is_none());
        assert_eq!(buf.len(), 28);
        assert_eq!(
            headers.len(),
            1,
            "nothing touched before the head is complete"
        );
    }

    #[test]
    fn the_head_fills_the_given_map_and_the_body_bytes_follow() {
        let wire = &b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b\r\n\r\nok"[..];
        let mut buf = BytesMut::from(wire);
        let mut headers = HeaderMap::new();
        headers.insert("x-request-field", HeaderValue::from_static("1"));
        let head = parse_response(&mut buf, &Method::GET, &mut headers)
            .unwrap()
            .unwrap();
        assert_eq!(head.status, 200);
        assert_eq!(head.framing, Framing::Length(2));
        assert!(head.keep_alive);
        assert_eq!(headers.len(), 2, "the map was cleared first");
        assert_eq!(headers["x-a"], "b");
        assert_eq!(&head.rest[..], b"ok");
        assert!(buf.is_empty());
    }

    #[test]
    fn framing_follows_rfc_9112() {
        let f = |wire: &[u8], m: Method| {
            let (h, _) = parse(wire, m).unwrap().unwrap();
            (h.framing, h.keep_alive)
        };
        assert_eq!(
            f(
                b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n",
                Method::HEAD
            ),
            (Framing::Empty, true)
        );
        assert_eq!(
            f(b"HTTP/1.1 204 No Content\r\n\r\n", Method::GET),
            (Framing::Empty, true)
        );
        assert_eq!(
            f(b"HTTP/1.1 304 Not Modified\r\n\r\n", Method::GET),
            (Framing::Empty, true)
        );
        assert_eq!(
            f(
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n",
                Method::GET
            ),
            (Framing::Chunked, true)
        );
        assert_eq!(
            f(
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n",
                Method::GET
            ),
            (Framing::Chunked, false)
        );
        assert_eq!(
            f(
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n",
                Method::GET
            ),
            (Framing::UntilClose, false)
        );
        assert_eq!(
            f(b"HTTP/1.1 200 OK\r\n\r\n", Method::GET),
            (Framing::UntilClose, false)
        );
        assert_eq!(
            f(
                b"HTTP/1.1 200 OK\r\ncontent-length: 3, 3\r\n\r\n",
                Method::GET
            ),
            (Framing::Length(3), true)
        );
        assert_eq!(
            f(
                b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
                Method::GET
            ),
            (Framing::Length(0), false)
        );
        assert_eq!(
            f(b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n", Method::GET),
            (Framing::Length(0), false)
        );
        assert_eq!(
            f(
                b"HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 0\r\n\r\n",
                Method::GET
            ),
            (Framing::Length(0), true)
        );
    }

    #[test]
    fn a_malformed_head_is_refused() {
        let bad: [&[u8]; 5] = [
            b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: +3\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n",
            b"SSH-2.0-OpenSSH\r\n\r\n",
            b"HTTP/1.1 2000 OK\r\n\r\n",
        ];
        for wire in bad {
            assert!(
                parse(wire, Method::GET).is_err(),
                "{}",
                String::from_utf8_lossy(wire)
            );
        }
    }
}
