//! The memory backend: state survives restarts and crashes through the snapshot.

mod admin_support;
mod common;

use std::process::Stdio;
use std::time::Duration;

use admin_support::{get, with_admin_env};
use common::*;
use idlegate::classify::Pattern;
use idlegate::clock::rfc3339;

#[tokio::test]
async fn graceful_restart_keeps_revocations_and_last_activity() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(up);
    c.timeout.idle = Duration::from_secs(10);
    c.state.snapshot = Some(dir.path().join("state/idlegate.state"));
    let gw = gateway(c.clone()).await;
    gw.get("/a", Some("revoked")).await;
    gw.get("/a", Some("active")).await;
    gw.clock.advance(Duration::from_secs(6));
    gw.get("/a", Some("active")).await;
    gw.clock.advance(Duration::from_secs(5));
    assert_eq!(gw.get("/a", Some("revoked")).await.status, 401);
    let clock = gw.clock.clone();
    gw.running.stop().await.unwrap();
    assert!(dir.path().join("state/idlegate.state").exists());

    let gw = gateway_on(c.clone(), &clock).await;
    assert_eq!(
        gw.get("/a", Some("revoked")).await.status,
        401,
        "revocation survives"
    );
    assert_eq!(gw.get("/x", Some("never-seen")).await.status, 200);
    // `active` was last active 5 s ago: it expires 10 s after that, not 10 s after restart.
    gw.clock.advance(Duration::from_secs(5));
    assert_eq!(
        gw.get("/a", Some("active")).await.status,
        401,
        "last activity restored"
    );
    gw.running.stop().await.unwrap();

    // A token that went idle while the gateway was down is revoked at once.
    let gw = gateway_on(c.clone(), &clock).await;
    gw.get("/a", Some("sleeper")).await;
    gw.running.stop().await.unwrap();
    clock.advance(Duration::from_secs(30));
    let gw = gateway_on(c, &clock).await;
    let revoked = gw
        .eventually(Duration::from_secs(5), || async {
            gw.metric("idlegate_revocations_total{reason=\"inactivity\"}")
                .await
                >= 1.0
        })
        .await;
    assert!(
        revoked,
        "the sweeper revokes it on its first tick, without a request"
    );
    assert_eq!(gw.get("/a", Some("sleeper")).await.status, 401);
}

/// The would-be revocations a gateway lists (`GET /api/v1/evidence/trial`).
async fn would_revoke(gw: &Gateway) -> Vec<serde_json::Value> {
    let reply = get(gw, "/api/v1/evidence/trial").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["would_revoke"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_restart_keeps_each_tokens_trial_timer() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let mut c = with_admin_env(config(up), "IDLEGATE_ADMIN_TOKEN_T_SNAPSHOT_TRIAL");
    c.timeout.idle = Duration::from_secs(600);
    c.exclusions.trial_custom = vec![Pattern::parse("GET /poll").unwrap()];
    c.state.snapshot = Some(dir.path().join("idlegate.state"));
    let (gw, t) = (gateway(c.clone()).await, "trial-restart");
    // One activity request (its last trial reset), then only the poll, every minute.
    assert_eq!(gw.get("/work", Some(t)).await.status, 200);
    let status = get(&gw, &format!("/api/v1/tokens/{}", token_id(t))).await;
    let last = status.json()["last_activity"].as_str().unwrap().to_owned();
    let reset_ms = idlegate::har::parse_rfc3339_ms(&last).unwrap();
    for _ in 1..=4 {
        gw.clock.advance(Duration::from_secs(60));
        assert_eq!(gw.get("/poll", Some(t)).await.status, 200);
    }
    // The restart, at 5 minutes: a graceful stop writes the snapshot.
    gw.clock.advance(Duration::from_secs(60));
    let clock = gw.clock.clone();
    gw.running.stop().await.unwrap();
    let gw = gateway_on(c, &clock).await;
    for _ in 5..=9 {
        assert_eq!(gw.get("/poll", Some(t)).await.status, 200);
        gw.clock.advance(Duration::from_secs(60));
    }
    assert!(would_revoke(&gw).await.is_empty());
    // 10 minutes after the activity request, not after the restart nor the last poll before it.
    assert_eq!(gw.get("/poll", Some(t)).await.status, 200);
    let listed = would_revoke(&gw).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["token_id"], token_id(t));
    assert_eq!(listed[0]["at"], rfc3339(reset_ms + 600_000));
    // The kept-alive counts start over at a restart: the polls at 5 to 9 minutes.
    assert_eq!(listed[0]["kept_alive_by"][0]["count"], 5);
    gw.running.stop().await.unwrap();
}

#[tokio::test]
async fn unreadable_snapshots_refuse_the_start_naming_the_files() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idlegate.state");
    std::fs::write(&path, b"garbage").unwrap();
    std::fs::write(dir.path().join("idlegate.state.1"), b"more garbage").unwrap();
    let mut c = config(up);
    c.state.snapshot = Some(path);
    let gw = gateway(c).await;
    let err = gw.running.stop().await.expect_err("start refused");
    let text = err.to_string();
    assert!(
        text.contains("idlegate.state") && text.contains("idlegate.state.1"),
        "{text}"
    );
    assert!(text.contains("move"), "{text}");
}

async fn spawn_binary(cfg: &std::path::Path) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_idlegate"))
        .args(["run", "--config"])
        .arg(cfg)
        .env("IDLEGATE_HASH_KEY", "crash-test")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

async fn wait_ready(gw_client: &Gateway, admin: u16) {
    let url: http::Uri = format!("http://127.0.0.1:{admin}/readyz").parse().unwrap();
    for _ in 0..250 {
        if let Ok(r) = gw_client.client.get(url.clone()).await {
            if r.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("gateway not ready");
}

#[tokio::test]
async fn kill_9_loses_no_revocation() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let (proxy, admin) = (free_port(), free_port());
    let state = dir.path().join("idlegate.state");
    let cfg = dir.path().join("idlegate.toml");
    std::fs::write(
        &cfg,
        format!(
            "[proxy]\nlisten = \"127.0.0.1:{proxy}\"\nupstream = \"http://{up}\"\n\
             [admin]\nlisten = \"127.0.0.1:{admin}\"\n\
             [timeout]\nidle = \"1s\"\nresolution = \"100ms\"\n\
             [state]\nsnapshot = \"idlegate.state\"\nsnapshot_interval = \"100ms\"\n"
        ),
    )
    .unwrap();
    // A harness client pointed at the binary's ports.
    let probe = gateway(config(up)).await;
    let call = |token: &'static str| {
        let url: http::Uri = format!("http://127.0.0.1:{proxy}/a").parse().unwrap();
        let req = http::Request::get(url)
            .header("authorization", format!("Bearer {token}"))
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .unwrap();
        let client = probe.client.clone();
        async move { client.request(req).await.unwrap().status() }
    };
    let mut child = spawn_binary(&cfg).await;
    wait_ready(&probe, admin).await;
    assert_eq!(call("doomed").await, 200);
    // Real time has to pass here: the binary runs on the wall clock.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(call("doomed").await, 401);
    let revoked_at = std::time::SystemTime::now();
    // Wait for a snapshot written after the revocation.
    let mut saved = false;
    for _ in 0..100 {
        let modified = std::fs::metadata(&state).and_then(|m| m.modified());
        if modified.is_ok_and(|m| m > revoked_at + Duration::from_millis(150)) {
            saved = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(saved, "a snapshot was written after the revocation");
    child.start_kill().unwrap();
    let _ = child.wait().await;

    let _child = spawn_binary(&cfg).await;
    wait_ready(&probe, admin).await;
    assert_eq!(
        call("doomed").await,
        401,
        "revoked token refused after kill -9"
    );
}
