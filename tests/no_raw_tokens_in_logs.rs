//! No raw token in any log line — at every level, through revocation, an upstream
//! failure and an upstream 401 — while the token id does appear (audit events).

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_carry_token_ids_never_tokens() {
    let logs = Buffer::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .init();

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

    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let gw2 = gateway(config(closed)).await;
    assert_eq!(gw2.get("/x", Some(token)).await.status, 502);
    gw.running.stop().await.unwrap();

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
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
