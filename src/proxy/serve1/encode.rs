//! Response heads on the wire and the body's framing, by hyper's server rules (its
//! `role::Server::encode`), so that a client sees the same answer either way:
//! - no body for `HEAD`, `1xx`, `204` and `304`; `content-length: 0` when a body that could be
//!   there is empty (not for `HEAD`, whose `content-length` is the `GET`'s);
//! - `content-length` when the body's size is exact, else chunked;
//! - a `date` unless the response has one;
//! - `connection: close` when the connection ends after this response.

use http::header::{self, HeaderMap};
use http::{Method, StatusCode};
use http_body::SizeHint;

use super::date;

/// How the response body is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Framing {
    /// No body is written (any the response has is dropped).
    Empty,
    Length(u64),
    Chunked,
}

/// What a response head says about the connection and its body.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Encoded {
    pub framing: Framing,
    /// The connection closes after this response.
    pub last: bool,
}

/// A response head that cannot be written faithfully.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum EncodeError {
    #[error("the response's content-length is not a length")]
    BadLength,
    #[error("the response has conflicting content-length values")]
    ConflictingLengths,
}

/// The body's length as hyper's dispatcher sees it: `None` for a body that has ended already.
pub(super) fn body_length(ended: bool, hint: SizeHint) -> Option<Option<u64>> {
    (!ended).then(|| hint.exact())
}

/// Whether a response to `method` with `status` carries a body at all.
pub(super) fn can_have_body(method: &Method, status: StatusCode) -> bool {
    method != Method::HEAD
        && !status.is_informational()
        && status != StatusCode::NO_CONTENT
        && status != StatusCode::NOT_MODIFIED
}

/// Writes the status line and fields of a response to `method` into `out` (appended) and
/// drains `headers`. `length`: see [`body_length`]. `keep_alive`: whether the connection
/// may carry another request after this one (no `Connection: close` from the client, no
/// drain).
pub(super) fn encode_head(
    out: &mut Vec<u8>,
    status: StatusCode,
    headers: &mut HeaderMap,
    method: &Method,
    length: Option<Option<u64>>,
    keep_alive: bool,
) -> Result<Encoded, EncodeError> {
    if status.is_informational() {
        // hyper's server refuses to send a 1xx as the final response: a 500, and close.
        headers.clear();
        out.extend_from_slice(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n");
        out.extend_from_slice(b"connection: close\r\ndate: ");
        date::extend(out);
        out.extend_from_slice(b"\r\n\r\n");
        return Ok(Encoded {
            framing: Framing::Empty,
            last: true,
        });
    }
    let start = out.len();
    status_line(out, status);
    let mut last = !keep_alive;
    let mut framing = None;
    let mut wrote_date = false;
    let mut close_said = false;
    for (name, value) in headers.iter() {
        match *name {
            header::CONTENT_LENGTH => {
                match length_field(value.as_bytes(), method, length) {
                    Ok(LengthField::Skip) => {}
                    Ok(LengthField::Write(n)) => match framing {
                        None => {
                            framing = Some(Framing::Length(n));
                            field(out, b"content-length", itoa(n, &mut [0u8; 20]));
                        }
                        // Written once; the body's own size wins over the fields, as in hyper.
                        Some(Framing::Length(m)) if m == n || length.flatten().is_some() => {}
                        Some(_) => return rewind(out, start, EncodeError::ConflictingLengths),
                    },
                    Err(e) => return rewind(out, start, e),
                }
                continue;
            }
            // Framing is the server's to choose; a field of the handler's would contradict it.
            header::TRANSFER_ENCODING | header::TRAILER => continue,
            header::CONNECTION => {
                let close = value
                    .as_bytes()
                    .split(|&b| b == b',')
                    .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"));
                close_said |= close;
                last |= close;
            }
            header::DATE => wrote_date = true,
            _ => {}
        }
        field(out, name.as_str().as_bytes(), value.as_bytes());
    }
    if last && !close_said {
        // As hyper's `enforce_version`: `close` joins the connection's field.
        field(out, b"connection", b"close");
    }
    let framing = match framing {
        Some(f) => f,
        None => implicit_framing(out, method, status, length),
    };
    let framing = if can_have_body(method, status) {
        framing
    } else {
        Framing::Empty
    };
    if !wrote_date {
        out.extend_from_slice(b"date: ");
        date::extend(out);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    headers.clear();
    Ok(Encoded { framing, last })
}

fn rewind(out: &mut Vec<u8>, start: usize, e: EncodeError) -> Result<Encoded, EncodeError> {
    out.truncate(start);
    Err(e)
}

fn status_line(out: &mut Vec<u8>, status: StatusCode) {
    if status == StatusCode::OK {
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        return;
    }
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    // A reason must be written: many parsers expect one.
    let reason = status.canonical_reason().unwrap_or("<none>");
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

enum LengthField {
    /// Not written: a body that has ended already, answering anything but `HEAD`.
    Skip,
    Write(u64),
}

/// What a `content-length` field of the response becomes.
fn length_field(
    value: &[u8],
    method: &Method,
    length: Option<Option<u64>>,
) -> Result<LengthField, EncodeError> {
    match length {
        // The body knows its size: trusted over the field, as hyper does.
        Some(Some(n)) => Ok(LengthField::Write(n)),
        Some(None) => parse_length(value).map(LengthField::Write),
        None if method == Method::HEAD => parse_length(value).map(LengthField::Write),
        None => Ok(LengthField::Skip),
    }
}

fn parse_length(value: &[u8]) -> Result<u64, EncodeError> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return Err(EncodeError::BadLength);
    }
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(EncodeError::BadLength)
}

/// The framing of a response without a `content-length` field, writing the field it needs.
fn implicit_framing(
    out: &mut Vec<u8>,
    method: &Method,
    status: StatusCode,
    length: Option<Option<u64>>,
) -> Framing {
    match length {
        Some(None) => {
            if can_have_body(method, status) {
                out.extend_from_slice(b"transfer-encoding: chunked\r\n");
            }
            Framing::Chunked
        }
        None | Some(Some(0)) => {
            let zero_allowed = method != Method::HEAD && can_have_length(status);
            if zero_allowed {
                out.extend_from_slice(b"content-length: 0\r\n");
            }
            Framing::Empty
        }
        Some(Some(n)) => {
            if can_have_length(status) {
                out.extend_from_slice(b"content-length: ");
                out.extend_from_slice(itoa(n, &mut [0u8; 20]));
                out.extend_from_slice(b"\r\n");
            }
            Framing::Length(n)
        }
    }
}

/// hyper's `can_have_content_length` (no `CONNECT` here: its target is never in origin form).
fn can_have_length(status: StatusCode) -> bool {
    !status.is_informational()
        && status != StatusCode::NO_CONTENT
        && status != StatusCode::NOT_MODIFIED
}

/// `n` in decimal, written into the end of `buf`.
fn itoa(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// The size line of one chunk of the chunked coding.
pub(super) fn chunk_size(out: &mut Vec<u8>, len: usize) {
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    let mut n = len;
    loop {
        i -= 1;
        digits[i] = b"0123456789abcdef"[n & 15];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests;
