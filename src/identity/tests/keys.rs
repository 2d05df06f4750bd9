//! Keys the tests generate, their JWKs, tokens signed with them, and an `[identity]` config.

use std::sync::OnceLock;
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair as _, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::config::{IdentityConfig, JwksSource, OnInvalid};

/// The project clock's "now" in every verification test.
pub(crate) const NOW_MS: u64 = 1_700_000_000_000;
pub(crate) const NOW_S: u64 = NOW_MS / 1000;
pub(crate) const ISSUER: &str = "https://idp.test/";

pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// RSA keys take a while to generate: each test binary makes two, once.
pub(crate) fn rsa(which: usize) -> &'static RsaKeyPair {
    static KEYS: OnceLock<[RsaKeyPair; 2]> = OnceLock::new();
    let gen = || RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key generation");
    &KEYS.get_or_init(|| [gen(), gen()])[which]
}

pub(crate) fn ec(which: usize) -> &'static EcdsaKeyPair {
    static KEYS: OnceLock<[EcdsaKeyPair; 2]> = OnceLock::new();
    let gen = || EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("EC key");
    &KEYS.get_or_init(|| [gen(), gen()])[which]
}

pub(crate) fn rsa_jwk(key: &RsaKeyPair, kid: &str) -> Value {
    let public = key.public_key();
    json!({
        "kty": "RSA", "kid": kid, "use": "sig",
        "n": b64(public.modulus().big_endian_without_leading_zero()),
        "e": b64(public.exponent().big_endian_without_leading_zero()),
    })
}

pub(crate) fn ec_jwk(key: &EcdsaKeyPair, kid: &str) -> Value {
    // Uncompressed point: 0x04, x, y.
    let point = key.public_key().as_ref();
    json!({
        "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256",
        "x": b64(&point[1..33]), "y": b64(&point[33..65]),
    })
}

pub(crate) fn jwks(keys: &[Value]) -> String {
    json!({ "keys": keys }).to_string()
}

fn signing_input(header: &Value, payload: &Value) -> String {
    format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(payload.to_string().as_bytes())
    )
}

pub(crate) fn sign_rs256(key: &RsaKeyPair, header: &Value, payload: &Value) -> String {
    let input = signing_input(header, payload);
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut signature,
    )
    .expect("RSA signature");
    format!("{input}.{}", b64(&signature))
}

pub(crate) fn sign_es256(key: &EcdsaKeyPair, header: &Value, payload: &Value) -> String {
    let input = signing_input(header, payload);
    let signature = key
        .sign(&SystemRandom::new(), input.as_bytes())
        .expect("EC signature");
    format!("{input}.{}", b64(signature.as_ref()))
}

/// Claims that pass every check of [`config`] at [`NOW_MS`].
pub(crate) fn good_claims() -> Value {
    json!({
        "sub": "alice", "groups": ["agents", "supervisor"],
        "iss": ISSUER, "aud": "api",
        "iat": NOW_S - 10, "exp": NOW_S + 3600,
    })
}

/// An RS256 token of RSA key 0 (`kid` "rsa-0") with these claims.
pub(crate) fn rs256(claims: &Value) -> String {
    sign_rs256(rsa(0), &json!({"alg": "RS256", "kid": "rsa-0"}), claims)
}

/// An ES256 token of EC key 0 (`kid` "ec-0") with these claims.
pub(crate) fn es256(claims: &Value) -> String {
    sign_es256(ec(0), &json!({"alg": "ES256", "kid": "ec-0"}), claims)
}

/// The set of RSA key 0 and EC key 0.
pub(crate) fn standard_jwks() -> String {
    jwks(&[rsa_jwk(rsa(0), "rsa-0"), ec_jwk(ec(0), "ec-0")])
}

pub(crate) fn config(jwks: JwksSource) -> IdentityConfig {
    IdentityConfig {
        jwks,
        issuer: Some(ISSUER.to_string()),
        audience: vec!["api".to_string(), "admin-api".to_string()],
        algorithms: vec!["RS256".to_string(), "ES256".to_string()],
        subject_claim: vec!["sub".to_string()],
        groups_claim: vec!["groups".to_string()],
        refresh: Duration::from_secs(600),
        leeway: Duration::from_secs(60),
        on_invalid: OnInvalid::Reject,
    }
}
