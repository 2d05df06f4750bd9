//! The `chunked` transfer coding of an upstream response (RFC 9112, section 7.1), decoded in
//! place from the connection's read buffer: each chunk's data leaves as a slice of that buffer
//! (no copy); extensions and trailers are read and dropped.

use bytes::{Buf, Bytes, BytesMut};

/// Longest chunk-size line, extensions included, and longest trailer section.
const MAX_LINE: usize = 4096;
const MAX_TRAILERS: usize = 16 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum ChunkError {
    #[error("invalid chunk size line")]
    Size,
    #[error("chunk data not followed by CRLF")]
    MissingCrlf,
    #[error("chunk size line or trailers too long")]
    TooLong,
}

/// What one step of decoding found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded {
    Data(Bytes),
    /// The last chunk and the trailers have been read: the message is complete.
    End,
}

#[derive(Debug, Default)]
pub(crate) struct Decoder {
    state: State,
    trailer_bytes: usize,
}

#[derive(Debug, Default, Clone, Copy)]
enum State {
    #[default]
    Size,
    Data(u64),
    DataEnd,
    Trailers,
    Done,
}

impl Decoder {
    /// Decodes from the front of `buf`; `Ok(None)` when more bytes are needed.
    pub(crate) fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Decoded>, ChunkError> {
        loop {
            match self.state {
                State::Size => {
                    let Some(line) = take_line(buf, MAX_LINE)? else {
                        return Ok(None);
                    };
                    let size = chunk_size(&line)?;
                    self.state = if size == 0 {
                        State::Trailers
                    } else {
                        State::Data(size)
                    };
                }
                State::Data(left) => {
                    if buf.is_empty() {
                        return Ok(None);
                    }
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                    let data = buf.split_to(n).freeze();
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        State::DataEnd
                    } else {
                        State::Data(left)
                    };
                    return Ok(Some(Decoded::Data(data)));
                }
                State::DataEnd => {
                    if buf.len() < 2 {
                        return Ok(None);
                    }
                    if &buf[..2] != b"\r\n" {
                        return Err(ChunkError::MissingCrlf);
                    }
                    buf.advance(2);
                    self.state = State::Size;
                }
                State::Trailers => {
                    let Some(line) = take_line(buf, MAX_LINE)? else {
                        return Ok(None);
                    };
                    if line.is_empty() {
                        self.state = State::Done;
                        return Ok(Some(Decoded::End));
                    }
                    self.trailer_bytes += line.len();
                    if self.trailer_bytes > MAX_TRAILERS {
                        return Err(ChunkError::TooLong);
                    }
                }
                State::Done => return Ok(Some(Decoded::End)),
            }
        }
    }
}

/// The next CRLF-terminated line without its CRLF, taken off `buf`; None when no full line is
/// there yet.
fn take_line(buf: &mut BytesMut, max: usize) -> Result<Option<BytesMut>, ChunkError> {
    match buf.iter().position(|&b| b == b'\n') {
        Some(end) => {
            if end == 0 || buf[end - 1] != b'\r' {
                return Err(ChunkError::Size);
            }
            let mut line = buf.split_to(end + 1);
            line.truncate(end - 1);
            Ok(Some(line))
        }
        None if buf.len() > max => Err(ChunkError::TooLong),
        None => Ok(None),
    }
}

/// The hex size at the start of a chunk-size line; extensions after `;` are ignored.
fn chunk_size(line: &[u8]) -> Result<u64, ChunkError> {
    let digits = line
        .iter()
        .position(|b| !b.is_ascii_hexdigit())
        .unwrap_or(line.len());
    let rest = &line[digits..];
    let rest_ok = rest.is_empty()
        || rest
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t'))
            .is_some_and(|i| rest[i] == b';');
    if digits == 0 || digits > 15 || !rest_ok {
        return Err(ChunkError::Size);
    }
    let text = std::str::from_utf8(&line[..digits]).map_err(|_| ChunkError::Size)?;
    u64::from_str_radix(text, 16).map_err(|_| ChunkError::Size)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8], step: usize) -> Result<(Vec<u8>, bool), ChunkError> {
        let mut d = Decoder::default();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for piece in input.chunks(step.max(1)) {
            buf.extend_from_slice(piece);
            while let Some(found) = d.decode(&mut buf)? {
                match found {
                    Decoded::Data(b) => out.extend_from_slice(&b),
                    Decoded::End => return Ok((out, true)),
                }
            }
        }
        Ok((out, false))
    }

    #[test]
    fn chunks_decode_to_their_data_whatever_the_read_sizes() {
        let wire = b"5\r\nhello\r\n6;name=value\r\n world\r\n0\r\nx-trailer: 1\r\n\r\n";
        for step in 1..wire.len() {
            let (data, done) = decode_all(wire, step).unwrap();
            assert_eq!(data, b"hello world", "step {step}");
            assert!(done, "step {step}");
        }
    }

    #[test]
    fn a_message_without_its_last_chunk_is_not_complete() {
        let (data, done) = decode_all(b"3\r\nabc\r\n", 64).unwrap();
        assert_eq!(data, b"abc");
        assert!(!done);
    }

    #[test]
    fn malformed_framing_is_an_error_not_a_guess() {
        assert_eq!(decode_all(b"zz\r\n", 64), Err(ChunkError::Size));
        assert_eq!(
            decode_all(b"3\r\nabcX\r\n", 64),
            Err(ChunkError::MissingCrlf)
        );
        assert_eq!(decode_all(b"3\nabc", 64), Err(ChunkError::Size));
        assert_eq!(
            decode_all(b"ffffffffffffffff\r\n", 64),
            Err(ChunkError::Size)
        );
        let long = vec![b'1'; MAX_LINE + 2];
        assert_eq!(decode_all(&long, 64), Err(ChunkError::TooLong));
    }
}
