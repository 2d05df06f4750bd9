//! The trial list's listings across a restart (docs/reference.md, "Trial list"): the same
//! trial list finds its would-be revocations and start again (the trial file beside the
//! snapshot); another trial list in the config starts over, its timers from each token's last
//! activity.

mod admin_support;
mod common;

use std::time::Duration;

use admin_support::{get, with_admin_env};
use common::*;
use idlegate::classify::Pattern;
use idlegate::config::Config;
use serde_json::Value;

async fn trial_report(gw: &Gateway) -> Value {
    let reply = get(gw, "/api/v1/evidence/trial").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

fn trial_config(up: std::net::SocketAddr, dir: &std::path::Path, pattern: &str) -> Config {
    let mut c = with_admin_env(config(up), "IDLEGATE_ADMIN_TOKEN_T_TRIAL_RESTART");
    c.timeout.idle = Duration::from_secs(600);
    c.exclusions.trial_custom = vec![Pattern::parse(pattern).unwrap()];
    c.state.snapshot = Some(dir.join("idlegate.state"));
    c
}

#[tokio::test]
async fn the_same_trial_keeps_its_listings_across_a_restart_and_another_starts_over() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let c = trial_config(up, dir.path(), "GET /poll");
    let gw = gateway(c.clone()).await;
    let (a, b, c3) = ("trial-kept-a", "trial-kept-b", "trial-kept-c");
    for t in [a, b, c3] {
        assert_eq!(gw.get("/work", Some(t)).await.status, 200);
    }
    // c polls for 5 minutes only: its trial deadline (10 min) passes with no request of it.
    for minute in 1..=10 {
        gw.clock.advance(Duration::from_secs(60));
        assert_eq!(gw.get("/poll", Some(a)).await.status, 200);
        assert_eq!(gw.get("/poll", Some(b)).await.status, 200);
        if minute <= 5 {
            assert_eq!(gw.get("/poll", Some(c3)).await.status, 200);
        }
    }
    let before = trial_report(&gw).await;
    assert_eq!(
        before["would_revoke"].as_array().unwrap().len(),
        2,
        "{before}"
    );

    let clock = gw.clock.clone();
    gw.running.stop().await.unwrap();
    let trial_file = dir.path().join("idlegate.state.trial");
    let text = std::fs::read_to_string(&trial_file).unwrap();
    assert!(
        !text.contains(a) && !text.contains(b),
        "token ids only: {text}"
    );
    let gw = gateway_on(c.clone(), &clock).await;
    let after = trial_report(&gw).await;
    assert_eq!(
        after, before,
        "the same trial list finds its listings and start again"
    );

    // The config names another trial list while the gateway is down.
    gw.running.stop().await.unwrap();
    clock.advance(Duration::from_secs(60));
    let other = trial_config(up, dir.path(), "GET /other");
    let gw = gateway_on(other, &clock).await;
    let report = trial_report(&gw).await;
    assert_eq!(report["would_revoke"], Value::Array(vec![]), "{report}");
    assert_ne!(report["since"], before["since"]);
    // Its timers start from each token's last activity, not from the first list's resets:
    // c (last activity at 5 minutes, first list's reset at 0) is not due at 11 minutes.
    assert_eq!(gw.get("/other", Some(c3)).await.status, 200);
    assert!(trial_report(&gw).await["would_revoke"]
        .as_array()
        .unwrap()
        .is_empty());
    gw.running.stop().await.unwrap();
}
