//! First verification of a JWT (docs/reference.md, "Identity"): the bar is 100 µs for an
//! RS256 and for an ES256 token. The verifier caches nothing, so every iteration is a first
//! verification: split, base64url and JSON of header and payload, key lookup, signature,
//! `exp`/`nbf`/`iss`/`aud`, claims read.
//!
//!     cargo bench --bench identity

use std::hint::black_box;
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair as _, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use criterion::{criterion_group, criterion_main, Criterion};
use idlegate::config::{IdentityConfig, JwksSource, OnInvalid};
use idlegate::identity::{Identity, Verdict};
use serde_json::{json, Value};

const NOW_S: u64 = 1_700_000_000;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A typical access token's claims: subject, a few groups, issuer, audience, times.
fn claims() -> Value {
    json!({
        "sub": "6b1c2d3e-0000-4000-8000-000000000001", "iss": "https://idp.example.com/",
        "aud": ["api", "account"], "groups": ["agents", "supervisor", "emea"],
        "iat": NOW_S - 60, "nbf": NOW_S - 60, "exp": NOW_S + 3600, "scope": "openid profile",
    })
}

fn input(header: Value) -> String {
    format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims().to_string().as_bytes())
    )
}

fn signed_tokens(rsa: &RsaKeyPair, ec: &EcdsaKeyPair) -> (String, String) {
    let rng = SystemRandom::new();
    let rs_input = input(json!({"alg": "RS256", "kid": "rsa", "typ": "JWT"}));
    let mut rs_sig = vec![0; rsa.public_modulus_len()];
    rsa.sign(&RSA_PKCS1_SHA256, &rng, rs_input.as_bytes(), &mut rs_sig)
        .expect("RSA signature");
    let es_input = input(json!({"alg": "ES256", "kid": "ec", "typ": "JWT"}));
    let es_sig = ec.sign(&rng, es_input.as_bytes()).expect("EC signature");
    (
        format!("{rs_input}.{}", b64(&rs_sig)),
        format!("{es_input}.{}", b64(es_sig.as_ref())),
    )
}

fn jwks(rsa: &RsaKeyPair, ec: &EcdsaKeyPair) -> String {
    let point = ec.public_key().as_ref();
    let public = rsa.public_key();
    json!({"keys": [
        {"kty": "RSA", "kid": "rsa", "use": "sig",
         "n": b64(public.modulus().big_endian_without_leading_zero()),
         "e": b64(public.exponent().big_endian_without_leading_zero())},
        {"kty": "EC", "crv": "P-256", "kid": "ec",
         "x": b64(&point[1..33]), "y": b64(&point[33..65])},
    ]})
    .to_string()
}

fn config(path: std::path::PathBuf) -> IdentityConfig {
    IdentityConfig {
        jwks: JwksSource::File(path),
        issuer: Some("https://idp.example.com/".into()),
        audience: vec!["api".into()],
        algorithms: vec!["RS256".into(), "ES256".into()],
        subject_claim: vec!["sub".into()],
        groups_claim: vec!["groups".into()],
        refresh: Duration::from_secs(600),
        leeway: Duration::from_secs(60),
        on_invalid: OnInvalid::Reject,
    }
}

fn first_verification(c: &mut Criterion) {
    let rsa = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key");
    let ec = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("EC key");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, jwks(&rsa, &ec)).expect("write jwks");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let identity = Identity::with_own_metrics(&config(path));
    runtime.block_on(identity.load_first()).expect("JWKS loads");
    let (rs256, es256) = signed_tokens(&rsa, &ec);
    let now_ms = NOW_S * 1000;
    for token in [&rs256, &es256] {
        let verdict = runtime.block_on(identity.verify(token, now_ms));
        assert!(matches!(verdict, Verdict::Valid(_)), "{verdict:?}");
    }
    let mut group = c.benchmark_group("identity_first_verification");
    group.bench_function("rs256_2048", |b| {
        b.iter(|| runtime.block_on(identity.verify(black_box(&rs256), now_ms)))
    });
    group.bench_function("es256", |b| {
        b.iter(|| runtime.block_on(identity.verify(black_box(&es256), now_ms)))
    });
    group.finish();
}

criterion_group!(benches, first_verification);
criterion_main!(benches);
