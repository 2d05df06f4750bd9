//! Compact JWS handling without verification: the signing input and the unverified `exp` claim.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;

/// base64url; JWS omits the padding, but a stray `=` is harmless for reading `exp`.
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `(header, payload)` when `token` is exactly three non-empty dot-separated segments.
/// The dots are found with `memchr` (SIMD): `str::split` scanned a 400-byte token a word at
/// a time, some 1,000 instructions of every proxied request (callgrind).
fn jws_parts(token: &str) -> Option<(&str, &str)> {
    let bytes = token.as_bytes();
    let first = memchr::memchr(b'.', bytes)?;
    let second = first + 1 + memchr::memchr(b'.', &bytes[first + 1..])?;
    let (header, payload) = (&token[..first], &token[first + 1..second]);
    let signature = &bytes[second + 1..];
    let three_non_empty = !header.is_empty()
        && !payload.is_empty()
        && !signature.is_empty()
        && memchr::memchr(b'.', signature).is_none();
    three_non_empty.then_some((header, payload))
}

/// For a compact JWS (exactly three non-empty dot-separated segments) the first two segments
/// joined by `.`; otherwise the whole token.
pub fn signing_input(token: &str) -> &str {
    match jws_parts(token) {
        // header + '.' + payload is a prefix of the token: no allocation needed.
        Some((header, payload)) => &token[..header.len() + 1 + payload.len()],
        None => token,
    }
}

/// The numeric `exp` claim (Unix seconds) of a compact JWS, read without verification.
/// Fractions are truncated; negative, non-numeric or absent values (or a token that is not a
/// JWS) give None.
pub fn jwt_exp(token: &str) -> Option<u64> {
    let (_, payload) = jws_parts(token)?;
    let bytes = B64URL.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.as_object()?.get("exp")?;
    if let Some(secs) = exp.as_u64() {
        return Some(secs);
    }
    let secs = exp.as_f64()?;
    // `as` saturates; the range check keeps huge or negative values out.
    (secs.is_finite() && secs >= 0.0 && secs < u64::MAX as f64).then_some(secs as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    fn jws(payload: &str) -> String {
        format!("{}.{}.c2ln", b64(r#"{"alg":"ES256"}"#), b64(payload))
    }

    #[test]
    fn jws_signing_input_is_first_two_segments() {
        assert_eq!(signing_input("aa.bb.cc"), "aa.bb");
        assert_eq!(signing_input("aa.bb.other-signature"), "aa.bb");
    }

    #[test]
    fn non_jws_tokens_are_keyed_whole() {
        for t in [
            "a..c",
            ".b.c",
            "a.b.",
            "a.b",
            "opaque",
            "a.b.c.d.e",
            "a.b.c.d",
            ".",
            "..",
            "...",
            "",
        ] {
            assert_eq!(signing_input(t), t);
        }
    }

    #[test]
    fn exp_read_from_payload() {
        assert_eq!(
            jwt_exp(&jws(r#"{"sub":"x","exp":1700000000}"#)),
            Some(1_700_000_000)
        );
        assert_eq!(
            jwt_exp(&jws(r#"{"exp":1700000000.9}"#)),
            Some(1_700_000_000)
        );
    }

    #[test]
    fn exp_missing_or_not_numeric_is_none() {
        assert_eq!(jwt_exp(&jws(r#"{"sub":"x"}"#)), None);
        assert_eq!(jwt_exp(&jws(r#"{"exp":"1700000000"}"#)), None);
        assert_eq!(jwt_exp(&jws(r#"{"exp":-5}"#)), None);
        assert_eq!(jwt_exp(&jws(r#"[1,2]"#)), None);
    }

    #[test]
    fn exp_of_garbage_is_none() {
        assert_eq!(jwt_exp("not a jwt"), None);
        assert_eq!(jwt_exp("a.!!!.c"), None);
        assert_eq!(jwt_exp(&format!("a.{}.c", b64("not json"))), None);
        assert_eq!(jwt_exp(&format!("a..{}", b64(r#"{"exp":1}"#))), None);
        assert_eq!(jwt_exp("\u{0}.\u{ffff}.\u{1}"), None);
    }
}
