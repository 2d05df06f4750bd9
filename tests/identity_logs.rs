//! With `[identity]`: no raw token in any log line, at every level, through verification,
//! a refusal, the session endpoint and a subject signed out everywhere, while the audit events
//! name the token id, the subject and the policy.

mod admin_support;
mod common;
mod identity_support;

use std::time::Duration;

use admin_support::{admin, with_admin_env, SECRET};
use common::*;
use identity_support::*;

#[tokio::test]
async fn identity_logs_name_ids_subjects_and_policies_never_tokens() {
    let logs = common::logs::Buffer::capture();

    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("jwks.json");
    let signer = Signer::new("k1");
    write_jwks(&jwks, &[&signer]);
    let config = with_admin_env(
        with_identity(config(upstream().await), &jwks),
        "IDLOGS_ADMIN",
    );
    let gw = gateway(config).await;
    let now = gw.clock.now_ms();
    let token = signer.sign(&claims(now, "grace@example.com", &["supervisor"]));
    assert_eq!(gw.get("/a", Some(&token)).await.status, 200);
    let (input, signature) = token.rsplit_once('.').unwrap();
    let forged = format!("{input}.{}", "Q".repeat(86));
    assert_eq!(gw.get("/a", Some(&forged)).await.status, 401);
    assert_eq!(gw.get("/.idlegate/session", Some(&token)).await.status, 200);
    let path = "/api/v1/subjects/grace%40example.com/tokens";
    let revoked = admin(&gw, "DELETE", path, Some(SECRET), None).await;
    assert_eq!(revoked.json(), serde_json::json!({"revoked": 1}));
    gw.clock.advance(Duration::from_secs(1));
    gw.running.stop().await.unwrap();

    let text = logs.text();
    let audit: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\"target\":\"audit\"") && l.contains("\"event\":\"revocation\""))
        .collect();
    assert_eq!(audit.len(), 1, "{text}");
    assert!(audit[0].contains(&token_id(&token)), "{}", audit[0]);
    assert!(
        audit[0].contains("\"subject\":\"grace@example.com\""),
        "{}",
        audit[0]
    );
    assert!(
        audit[0].contains("\"policy\":\"supervisors\""),
        "{}",
        audit[0]
    );
    let (_, payload) = input.split_once('.').unwrap();
    for secret in [signature, payload, &"Q".repeat(86)] {
        assert!(
            !text.contains(secret),
            "raw token material in logs:\n{text}"
        );
    }
}
