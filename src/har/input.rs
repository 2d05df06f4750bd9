//! The bytes handed to the JSON parser: a UTF-8 byte-order mark in front of the document
//! (Fiddler writes one on every export, Chrome and Edge on Windows sometimes) is skipped, and a
//! UTF-16 one is named, instead of both failing as "not JSON" at line 1, column 1. Only the
//! first three bytes are looked at; the rest still streams.

use std::io::{self, Chain, Cursor, Read};

use super::error::HarError;

const UTF8_BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// `input` without a leading UTF-8 byte-order mark. A UTF-16 byte-order mark is an error
/// (the analysis reads UTF-8, as HAR 1.2 asks for).
pub(super) fn without_bom<R: Read>(mut input: R) -> Result<Chain<Cursor<Vec<u8>>, R>, HarError> {
    let mut head = [0u8; 3];
    let mut filled = 0;
    // A reader may hand out fewer bytes than asked (a pipe, a slow disk): read until three
    // bytes or the end.
    while filled < head.len() {
        match input.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(HarError::Read {
                    message: e.to_string(),
                })
            }
        }
    }
    let head = &head[..filled];
    if matches!(head, [0xFF, 0xFE, ..] | [0xFE, 0xFF, ..]) {
        return Err(HarError::NotJson {
            line: 1,
            column: 1,
            message: "the file is UTF-16 text; save the recording as UTF-8".to_owned(),
        });
    }
    let kept = if head == UTF8_BOM { &[][..] } else { head };
    Ok(Cursor::new(kept.to_vec()).chain(input))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out one byte per read, like a slow pipe.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((&b, rest)), Some(slot)) => {
                    *slot = b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    fn text(input: impl Read) -> Vec<u8> {
        let mut out = Vec::new();
        without_bom(input)
            .expect("readable")
            .read_to_end(&mut out)
            .expect("readable");
        out
    }

    #[test]
    fn a_utf8_bom_is_skipped_even_one_byte_at_a_time() {
        assert_eq!(text(&b"\xEF\xBB\xBF{\"log\":1}"[..]), b"{\"log\":1}");
        assert_eq!(text(Trickle(b"\xEF\xBB\xBF{}")), b"{}");
        assert_eq!(text(&b"\xEF\xBB\xBF"[..]), b"");
    }

    #[test]
    fn anything_else_is_passed_through_whole() {
        for input in [
            &b""[..],
            b"{",
            b"{}",
            b"{\"log\":{}}",
            b"\xEF\xBB{",
            b"\xEF\xBB\xBF\xEF",
        ] {
            let want = input.strip_prefix(&UTF8_BOM[..]).unwrap_or(input);
            assert_eq!(text(input), want);
            assert_eq!(text(Trickle(input)), want);
        }
    }

    #[test]
    fn utf16_is_named() {
        for input in [&b"\xFF\xFE{\0"[..], b"\xFE\xFF\0{"] {
            match without_bom(input) {
                Err(HarError::NotJson { message, .. }) => assert!(message.contains("UTF-16")),
                other => panic!("{:?}", other.map(|_| ())),
            }
        }
    }
}
