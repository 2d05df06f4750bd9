//! Tokens signed with keys the tests generate (ES256), the JWKS that holds their public keys,
//! and a gateway config with `[identity]` reading that JWKS from a file.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::Engine as _;
use idlegate::config::{Config, IdentityConfig, JwksSource, OnInvalid, TimeoutPolicy};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// An ES256 signing key and its `kid`.
pub struct Signer {
    pub kid: String,
    key: EcdsaKeyPair,
    jwk: serde_json::Value,
}

impl Signer {
    pub fn new(kid: &str) -> Signer {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let point = pair.public_key().as_ref().to_vec();
        // Uncompressed point: 0x04 || x (32) || y (32).
        let jwk = serde_json::json!({
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
            "x": b64(&point[1..33]), "y": b64(&point[33..65]),
        });
        Signer {
            kid: kid.to_string(),
            key: pair,
            jwk,
        }
    }

    /// A token with these claims, signed with this key.
    pub fn sign(&self, claims: &serde_json::Value) -> String {
        let header = serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": self.kid});
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig = self
            .key
            .sign(&SystemRandom::new(), input.as_bytes())
            .unwrap();
        format!("{input}.{}", b64(sig.as_ref()))
    }

    pub fn jwk(&self) -> serde_json::Value {
        self.jwk.clone()
    }
}

/// Writes a JWKS of these signers' public keys.
pub fn write_jwks(path: &Path, signers: &[&Signer]) {
    let keys: Vec<_> = signers.iter().map(|s| s.jwk()).collect();
    std::fs::write(path, serde_json::json!({ "keys": keys }).to_string()).unwrap();
}

/// Unix seconds of the gateway clock's now, plus `ahead`.
pub fn at(now_ms: u64, ahead: Duration) -> u64 {
    now_ms / 1000 + ahead.as_secs()
}

/// `config` with `[identity]` on a JWKS file, `warn_before` 45 s, and two policies: `supervisors` (group
/// `supervisor`, idle 60 s) and `kiosks` (group `wallboard`, idle off).
pub fn with_identity(mut config: Config, jwks: &Path) -> Config {
    config.identity = Some(IdentityConfig {
        jwks: JwksSource::File(jwks.to_path_buf()),
        issuer: Some("https://idp.test/".into()),
        audience: vec!["api".into()],
        algorithms: vec!["ES256".into()],
        subject_claim: vec!["sub".into()],
        groups_claim: vec!["realm_access".into(), "roles".into()],
        refresh: Duration::from_secs(600),
        leeway: Duration::from_secs(0),
        on_invalid: OnInvalid::Reject,
    });
    config.timeout.warn_before = Duration::from_secs(45);
    config.timeout.policies = vec![
        TimeoutPolicy {
            name: "supervisors".into(),
            groups: vec!["supervisor".into()],
            idle: Some(Duration::from_secs(60)),
            absolute: None,
            priority: 1,
        },
        TimeoutPolicy {
            name: "kiosks".into(),
            groups: vec!["wallboard".into()],
            idle: None,
            absolute: Some(Duration::from_secs(3600)),
            priority: 2,
        },
    ];
    config
}

/// Claims idlegate accepts: issuer, audience, `exp` an hour after `now_ms`.
pub fn claims(now_ms: u64, sub: &str, roles: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "iss": "https://idp.test/",
        "aud": "api",
        "sub": sub,
        "exp": at(now_ms, Duration::from_secs(3600)),
        "realm_access": { "roles": roles },
    })
}
