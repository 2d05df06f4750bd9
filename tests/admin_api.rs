//! The admin API and live reload, end to end: real gateway on port 0, real upstream, and
//! (for Save and reload) a real config file in a temp folder.
//!
//! Each test names its own admin-token env variable (`admin.token_env`) so that tests running
//! in parallel never race on one variable.

mod admin_support;
mod common;

use std::path::Path;
use std::time::Duration;

use admin_support::{admin, file_gateway, get, with_admin_env, write_config, SECRET};
use common::*;
use idlegate::config;
use serde_json::{json, Value};

#[tokio::test]
async fn without_admin_token_the_api_answers_403_naming_the_variable() {
    let up = upstream().await;
    let mut c = config(up);
    c.admin.token_env = "IDLEGATE_ADMIN_TOKEN_T_UNSET".into();
    std::env::set_var("IDLEGATE_ADMIN_TOKEN_T_EMPTY", "");
    let gw = gateway(c).await;
    let r = admin(&gw, "GET", "/api/v1/settings", Some("x"), None).await;
    assert_eq!(r.status, 403);
    assert!(
        r.body.contains("IDLEGATE_ADMIN_TOKEN_T_UNSET"),
        "{}",
        r.body
    );

    let mut c = config(up);
    c.admin.token_env = "IDLEGATE_ADMIN_TOKEN_T_EMPTY".into();
    let gw = gateway(c).await;
    let r = admin(&gw, "GET", "/api/v1/stats", None, None).await;
    assert_eq!(r.status, 403, "an empty variable counts as unset");
}

#[tokio::test]
async fn wrong_or_missing_admin_token_is_401() {
    let up = upstream().await;
    let gw = gateway(with_admin_env(config(up), "IDLEGATE_ADMIN_TOKEN_T_AUTH")).await;
    for token in [
        None,
        Some("wrong"),
        Some("admin-s3cre"),
        Some("admin-s3cret-"),
    ] {
        let r = admin(&gw, "GET", "/api/v1/settings", token, None).await;
        assert_eq!(r.status, 401, "{token:?}");
        assert_eq!(r.headers["www-authenticate"], "Bearer");
    }
    assert_eq!(get(&gw, "/api/v1/settings").await.status, 200);
    // Health and metrics need no token.
    let r = admin(&gw, "GET", "/healthz", None, None).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn settings_document_has_the_spec_shape() {
    let up = upstream().await;
    let gw = gateway(with_admin_env(config(up), "IDLEGATE_ADMIN_TOKEN_T_SHAPE")).await;
    let doc = get(&gw, "/api/v1/settings").await.json();
    assert_eq!(doc["enabled"], true);
    assert_eq!(doc["idle_seconds"], 2);
    assert_eq!(doc["mode"], "enforce");
    assert_eq!(doc["custom_exclusions"], json!([]));
    let groups = doc["default_exclusions"].as_array().unwrap();
    assert!(!groups.is_empty());
    for g in groups {
        for key in ["id", "title", "description", "routes", "caution", "enabled"] {
            assert!(g.get(key).is_some(), "group lacks {key}: {g}");
        }
        assert_eq!(g["enabled"], false);
    }
}

#[tokio::test]
async fn valid_put_applies_live_and_saves_with_comments_kept() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), up, "IDLEGATE_ADMIN_TOKEN_T_PUT");
    let gw = file_gateway(&path).await;
    let mut doc = get(&gw, "/api/v1/settings").await.json();
    doc["custom_exclusions"] = json!(["GET /poll/{id}"]);
    doc["idle_seconds"] = json!(900);
    doc["default_exclusions"][0]["enabled"] = json!(true);
    let first_group = doc["default_exclusions"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = admin(&gw, "PUT", "/api/v1/settings", Some(SECRET), Some(doc)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let answer = r.json();
    assert_eq!(answer["idle_seconds"], 900);
    assert_eq!(answer["custom_exclusions"], json!(["GET /poll/{id}"]));
    assert_eq!(answer["saved"], true);

    // The next request sees the new policy.
    assert_eq!(gw.get("/poll/7", Some("tok-put")).await.status, 200);
    let sample = "idlegate_excluded_requests_total{exclusion=\"GET /poll/{id}\"}";
    assert_eq!(gw.metric(sample).await, 1.0);
    assert_eq!(
        get(&gw, "/api/v1/settings").await.json()["idle_seconds"],
        900
    );

    // The file has the change and keeps everything else.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("# operator notes: keep this comment\n[proxy]"),
        "{text}"
    );
    assert!(
        text.contains("# two seconds for tests\nidle = \"15m\""),
        "{text}"
    );
    assert!(
        text.contains("custom = [\"GET /poll/{id}\"] # none yet"),
        "{text}"
    );
    assert!(
        text.contains(&format!("enabled_defaults = [\"{first_group}\"]")),
        "{text}"
    );
    assert!(text.contains("listen = \"127.0.0.1:18080\""));
    let reread = config::load(&path).unwrap().config;
    assert_eq!(reread.timeout.idle, Duration::from_secs(900));

    // idlegate's own Save is not a reload; a later real edit is exactly one.
    let edited = text.replace("idle = \"15m\"", "idle = \"20m\"");
    std::fs::write(&path, edited).unwrap();
    let ok = "idlegate_config_reloads_total{result=\"ok\"}";
    assert!(
        gw.eventually(Duration::from_secs(5), || async {
            gw.metric(ok).await >= 1.0
        })
        .await
    );
    assert_eq!(gw.metric(ok).await, 1.0);
    assert_eq!(
        gw.running.app.config().timeout.idle,
        Duration::from_secs(1200)
    );
}

#[tokio::test]
async fn invalid_put_lists_every_error_and_applies_nothing() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), up, "IDLEGATE_ADMIN_TOKEN_T_BAD");
    let before = std::fs::read_to_string(&path).unwrap();
    let gw = file_gateway(&path).await;
    let body = json!({
        "enabled": false,
        "idle_seconds": 0,
        "mode": "maybe",
        "default_exclusions": [{"id": "no-such-group", "enabled": true}],
        "custom_exclusions": ["GET /fine", "GET /bad/{*rest}/x"],
    });
    let r = admin(&gw, "PUT", "/api/v1/settings", Some(SECRET), Some(body)).await;
    assert_eq!(r.status, 400);
    let fields: Vec<String> = r.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        fields,
        [
            "idle_seconds",
            "mode",
            "default_exclusions[0].id",
            "custom_exclusions[1]"
        ]
    );
    assert!(
        r.body.contains("GET /bad/{*rest}/x"),
        "names the pattern: {}",
        r.body
    );
    let doc = get(&gw, "/api/v1/settings").await.json();
    assert_eq!(doc["enabled"], true, "nothing applied");
    assert_eq!(doc["custom_exclusions"], json!([]));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);

    let r = admin(&gw, "PUT", "/api/v1/settings", Some(SECRET), None).await;
    assert_eq!(r.status, 400, "empty body is not JSON");
}

#[tokio::test]
async fn put_without_config_file_applies_live_unsaved() {
    let up = upstream().await;
    let gw = gateway(with_admin_env(config(up), "IDLEGATE_ADMIN_TOKEN_T_NOFILE")).await;
    let body = json!({"mode": "shadow"});
    let r = admin(&gw, "PUT", "/api/v1/settings", Some(SECRET), Some(body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["saved"], false);
    assert_eq!(r.json()["mode"], "shadow");
    let stats = get(&gw, "/api/v1/stats").await.json();
    assert_eq!(stats["mode"], "shadow");
}

#[tokio::test]
async fn catalog_search_is_best_first_and_capped() {
    let up = upstream().await;
    let mut c = with_admin_env(config(up), "IDLEGATE_ADMIN_TOKEN_T_CAT");
    c.catalog.openapi =
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/catalog/genesys-cloud-apis.json"));
    let gw = gateway(c).await;
    let hits = get(&gw, "/api/v1/apis?q=presence").await.json();
    let hits = hits.as_array().unwrap();
    assert_eq!(hits.len(), 20, "default limit");
    for key in ["method", "path", "summary"] {
        assert!(hits[0].get(key).is_some());
    }
    assert!(hits[0]["path"].as_str().unwrap().contains("presence"));
    let many = get(&gw, "/api/v1/apis?q=api&limit=1000").await.json();
    assert_eq!(many.as_array().unwrap().len(), 100, "capped at 100");
    let few = get(&gw, "/api/v1/apis?q=users&limit=3").await.json();
    assert_eq!(few.as_array().unwrap().len(), 3);
    assert_eq!(get(&gw, "/api/v1/apis?limit=x").await.status, 400);
}

#[tokio::test]
async fn without_catalog_search_is_empty_with_a_note() {
    let up = upstream().await;
    let gw = gateway(with_admin_env(config(up), "IDLEGATE_ADMIN_TOKEN_T_NOCAT")).await;
    let r = get(&gw, "/api/v1/apis?q=users").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!([]));
    assert!(r.headers.contains_key("x-idlegate-catalog"));
}

#[tokio::test]
async fn token_status_active_unknown_and_bad_id() {
    let up = upstream().await;
    let gw = gateway(with_admin_env(config(up), "IDLEGATE_ADMIN_TOKEN_T_STATUS")).await;
    assert_eq!(gw.get("/x", Some("tok-status")).await.status, 200);
    let id = token_id("tok-status");
    let doc = get(&gw, &format!("/api/v1/tokens/{id}")).await.json();
    assert_eq!(doc["state"], "active");
    assert!(doc["last_activity"].as_str().unwrap().ends_with('Z'));
    let remaining = doc["remaining_seconds"].as_u64().unwrap();
    assert!((1..=2).contains(&remaining), "{remaining}");

    let unknown = get(&gw, &format!("/api/v1/tokens/{}", "0".repeat(32))).await;
    assert_eq!(unknown.status, 200);
    assert_eq!(unknown.json(), json!({"state": "unknown"}));
    assert_eq!(get(&gw, "/api/v1/tokens/xyz").await.status, 400);
    assert_eq!(
        get(&gw, &format!("/api/v1/tokens/{}", "g".repeat(32)))
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn delete_revokes_even_an_unknown_id() {
    let up = upstream().await;
    let gw = gateway(with_admin_env(config(up), "IDLEGATE_ADMIN_TOKEN_T_DEL")).await;
    let id = token_id("tok-never-seen");
    let path = format!("/api/v1/tokens/{id}");
    assert_eq!(admin(&gw, "DELETE", &path, None, None).await.status, 401);
    assert_eq!(
        admin(&gw, "DELETE", &path, Some(SECRET), None).await.status,
        204
    );
    let doc = get(&gw, &path).await.json();
    assert_eq!(doc["state"], "revoked");
    assert_eq!(doc["last_activity"], Value::Null);
    assert_eq!(doc["remaining_seconds"], Value::Null);
    let r = gw.get("/x", Some("tok-never-seen")).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json()["error_description"],
        "token revoked by an administrator"
    );
    assert_eq!(
        gw.metric("idlegate_revocations_total{reason=\"admin\"}")
            .await,
        1.0
    );
    let stats = get(&gw, "/api/v1/stats").await.json();
    assert_eq!(stats["revocations_last_hour"], 1);
    assert_eq!(stats["revoked_tokens"], 1);
}

const OK: &str = "idlegate_config_reloads_total{result=\"ok\"}";
const ERR: &str = "idlegate_config_reloads_total{result=\"error\"}";

#[tokio::test]
async fn file_change_reloads_and_bad_file_keeps_the_old_config() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), up, "IDLEGATE_ADMIN_TOKEN_T_RELOAD");
    let gw = file_gateway(&path).await;
    let text = std::fs::read_to_string(&path).unwrap();

    // In-place write.
    std::fs::write(&path, text.replace("custom = []", "custom = [\"GET /bg\"]")).unwrap();
    assert!(
        gw.eventually(Duration::from_secs(5), || async {
            gw.metric(OK).await >= 1.0
        })
        .await
    );
    assert_eq!(gw.running.app.config().exclusions.custom.len(), 1);
    gw.get("/bg", Some("tok-r")).await;
    assert_eq!(
        gw.metric("idlegate_requests_total{class=\"excluded\"}")
            .await,
        1.0
    );

    // A broken file: counted, logged, the old config keeps serving.
    std::fs::write(&path, text.replace("idle = \"2s\"", "idle = \"soon\"")).unwrap();
    assert!(
        gw.eventually(Duration::from_secs(5), || async {
            gw.metric(ERR).await >= 1.0
        })
        .await
    );
    assert_eq!(gw.running.app.config().exclusions.custom.len(), 1);
    assert_eq!(gw.get("/x", Some("tok-r")).await.status, 200);

    // Rename-over write (what editors and Save do), changing a listen address: applied, ok.
    let temp = dir.path().join("idlegate.toml.swp");
    let moved = text
        .replace("18080", "18081")
        .replace("idle = \"2s\"", "idle = \"3s\"");
    std::fs::write(&temp, moved).unwrap();
    std::fs::rename(&temp, &path).unwrap();
    assert!(
        gw.eventually(Duration::from_secs(5), || async {
            gw.metric(OK).await >= 2.0
        })
        .await
    );
    assert_eq!(gw.running.app.config().timeout.idle, Duration::from_secs(3));
    assert_eq!(gw.metric(ERR).await, 1.0);
    // Still serving on the listener it was started with.
    assert_eq!(gw.get("/x", Some("tok-r")).await.status, 200);
}

#[tokio::test]
async fn reload_reports_listen_changes_as_needing_a_restart() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), up, "IDLEGATE_ADMIN_TOKEN_T_LISTEN");
    let gw = file_gateway(&path).await;
    let text = std::fs::read_to_string(&path).unwrap();
    // Another file name, so that the folder watch does not race this direct reload.
    let other = dir.path().join("other.toml");
    std::fs::write(&other, text.replace("18080", "18082")).unwrap();
    let outcome =
        idlegate::reload::reload(&gw.running.app, &other, idlegate::reload::Trigger::Signal);
    assert_eq!(
        outcome,
        idlegate::reload::Outcome::Applied {
            restart: vec!["proxy.listen"]
        }
    );
    assert!(gw.metric(OK).await >= 1.0);
}

#[tokio::test]
async fn stats_show_live_figures() {
    let up = upstream().await;
    let gw = gateway(with_admin_env(config(up), "IDLEGATE_ADMIN_TOKEN_T_STATS")).await;
    gw.get("/x", Some("tok-s1")).await;
    gw.get("/x", Some("tok-s2")).await;
    let stats = get(&gw, "/api/v1/stats").await.json();
    assert_eq!(stats["tracked_tokens"], 2);
    assert_eq!(stats["revoked_tokens"], 0);
    assert_eq!(stats["revocations_last_hour"], 0);
    assert_eq!(stats["mode"], "enforce");
    assert_eq!(stats["enabled"], true);
}
