//! The rules a JWT must pass (docs/reference.md, "Identity"): shape, algorithm, key,
//! signature, `exp`/`nbf` with leeway against the project clock, `iss`, `aud`, claim types.
//! Pure: the key set is given; fetching it is the caller's.

use std::str::FromStr;

use jsonwebtoken::{Algorithm, AlgorithmFamily};
use serde_json::Value;

use super::keyset::{KeyMiss, KeySet};
use super::Rejection;
use crate::clock::{duration_ms, UnixMs};
use crate::config::IdentityConfig;
use crate::telemetry::identity::VerifyResult;
use crate::token::{decode_json_segment, jws_segments, numeric_date, read_claims, Claims};

/// A compact JWS longer than this is refused without decoding it.
pub const MAX_JWT_BYTES: usize = 16 * 1024;

/// The `error_description` texts: short, fixed, safe inside a quoted header value.
pub(crate) mod why {
    pub(crate) const MALFORMED: &str = "malformed token";
    pub(crate) const TOO_LARGE: &str = "token too large";
    pub(crate) const ALGORITHM: &str = "algorithm not allowed";
    pub(crate) const UNKNOWN_KEY: &str = "unknown signing key";
    pub(crate) const KEY_MISMATCH: &str = "signing key does not fit the algorithm";
    pub(crate) const KID_REQUIRED: &str = "key id required";
    pub(crate) const SIGNATURE: &str = "signature invalid";
    pub(crate) const EXPIRED: &str = "token expired";
    pub(crate) const NOT_YET_VALID: &str = "token not yet valid";
    pub(crate) const ISSUER: &str = "issuer not accepted";
    pub(crate) const AUDIENCE: &str = "audience not accepted";
}

/// `[identity]` as the checks use it: algorithms parsed, leeway in milliseconds.
#[derive(Debug)]
pub(crate) struct Rules {
    algorithms: Vec<Algorithm>,
    issuer: Option<String>,
    audience: Vec<String>,
    subject_path: Vec<String>,
    groups_path: Vec<String>,
    leeway_ms: u64,
}

impl Rules {
    /// `none` does not parse and HMAC algorithms are dropped even when configured: with a
    /// public key set, HS* would let anyone holding the public key sign tokens.
    pub(crate) fn new(config: &IdentityConfig) -> Rules {
        let algorithms = config
            .algorithms
            .iter()
            .filter_map(|name| Algorithm::from_str(name).ok())
            .filter(|alg| alg.family() != AlgorithmFamily::Hmac)
            .collect();
        Rules {
            algorithms,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            subject_path: config.subject_claim.clone(),
            groups_path: config.groups_claim.clone(),
            leeway_ms: duration_ms(config.leeway),
        }
    }
}

/// A compact JWS whose header and payload decoded.
#[derive(Debug)]
pub(crate) struct Jws<'a> {
    alg: Algorithm,
    kid: Option<String>,
    /// `header.payload`, the signed bytes.
    message: &'a str,
    signature: &'a str,
    payload: Value,
}

/// Not a JWS (opaque), a JWS to check, or a refusal before any key is needed.
pub(crate) enum Parsed<'a> {
    Opaque,
    Jws(Jws<'a>),
}

/// Why a JWS failed: an unknown key (the caller may refetch the set and retry) or a refusal.
#[derive(Debug)]
pub(crate) enum Failure {
    UnknownKey,
    Rejected(Rejection),
}

pub(crate) fn invalid(description: &str) -> Rejection {
    reject(VerifyResult::Invalid, description)
}

fn reject(result: VerifyResult, description: &str) -> Rejection {
    Rejection {
        result,
        description: description.to_string(),
    }
}

/// Splits and decodes a token: three segments or it is opaque; base64url JSON header and
/// payload; an allowed `alg`; a string `kid` if any.
pub(crate) fn parse<'a>(token: &'a str, rules: &Rules) -> Result<Parsed<'a>, Rejection> {
    let Some([header, payload, signature]) = jws_segments(token) else {
        return Ok(Parsed::Opaque);
    };
    if token.len() > MAX_JWT_BYTES {
        return Err(invalid(why::TOO_LARGE));
    }
    let header = decode_json_segment(header).ok_or_else(|| invalid(why::MALFORMED))?;
    let payload_json = decode_json_segment(payload).ok_or_else(|| invalid(why::MALFORMED))?;
    let (Value::Object(header), true) = (header, payload_json.is_object()) else {
        return Err(invalid(why::MALFORMED));
    };
    // No extension is understood, so a token that marks one critical cannot be accepted.
    if header.contains_key("crit") {
        return Err(invalid(why::MALFORMED));
    }
    let alg = match header.get("alg") {
        Some(Value::String(name)) => Algorithm::from_str(name)
            .ok()
            .filter(|alg| rules.algorithms.contains(alg))
            .ok_or_else(|| invalid(why::ALGORITHM))?,
        _ => return Err(invalid(why::MALFORMED)),
    };
    let kid = match header.get("kid") {
        None | Some(Value::Null) => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(invalid(why::MALFORMED)),
    };
    Ok(Parsed::Jws(Jws {
        alg,
        kid,
        message: &token[..token.len() - signature.len() - 1],
        signature,
        payload: payload_json,
    }))
}

/// Key, signature, then the claims: nothing of the payload is trusted before the signature.
pub(crate) fn check(
    rules: &Rules,
    keys: Option<&KeySet>,
    jws: &Jws<'_>,
    now_ms: UnixMs,
) -> Result<Claims, Failure> {
    let keys = keys.ok_or(Failure::UnknownKey)?;
    let key = match keys.find(jws.kid.as_deref(), jws.alg) {
        Ok(key) => key,
        Err(KeyMiss::Unknown) => return Err(Failure::UnknownKey),
        Err(KeyMiss::WrongAlgorithm) => return Err(rejected(invalid(why::KEY_MISMATCH))),
        Err(KeyMiss::Ambiguous) => return Err(rejected(invalid(why::KID_REQUIRED))),
    };
    let signed = jsonwebtoken::crypto::verify(
        jws.signature,
        jws.message.as_bytes(),
        &key.decoding,
        jws.alg,
    );
    if !matches!(signed, Ok(true)) {
        return Err(rejected(invalid(why::SIGNATURE)));
    }
    check_claims(rules, &jws.payload, now_ms).map_err(rejected)
}

fn rejected(r: Rejection) -> Failure {
    Failure::Rejected(r)
}

/// `exp`, `nbf`, `iss`, `aud`, then subject and groups of the configured types.
fn check_claims(rules: &Rules, payload: &Value, now_ms: UnixMs) -> Result<Claims, Rejection> {
    let claims = read_claims(payload, &rules.subject_path, &rules.groups_path)
        .map_err(|e| invalid(&e.to_string()))?;
    if let Some(exp_s) = claims.exp_s {
        if now_ms >= (exp_s.saturating_mul(1000)).saturating_add(rules.leeway_ms) {
            return Err(reject(VerifyResult::Expired, why::EXPIRED));
        }
    }
    match payload.get("nbf") {
        None | Some(Value::Null) => {}
        Some(nbf) => {
            let nbf_s = numeric_date(nbf).ok_or_else(|| invalid(why::MALFORMED))?;
            if now_ms.saturating_add(rules.leeway_ms) < nbf_s.saturating_mul(1000) {
                return Err(invalid(why::NOT_YET_VALID));
            }
        }
    }
    if let Some(issuer) = &rules.issuer {
        if payload.get("iss").and_then(Value::as_str) != Some(issuer.as_str()) {
            return Err(invalid(why::ISSUER));
        }
    }
    if !rules.audience.is_empty() && !audience_accepted(&rules.audience, payload.get("aud")) {
        return Err(invalid(why::AUDIENCE));
    }
    Ok(claims)
}

/// `aud` is one string or an array of strings; one of them must be configured.
fn audience_accepted(accepted: &[String], aud: Option<&Value>) -> bool {
    let is_accepted = |v: &Value| v.as_str().is_some_and(|s| accepted.iter().any(|a| a == s));
    match aud {
        Some(Value::Array(items)) => items.iter().any(is_accepted),
        Some(one) => is_accepted(one),
        None => false,
    }
}
