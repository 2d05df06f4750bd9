//! A JSON Web Key Set read into verification keys (docs/reference.md, "Identity"): which keys
//! are used, which are skipped and why, and which key verifies a token.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind};
use serde_json::Value;

use super::error::JwksError;

/// At most this many keys of one set are used; the rest are skipped.
pub const MAX_KEYS: usize = 256;
/// RSA moduli shorter than 2048 bits are refused by the signature check anyway; skipping
/// them at load says so once, in the log, instead of at every token.
const MIN_RSA_MODULUS_BYTES: usize = 256;
/// How many skip reasons an error or log line lists.
const REASONS_SHOWN: usize = 3;

/// One usable verification key.
#[derive(Debug)]
pub(crate) struct Key {
    pub(crate) kid: Option<String>,
    /// The algorithms this key verifies: its `alg` alone when the JWK names one, else every
    /// algorithm of its type (RSA: RS*/PS*; EC: the curve's ES*; OKP: EdDSA).
    algorithms: Vec<Algorithm>,
    pub(crate) decoding: DecodingKey,
}

impl Key {
    pub(crate) fn fits(&self, alg: Algorithm) -> bool {
        self.algorithms.contains(&alg)
    }
}

/// The usable keys of one loaded set, and how many of its keys were skipped.
#[derive(Debug)]
pub struct KeySet {
    keys: Vec<Key>,
    skipped: usize,
    reasons: Vec<String>,
}

/// Why no key verifies a token.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum KeyMiss {
    /// No key of that `kid` (or, without a `kid`, no key for the algorithm): a refetch may help.
    Unknown,
    /// The key named by `kid` is of another type or algorithm than the token's.
    WrongAlgorithm,
    /// No `kid`, and several keys fit the algorithm.
    Ambiguous,
}

impl KeySet {
    /// Reads a JWKS document. Not JSON, no `keys` array, or no usable key is an error; keys
    /// of unsupported types next to usable ones are skipped and counted.
    pub fn parse(bytes: &[u8]) -> Result<KeySet, JwksError> {
        let doc: Value =
            serde_json::from_slice(bytes).map_err(|e| JwksError::NotJson(e.to_string()))?;
        let entries = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(JwksError::NoKeysArray)?;
        let mut set = KeySet {
            keys: Vec::new(),
            skipped: 0,
            reasons: Vec::new(),
        };
        for (index, entry) in entries.iter().enumerate() {
            let outcome = if set.keys.len() >= MAX_KEYS {
                Err(format!("more than {MAX_KEYS} keys"))
            } else {
                usable_key(entry)
            };
            match outcome {
                Ok(key) => set.keys.push(key),
                Err(why) => set.skip(index, why),
            }
        }
        if set.keys.is_empty() {
            return Err(JwksError::NoUsableKey {
                skipped: set.skipped,
                reasons: set.reasons_text(),
            });
        }
        Ok(set)
    }

    fn skip(&mut self, index: usize, why: String) {
        self.skipped += 1;
        if self.reasons.len() < REASONS_SHOWN {
            self.reasons.push(format!("key {index}: {why}"));
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Keys of the document that are not used (unsupported type, bad material, past 256).
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// The first few skip reasons, `; `-separated (empty when none was skipped).
    pub fn reasons_text(&self) -> String {
        self.reasons.join("; ")
    }

    /// The key that verifies a token of `alg` with header `kid`. Without a `kid`, the one key
    /// that fits the algorithm.
    pub(crate) fn find(&self, kid: Option<&str>, alg: Algorithm) -> Result<&Key, KeyMiss> {
        match kid {
            Some(kid) => {
                let mut named = self.keys.iter().filter(|k| k.kid.as_deref() == Some(kid));
                let first = named.next().ok_or(KeyMiss::Unknown)?;
                std::iter::once(first)
                    .chain(named)
                    .find(|k| k.fits(alg))
                    .ok_or(KeyMiss::WrongAlgorithm)
            }
            None => {
                let mut fitting = self.keys.iter().filter(|k| k.fits(alg));
                let first = fitting.next().ok_or(KeyMiss::Unknown)?;
                match fitting.next() {
                    None => Ok(first),
                    Some(_) => Err(KeyMiss::Ambiguous),
                }
            }
        }
    }
}

/// One JWK as a verification key, or why it is skipped.
fn usable_key(entry: &Value) -> Result<Key, String> {
    let kty = entry.get("kty").and_then(Value::as_str).unwrap_or("");
    if kty == "oct" {
        return Err("symmetric key (kty oct) not accepted".into());
    }
    let jwk: Jwk = serde_json::from_value(entry.clone())
        .map_err(|_| format!("unreadable or unsupported key (kty {kty:?})"))?;
    if let Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_)) = jwk.common.public_key_use {
        return Err("not a signing key (use is not \"sig\")".into());
    }
    let algorithms = key_algorithms(&jwk)?;
    let decoding = DecodingKey::from_jwk(&jwk).map_err(|_| "bad key material".to_string())?;
    check_material(&jwk, &decoding)?;
    Ok(Key {
        kid: jwk.common.key_id.clone(),
        algorithms,
        decoding,
    })
}

/// The algorithms a JWK may verify, from its type, curve and `alg`.
fn key_algorithms(jwk: &Jwk) -> Result<Vec<Algorithm>, String> {
    use Algorithm::*;
    let by_type: Vec<Algorithm> = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => vec![RS256, RS384, RS512, PS256, PS384, PS512],
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => vec![ES256],
            EllipticCurve::P384 => vec![ES384],
            _ => return Err("unsupported elliptic curve".into()),
        },
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => vec![EdDSA],
        AlgorithmParameters::OctetKeyPair(_) => return Err("unsupported OKP curve".into()),
        AlgorithmParameters::OctetKey(_) => {
            return Err("symmetric key (kty oct) not accepted".into())
        }
        _ => return Err("unsupported key type".into()),
    };
    let Some(named) = jwk.common.key_algorithm else {
        return Ok(by_type);
    };
    let named = signing_algorithm(named).ok_or_else(|| format!("alg {named} not accepted"))?;
    if by_type.contains(&named) {
        Ok(vec![named])
    } else {
        Err(format!("alg {named:?} does not fit the key type"))
    }
}

/// The JWS algorithm of a JWK `alg`; None for HMAC and encryption algorithms.
fn signing_algorithm(alg: KeyAlgorithm) -> Option<Algorithm> {
    use KeyAlgorithm as K;
    Some(match alg {
        K::RS256 => Algorithm::RS256,
        K::RS384 => Algorithm::RS384,
        K::RS512 => Algorithm::RS512,
        K::PS256 => Algorithm::PS256,
        K::PS384 => Algorithm::PS384,
        K::PS512 => Algorithm::PS512,
        K::ES256 => Algorithm::ES256,
        K::ES384 => Algorithm::ES384,
        K::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

/// Key sizes the signature check would refuse on every token, refused once here.
fn check_material(jwk: &Jwk, key: &DecodingKey) -> Result<(), String> {
    match (key.kind(), &jwk.algorithm) {
        (DecodingKeyKind::RsaModulusExponent { n, .. }, _) => {
            let bytes = n.iter().skip_while(|b| **b == 0).count();
            if bytes < MIN_RSA_MODULUS_BYTES {
                return Err(format!("RSA key of {} bits (at least 2048)", bytes * 8));
            }
        }
        (DecodingKeyKind::SecretOrDer(point), AlgorithmParameters::EllipticCurve(p)) => {
            let expected = if p.curve == EllipticCurve::P256 {
                65
            } else {
                97
            };
            if point.len() != expected {
                return Err("EC key coordinates of the wrong size".into());
            }
        }
        _ => {}
    }
    Ok(())
}
