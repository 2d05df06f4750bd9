//! Reading a recorded JWT's claims WITHOUT verifying it (docs/reference.md, "HAR analysis"):
//! recordings hold old, expired tokens signed by keys that may be gone, and the analysis only
//! needs the subject and the groups that pick a token's timeout policy.
//!
//! One function, [`decode_unverified`], with the same shape as the proxy's claim reader, so the
//! analysis can switch to that one by changing its `use` line.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use serde_json::Value;

use crate::token::Claims;

/// A token with more groups than this is not read: no identity provider sends so many, and a
/// policy picked from an arbitrary prefix of them would be a guess.
const MAX_GROUPS: usize = 256;

/// A longer subject is not read (it is shown in the report and names a user, not a document).
const MAX_SUBJECT_BYTES: usize = 256;

/// base64url; JWS omits the padding, but a stray `=` does not make the claims unreadable.
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The claims of a compact JWS (`header.payload.signature`, the signature is not checked).
/// `subject_path` and `groups_path` are dotted claim paths already split at the dots.
///
/// None when the token is not a compact JWS, its payload is not base64url JSON of an object,
/// the subject is not a string of at most 256 bytes, or the groups are neither an array of
/// strings nor a space-separated string, or more than 256. An absent subject or groups claim
/// is not an error: `subject` is None, `groups` empty.
pub(super) fn decode_unverified(
    token: &str,
    subject_path: &[String],
    groups_path: &[String],
) -> Option<Claims> {
    let payload = jws_payload(token)?;
    let bytes = B64URL.decode(payload).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    if !claims.is_object() {
        return None;
    }
    let subject = match claim(&claims, subject_path) {
        None => None,
        Some(Value::String(s)) if s.len() <= MAX_SUBJECT_BYTES => Some(s.clone()),
        Some(_) => return None,
    };
    let groups = match claim(&claims, groups_path) {
        None => Vec::new(),
        Some(value) => groups(value)?,
    };
    Some(Claims {
        subject,
        groups,
        exp_s: claims.get("exp").and_then(unix_seconds),
    })
}

/// The payload segment when `token` is exactly three non-empty dot-separated segments.
fn jws_payload(token: &str) -> Option<&str> {
    let mut parts = token.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    let compact = parts.next().is_none()
        && !header.is_empty()
        && !payload.is_empty()
        && !signature.is_empty();
    compact.then_some(payload)
}

/// The value at a dotted path; None when any step is missing or not an object (or `null`,
/// which identity providers write for "no value").
fn claim<'v>(claims: &'v Value, path: &[String]) -> Option<&'v Value> {
    if path.is_empty() {
        return None;
    }
    let value = path
        .iter()
        .try_fold(claims, |value, step| value.as_object()?.get(step))?;
    (!value.is_null()).then_some(value)
}

/// An array of strings, or one space-separated string; None for anything else.
fn groups(value: &Value) -> Option<Vec<String>> {
    let groups: Vec<String> = match value {
        Value::String(s) => s.split_whitespace().map(str::to_owned).collect(),
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<_>>()?,
        _ => return None,
    };
    (groups.len() <= MAX_GROUPS).then_some(groups)
}

/// A non-negative number of seconds, fractions truncated.
fn unix_seconds(value: &Value) -> Option<u64> {
    if let Some(secs) = value.as_u64() {
        return Some(secs);
    }
    let secs = value.as_f64()?;
    (secs.is_finite() && secs >= 0.0 && secs < u64::MAX as f64).then_some(secs as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    fn jwt(payload: &str) -> String {
        format!("{}.{}.c2ln", b64(r#"{"alg":"RS256"}"#), b64(payload))
    }

    fn path(dotted: &str) -> Vec<String> {
        dotted.split('.').map(str::to_owned).collect()
    }

    fn decode(token: &str) -> Option<Claims> {
        decode_unverified(token, &path("sub"), &path("groups"))
    }

    #[test]
    fn subject_and_group_array_are_read_without_verification() {
        let c = decode(&jwt(
            r#"{"sub":"alice","groups":["agent","admin"],"exp":1}"#,
        ))
        .unwrap();
        assert_eq!(c.subject.as_deref(), Some("alice"));
        assert_eq!(c.groups, ["agent", "admin"]);
        assert_eq!(c.exp_s, Some(1));
    }

    #[test]
    fn space_separated_groups_string_is_split() {
        let c = decode(&jwt(r#"{"groups":"agent  admin"}"#)).unwrap();
        assert_eq!(c.groups, ["agent", "admin"]);
        assert_eq!(c.subject, None);
    }

    #[test]
    fn dotted_paths_reach_nested_claims() {
        let token = jwt(r#"{"user":{"id":"u-1"},"realm_access":{"roles":["supervisor"]}}"#);
        let c = decode_unverified(&token, &path("user.id"), &path("realm_access.roles")).unwrap();
        assert_eq!(c.subject.as_deref(), Some("u-1"));
        assert_eq!(c.groups, ["supervisor"]);
    }

    #[test]
    fn absent_or_null_claims_are_no_subject_and_no_groups() {
        let c = decode(&jwt(r#"{"groups":null,"other":1}"#)).unwrap();
        assert_eq!(c, Claims::default());
        let nested = decode_unverified(&jwt(r#"{"a":"x"}"#), &path("a.b"), &path("g")).unwrap();
        assert_eq!(nested.subject, None);
    }

    #[test]
    fn groups_of_the_wrong_type_make_the_claims_unreadable() {
        for payload in [
            r#"{"groups":5}"#,
            r#"{"groups":{"a":1}}"#,
            r#"{"groups":["a",1]}"#,
            r#"{"groups":true}"#,
        ] {
            assert_eq!(decode(&jwt(payload)), None, "{payload}");
        }
    }

    #[test]
    fn more_than_256_groups_make_the_claims_unreadable() {
        let many = |n: usize| {
            (0..n)
                .map(|i| format!("g{i}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let at_limit = jwt(&format!(r#"{{"groups":"{}"}}"#, many(256)));
        assert_eq!(decode(&at_limit).unwrap().groups.len(), 256);
        assert_eq!(
            decode(&jwt(&format!(r#"{{"groups":"{}"}}"#, many(257)))),
            None
        );
    }

    #[test]
    fn subject_that_is_not_a_short_string_makes_the_claims_unreadable() {
        assert_eq!(decode(&jwt(r#"{"sub":42}"#)), None);
        let long = "x".repeat(257);
        assert_eq!(decode(&jwt(&format!(r#"{{"sub":"{long}"}}"#))), None);
    }

    #[test]
    fn garbage_payloads_are_unreadable_never_a_panic() {
        assert_eq!(decode("opaque-token"), None);
        assert_eq!(decode("a.b"), None);
        assert_eq!(decode("a..c"), None);
        assert_eq!(decode("a.!!!.c"), None);
        assert_eq!(decode(&format!("a.{}.c", b64("not json"))), None);
        assert_eq!(decode(&format!("a.{}.c", b64("[1,2]"))), None);
        assert_eq!(decode(&format!("a.{}.c", b64("\u{0}\u{ffff}"))), None);
    }

    #[test]
    fn empty_path_reads_nothing() {
        let c = decode_unverified(&jwt(r#"{"sub":"a"}"#), &[], &[]).unwrap();
        assert_eq!(c, Claims::default());
    }
}
