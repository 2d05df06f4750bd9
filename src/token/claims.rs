//! What idlegate reads from a JWT's claims: subject, groups and `exp` (docs/reference.md,
//! "Identity"). Pure reading, no verification: the verifier calls it on a payload whose
//! signature it checked, and `idlegate har` on recorded tokens it cannot verify.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use serde_json::Value;

/// A subject longer than this many bytes makes the token invalid.
pub const MAX_SUBJECT_BYTES: usize = 256;
/// Groups past this many are not looked at (counted in [`Claims::groups_dropped`]).
pub const MAX_GROUPS: usize = 256;

/// The claims idlegate keeps of a token.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Claims {
    /// The subject claim (at most 256 bytes); None when absent.
    pub subject: Option<String>,
    /// The groups claim: an array of strings or one space-separated string; at most 256.
    pub groups: Vec<String>,
    /// `exp`, Unix seconds.
    pub exp_s: Option<u64>,
    /// Groups past the 256th, not kept: the caller counts them in
    /// `idlegate_token_groups_ignored_total`.
    pub groups_dropped: usize,
}

/// Why a payload's claims cannot be read. The texts are short and safe to show a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    #[error("claims are not a JSON object")]
    NotAnObject,
    #[error("subject claim invalid")]
    SubjectNotString,
    #[error("subject claim too long")]
    SubjectTooLong,
    #[error("groups claim invalid")]
    GroupsWrongType,
    #[error("exp claim invalid")]
    ExpNotNumeric,
}

/// Reads subject, groups and `exp` from a JWT payload. `subject_path` and `groups_path` are
/// dotted claim paths split at the dots (`["realm_access", "roles"]`). An absent or `null`
/// claim is None / no groups; a claim of the wrong type is an error, never a guess.
pub fn read_claims(
    payload_json: &Value,
    subject_path: &[String],
    groups_path: &[String],
) -> Result<Claims, ClaimsError> {
    let object = payload_json.as_object().ok_or(ClaimsError::NotAnObject)?;
    let subject = match lookup(payload_json, subject_path, ClaimsError::SubjectNotString)? {
        None => None,
        Some(Value::String(s)) if s.len() <= MAX_SUBJECT_BYTES => Some(s.clone()),
        Some(Value::String(_)) => return Err(ClaimsError::SubjectTooLong),
        Some(_) => return Err(ClaimsError::SubjectNotString),
    };
    let (groups, groups_dropped) =
        match lookup(payload_json, groups_path, ClaimsError::GroupsWrongType)? {
            None => (Vec::new(), 0),
            Some(value) => read_groups(value)?,
        };
    let exp_s = match object.get("exp") {
        None | Some(Value::Null) => None,
        Some(v) => Some(numeric_date(v).ok_or(ClaimsError::ExpNotNumeric)?),
    };
    Ok(Claims {
        subject,
        groups,
        exp_s,
        groups_dropped,
    })
}

/// The claims of a compact JWS read without verifying it (recorded tokens in `idlegate har`).
/// None when `token` is not three non-empty dot-separated segments or its payload is not a
/// readable base64url JSON object with claims of the right types.
pub fn decode_unverified(
    token: &str,
    subject_path: &[String],
    groups_path: &[String],
) -> Option<Claims> {
    let [_, payload, _] = jws_segments(token)?;
    let payload = decode_json_segment(payload)?;
    read_claims(&payload, subject_path, groups_path).ok()
}

/// The three segments of a compact JWS: exactly three, none empty.
pub fn jws_segments(token: &str) -> Option<[&str; 3]> {
    let mut parts = token.split('.');
    let segments = [parts.next()?, parts.next()?, parts.next()?];
    let three = parts.next().is_none() && segments.iter().all(|s| !s.is_empty());
    three.then_some(segments)
}

/// base64url with or without padding: recordings and hand-made tokens sometimes pad.
const B64URL_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A base64url segment decoded and parsed as JSON; None when it is neither.
pub fn decode_json_segment(segment: &str) -> Option<Value> {
    let bytes = B64URL_LENIENT.decode(segment).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// A JWT NumericDate as whole seconds: a non-negative finite number, fractions truncated.
pub fn numeric_date(value: &Value) -> Option<u64> {
    if let Some(secs) = value.as_u64() {
        return Some(secs);
    }
    let secs = value.as_f64()?;
    // `as` saturates; the range check keeps negative and huge values out.
    (secs.is_finite() && secs >= 0.0 && secs < u64::MAX as f64).then_some(secs as u64)
}

/// The value at a dotted path; None when a step is absent or `null`. A step through a value
/// that is not an object is `wrong_type`: the claim is there, but not as configured.
fn lookup<'a>(
    root: &'a Value,
    path: &[String],
    wrong_type: ClaimsError,
) -> Result<Option<&'a Value>, ClaimsError> {
    if path.is_empty() {
        return Ok(None);
    }
    let mut at = root;
    for step in path {
        at = match at {
            Value::Object(map) => match map.get(step) {
                None | Some(Value::Null) => return Ok(None),
                Some(next) => next,
            },
            _ => return Err(wrong_type),
        };
    }
    Ok(Some(at))
}

/// Groups from an array of strings or one space-separated string; the first 256 kept.
fn read_groups(value: &Value) -> Result<(Vec<String>, usize), ClaimsError> {
    let all: Vec<&str> = match value {
        Value::String(s) => s.split_whitespace().collect(),
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().ok_or(ClaimsError::GroupsWrongType))
            .collect::<Result<_, _>>()?,
        _ => return Err(ClaimsError::GroupsWrongType),
    };
    let dropped = all.len().saturating_sub(MAX_GROUPS);
    let kept = all
        .into_iter()
        .take(MAX_GROUPS)
        .map(str::to_string)
        .collect();
    Ok((kept, dropped))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(dotted: &str) -> Vec<String> {
        dotted.split('.').map(str::to_string).collect()
    }

    fn read(payload: Value) -> Result<Claims, ClaimsError> {
        read_claims(&payload, &path("sub"), &path("groups"))
    }

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn subject_groups_and_exp_are_read() {
        let claims = read(json!({"sub": "alice", "groups": ["a", "b"], "exp": 1700000000}));
        assert_eq!(
            claims,
            Ok(Claims {
                subject: Some("alice".into()),
                groups: vec!["a".into(), "b".into()],
                exp_s: Some(1_700_000_000),
                groups_dropped: 0,
            })
        );
    }

    #[test]
    fn absent_or_null_claims_are_empty() {
        assert_eq!(read(json!({})), Ok(Claims::default()));
        assert_eq!(
            read(json!({"sub": null, "groups": null, "exp": null})),
            Ok(Claims::default())
        );
    }

    #[test]
    fn dotted_path_reaches_nested_claims() {
        let payload = json!({"realm_access": {"roles": ["admin"]}, "user": {"id": "u1"}});
        let claims = read_claims(&payload, &path("user.id"), &path("realm_access.roles"));
        assert_eq!(
            claims.as_ref().map(|c| c.groups.clone()),
            Ok(vec!["admin".to_string()])
        );
        assert_eq!(claims.map(|c| c.subject), Ok(Some("u1".to_string())));
    }

    #[test]
    fn space_separated_groups_string_is_split() {
        let claims = read(json!({"groups": "  a b\tc "}));
        assert_eq!(
            claims.map(|c| c.groups),
            Ok(vec!["a".into(), "b".into(), "c".into()])
        );
    }

    #[test]
    fn groups_past_256_are_dropped_and_counted() {
        let many: Vec<String> = (0..300).map(|i| format!("g{i}")).collect();
        let claims = read(json!({ "groups": many })).expect("readable");
        assert_eq!(claims.groups.len(), MAX_GROUPS);
        assert_eq!(claims.groups[255], "g255");
        assert_eq!(claims.groups_dropped, 44);
    }

    #[test]
    fn wrong_types_are_errors() {
        assert_eq!(
            read(json!({"sub": {"x": 1}})),
            Err(ClaimsError::SubjectNotString)
        );
        assert_eq!(read(json!({"sub": 42})), Err(ClaimsError::SubjectNotString));
        assert_eq!(
            read(json!({"groups": 7})),
            Err(ClaimsError::GroupsWrongType)
        );
        assert_eq!(
            read(json!({"groups": ["a", 1]})),
            Err(ClaimsError::GroupsWrongType)
        );
        assert_eq!(
            read(json!({"exp": "1700000000"})),
            Err(ClaimsError::ExpNotNumeric)
        );
        assert_eq!(read(json!({"exp": -1})), Err(ClaimsError::ExpNotNumeric));
        assert_eq!(read(json!([1, 2])), Err(ClaimsError::NotAnObject));
    }

    #[test]
    fn a_step_through_a_non_object_is_the_wrong_type() {
        let payload = json!({"realm_access": "admin"});
        let claims = read_claims(&payload, &path("sub"), &path("realm_access.roles"));
        assert_eq!(claims, Err(ClaimsError::GroupsWrongType));
    }

    #[test]
    fn subject_over_256_bytes_is_an_error() {
        assert!(read(json!({ "sub": "x".repeat(256) })).is_ok());
        assert_eq!(
            read(json!({ "sub": "x".repeat(257) })),
            Err(ClaimsError::SubjectTooLong)
        );
    }

    #[test]
    fn fractional_exp_is_truncated() {
        assert_eq!(read(json!({"exp": 10.9})).map(|c| c.exp_s), Ok(Some(10)));
    }

    #[test]
    fn decode_unverified_reads_a_jws_payload() {
        let token = format!(
            "{}.{}.sig",
            b64(r#"{"alg":"RS256"}"#),
            b64(r#"{"sub":"bob"}"#)
        );
        let claims = decode_unverified(&token, &path("sub"), &path("groups"));
        assert_eq!(claims.and_then(|c| c.subject), Some("bob".to_string()));
    }

    #[test]
    fn decode_unverified_of_non_jws_or_garbage_is_none() {
        let bad_type = format!("h.{}.s", b64(r#"{"sub":1}"#));
        for token in [
            "opaque",
            "a.b",
            "a..c",
            "a.b.c.d",
            "a.!!!.c",
            "h.bm90IGpzb24.s",
            &bad_type,
        ] {
            assert_eq!(
                decode_unverified(token, &path("sub"), &path("groups")),
                None
            );
        }
    }
}
