//! The scenario of `operator_changes_exclusions_in_the_admin_ui` around the page: the traffic
//! before the operator opens it, and where the saved change must have landed (the admin API,
//! the config file with its comments, live traffic).

use std::path::Path;
use std::time::Duration;

use http::StatusCode;
use serde_json::Value;

use super::{admin_get, common, flow, TIMEOUT_MINUTES};

pub async fn check_settings_api(gw: &common::Gateway) {
    let (status, settings) = admin_get(gw, "/api/v1/settings").await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    let customs: Vec<&str> = settings["custom_exclusions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(customs, [flow::PICKED, flow::PASTED]);
    let enabled: Vec<&str> = settings["default_exclusions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["enabled"] == Value::Bool(true))
        .filter_map(|g| g["id"].as_str())
        .collect();
    assert_eq!(enabled, [flow::GROUP]);
    assert_eq!(settings["idle_seconds"], TIMEOUT_MINUTES * 60);
}

pub fn check_config_file(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.contains("# Ids of the default groups switched on"),
        "comments lost:\n{text}"
    );
    assert!(
        text.contains("# idlegate configuration (docs/reference.md, \"Configuration\")"),
        "comments lost:\n{text}"
    );
    let config = idlegate::config::load(path)
        .expect("the saved file is valid")
        .config;
    assert_eq!(config.exclusions.enabled_defaults, [flow::GROUP]);
    let customs: Vec<String> = config
        .exclusions
        .custom
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert_eq!(customs, [flow::PICKED, flow::PASTED]);
    assert_eq!(
        config.timeout.idle,
        Duration::from_secs(TIMEOUT_MINUTES * 60)
    );
}

/// A token whose only calls go to the newly excluded route idles out after the new timeout;
/// one that makes a timer-resetting call in between does not. Time is the gateway's clock.
pub async fn check_live_traffic(gw: &common::Gateway) {
    let idle = Duration::from_secs(TIMEOUT_MINUTES * 60);
    let (quiet, busy) = ("browser-quiet-token", "browser-busy-token");
    let trace = "/api/v2/diagnostics/trace";
    assert_eq!(
        gw.call("POST", trace, Some(quiet)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        gw.call("POST", trace, Some(busy)).await.status,
        StatusCode::OK
    );
    gw.clock.advance(idle - Duration::from_secs(60));
    assert_eq!(
        gw.call("POST", trace, Some(quiet)).await.status,
        StatusCode::OK
    );
    let routing = "/api/v2/users/42/routingstatus";
    assert_eq!(gw.get(routing, Some(quiet)).await.status, StatusCode::OK);
    assert_eq!(
        gw.get("/api/v2/users/me", Some(busy)).await.status,
        StatusCode::OK
    );
    gw.clock.advance(Duration::from_secs(61));
    let refused = gw.call("POST", trace, Some(quiet)).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    assert_eq!(refused.json()["error"], "invalid_token");
    assert_eq!(
        gw.call("POST", trace, Some(busy)).await.status,
        StatusCode::OK
    );
}

/// Some traffic before the operator opens the page, so the live figures have something to
/// show: two tracked tokens and one that idled out under the shipped 30 minutes.
pub async fn seed_traffic(gw: &common::Gateway) {
    let users_me = "/api/v2/users/me";
    for token in ["seed-token-a", "seed-token-b", "seed-token-c"] {
        assert_eq!(gw.get(users_me, Some(token)).await.status, StatusCode::OK);
    }
    gw.clock.advance(Duration::from_secs(29 * 60));
    for token in ["seed-token-a", "seed-token-b"] {
        assert_eq!(gw.get(users_me, Some(token)).await.status, StatusCode::OK);
    }
    gw.clock.advance(Duration::from_secs(2 * 60));
    let gone = gw.get(users_me, Some("seed-token-c")).await;
    assert_eq!(gone.status, StatusCode::UNAUTHORIZED);
}
