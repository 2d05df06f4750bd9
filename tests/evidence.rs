//! Live evidence end to end (docs/reference.md, "Live evidence"): the real gateway on port 0
//! in front of a real upstream, its clock moved by hand between rounds of requests, and
//! `GET /api/v1/evidence` read as an operator would.

mod admin_support;
mod common;

use std::path::Path;
use std::time::Duration;

use admin_support::{get, with_admin_env};
use common::*;
use idlegate::classify::Pattern;
use idlegate::config::Config;
use serde_json::Value;

const PRESENCE: &str = "/api/v2/users/3f1c2a8e-1b2c-4d5e-8f90-123456789abc/presences/purecloud";
const POLL: &str = "GET /api/v2/analytics/poll";

/// Every token sampled, an idle timeout longer than the test, and the shipped catalog.
fn evidence_config(up: std::net::SocketAddr, env: &str) -> Config {
    let mut c = with_admin_env(config(up), env);
    c.timeout.idle = Duration::from_secs(3600);
    c.evidence.settings.sample = 1;
    let catalog = "config/catalog/genesys-cloud-apis.json";
    c.catalog.openapi = Some(Path::new(env!("CARGO_MANIFEST_DIR")).join(catalog));
    c.exclusions.custom = vec![Pattern::parse(POLL).unwrap()];
    c
}

fn api<'a>(report: &'a Value, method: &str, template: &str) -> &'a Value {
    let apis = report["apis"].as_array().unwrap();
    let found = apis
        .iter()
        .find(|a| a["method"] == method && a["template"] == template);
    found.unwrap_or_else(|| panic!("no {method} {template} in {report}"))
}

#[tokio::test]
async fn tokens_polling_every_minute_make_an_activity_api_a_candidate_and_not_an_excluded_one() {
    let up = upstream().await;
    let gw = gateway(evidence_config(up, "IDLEGATE_ADMIN_TOKEN_T_EVIDENCE")).await;
    let tokens = ["ev-token-a", "ev-token-b", "ev-token-c", "ev-token-d"];
    for round in 0..8 {
        for t in tokens {
            assert_eq!(gw.get(PRESENCE, Some(t)).await.status, 200);
            assert_eq!(gw.get("/api/v2/analytics/poll", Some(t)).await.status, 200);
        }
        // Not periodic: once, with an id the catalog does not know.
        let orders = format!("/custom/orders/{}", 1000 + round);
        assert_eq!(gw.get(&orders, Some(tokens[0])).await.status, 200);
        gw.clock.advance(Duration::from_secs(60));
    }
    let report = get(&gw, "/api/v1/evidence").await;
    assert_eq!(report.status, 200, "{}", report.body);
    let report = report.json();
    assert!(report["since"].as_str().unwrap().ends_with('Z'), "{report}");

    let presence = api(&report, "GET", "/api/v2/users/{userId}/presences/purecloud");
    assert_eq!(presence["requests"], 32, "{presence}");
    assert_eq!(presence["tokens"], 4, "{presence}");
    assert_eq!(presence["class"], "activity");
    assert_eq!(presence["exclusion"], Value::Null);
    assert_eq!(presence["periodic_tokens"], 4, "{presence}");
    // 60 s on the clock, plus the real time the round of requests took.
    let about_a_minute = |v: &Value| v.as_f64().is_some_and(|s| (60.0..61.0).contains(&s));
    assert!(
        about_a_minute(&presence["median_interval_seconds"]),
        "{presence}"
    );

    let poll = api(&report, "GET", "/api/v2/analytics/poll");
    assert_eq!(poll["class"], "excluded");
    assert_eq!(poll["exclusion"], POLL);
    assert_eq!(poll["periodic_tokens"], 4, "{poll}");

    let orders = api(&report, "GET", "/custom/orders/{id}");
    assert_eq!(
        (&orders["requests"], &orders["tokens"]),
        (&8.into(), &1.into())
    );

    let candidates = report["candidates"].as_array().unwrap();
    let names: Vec<&str> = candidates
        .iter()
        .map(|c| c["template"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["/api/v2/users/{userId}/presences/purecloud"],
        "{report}"
    );
    assert_eq!(candidates[0]["periodic_tokens"], 4);
    assert!(about_a_minute(&candidates[0]["median_interval_seconds"]));
    assert_eq!(gw.metric("idlegate_evidence_templates").await, 3.0);
}

#[tokio::test]
async fn with_idle_tracking_off_requests_are_still_counted() {
    let up = upstream().await;
    let mut c = evidence_config(up, "IDLEGATE_ADMIN_TOKEN_T_EVIDENCE_UNTRACKED");
    c.timeout.enabled = false;
    let gw = gateway(c).await;
    for t in ["ev-off-a", "ev-off-b"] {
        assert_eq!(gw.get("/plain/path", Some(t)).await.status, 200);
    }
    // Without a token nothing is counted.
    assert_eq!(gw.get("/plain/path", None).await.status, 200);
    let report = get(&gw, "/api/v1/evidence").await.json();
    let plain = api(&report, "GET", "/plain/path");
    assert_eq!(
        (&plain["requests"], &plain["tokens"]),
        (&2.into(), &2.into())
    );
}

#[tokio::test]
async fn a_flood_of_distinct_paths_stays_within_max_templates_and_the_memory_bound() {
    let up = upstream().await;
    let mut c = evidence_config(up, "IDLEGATE_ADMIN_TOKEN_T_EVIDENCE_FLOOD");
    c.evidence.settings.max_templates = 1_000;
    let bound = c.evidence.settings.memory_bound_bytes();
    let gw = gateway(c).await;
    // Letters only, so that no segment looks like an identifier: every path is a template.
    let path = |i: usize| {
        let word: String = (0..4)
            .map(|k| char::from(b'a' + (i / 26usize.pow(k) % 26) as u8))
            .collect();
        format!(
            "/flood/{word}/{}",
            char::from(b'a' + (i / 26usize.pow(4) % 26) as u8)
        )
    };
    const OVER_HTTP: usize = 2_000;
    const TOTAL: usize = 100_000;
    for i in 0..OVER_HTTP {
        let token = format!("flood-{}", i % 50);
        assert_eq!(gw.get(&path(i), Some(&token)).await.status, 200);
    }
    let app = &gw.running.app;
    let evidence = app.evidence().expect("on");
    let now = gw.clock.now_ms();
    for i in OVER_HTTP..TOTAL {
        let key = keyer().key(&format!("flood-{}", i % 50));
        app.record_evidence(evidence, ("GET", path(i).as_str()), None, &key, now);
    }
    assert_eq!(evidence.templates(), 1_000);
    assert_eq!(gw.metric("idlegate_evidence_templates").await, 1_000.0);
    let overflow = gw.metric("idlegate_evidence_overflow_total").await;
    assert_eq!(overflow, (TOTAL - 1_000) as f64);
    let memory = gw.metric("idlegate_evidence_memory_bytes").await;
    assert!(memory > 0.0 && memory <= bound as f64, "{memory} > {bound}");
    let report = get(&gw, "/api/v1/evidence").await.json();
    assert_eq!(report["apis"].as_array().unwrap().len(), 1_000);
}

#[tokio::test]
async fn evidence_off_answers_404_and_records_nothing() {
    let up = upstream().await;
    let mut c = evidence_config(up, "IDLEGATE_ADMIN_TOKEN_T_EVIDENCE_OFF");
    c.evidence.enabled = false;
    let gw = gateway(c).await;
    assert_eq!(gw.get(PRESENCE, Some("ev-off")).await.status, 200);
    assert!(gw.running.app.evidence().is_none());
    let reply = get(&gw, "/api/v1/evidence").await;
    assert_eq!(reply.status, 404);
    let body = reply.json();
    assert_eq!(body["error"], "evidence_disabled");
    assert!(
        body["message"].as_str().unwrap().contains("[evidence]"),
        "{body}"
    );
    assert_eq!(gw.metric("idlegate_evidence_templates").await, 0.0);
    assert_eq!(gw.metric("idlegate_evidence_memory_bytes").await, 0.0);
}

#[test]
fn bad_evidence_settings_are_refused_with_their_line() {
    let text = "[proxy]\nupstream = \"http://127.0.0.1:9\"\n[evidence]\nwindow = \"30m\"\nsample = 0\nmax_templates = -1\nmin_tokens = 1000\n";
    let diags = idlegate::config::parse(text, Path::new("idlegate.toml")).unwrap_err();
    let text: Vec<String> = diags.iter().map(ToString::to_string).collect();
    let text = text.join("\n");
    for key in [
        "4:10: error: evidence.window",
        "5:10: error: evidence.sample",
    ] {
        assert!(text.contains(key), "{key}: {text}");
    }
    for key in [
        "6:17: error: evidence.max_templates",
        "7:14: error: evidence.min_tokens",
    ] {
        assert!(text.contains(key), "{key}: {text}");
    }
}
