//! Header fields parsed by httparse, kept as offsets into the head while the head is still in
//! the read buffer, and made into a `HeaderMap` once it has been split off (its values then
//! share the head's bytes: no copy). Both heads the proxy parses itself go this way: a
//! client's request (`serve1/parse.rs`) and an upstream's response (`h1/head.rs`).
//!
//! Layout: a low file; imports nothing of the crate.

use arrayvec::ArrayVec;
use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};

/// Most header fields in a head idlegate parses itself (Envoy's default; hyper's for
/// responses).
pub(crate) const MAX_FIELDS: usize = 100;

/// Where one field sits in its head: name from, name to, value from, value to.
type Span = (usize, usize, usize, usize);

/// The spans of a head's fields. An `ArrayVec`, not an array: an array is zeroed first, and
/// 100 spans are 3.2 KB, per request and per response.
pub(crate) struct Spans(ArrayVec<Span, MAX_FIELDS>);

/// A field `http` refuses although httparse accepted it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BadField {
    Name,
    Value,
}

impl Spans {
    pub(crate) fn new() -> Spans {
        Spans(ArrayVec::new())
    }

    /// Records where `fields`, which httparse found in `buf`, sit (at most [`MAX_FIELDS`]).
    /// Filled in place: built in a function and returned, the 3.2 KB were copied (+380
    /// instructions a request, callgrind).
    pub(crate) fn record(&mut self, buf: &[u8], fields: &[httparse::Header<'_>]) {
        let base = buf.as_ptr() as usize;
        self.0.clear();
        for f in fields {
            let name = f.name.as_ptr() as usize - base;
            let value = f.value.as_ptr() as usize - base;
            self.0
                .push((name, name + f.name.len(), value, value + f.value.len()));
        }
    }

    /// Puts the fields into `headers` (cleared first; its capacity reused), taking them from
    /// `head`, the bytes that were `buf` in [`Spans::record`].
    pub(crate) fn fill(&self, head: &Bytes, headers: &mut HeaderMap) -> Result<(), BadField> {
        headers.clear();
        headers.reserve(self.0.len());
        for &(n0, n1, v0, v1) in &self.0 {
            let name = HeaderName::from_bytes(&head[n0..n1]).map_err(|_| BadField::Name)?;
            let value = HeaderValue::from_maybe_shared(head.slice(v0..v1));
            headers.append(name, value.map_err(|_| BadField::Value)?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(wire: &'static [u8]) -> (Spans, Bytes) {
        let mut fields = [httparse::EMPTY_HEADER; 4];
        let mut req = httparse::Request::new(&mut fields);
        assert!(req.parse(wire).unwrap().is_complete());
        let mut spans = Spans::new();
        spans.record(wire, req.headers);
        (spans, Bytes::from_static(wire))
    }

    #[test]
    fn fields_come_back_in_order_repeated_names_included() {
        let (spans, head) = parse(b"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\n\r\n");
        let mut headers = HeaderMap::new();
        headers.insert("stale", HeaderValue::from_static("gone"));
        spans.fill(&head, &mut headers).unwrap();
        assert_eq!(headers.len(), 3, "{headers:?}");
        assert_eq!(headers["host"], "a");
        let xa: Vec<_> = headers.get_all("x-a").iter().collect();
        assert_eq!(xa, ["1", "2"]);
    }

    #[test]
    fn a_name_or_value_http_refuses_is_named_as_such() {
        // httparse refuses these too, in practice; the spans are made by hand.
        let head = Bytes::from_static(b"a b:x\x7fy");
        let mut headers = HeaderMap::new();
        let bad_name = Spans([(0, 3, 4, 5)].into_iter().collect());
        assert_eq!(bad_name.fill(&head, &mut headers), Err(BadField::Name));
        let bad_value = Spans([(0, 1, 4, 7)].into_iter().collect());
        assert_eq!(bad_value.fill(&head, &mut headers), Err(BadField::Value));
    }
}
