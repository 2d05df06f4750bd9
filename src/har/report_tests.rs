//! Unit tests of the report's JSON and text forms.

use super::*;

fn sample() -> Report {
    Report {
        idle_seconds: 1800,
        apis: vec![ApiRow {
            method: "GET".into(),
            template: "/api/v2/users/{userId}/presences/purecloud".into(),
            count: 50,
            class: "activity".into(),
            exclusion: None,
            median_interval_seconds: Some(60.0),
            periodic: true,
        }],
        tokens: vec![TokenRow {
            token_id: "0123456789abcdef0123456789abcdef".into(),
            requests: 50,
            resetting_requests: 50,
            first: "2024-05-01T10:00:00.000Z".into(),
            last: "2024-05-01T10:49:00.000Z".into(),
            longest_gap_seconds: 61.5,
            would_revoke_at: None,
            policy: Some("supervisors".into()),
            subject: Some("alice@example.com".into()),
            claims: "jwt".into(),
        }],
        candidates: vec![],
        what_if: vec![WhatIf {
            group: "presence-polling".into(),
            revoked_tokens: vec![RevokedToken {
                token_id: "0123456789abcdef0123456789abcdef".into(),
                at: "2024-05-01T10:30:00.000Z".into(),
            }],
        }],
        skipped: vec![],
        skipped_total: 0,
        requests_without_token: 2,
        policies: vec![PolicyRow {
            name: "supervisors".into(),
            groups: vec!["supervisor".into()],
            idle_seconds: None,
            absolute_seconds: Some(43_200),
            tokens: 1,
        }],
        tokens_with_unreadable_claims: 0,
        absolute_seconds: None,
    }
}

#[test]
fn json_has_the_stable_field_order_and_nulls() {
    let json = sample().to_json();
    let keys = [
        "\"idle_seconds\"",
        "\"apis\"",
        "\"tokens\"",
        "\"candidates\"",
        "\"what_if\"",
        "\"skipped\"",
        "\"requests_without_token\"",
        "\"policies\"",
        "\"tokens_with_unreadable_claims\"",
    ];
    let positions: Vec<usize> = keys.iter().map(|k| json.find(k).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{json}");
    assert!(json.contains("\"exclusion\": null"));
    assert!(json.contains("\"would_revoke_at\": null"));
    assert!(json.contains("\"policy\": \"supervisors\""));
    assert!(
        json.contains("\"idle_seconds\": null"),
        "idle off is null: {json}"
    );
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(value.get("absolute_seconds").is_none(), "text report only");
}

#[test]
fn text_names_never_revoked_tokens_and_what_if_times() {
    let text = sample().to_text();
    assert!(text.contains("never"));
    assert!(text.contains("presence-polling"));
    assert!(text.contains("2024-05-01T10:30:00.000Z"));
    assert!(text.contains("shadow"));
    assert!(text.contains("1m 2s") || text.contains("1m 1s"), "{text}");
}

#[test]
fn text_names_each_tokens_policy_subject_and_unreadable_claims() {
    let mut r = sample();
    let text = r.to_text();
    assert!(
        text.contains("supervisors              idle off, absolute 12h"),
        "{text}"
    );
    assert!(text.contains("alice@example.com"), "{text}");
    assert!(!text.contains("could not be read"), "{text}");

    r.tokens[0].policy = None;
    r.tokens[0].subject = None;
    r.tokens[0].claims = "unreadable".into();
    r.tokens_with_unreadable_claims = 1;
    let text = r.to_text();
    assert!(text.contains("default (bad claims)"), "{text}");
    assert!(text.contains("1 token(s) look like JWTs but their claims could not be read"));
}
