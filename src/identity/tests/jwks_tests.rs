//! Reading key sets: what is used, what is skipped, what makes a set unusable; the file
//! check behind `idlegate check`.

use serde_json::{json, Value};

use super::keys::*;
use super::FileFixture;
use crate::identity::{check_jwks_file, JwksError, KeySet, Verdict, MAX_JWKS_BYTES, MAX_KEYS};

fn check_text(text: &str) -> Result<usize, JwksError> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, text).expect("write");
    check_jwks_file(&path)
}

fn oct_key() -> Value {
    json!({"kty": "oct", "kid": "shared", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ"})
}

#[test]
fn check_counts_the_usable_keys_of_a_file() {
    assert_eq!(check_text(&standard_jwks()).ok(), Some(2));
}

#[test]
fn a_file_that_is_not_json_is_refused() {
    let err = check_text("<html>not a key set</html>").expect_err("refused");
    assert!(matches!(err, JwksError::NotJson(_)), "{err}");
    assert!(err.to_string().starts_with("not a JSON Web Key Set"));
}

#[test]
fn json_without_a_keys_array_is_refused() {
    for text in [r#"{"kty":"RSA"}"#, r#"{"keys":{}}"#, "[]"] {
        assert!(matches!(check_text(text), Err(JwksError::NoKeysArray)));
    }
}

#[test]
fn a_set_of_only_unsupported_keys_has_no_usable_key() {
    let mut hs_rsa = rsa_jwk(rsa(0), "rsa-hs");
    hs_rsa["alg"] = json!("HS256");
    for keys in [vec![oct_key()], vec![hs_rsa], vec![]] {
        let err = check_text(&jwks(&keys)).expect_err("refused");
        assert!(matches!(err, JwksError::NoUsableKey { .. }), "{err}");
    }
    let err = check_text(&jwks(&[oct_key()])).expect_err("refused");
    assert_eq!(
        err.to_string(),
        "JWKS has no usable key (1 skipped: key 0: symmetric key (kty oct) not accepted)"
    );
}

#[test]
fn unsupported_keys_next_to_usable_ones_are_skipped_and_counted() {
    let mut enc = rsa_jwk(rsa(1), "enc");
    enc["use"] = json!("enc");
    let p521 = json!({"kty": "EC", "crv": "P-521", "kid": "big", "x": "AA", "y": "AA"});
    let weird = json!({"kty": "PQ", "kid": "future"});
    let text = jwks(&[oct_key(), rsa_jwk(rsa(0), "rsa-0"), enc, p521, weird]);
    let set = KeySet::parse(text.as_bytes()).expect("usable");
    assert_eq!((set.len(), set.skipped()), (1, 4));
    assert!(set.reasons_text().contains("key 0: symmetric key"));
}

#[test]
fn rsa_keys_under_2048_bits_are_skipped() {
    let short = json!({"kty": "RSA", "kid": "short", "n": b64(&[0xC5; 128]), "e": "AQAB"});
    let set = KeySet::parse(jwks(&[short, rsa_jwk(rsa(0), "ok")]).as_bytes()).expect("usable");
    assert_eq!((set.len(), set.skipped()), (1, 1));
    assert!(set.reasons_text().contains("1024 bits"));
}

#[test]
fn at_most_256_keys_are_used() {
    let key = ec_jwk(ec(0), "k");
    let keys: Vec<Value> = (0..300)
        .map(|i| {
            let mut k = key.clone();
            k["kid"] = json!(format!("k{i}"));
            k
        })
        .collect();
    let set = KeySet::parse(jwks(&keys).as_bytes()).expect("usable");
    assert_eq!((set.len(), set.skipped()), (MAX_KEYS, 300 - MAX_KEYS));
}

#[test]
fn a_file_over_1_mib_is_refused() {
    let padded = format!(
        r#"{{"pad":"{}","keys":{}}}"#,
        "x".repeat(MAX_JWKS_BYTES),
        json!([rsa_jwk(rsa(0), "rsa-0")])
    );
    assert!(matches!(check_text(&padded), Err(JwksError::TooLarge)));
}

#[test]
fn a_missing_file_names_its_path() {
    let err = check_jwks_file(std::path::Path::new("/nonexistent/jwks.json")).expect_err("io");
    assert!(err.to_string().contains("/nonexistent/jwks.json"), "{err}");
}

#[tokio::test]
async fn a_verifier_is_not_ready_until_a_first_set_loads() {
    let f = FileFixture::new("not json", |_| {});
    assert!(!f.identity.is_ready());
    assert!(f.identity.load_first().await.is_err());
    assert!(!f.identity.is_ready());
    f.rewrite(&standard_jwks());
    assert_eq!(f.identity.load_first().await.ok(), Some(2));
    assert!(f.identity.is_ready());
    assert_eq!(f.identity.key_count(), 2);
}

#[tokio::test]
async fn a_bad_file_on_reload_keeps_the_last_good_set() {
    let f = FileFixture::loaded(&standard_jwks(), |_| {}).await;
    f.rewrite(&jwks(&[oct_key()]));
    assert!(f.identity.load_first().await.is_err());
    assert!(matches!(
        f.identity.verify(&rs256(&good_claims()), NOW_MS).await,
        Verdict::Valid(_)
    ));
    assert_eq!(super::jwks_loads(&f.metrics, true), 1);
    assert_eq!(super::jwks_loads(&f.metrics, false), 1);
}
