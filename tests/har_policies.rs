//! `idlegate har` picks each token's timeout policy from its JWT claims, read without
//! verification, and predicts with that policy's timeouts (docs/reference.md, "HAR analysis").
//! The recordings are built here: unsigned JWTs whose groups match different policies.

use std::time::Duration;

use base64::Engine as _;
use idlegate::clock::rfc3339;
use idlegate::config::{Config, IdentityConfig, JwksSource, OnInvalid, TimeoutPolicy};
use idlegate::har::{analyze_reader, HarOptions, Report, TokenRow};
use idlegate::token::Keyer;

/// 2024-05-01T10:00:00Z: minute 0 of every recording here.
const START_MS: u64 = 1_714_557_600_000;
const POLL: &str = "https://h/api/v2/users/u1/presences/purecloud";
const CLICK: &str = "https://h/api/v2/conversations/calls";

fn at(minute: u64) -> String {
    rfc3339(START_MS + minute * 60_000)
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

/// An unsigned JWT: the analysis never checks the signature.
fn jwt(claims: &str) -> String {
    format!(
        "{}.{}.not-a-signature",
        b64(r#"{"alg":"RS256"}"#),
        b64(claims)
    )
}

fn user(sub: &str, groups: &str) -> String {
    jwt(&format!(
        r#"{{"sub":"{sub}","groups":{groups},"exp":1714560000}}"#
    ))
}

/// One request of `token` at `minute`.
fn entry(minute: u64, url: &str, token: &str) -> String {
    let method = if url == CLICK { "POST" } else { "GET" };
    format!(
        r#"{{"startedDateTime":"{}","request":{{"method":"{method}","url":"{url}",
        "headers":[{{"name":"Authorization","value":"Bearer {token}"}}]}},"response":{{"status":200}}}}"#,
        at(minute)
    )
}

fn har(entries: &[String]) -> String {
    format!(
        r#"{{"log":{{"version":"1.2","entries":[{}]}}}}"#,
        entries.join(",")
    )
}

fn policy(
    name: &str,
    groups: &[&str],
    idle_min: Option<u64>,
    absolute_min: Option<u64>,
) -> TimeoutPolicy {
    TimeoutPolicy {
        name: name.to_owned(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        idle: idle_min.map(|m| Duration::from_secs(m * 60)),
        absolute: absolute_min.map(|m| Duration::from_secs(m * 60)),
        priority: 1,
    }
}

/// Default idle 30 minutes; supervisors 60 minutes; wallboards never time out for inactivity.
fn config() -> Config {
    let mut cfg = Config::with_upstream(http::Uri::from_static("http://127.0.0.1:9000"));
    cfg.timeout.policies.push(policy(
        "supervisors",
        &["supervisor", "admin"],
        Some(60),
        None,
    ));
    cfg.timeout
        .policies
        .push(policy("wallboards", &["wallboard"], None, None));
    cfg
}

fn keyer() -> Keyer {
    Keyer::from_secret(b"har-policies")
}

fn analyze(cfg: &Config, opts: &HarOptions, entries: &[String]) -> Report {
    analyze_reader(har(entries).as_bytes(), opts, cfg, &keyer(), None).expect("analysis")
}

fn row<'r>(r: &'r Report, token: &str) -> &'r TokenRow {
    let id = keyer().key(token).to_hex();
    r.tokens
        .iter()
        .find(|t| t.token_id == id)
        .expect("token row")
}

/// Each token clicks at minute 0, then is silent until `back`.
fn click_then_return(tokens: &[&str], back: u64) -> Vec<String> {
    let mut entries = Vec::new();
    for t in tokens {
        entries.push(entry(0, CLICK, t));
        entries.push(entry(back, CLICK, t));
    }
    entries
}

#[test]
fn each_token_shows_its_policy_and_subject_from_unverified_claims() {
    let agent = user("agent-1", r#"["agent"]"#);
    let supervisor = user("sup-1", r#"["agent","supervisor"]"#);
    let wallboard = user("board-1", r#""display wallboard""#);
    let opaque = "an-opaque-session-token-0001";
    let r = analyze(
        &config(),
        &HarOptions::default(),
        &click_then_return(&[&agent, &supervisor, &wallboard, opaque], 10),
    );
    let shown = |t: &str| {
        let row = row(&r, t);
        (
            row.policy.as_deref(),
            row.subject.as_deref(),
            row.claims.as_str(),
        )
    };
    assert_eq!(shown(&agent), (None, Some("agent-1"), "jwt"));
    assert_eq!(
        shown(&supervisor),
        (Some("supervisors"), Some("sup-1"), "jwt")
    );
    assert_eq!(
        shown(&wallboard),
        (Some("wallboards"), Some("board-1"), "jwt")
    );
    assert_eq!(shown(opaque), (None, None, "opaque"));
    let counts: Vec<(&str, u64)> = r
        .policies
        .iter()
        .map(|p| (p.name.as_str(), p.tokens))
        .collect();
    assert_eq!(counts, [("supervisors", 1), ("wallboards", 1)]);
    assert_eq!(r.tokens_with_unreadable_claims, 0);

    let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    let agent_json = &json["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["subject"] == "agent-1");
    assert_eq!(agent_json.unwrap()["policy"], serde_json::Value::Null);
    assert_eq!(json["policies"][1]["idle_seconds"], serde_json::Value::Null);
    let text = r.to_text();
    assert!(
        text.contains("supervisors") && text.contains("sup-1"),
        "{text}"
    );
}

#[test]
fn predictions_use_the_tokens_policy_idle_not_the_default() {
    let agent = user("agent-1", r#"["agent"]"#);
    let supervisor = user("sup-1", r#"["supervisor"]"#);
    // Both come back after 45 minutes: past the default 30, within the supervisors' 60.
    let r = analyze(
        &config(),
        &HarOptions::default(),
        &click_then_return(&[&agent, &supervisor], 45),
    );
    assert_eq!(
        row(&r, &agent).would_revoke_at.as_deref(),
        Some(at(30).as_str())
    );
    assert_eq!(row(&r, &supervisor).would_revoke_at, None);

    // After 65 minutes the supervisor meets the policy's own deadline, 60 minutes in.
    let r = analyze(
        &config(),
        &HarOptions::default(),
        &click_then_return(&[&supervisor], 65),
    );
    assert_eq!(
        row(&r, &supervisor).would_revoke_at.as_deref(),
        Some(at(60).as_str())
    );
}

#[test]
fn a_policy_with_idle_off_never_predicts_an_inactivity_revocation() {
    let wallboard = user("board-1", r#"["wallboard"]"#);
    let r = analyze(
        &config(),
        &HarOptions::default(),
        &click_then_return(&[&wallboard], 600),
    );
    let t = row(&r, &wallboard);
    assert_eq!(t.would_revoke_at, None);
    assert_eq!(t.longest_gap_seconds, 600.0 * 60.0);
}

#[test]
fn the_policys_absolute_applies_and_else_the_global_absolute() {
    let mut cfg = config();
    cfg.timeout.absolute = Some(Duration::from_secs(3 * 3600));
    cfg.timeout.policies[0].absolute = Some(Duration::from_secs(2 * 3600));
    let supervisor = user("sup-1", r#"["admin"]"#);
    let wallboard = user("board-1", r#"["wallboard"]"#);
    // Both busy every 10 minutes for 4 hours: only an absolute lifetime ends them.
    let entries: Vec<String> = (0..=24)
        .flat_map(|i| {
            [
                entry(i * 10, CLICK, &supervisor),
                entry(i * 10, CLICK, &wallboard),
            ]
        })
        .collect();
    let r = analyze(&cfg, &HarOptions::default(), &entries);
    assert_eq!(
        row(&r, &supervisor).would_revoke_at.as_deref(),
        Some(at(120).as_str())
    );
    assert_eq!(
        row(&r, &wallboard).would_revoke_at.as_deref(),
        Some(at(180).as_str())
    );
    assert_eq!(r.policies[0].absolute_seconds, Some(7200));
    assert_eq!(r.policies[1].absolute_seconds, Some(10800));
}

#[test]
fn what_if_revocations_use_each_tokens_policy() {
    let agent = user("agent-1", r#"["agent"]"#);
    let supervisor = user("sup-1", r#"["supervisor"]"#);
    let wallboard = user("board-1", r#"["wallboard"]"#);
    // One click, then presence polling every minute for two hours.
    let mut entries = Vec::new();
    for t in [&agent, &supervisor, &wallboard] {
        entries.push(entry(0, CLICK, t));
        entries.extend((1..=120).map(|m| entry(m, POLL, t)));
    }
    let r = analyze(&config(), &HarOptions::default(), &entries);
    assert!(r.tokens.iter().all(|t| t.would_revoke_at.is_none()));
    let w = r
        .what_if
        .iter()
        .find(|w| w.group == "presence-polling")
        .expect("what-if row");
    let revoked: Vec<(String, &str)> = (w.revoked_tokens.iter())
        .map(|t| (t.token_id.clone(), t.at.as_str()))
        .collect();
    let id = |t: &str| keyer().key(t).to_hex();
    assert_eq!(
        revoked,
        [
            (id(&agent), at(30).as_str()),
            (id(&supervisor), at(60).as_str())
        ]
    );
}

#[test]
fn idle_on_the_command_line_replaces_only_the_default() {
    let agent = user("agent-1", r#"["agent"]"#);
    let supervisor = user("sup-1", r#"["supervisor"]"#);
    let opts = HarOptions {
        idle: Some(Duration::from_secs(15 * 60)),
        ..HarOptions::default()
    };
    let r = analyze(
        &config(),
        &opts,
        &click_then_return(&[&agent, &supervisor], 20),
    );
    assert_eq!(r.idle_seconds, 900);
    assert_eq!(
        row(&r, &agent).would_revoke_at.as_deref(),
        Some(at(15).as_str())
    );
    assert_eq!(row(&r, &supervisor).would_revoke_at, None);
}

#[test]
fn bad_claims_get_the_default_policy_and_are_counted() {
    let not_base64 = "eyJhbGciOiJSUzI1NiJ9.not~base64+url.sig";
    let not_json = jwt("supervisor, not json");
    let groups_object = jwt(r#"{"sub":"x","groups":{"supervisor":true}}"#);
    let groups_numbers = jwt(r#"{"sub":"y","groups":["supervisor",7]}"#);
    let bad = [not_base64, &not_json, &groups_object, &groups_numbers];
    let r = analyze(
        &config(),
        &HarOptions::default(),
        &click_then_return(&bad, 45),
    );
    for t in bad {
        let row = row(&r, t);
        assert_eq!(
            (row.policy.as_deref(), row.claims.as_str()),
            (None, "unreadable"),
            "{t}"
        );
        assert_eq!(row.subject, None);
        // The default 30 minutes, not the supervisors' 60.
        assert_eq!(row.would_revoke_at.as_deref(), Some(at(30).as_str()));
    }
    assert_eq!(r.tokens_with_unreadable_claims, 4);
    assert!(r.policies.iter().all(|p| p.tokens == 0));
    let text = r.to_text();
    assert!(
        text.contains("4 token(s) look like JWTs but their claims could not be read"),
        "{text}"
    );
    assert!(text.contains("default (bad claims)"));
}

#[test]
fn identity_claim_paths_pick_the_subject_and_groups() {
    let mut cfg = config();
    cfg.identity = Some(IdentityConfig {
        jwks: JwksSource::File("jwks.json".into()),
        issuer: None,
        audience: Vec::new(),
        algorithms: vec!["RS256".into()],
        subject_claim: vec!["preferred_username".into()],
        groups_claim: vec!["realm_access".into(), "roles".into()],
        refresh: Duration::from_secs(600),
        leeway: Duration::from_secs(60),
        on_invalid: OnInvalid::Reject,
    });
    let token = jwt(
        r#"{"sub":"f81d4fae","preferred_username":"carol","groups":["agent"],"realm_access":{"roles":["supervisor"]}}"#,
    );
    let r = analyze(
        &cfg,
        &HarOptions::default(),
        &click_then_return(&[&token], 45),
    );
    let t = row(&r, &token);
    assert_eq!(
        (t.policy.as_deref(), t.subject.as_deref()),
        (Some("supervisors"), Some("carol"))
    );
    assert_eq!(t.would_revoke_at, None);
}

#[test]
fn the_report_never_holds_a_raw_token() {
    let supervisor = user("sup-1", r#"["supervisor"]"#);
    let bad = jwt(r#"{"groups":5}"#);
    let r = analyze(
        &config(),
        &HarOptions::default(),
        &click_then_return(&[&supervisor, &bad], 45),
    );
    for text in [r.to_json(), r.to_text()] {
        assert!(!text.contains(&supervisor) && !text.contains(&bad));
        assert!(
            !text.contains(supervisor.split('.').nth(1).unwrap()),
            "no payload either"
        );
    }
}
