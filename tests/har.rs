//! `idlegate har` on the recordings in tests/fixtures/har (made by generate.py there) and on
//! bad input.

use std::path::{Path, PathBuf};
use std::time::Duration;

use idlegate::catalog::Catalog;
use idlegate::config::Config;
use idlegate::har::{analyze_file, analyze_reader, HarError, HarOptions, Report};
use idlegate::token::Keyer;

mod har_support;
use har_support::{api, config, root};

const BACKGROUND: [&str; 5] = [
    "client-diagnostics",
    "token-checks",
    "notification-keepalive",
    "presence-polling",
    "stats-polling",
];

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/har").join(name)
}

fn catalog() -> Catalog {
    Catalog::load(&root().join("config/catalog/genesys-cloud-apis.json")).expect("catalog")
}

fn keyer() -> Keyer {
    Keyer::from_secret(b"har-tests")
}

fn analyze(name: &str, cfg: &Config, opts: &HarOptions) -> Report {
    analyze_file(&fixture(name), opts, cfg, &keyer(), Some(&catalog())).expect("analysis")
}

fn enable(groups: &[&str]) -> HarOptions {
    HarOptions {
        enable: groups.iter().map(|g| g.to_string()).collect(),
        ..HarOptions::default()
    }
}

fn is_candidate(r: &Report, method: &str, template: &str) -> bool {
    r.candidates
        .iter()
        .any(|c| c.method == method && c.template == template)
}

fn what_if<'a>(r: &'a Report, group: &str) -> &'a idlegate::har::WhatIf {
    r.what_if
        .iter()
        .find(|w| w.group == group)
        .expect("what-if row")
}

#[test]
fn idle_agent_background_apis_are_periodic_candidates() {
    let r = analyze("idle-agent.har", &config(""), &HarOptions::default());
    assert!(
        is_candidate(&r, "POST", "/api/v2/diagnostics/trace"),
        "{}",
        r.to_text()
    );
    assert!(is_candidate(
        &r,
        "GET",
        "/api/v2/users/{userId}/presences/purecloud"
    ));
    assert!(is_candidate(
        &r,
        "GET",
        "/api/v2/users/{userId}/routingstatus"
    ));
    let trace = api(&r, "/api/v2/diagnostics/trace").unwrap();
    assert_eq!(trace.class, "activity");
    assert!(trace.periodic);
    let median = trace.median_interval_seconds.unwrap();
    assert!((40.0..50.0).contains(&median), "{median}");
}

#[test]
fn idle_agent_is_never_revoked_under_the_current_config() {
    let r = analyze("idle-agent.har", &config(""), &HarOptions::default());
    assert_eq!(r.tokens.len(), 1);
    assert_eq!(r.tokens[0].would_revoke_at, None);
    assert!(r.tokens[0].longest_gap_seconds < 60.0);
    // The page, its script, the data: URL and the WebSocket.
    assert_eq!(r.requests_without_token, 2);
    assert_eq!(r.skipped.len(), 2);
}

#[test]
fn idle_agent_is_revoked_once_diagnostics_and_presence_are_excluded() {
    let cfg = config("[exclusions]\nenabled_defaults = [\"client-diagnostics\"]\n");
    let r = analyze("idle-agent.har", &cfg, &enable(&["presence-polling"]));
    let token = &r.tokens[0];
    // Last activity is the login burst at 13:00:03; 30 minutes later the next poll finds it.
    assert_eq!(
        token.would_revoke_at.as_deref(),
        Some("2024-05-14T13:30:03.000Z")
    );
    assert!(token.longest_gap_seconds > 45.0 * 60.0);
    assert_eq!(r.apis.iter().filter(|a| a.class == "excluded").count(), 4);

    // With only diagnostics on, the what-if for presence-polling predicts the same revocation.
    let r = analyze("idle-agent.har", &cfg, &HarOptions::default());
    assert_eq!(r.tokens[0].would_revoke_at, None);
    let w = what_if(&r, "presence-polling");
    assert_eq!(w.revoked_tokens.len(), 1);
    assert_eq!(w.revoked_tokens[0].at, "2024-05-14T13:30:03.000Z");
    assert!(r.what_if.iter().all(|w| w.group != "client-diagnostics"));
}

#[test]
fn long_call_survives_any_single_background_group() {
    let r = analyze("long-call.har", &config(""), &HarOptions::default());
    assert_eq!(r.tokens[0].would_revoke_at, None);
    for group in BACKGROUND {
        assert!(what_if(&r, group).revoked_tokens.is_empty(), "{group}");
    }
}

#[test]
fn long_call_is_revoked_mid_call_when_all_background_groups_are_excluded() {
    let r = analyze("long-call.har", &config(""), &enable(&BACKGROUND));
    let token = &r.tokens[0];
    // Answered at 09:02:30, hung up at 09:47:30: revoked 30 minutes after the answer click.
    let at = token.would_revoke_at.as_deref().expect("revoked");
    assert_eq!(at, "2024-05-15T09:32:30.000Z");
    assert!(at > "2024-05-15T09:02:30" && at < "2024-05-15T09:47:30");
    assert!(token.longest_gap_seconds >= 45.0 * 60.0);
    // The remaining what-if (media sync) is not needed to revoke; it is already revoked.
    assert!(what_if(&r, "interaction-media-sync")
        .revoked_tokens
        .is_empty());
}

#[test]
fn long_call_with_a_shorter_idle_is_revoked_by_a_single_group() {
    let cfg =
        config("[exclusions]\nenabled_defaults = [\"client-diagnostics\", \"presence-polling\"]\n");
    let opts = HarOptions {
        idle: Some(Duration::from_secs(15 * 60)),
        ..HarOptions::default()
    };
    let r = analyze("long-call.har", &cfg, &opts);
    assert_eq!(r.idle_seconds, 900);
    assert_eq!(r.tokens[0].would_revoke_at, None);
    assert!(!what_if(&r, "notification-keepalive")
        .revoked_tokens
        .is_empty());
}

#[test]
fn active_agent_is_never_revoked_and_no_group_would_change_that() {
    let r = analyze("active-agent.har", &config(""), &HarOptions::default());
    assert_eq!(r.tokens.len(), 2, "the token refresh starts a second token");
    assert!(r.tokens.iter().all(|t| t.would_revoke_at.is_none()));
    assert!(r.what_if.iter().all(|w| w.revoked_tokens.is_empty()));
    assert_eq!(r.what_if.len(), 6);
    assert_eq!(r.requests_without_token, 4);
    // Firefox writes local times with an offset; the report is in UTC.
    assert!(
        r.tokens[0].first.starts_with("2024-05-16T07:00:01"),
        "{}",
        r.tokens[0].first
    );

    let r = analyze("active-agent.har", &config(""), &enable(&BACKGROUND));
    assert!(r.tokens.iter().all(|t| t.would_revoke_at.is_none()));
}

#[test]
fn custom_pattern_on_the_command_line_is_tried_like_a_config_change() {
    let opts = HarOptions {
        custom: vec!["POST /api/v2/diagnostics/trace".into()],
        ..HarOptions::default()
    };
    let r = analyze("idle-agent.har", &config(""), &opts);
    let trace = api(&r, "/api/v2/diagnostics/trace").unwrap();
    assert_eq!(trace.class, "excluded");
    assert_eq!(
        trace.exclusion.as_deref(),
        Some("POST /api/v2/diagnostics/trace")
    );
    assert!(!is_candidate(&r, "POST", "/api/v2/diagnostics/trace"));
}

#[test]
fn unknown_group_and_bad_pattern_are_errors() {
    let cfg = config("");
    let err = analyze_file(
        &fixture("idle-agent.har"),
        &enable(&["nope"]),
        &cfg,
        &keyer(),
        None,
    );
    assert!(matches!(err, Err(HarError::UnknownGroup(g)) if g == "nope"));
    let opts = HarOptions {
        custom: vec!["FETCH /x".into()],
        ..HarOptions::default()
    };
    let err = analyze_file(&fixture("idle-agent.har"), &opts, &cfg, &keyer(), None);
    assert!(matches!(err, Err(HarError::BadPattern(_))));
}

#[test]
fn without_a_catalog_ids_are_normalised() {
    let r = analyze_file(
        &fixture("idle-agent.har"),
        &HarOptions::default(),
        &config(""),
        &keyer(),
        None,
    )
    .unwrap();
    assert!(is_candidate(
        &r,
        "GET",
        "/api/v2/users/{id}/presences/purecloud"
    ));
}

#[test]
fn json_and_text_reports_render() {
    let r = analyze("long-call.har", &config(""), &enable(&BACKGROUND));
    let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(json["idle_seconds"], 1800);
    assert_eq!(
        json["tokens"][0]["would_revoke_at"],
        "2024-05-15T09:32:30.000Z"
    );
    assert_eq!(json["skipped"][0]["field"], "request.url");
    let text = r.to_text();
    assert!(text.contains("/api/v2/diagnostics/newrelic/insights"));
    assert!(text.contains("2024-05-15T09:32:30.000Z"));
}

fn analyze_text(text: &str) -> Result<Report, HarError> {
    analyze_reader(
        text.as_bytes(),
        &HarOptions::default(),
        &config(""),
        &keyer(),
        None,
    )
}

fn entry(time: &str, url: &str) -> String {
    format!(
        r#"{{"startedDateTime":"{time}","request":{{"method":"GET","url":"{url}",
        "headers":[{{"name":"Authorization","value":"Bearer abc.def.ghi"}}]}},"response":{{"status":200}}}}"#
    )
}

fn har(entries: &[String]) -> String {
    format!(
        r#"{{"log":{{"version":"1.2","entries":[{}]}}}}"#,
        entries.join(",")
    )
}

#[test]
fn not_json_and_not_har_are_errors() {
    assert!(matches!(
        analyze_text("<html>"),
        Err(HarError::NotJson { .. })
    ));
    assert!(matches!(
        analyze_text(r#"{"log":{}}"#),
        Err(HarError::NotHar { .. })
    ));
    let missing = analyze_file(
        Path::new("/nonexistent.har"),
        &HarOptions::default(),
        &config(""),
        &keyer(),
        None,
    );
    assert!(matches!(missing, Err(HarError::Io { .. })));
}

#[test]
fn bad_timestamps_and_non_http_urls_are_skipped_and_counted() {
    let r = analyze_text(&har(&[
        entry("2024-05-01T10:00:00Z", "https://h/a"),
        entry("not a time", "https://h/a"),
        entry("2024-05-01T10:00:01Z", "ws://h/socket"),
        entry("2024-05-01T10:00:02Z", "data:text/plain,hi"),
        entry("2024-05-01T10:00:03Z", "https://h/a"),
    ]))
    .unwrap();
    let skipped: Vec<(usize, &str)> = r
        .skipped
        .iter()
        .map(|s| (s.entry, s.field.as_str()))
        .collect();
    assert_eq!(
        skipped,
        vec![
            (1, "startedDateTime"),
            (2, "request.url"),
            (3, "request.url")
        ]
    );
    assert_eq!(r.tokens[0].requests, 2);
    assert_eq!(
        r.skipped[2].to_string(),
        "entry 3: request.url: not an HTTP(S) URL (scheme \"data\")"
    );
}

#[test]
fn out_of_order_entries_are_analysed_in_time_order() {
    let r = analyze_text(&har(&[
        entry("2024-05-01T10:40:00Z", "https://h/a"),
        entry("2024-05-01T10:00:00Z", "https://h/a"),
        entry("2024-05-01T11:00:00.000+01:00", "https://h/a"),
    ]))
    .unwrap();
    let t = &r.tokens[0];
    assert_eq!(t.first, "2024-05-01T10:00:00.000Z");
    assert_eq!(t.last, "2024-05-01T10:40:00.000Z");
    assert_eq!(t.longest_gap_seconds, 2400.0);
    assert_eq!(
        t.would_revoke_at.as_deref(),
        Some("2024-05-01T10:30:00.000Z")
    );
    assert_eq!(r.apis[0].median_interval_seconds, Some(1200.0));
}

#[test]
#[ignore = "prints the reports for a human to read"]
fn print_reports() {
    for name in ["idle-agent.har", "long-call.har", "active-agent.har"] {
        println!(
            "== {name}\n{}",
            analyze(name, &config(""), &HarOptions::default()).to_text()
        );
    }
}

#[test]
fn mutated_recordings_never_panic_the_analysis() {
    let seed = std::fs::read(root().join("fuzz/seeds/har_reader/three-entries.har")).unwrap();
    let (cfg, keyer, catalog) = (config(""), keyer(), catalog());
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..1_000 {
        let mut bytes = seed.clone();
        for _ in 0..(1 + next() % 3) {
            let at = (next() as usize) % bytes.len();
            bytes[at] = b"{}[]\",:09aZ-/ \xff"[(next() % 15) as usize];
        }
        let _ = analyze_reader(
            bytes.as_slice(),
            &HarOptions::default(),
            &cfg,
            &keyer,
            Some(&catalog),
        );
    }
}

/// `IDLEGATE_HAR_BIG=/path/to/big.har cargo test --test har big_recording -- --ignored`
/// under `/usr/bin/time -v` to check the memory bar (peak RSS ≤ 64 MB + half the file).
#[test]
#[ignore = "needs a large recording in IDLEGATE_HAR_BIG"]
fn big_recording() {
    let Ok(path) = std::env::var("IDLEGATE_HAR_BIG") else {
        return;
    };
    let started = std::time::Instant::now();
    let r = analyze_file(
        Path::new(&path),
        &HarOptions::default(),
        &config(""),
        &keyer(),
        Some(&catalog()),
    )
    .unwrap();
    eprintln!(
        "{} tokens, {} apis, {} skipped in {:?}",
        r.tokens.len(),
        r.apis.len(),
        r.skipped.len(),
        started.elapsed()
    );
}

#[test]
fn absolute_timeout_applies_and_what_if_lists_earlier_revocations() {
    let cfg = config(
        "[timeout]\nabsolute = \"40m\"\n[exclusions]\nenabled_defaults = [\"client-diagnostics\"]\n",
    );
    let r = analyze("idle-agent.har", &cfg, &HarOptions::default());
    // First request 13:00:01; the absolute lifetime ends 40 minutes later.
    assert_eq!(
        r.tokens[0].would_revoke_at.as_deref(),
        Some("2024-05-14T13:40:01.000Z")
    );
    let w = what_if(&r, "presence-polling");
    assert_eq!(w.revoked_tokens[0].at, "2024-05-14T13:30:03.000Z");
    assert!(what_if(&r, "stats-polling").revoked_tokens.is_empty());
}

/// A recording of nothing but unusable entries keeps a bounded list: the first 1000 skips and
/// one line counting the rest, while the text report counts them all.
#[test]
fn skipped_entries_listed_are_bounded() {
    let mut entries = vec![r#"null"#.to_owned(); 1_500];
    entries.push(entry("2024-05-01T10:00:00Z", "https://h/a"));
    let r = analyze_text(&har(&entries)).unwrap();
    assert_eq!(r.tokens.len(), 1);
    assert_eq!(r.skipped.len(), 1_001);
    assert_eq!(r.skipped[999].entry, 999);
    assert_eq!(
        r.skipped[1_000].to_string(),
        "entry 1000: entries: 500 more skipped entries from here on are not listed \
         (only the first 1000 are)"
    );
    assert!(
        r.to_text().contains("1500 entries skipped"),
        "{}",
        r.to_text()
    );
}
