use super::*;
use http::HeaderValue;

/// The head for a response with `fields`, minus its `date` line, and what it says.
fn head(
    status: u16,
    fields: &[(&str, &str)],
    method: Method,
    length: Option<Option<u64>>,
    keep_alive: bool,
) -> (String, Encoded) {
    let mut headers = HeaderMap::new();
    for (n, v) in fields {
        headers.append(
            HeaderName::from_bytes(n.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    let mut out = Vec::new();
    let status = StatusCode::from_u16(status).unwrap();
    let encoded =
        encode_head(&mut out, status, &mut headers, &method, length, keep_alive).expect("encodes");
    assert!(headers.is_empty(), "the fields are drained");
    let text = String::from_utf8(out).unwrap();
    assert!(text.ends_with("\r\n\r\n"));
    let text = text
        .lines()
        .filter(|l| !l.starts_with("date: "))
        .collect::<Vec<_>>()
        .join("\n");
    (text, encoded)
}

use http::header::HeaderName;

#[test]
fn an_exact_body_gets_content_length_and_a_date() {
    let (text, enc) = head(
        200,
        &[("content-type", "a/b")],
        Method::GET,
        Some(Some(11)),
        true,
    );
    assert_eq!(
        text,
        "HTTP/1.1 200 OK\ncontent-type: a/b\ncontent-length: 11\n"
    );
    assert_eq!(
        enc,
        Encoded {
            framing: Framing::Length(11),
            last: false
        }
    );
    let mut out = Vec::new();
    encode_head(
        &mut out,
        StatusCode::OK,
        &mut HeaderMap::new(),
        &Method::GET,
        None,
        true,
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("\r\ndate: "), "{text}");
}

#[test]
fn a_body_of_unknown_size_is_chunked() {
    let (text, enc) = head(200, &[], Method::GET, Some(None), true);
    assert_eq!(text, "HTTP/1.1 200 OK\ntransfer-encoding: chunked\n");
    assert_eq!(enc.framing, Framing::Chunked);
}

#[test]
fn a_content_length_field_frames_a_body_of_unknown_size() {
    let (text, enc) = head(
        200,
        &[("content-length", "5")],
        Method::GET,
        Some(None),
        true,
    );
    assert_eq!(text, "HTTP/1.1 200 OK\ncontent-length: 5\n");
    assert_eq!(enc.framing, Framing::Length(5));
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("+5"));
    let mut out = b"kept".to_vec();
    let bad = encode_head(
        &mut out,
        StatusCode::OK,
        &mut headers,
        &Method::GET,
        Some(None),
        true,
    );
    assert_eq!(bad, Err(EncodeError::BadLength));
    assert_eq!(out, b"kept", "nothing half-written stays");
    let mut headers = HeaderMap::new();
    headers.append(header::CONTENT_LENGTH, HeaderValue::from_static("5"));
    headers.append(header::CONTENT_LENGTH, HeaderValue::from_static("6"));
    let bad = encode_head(
        &mut out,
        StatusCode::OK,
        &mut headers,
        &Method::GET,
        Some(None),
        true,
    );
    assert_eq!(bad, Err(EncodeError::ConflictingLengths));
}

#[test]
fn an_empty_body_gets_content_length_0_except_for_head_204_and_304() {
    let (text, enc) = head(200, &[], Method::GET, None, true);
    assert_eq!(text, "HTTP/1.1 200 OK\ncontent-length: 0\n");
    assert_eq!(enc.framing, Framing::Empty);
    let (text, _) = head(200, &[("content-length", "0")], Method::GET, None, true);
    assert_eq!(text, "HTTP/1.1 200 OK\ncontent-length: 0\n", "written once");
    for (status, method) in [(200, Method::HEAD), (204, Method::GET), (304, Method::GET)] {
        let (text, enc) = head(status, &[], method.clone(), None, true);
        assert!(
            !text.contains("content-length"),
            "{method} {status}: {text}"
        );
        assert_eq!(enc.framing, Framing::Empty);
    }
}

#[test]
fn head_keeps_the_gets_content_length_and_sends_no_body() {
    let (text, enc) = head(200, &[("content-length", "42")], Method::HEAD, None, true);
    assert_eq!(text, "HTTP/1.1 200 OK\ncontent-length: 42\n");
    assert_eq!(enc.framing, Framing::Empty);
    let (text, enc) = head(200, &[], Method::HEAD, Some(Some(7)), true);
    assert_eq!(text, "HTTP/1.1 200 OK\ncontent-length: 7\n");
    assert_eq!(enc.framing, Framing::Empty);
    let (text, enc) = head(200, &[], Method::HEAD, Some(None), true);
    assert_eq!(
        text, "HTTP/1.1 200 OK\n",
        "no chunked coding without a body"
    );
    assert_eq!(enc.framing, Framing::Empty);
}

#[test]
fn no_body_and_no_length_for_204_and_304_whatever_the_body_says() {
    for status in [204, 304] {
        let (text, enc) = head(status, &[], Method::GET, Some(Some(6)), true);
        assert!(!text.contains("content-length"), "{text}");
        assert_eq!(enc.framing, Framing::Empty);
        let (_, enc) = head(status, &[], Method::GET, Some(None), true);
        assert_eq!(enc.framing, Framing::Empty);
    }
}

#[test]
fn a_final_1xx_becomes_a_500_that_closes_as_in_hyper() {
    let (text, enc) = head(101, &[("upgrade", "x")], Method::GET, None, true);
    assert_eq!(
        text,
        "HTTP/1.1 500 Internal Server Error\ncontent-length: 0\nconnection: close\n"
    );
    assert_eq!(
        enc,
        Encoded {
            framing: Framing::Empty,
            last: true
        }
    );
}

#[test]
fn a_closing_connection_says_connection_close_once() {
    let (text, enc) = head(200, &[], Method::GET, None, false);
    assert_eq!(
        text,
        "HTTP/1.1 200 OK\nconnection: close\ncontent-length: 0\n"
    );
    assert!(enc.last);
    let (text, enc) = head(400, &[("connection", "close")], Method::GET, None, true);
    assert_eq!(
        text,
        "HTTP/1.1 400 Bad Request\nconnection: close\ncontent-length: 0\n"
    );
    assert!(enc.last, "the handler's `connection: close` closes");
    let (text, _) = head(400, &[("connection", "close")], Method::GET, None, false);
    assert_eq!(text.matches("connection").count(), 1, "{text}");
}

#[test]
fn framing_fields_of_the_response_are_the_servers_and_a_date_is_kept() {
    let fields = [
        ("transfer-encoding", "chunked"),
        ("trailer", "x"),
        ("date", "Sun, 06 Nov 1994 08:49:37 GMT"),
    ];
    let mut headers = HeaderMap::new();
    for (n, v) in fields {
        headers.append(n, HeaderValue::from_static(v));
    }
    let mut out = Vec::new();
    let enc = encode_head(
        &mut out,
        StatusCode::OK,
        &mut headers,
        &Method::GET,
        Some(Some(3)),
        true,
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text,
        "HTTP/1.1 200 OK\r\ndate: Sun, 06 Nov 1994 08:49:37 GMT\r\ncontent-length: 3\r\n\r\n"
    );
    assert_eq!(enc.framing, Framing::Length(3));
}

#[test]
fn an_unknown_status_gets_a_placeholder_reason() {
    let (text, _) = head(599, &[], Method::GET, None, true);
    assert!(text.starts_with("HTTP/1.1 599 <none>\n"), "{text}");
}

#[test]
fn chunk_sizes_are_hex() {
    let mut out = Vec::new();
    chunk_size(&mut out, 0x1a2b);
    chunk_size(&mut out, 0);
    assert_eq!(out, b"1a2b\r\n0\r\n");
    assert_eq!(itoa(0, &mut [0; 20]), b"0");
    assert_eq!(itoa(u64::MAX, &mut [0; 20]), b"18446744073709551615");
}
