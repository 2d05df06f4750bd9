//! The identity provider's key set and tokens checked against it. Input: JWKS bytes, a line
//! `--`, then a token. A key set parses or is an error, never more than `MAX_KEYS` keys; a
//! token is opaque exactly when it is not a compact JWS; invalid with a description that is
//! safe in a `WWW-Authenticate` header; or valid, and then its claims read as the unverified
//! reader reads them and the same token with another signature is not valid. The claims
//! reader bounds groups and subjects.

use std::time::Duration;

use crate::config::{IdentityConfig, JwksSource, OnInvalid};
use crate::identity::{Identity, KeySet, Verdict, MAX_KEYS};
use crate::token::{decode_unverified, signing_input, MAX_GROUPS, MAX_SUBJECT_BYTES};

const NOW_MS: u64 = 1_800_000_000_000;

fn config() -> IdentityConfig {
    IdentityConfig {
        jwks: JwksSource::File("fuzz.json".into()),
        issuer: None,
        audience: Vec::new(),
        algorithms: ["RS256", "RS384", "PS256", "ES256", "ES384", "EdDSA"]
            .map(String::from)
            .to_vec(),
        subject_claim: vec!["sub".into()],
        groups_claim: vec!["realm_access".into(), "roles".into()],
        refresh: Duration::from_secs(600),
        leeway: Duration::from_secs(60),
        on_invalid: OnInvalid::Reject,
    }
}

pub fn identity(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (jwks, token) = text.split_once("\n--\n").unwrap_or((&text, ""));
    let token = token.trim_end_matches('\n');
    let (sub, groups) = (vec!["sub".to_string()], vec!["groups".to_string()]);
    if let Some(claims) = decode_unverified(token, &sub, &groups) {
        assert!(claims.groups.len() <= MAX_GROUPS);
        assert!(claims
            .subject
            .as_ref()
            .is_none_or(|s| s.len() <= MAX_SUBJECT_BYTES));
    }
    let Ok(keys) = KeySet::parse(jwks.as_bytes()) else {
        return;
    };
    assert!(keys.len() <= MAX_KEYS && !keys.is_empty());
    match Identity::verify_with(&config(), &keys, token, NOW_MS) {
        // Opaque exactly when the token is not a compact JWS.
        Verdict::Opaque => assert_eq!(signing_input(token).len(), token.len()),
        Verdict::Invalid(why) => {
            let header_safe = |b: u8| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\';
            let text = &why.description;
            assert!(!text.is_empty() && text.bytes().all(header_safe), "{why:?}");
        }
        Verdict::Valid(claims) => {
            // The verifier reads the claims as the unverified reader (HAR) does …
            let (sub, groups) = (&config().subject_claim, &config().groups_claim);
            let unverified = decode_unverified(token, sub, groups).expect("a valid JWS reads");
            assert_eq!(
                (&claims.subject, &claims.groups),
                (&unverified.subject, &unverified.groups)
            );
            // … and any other first signature byte is a forgery.
            let (input, sig) = token.rsplit_once('.').expect("a JWS");
            let other = if sig.starts_with('A') { "B" } else { "A" };
            let forged = format!("{input}.{other}{}", sig.get(1..).unwrap_or_default());
            let again = Identity::verify_with(&config(), &keys, &forged, NOW_MS);
            assert!(
                !matches!(again, Verdict::Valid(_)),
                "a changed signature passed"
            );
        }
    }
}
