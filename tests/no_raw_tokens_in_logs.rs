//! No raw token in any log line — at every level, through revocation, an upstream
//! failure and an upstream 401 — while the token id does appear (audit events).

mod common;

use std::time::Duration;

use common::*;

#[tokio::test]
async fn logs_carry_token_ids_never_tokens() {
    let logs = common::logs::Buffer::capture();

    let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJsb2ctdGVzdCJ9.UNIQUE-SIGNATURE-abc123";
    let up = upstream().await;
    let gw = gateway(config(up)).await;
    gw.get("/a", Some(token)).await;
    gw.get(
        "/status/401",
        Some("eyJ0eXAiOiJKV1QifQ.eyJ4IjoxfQ.SECOND-UNIQUE-sig"),
    )
    .await;
    gw.clock.advance(Duration::from_secs(3));
    assert_eq!(gw.get("/a", Some(token)).await.status, 401);

    let closed = common::closed_addr();
    let gw2 = gateway(config(closed)).await;
    assert_eq!(gw2.get("/x", Some(token)).await.status, 502);
    gw.running.stop().await.unwrap();

    let text = logs.text();
    assert!(
        text.contains(&token_id(token)),
        "audit event names the token id:\n{text}"
    );
    assert!(text.contains("\"target\":\"audit\""));
    for secret in [
        "UNIQUE-SIGNATURE-abc123",
        "eyJzdWIiOiJsb2ctdGVzdCJ9",
        "SECOND-UNIQUE-sig",
    ] {
        assert!(
            !text.contains(secret),
            "raw token material {secret} in logs:\n{text}"
        );
    }
}
