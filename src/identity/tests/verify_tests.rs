//! The verification rules, one test each, over a JWKS file of RSA key 0 and EC key 0.

use serde_json::{json, Value};

use super::keys::*;
use super::FileFixture;
use crate::identity::{Rejection, Verdict};
use crate::telemetry::identity::VerifyResult;

async fn fixture() -> FileFixture {
    FileFixture::loaded(&standard_jwks(), |_| {}).await
}

fn claims_with(changes: Value) -> Value {
    let mut claims = good_claims();
    for (k, v) in changes.as_object().expect("object") {
        if v.is_null() {
            claims.as_object_mut().expect("object").remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

fn invalid(description: &str) -> Verdict {
    Verdict::Invalid(Rejection {
        result: VerifyResult::Invalid,
        description: description.to_string(),
    })
}

async fn verify(f: &FileFixture, token: &str) -> Verdict {
    f.identity.verify(token, NOW_MS).await
}

#[tokio::test]
async fn rs256_and_es256_tokens_signed_by_set_keys_are_valid() {
    let f = fixture().await;
    for token in [rs256(&good_claims()), es256(&good_claims())] {
        let Verdict::Valid(claims) = verify(&f, &token).await else {
            panic!("not valid");
        };
        assert_eq!(claims.subject.as_deref(), Some("alice"));
        assert_eq!(claims.groups, ["agents", "supervisor"]);
        assert_eq!(claims.exp_s, Some(NOW_S + 3600));
    }
}

#[tokio::test]
async fn forged_signature_on_a_real_header_and_payload_is_refused() {
    let f = fixture().await;
    let real = rs256(&good_claims());
    let (signed, _) = real.rsplit_once('.').expect("three segments");
    // The same header and payload signed by a key outside the set (same kid).
    let other = sign_rs256(
        rsa(1),
        &json!({"alg": "RS256", "kid": "rsa-0"}),
        &good_claims(),
    );
    let (_, foreign_signature) = other.rsplit_once('.').expect("three segments");
    assert_eq!(
        verify(&f, &format!("{signed}.{foreign_signature}")).await,
        invalid("signature invalid")
    );
    // The payload changed under the real signature.
    let (_, real_signature) = real.rsplit_once('.').expect("three segments");
    let tampered = rs256(&claims_with(json!({"sub": "mallory"})));
    let (tampered_input, _) = tampered.rsplit_once('.').expect("three segments");
    assert_eq!(
        verify(&f, &format!("{tampered_input}.{real_signature}")).await,
        invalid("signature invalid")
    );
}

#[tokio::test]
async fn tokens_that_are_not_three_segments_are_opaque_and_not_counted() {
    let f = fixture().await;
    for token in ["opaque-token", "a.b", "a.b.c.d", "a..c", ".b.c"] {
        assert_eq!(verify(&f, token).await, Verdict::Opaque);
    }
    for result in VerifyResult::ALL {
        assert_eq!(f.metrics.identity.verification(result).get(), 0);
    }
}

#[tokio::test]
async fn header_and_payload_must_be_base64url_json() {
    let f = fixture().await;
    let header = b64(br#"{"alg":"RS256","kid":"rsa-0"}"#);
    let payload = b64(good_claims().to_string().as_bytes());
    let not_json = b64(b"not json");
    for token in [
        format!("{header}.{not_json}.sig"),
        format!("{not_json}.{payload}.sig"),
        format!("{header}.!!!.sig"),
        format!("{}.{payload}.sig", b64(b"[1]")),
        format!("{}.{payload}.sig", b64(br#"{"kid":"rsa-0"}"#)),
    ] {
        assert_eq!(verify(&f, &token).await, invalid("malformed token"));
    }
}

#[tokio::test]
async fn tokens_over_16_kib_are_invalid() {
    let f = fixture().await;
    let big = rs256(&claims_with(json!({"pad": "x".repeat(16 * 1024)})));
    assert_eq!(verify(&f, &big).await, invalid("token too large"));
}

#[tokio::test]
async fn none_and_hmac_are_refused_even_when_configured() {
    let f = FileFixture::loaded(&standard_jwks(), |c| {
        c.algorithms = ["RS256", "HS256", "none"].map(String::from).to_vec();
    })
    .await;
    let payload = b64(good_claims().to_string().as_bytes());
    let none = format!("{}.{payload}.x", b64(br#"{"alg":"none","kid":"rsa-0"}"#));
    assert_eq!(verify(&f, &none).await, invalid("algorithm not allowed"));
    // The classic confusion: HS256 keyed with the public key's bytes.
    let hs = format!("{}.{payload}.x", b64(br#"{"alg":"HS256","kid":"rsa-0"}"#));
    assert_eq!(verify(&f, &hs).await, invalid("algorithm not allowed"));
}

#[tokio::test]
async fn algorithm_outside_the_configured_list_is_refused() {
    let f = FileFixture::loaded(&standard_jwks(), |c| c.algorithms = vec!["RS256".into()]).await;
    assert_eq!(
        verify(&f, &es256(&good_claims())).await,
        invalid("algorithm not allowed")
    );
}

#[tokio::test]
async fn exp_is_checked_against_the_given_clock_with_leeway() {
    let f = fixture().await;
    // Leeway 60 s: expired 59 s ago still passes, 61 s ago does not.
    let recent = rs256(&claims_with(json!({"exp": NOW_S - 59})));
    assert!(matches!(verify(&f, &recent).await, Verdict::Valid(_)));
    let expired = rs256(&claims_with(json!({"exp": NOW_S - 61})));
    let expected = Verdict::Invalid(Rejection {
        result: VerifyResult::Expired,
        description: "token expired".into(),
    });
    assert_eq!(verify(&f, &expired).await, expected);
    // The system clock is not consulted: far in the future by the given clock, expired.
    let valid_now = rs256(&good_claims());
    assert_eq!(
        f.identity.verify(&valid_now, NOW_MS + 7_200_000).await,
        expected
    );
}

#[tokio::test]
async fn nbf_in_the_future_beyond_leeway_is_refused() {
    let f = fixture().await;
    let soon = rs256(&claims_with(json!({"nbf": NOW_S + 59})));
    assert!(matches!(verify(&f, &soon).await, Verdict::Valid(_)));
    let later = rs256(&claims_with(json!({"nbf": NOW_S + 61})));
    assert_eq!(verify(&f, &later).await, invalid("token not yet valid"));
}

#[tokio::test]
async fn issuer_must_equal_the_configured_one() {
    let f = fixture().await;
    for iss in [json!("https://evil.test/"), Value::Null, json!(7)] {
        let token = rs256(&claims_with(json!({ "iss": iss })));
        assert_eq!(verify(&f, &token).await, invalid("issuer not accepted"));
    }
}

#[tokio::test]
async fn audience_string_or_array_must_hold_a_configured_one() {
    let f = fixture().await;
    for aud in [json!("admin-api"), json!(["other", "api"])] {
        let token = rs256(&claims_with(json!({ "aud": aud })));
        assert!(
            matches!(verify(&f, &token).await, Verdict::Valid(_)),
            "{aud}"
        );
    }
    for aud in [json!("other"), json!(["x", "y"]), json!([1]), Value::Null] {
        let token = rs256(&claims_with(json!({ "aud": aud })));
        assert_eq!(verify(&f, &token).await, invalid("audience not accepted"));
    }
}

#[tokio::test]
async fn empty_audience_list_does_not_check_aud() {
    let f = FileFixture::loaded(&standard_jwks(), |c| c.audience.clear()).await;
    let token = rs256(&claims_with(json!({"aud": "anything"})));
    assert!(matches!(verify(&f, &token).await, Verdict::Valid(_)));
}

#[tokio::test]
async fn claims_of_the_wrong_type_are_invalid() {
    let f = fixture().await;
    for (changes, why) in [
        (json!({"exp": "soon"}), "exp claim invalid"),
        (json!({"groups": 5}), "groups claim invalid"),
        (json!({"sub": {"id": 1}}), "subject claim invalid"),
        (json!({"nbf": "later"}), "malformed token"),
        (json!({"sub": "x".repeat(257)}), "subject claim too long"),
    ] {
        let token = rs256(&claims_with(changes));
        assert_eq!(verify(&f, &token).await, invalid(why));
    }
}

#[tokio::test]
async fn without_kid_the_one_key_fitting_the_algorithm_is_used() {
    let f = fixture().await;
    let token = sign_es256(ec(0), &json!({"alg": "ES256"}), &good_claims());
    assert!(matches!(verify(&f, &token).await, Verdict::Valid(_)));
}

#[tokio::test]
async fn without_kid_and_several_fitting_keys_a_kid_is_required() {
    let two_rsa = jwks(&[rsa_jwk(rsa(0), "rsa-0"), rsa_jwk(rsa(1), "rsa-1")]);
    let f = FileFixture::loaded(&two_rsa, |_| {}).await;
    let token = sign_rs256(rsa(0), &json!({"alg": "RS256"}), &good_claims());
    assert_eq!(verify(&f, &token).await, invalid("key id required"));
}

#[tokio::test]
async fn key_named_by_kid_must_fit_the_algorithm() {
    let f = fixture().await;
    // An ES256 token naming the RSA key.
    let token = sign_es256(
        ec(0),
        &json!({"alg": "ES256", "kid": "rsa-0"}),
        &good_claims(),
    );
    assert_eq!(
        verify(&f, &token).await,
        invalid("signing key does not fit the algorithm")
    );
}

#[tokio::test]
async fn unknown_kid_is_an_unknown_key() {
    let f = fixture().await;
    let token = sign_rs256(
        rsa(1),
        &json!({"alg": "RS256", "kid": "rsa-9"}),
        &good_claims(),
    );
    let expected = Verdict::Invalid(Rejection {
        result: VerifyResult::UnknownKey,
        description: "unknown signing key".into(),
    });
    assert_eq!(verify(&f, &token).await, expected);
}

#[tokio::test]
async fn verifications_are_counted_by_result() {
    let f = fixture().await;
    let unknown = sign_rs256(
        rsa(1),
        &json!({"alg": "RS256", "kid": "nope"}),
        &good_claims(),
    );
    let tokens = [
        rs256(&good_claims()),
        es256(&good_claims()),
        rs256(&claims_with(json!({"exp": NOW_S - 3600}))),
        rs256(&claims_with(json!({"iss": "other"}))),
        unknown,
    ];
    for token in &tokens {
        verify(&f, token).await;
    }
    let count = |r| f.metrics.identity.verification(r).get();
    assert_eq!(count(VerifyResult::Ok), 2);
    assert_eq!(count(VerifyResult::Expired), 1);
    assert_eq!(count(VerifyResult::Invalid), 1);
    assert_eq!(count(VerifyResult::UnknownKey), 1);
}

#[tokio::test]
async fn groups_past_256_are_counted_as_ignored() {
    let f = fixture().await;
    let groups: Vec<String> = (0..260).map(|i| format!("g{i}")).collect();
    let token = rs256(&claims_with(json!({ "groups": groups })));
    let Verdict::Valid(claims) = verify(&f, &token).await else {
        panic!("not valid");
    };
    assert_eq!(claims.groups.len(), 256);
    assert_eq!(f.metrics.identity.groups_ignored.get(), 4);
}

#[tokio::test]
async fn rejection_descriptions_are_safe_in_a_quoted_header() {
    let f = fixture().await;
    let payload = b64(good_claims().to_string().as_bytes());
    let hostile = format!(
        "{}.{payload}.x",
        b64(br#"{"alg":"RS256\"\\\n","kid":"\"quoted\"\r\n"}"#)
    );
    let samples = [
        hostile,
        rs256(&claims_with(json!({"sub": {"\"": "\\"}}))),
        rs256(&claims_with(json!({"iss": "\"\r\n"}))),
        "\"x\".\"y\".\"z\"".to_string(),
    ];
    for token in samples {
        if let Verdict::Invalid(r) = verify(&f, &token).await {
            let safe = r.description.len() < 80
                && r.description
                    .chars()
                    .all(|c| c.is_ascii_graphic() || c == ' ')
                && !r.description.contains(['"', '\\']);
            assert!(safe, "unsafe description {:?}", r.description);
        }
    }
}
