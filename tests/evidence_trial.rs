//! The trial list end to end (docs/reference.md, "Trial list"): the real gateway on port 0 in
//! front of a real upstream, its clock moved by hand; the trial set, read and promoted through
//! the settings API, and its would-be revocations read from `GET /api/v1/evidence/trial`.

mod admin_support;
mod common;

use std::time::Duration;

use admin_support::{admin, get, with_admin_env, SECRET};
use common::*;
use idlegate::classify::Pattern;
use idlegate::config::Config;
use serde_json::{json, Value};

const POLL: &str = "GET /api/v2/analytics/poll";

/// Idle 10 minutes, every token sampled, the trial excluding the analytics poll.
fn trial_config(up: std::net::SocketAddr, env: &str) -> Config {
    let mut c = with_admin_env(config(up), env);
    c.timeout.idle = Duration::from_secs(600);
    c.evidence.settings.sample = 1;
    c.exclusions.trial_custom = vec![Pattern::parse(POLL).unwrap()];
    c
}

async fn put(gw: &Gateway, body: Value) -> Reply {
    admin(gw, "PUT", "/api/v1/settings", Some(SECRET), Some(body)).await
}

async fn trial_report(gw: &Gateway) -> Value {
    let reply = get(gw, "/api/v1/evidence/trial").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

#[tokio::test]
async fn a_token_kept_alive_only_by_a_trial_api_is_listed_with_what_kept_it_alive() {
    let up = upstream().await;
    let gw = gateway(trial_config(up, "IDLEGATE_ADMIN_TOKEN_T_TRIAL_LISTED")).await;
    let start = gw.clock.now_ms();
    // One activity request, then only the poll, every minute, for 11 minutes.
    assert_eq!(
        gw.get("/api/v2/users/me", Some("trial-a")).await.status,
        200
    );
    // A token the trial does not touch: it works all along.
    assert_eq!(
        gw.get("/api/v2/users/me", Some("trial-b")).await.status,
        200
    );
    for _ in 0..11 {
        gw.clock.advance(Duration::from_secs(60));
        assert_eq!(
            gw.get("/api/v2/analytics/poll", Some("trial-a"))
                .await
                .status,
            200
        );
        assert_eq!(
            gw.get("/api/v2/users/me", Some("trial-b")).await.status,
            200
        );
    }
    let report = trial_report(&gw).await;
    assert_eq!(report["trial"], json!({"defaults": [], "custom": [POLL]}));
    assert!(report["since"].as_str().unwrap().ends_with('Z'), "{report}");
    let listed = report["would_revoke"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{report}");
    assert_eq!(listed[0]["token_id"], token_id("trial-a"));
    assert_eq!(listed[0]["subject"], Value::Null);
    // The last trial reset was the first request; the idle timeout is 10 minutes. The
    // clock ran a little in real time between the requests: `at` is within a second.
    let at = listed[0]["at"].as_str().unwrap();
    let at_ms = idlegate::har::parse_rfc3339_ms(at).unwrap();
    assert!((start + 600_000..start + 601_000).contains(&at_ms), "{at}");
    assert_eq!(
        listed[0]["kept_alive_by"],
        json!([{"method": "GET", "template": "/api/v2/analytics/poll", "count": 9}]),
        "polls at 1..=9 minutes came before `at`; the one at 10 minutes reached it"
    );
    assert_eq!(gw.metric("idlegate_trial_revocations_total").await, 1.0);
}

#[tokio::test]
async fn the_trial_is_set_through_the_settings_and_promoted_in_one_put() {
    let up = upstream().await;
    let mut c = trial_config(up, "IDLEGATE_ADMIN_TOKEN_T_TRIAL_PROMOTE");
    c.exclusions.trial_custom.clear();
    let gw = gateway(c).await;
    let settings = get(&gw, "/api/v1/settings").await.json();
    assert_eq!(settings["trial"], json!({"defaults": [], "custom": []}));
    assert_eq!(trial_report(&gw).await["since"], Value::Null);

    let group = settings["default_exclusions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = put(
        &gw,
        json!({"trial": {"defaults": [group], "custom": [POLL]}}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["trial"]["custom"], json!([POLL]));
    let report = trial_report(&gw).await;
    assert_eq!(
        report["trial"],
        json!({"defaults": [group], "custom": [POLL]})
    );
    assert!(report["since"].is_string());

    let reply = put(&gw, json!({"promote_trial": true})).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let promoted = reply.json();
    assert_eq!(promoted["trial"], json!({"defaults": [], "custom": []}));
    assert_eq!(promoted["custom_exclusions"], json!([POLL]));
    let on = (promoted["default_exclusions"].as_array().unwrap().iter())
        .find(|g| g["id"] == group.as_str())
        .unwrap();
    assert_eq!(on["enabled"], true);
    // The poll is now excluded for real.
    assert_eq!(
        gw.get("/api/v2/analytics/poll", Some("trial-c"))
            .await
            .status,
        200
    );
    assert_eq!(trial_report(&gw).await["since"], Value::Null);
}

#[tokio::test]
async fn a_bad_trial_is_refused_field_by_field_and_changes_nothing() {
    let up = upstream().await;
    let gw = gateway(trial_config(up, "IDLEGATE_ADMIN_TOKEN_T_TRIAL_BAD")).await;
    let body = json!({"trial": {"defaults": ["no-such-group"], "custom": ["GET /a", "FETCH"]},
                      "promote_trial": "yes"});
    let reply = put(&gw, body).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    let errors = reply.json()["errors"].clone();
    let fields: Vec<&str> = (errors.as_array().unwrap().iter())
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["trial.defaults[0]", "trial.custom[1]", "promote_trial"],
        "{errors}"
    );
    let reply = put(&gw, json!({"trial": ["GET /a"]})).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.json()["errors"][0]["field"], "trial");
    let report = trial_report(&gw).await;
    assert_eq!(report["trial"]["custom"], json!([POLL]), "nothing applied");
}

#[tokio::test]
async fn with_evidence_off_the_trial_report_is_not_found() {
    let up = upstream().await;
    let mut c = trial_config(up, "IDLEGATE_ADMIN_TOKEN_T_TRIAL_OFF");
    c.evidence.enabled = false;
    c.exclusions.trial_custom.clear();
    let gw = gateway(c).await;
    let reply = get(&gw, "/api/v1/evidence/trial").await;
    assert_eq!(reply.status, 404, "{}", reply.body);
    assert_eq!(reply.json()["error"], "evidence_disabled");
}
