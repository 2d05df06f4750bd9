//! The own HTTP/1.1 server's request heads (`src/proxy/serve1/parse.rs`): the bytes a client
//! sends, before any check of idlegate's own.

use bytes::BytesMut;
use http::{HeaderMap, Version};

use crate::proxy::serve1::parse::{parse, Parsed};
use crate::proxy::serve1::MAX_HEADER_FIELDS;

/// Input: what a client sent. Inputs whose length is a multiple of 5 are read with a small
/// `max_header_bytes` (64), the others with the default (65,536), so that both sides of the
/// size rule are reached.
///
/// Never a panic. A head that is not complete or is left to hyper leaves the buffer exactly
/// as it was (hyper must see every byte). A simple one agrees with httparse's own reading of
/// the same bytes: taken off exactly (what is left is what followed the head), within the
/// size, HTTP/1.1, its method and fields the same (as a multiset: the header map groups a
/// name's values), a target in origin form, and none of what makes a request not simple — a
/// body, an upgrade, `Expect`.
pub fn request_head(data: &[u8]) {
    let max = if data.len().is_multiple_of(5) {
        64
    } else {
        65_536
    };
    let mut buf = BytesMut::from(data);
    let mut headers = HeaderMap::new();
    let (req, _close) = match parse(&mut buf, max, &mut headers) {
        Parsed::Partial | Parsed::Other(_) => {
            assert_eq!(&buf[..], data, "the buffer is left as it was");
            return;
        }
        Parsed::Simple { req, close } => (req, close),
    };
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADER_FIELDS];
    let mut reference = httparse::Request::new(&mut fields);
    let Ok(httparse::Status::Complete(len)) = reference.parse(data) else {
        panic!("simple, but httparse does not read a complete head");
    };
    assert!(len <= max, "a simple head is within max_header_bytes");
    assert_eq!(&buf[..], &data[len..], "exactly the head is taken off");
    assert_eq!(reference.version, Some(1));
    assert_eq!(req.version(), Version::HTTP_11);
    assert_eq!(Some(req.method().as_str()), reference.method);
    assert!(req.uri().path().starts_with('/'), "origin form");
    let mut theirs: Vec<(String, Vec<u8>)> = (reference.headers.iter())
        .map(|h| (h.name.to_ascii_lowercase(), h.value.to_vec()))
        .collect();
    let mut ours: Vec<(String, Vec<u8>)> = (req.headers().iter())
        .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect();
    theirs.sort();
    ours.sort();
    assert_eq!(ours, theirs, "the same fields");
    for (name, value) in &ours {
        match name.as_str() {
            "content-length" => assert_eq!(value, b"0", "no body"),
            "transfer-encoding" | "upgrade" | "expect" => panic!("{name} in a simple request"),
            "connection" => assert!(
                !String::from_utf8_lossy(value)
                    .split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("upgrade")),
                "no upgrade"
            ),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_reaches_its_comparison_with_a_simple_head_and_its_pipelined_next() {
        let wire = b"GET /a HTTP/1.1\r\nHost: a\r\nX-M: 1\r\nx-m: 2\r\n\r\nGET /b HTTP/1.1\r\n";
        let mut buf = BytesMut::from(&wire[..]);
        let parsed = parse(&mut buf, 65_536, &mut HeaderMap::new());
        assert!(matches!(parsed, Parsed::Simple { .. }), "{parsed:?}");
        request_head(wire);
    }
}
