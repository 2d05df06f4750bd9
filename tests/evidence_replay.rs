//! HAR and live agree (issue 15, point 4): a recording replayed through the real gateway, each
//! request sent when the gateway's paused clock reads its recorded time, gives the candidates
//! and the would-be revocations of `idlegate har` on that file under the same config (token
//! sources, hash key, catalog, exclusions).
//!
//! The two rules ask the same question of one user's recording, as operators collect them:
//! the HAR analysis calls a row periodic over the intervals of all its tokens pooled, live
//! evidence counts the tokens periodic on their own and needs `min_tokens` (1 here) of them.
//! With one user, whose tokens follow one another, both ask whether this user's calls to the
//! API recur periodically.

mod admin_support;
mod common;
mod replay_support;

use std::collections::BTreeMap;
use std::path::Path;

use admin_support::get;
use common::upstream;
use http::StatusCode;
use idlegate::classify::Classifier;
use idlegate::config::Config;
use idlegate::har::{parse_rfc3339_ms, Report};
use replay_support::{analyze, carried, config, fixture, gateway_for, read_recording, replay};
use replay_support::{seen, Seen};
use serde_json::Value;

/// One user's recordings (tests/fixtures/har), each with the operator's config text.
const RECORDINGS: [(&str, &str); 3] = [
    ("idle-agent.har", ""),
    ("long-call.har", ""),
    ("active-agent.har", ""),
];

type Api = (String, String);

/// The live candidates and `idlegate har`'s of `file` under `extra`, after asserting that
/// the current exclusions revoke no token (else the gateway would refuse requests that the
/// recording's rows count, and the two would not look at the same traffic).
async fn candidates(file: &Path, extra: &str, env: &str) -> (Vec<Api>, Vec<Api>) {
    let cfg = config(upstream().await, extra, env);
    let har = analyze(file, &cfg, &[]);
    let name = file.display();
    assert!(
        har.tokens.iter().all(|t| t.would_revoke_at.is_none()),
        "{name}: {}",
        har.to_text()
    );
    let names = carried(&cfg);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let recording = read_recording(file, &names);
    let gw = gateway_for(cfg, &recording).await;
    let statuses = replay(&gw, &recording).await;
    assert!(
        statuses.iter().all(|s| s.is_success()),
        "{name}: {statuses:?}"
    );
    let reply = get(&gw, "/api/v1/evidence").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let live = reply.json();
    assert_eq!(
        rows(&live),
        har_rows(&har),
        "{name}: the replay is the recording"
    );
    let live = (live["candidates"].as_array().expect("candidates").iter())
        .map(|c| (text(&c["method"]), text(&c["template"])))
        .collect();
    let har = (har.candidates.iter())
        .map(|c| (c.method.clone(), c.template.clone()))
        .collect();
    (live, har)
}

/// (method, template, requests, class, exclusion) of every API, busiest first.
type Row = (String, String, u64, String, Option<String>);

fn rows(live: &Value) -> Vec<Row> {
    let apis = live["apis"].as_array().expect("apis");
    (apis.iter())
        .map(|a| {
            let exclusion = a["exclusion"].as_str().map(str::to_owned);
            let requests = a["requests"].as_u64().unwrap_or_default();
            (
                text(&a["method"]),
                text(&a["template"]),
                requests,
                text(&a["class"]),
                exclusion,
            )
        })
        .collect()
}

fn har_rows(har: &Report) -> Vec<Row> {
    let row = |a: &idlegate::har::ApiRow| {
        let exclusion = a.exclusion.clone();
        (
            a.method.clone(),
            a.template.clone(),
            a.count,
            a.class.clone(),
            exclusion,
        )
    };
    har.apis.iter().map(row).collect()
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_replayed_recording_has_the_candidates_of_idlegate_har() {
    let mut seen = 0;
    for (name, extra) in RECORDINGS {
        let env = "IDLEGATE_ADMIN_TOKEN_T_REPLAY_CANDIDATES";
        let (live, har) = candidates(&fixture(name), extra, env).await;
        assert_eq!(live, har, "{name}: live (left) and idlegate har (right)");
        seen += har.len();
    }
    // Not vacuous: the idle agent's background calls are candidates.
    assert!(seen >= 3, "{seen}");
}

/// Every exporter's quirks (byte-order marks, IE11's cookie objects, local offsets) read the
/// same by the replay as by `idlegate har`; each holds a short session of periodic uploads.
#[tokio::test]
async fn a_replayed_export_has_the_candidates_of_idlegate_har() {
    let dir = fixture("exports");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("exports")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let mut seen = 0;
    for file in &files {
        let ie11 = file.ends_with("ie11.har");
        let extra = if ie11 {
            "[tokens]\nsources = [\"cookie:sid\"]\n"
        } else {
            ""
        };
        let env = "IDLEGATE_ADMIN_TOKEN_T_REPLAY_EXPORTS";
        let (live, har) = candidates(file, extra, env).await;
        assert_eq!(
            live,
            har,
            "{}: live (left) and idlegate har (right)",
            file.display()
        );
        seen += har.len();
    }
    assert!(seen > 0, "no export has a candidate");
}

/// A trial: one user's recording, the operator's `[timeout]` text and enabled default
/// groups, the default group tried, and how many tokens its what-if lists (`idlegate har FILE`
/// under that config).
type Trial = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
    usize,
);

const DIAGNOSTICS: &[&str] = &["client-diagnostics"];

const TRIALS: [Trial; 5] = [
    // Kept alive by presence and routing-status polls after the login burst (13:00:03).
    ("idle-agent.har", "", DIAGNOSTICS, "presence-polling", 1),
    // Clicks minutes apart between polls, and a token refresh half way: with a 5-minute idle
    // live lists a token again once a click has restarted its trial timer (the HAR what-if
    // keeps it revoked); the first listing of each token is compared.
    (
        "active-agent.har",
        "idle = \"5m\"",
        DIAGNOSTICS,
        "presence-polling",
        2,
    ),
    // Mid-call, kept alive by the notification channel's health checks.
    (
        "long-call.har",
        "idle = \"15m\"",
        &["client-diagnostics", "presence-polling"],
        "notification-keepalive",
        1,
    ),
    // The absolute lifetime (from 13:00:01) ends at 13:31:01: the poll at 13:30:28 comes after
    // the trial deadline (13:30:03) and before it, so the trial would have refused it.
    (
        "idle-agent.har",
        "absolute = \"31m\"",
        DIAGNOSTICS,
        "presence-polling",
        1,
    ),
    // It ends at 13:30:21: no request falls between the trial deadline and it, so the trial
    // changes nothing the user sees (the next request, 13:30:28, is refused either way).
    (
        "idle-agent.har",
        "absolute = \"30m20s\"",
        DIAGNOSTICS,
        "presence-polling",
        0,
    ),
];

/// A would-be revocation: token id, `at`, and what kept the token alive (API → requests).
type Listing = (String, String, BTreeMap<Api, u64>);

/// The first listing of each token in `GET /api/v1/evidence/trial` (newest first), by token.
fn first_listings(report: &Value) -> BTreeMap<String, Listing> {
    let listed = report["would_revoke"].as_array().expect("would_revoke");
    let mut first = BTreeMap::new();
    for l in listed.iter().rev() {
        let kept = (l["kept_alive_by"].as_array().expect("kept_alive_by").iter())
            .map(|k| {
                let api = (text(&k["method"]), text(&k["template"]));
                (api, k["count"].as_u64().unwrap_or_default())
            })
            .collect();
        let listing = (text(&l["token_id"]), text(&l["at"]), kept);
        first.entry(listing.0.clone()).or_insert(listing);
    }
    first
}

/// What kept `token` alive until `at`, from the recording: its requests that `group` excludes
/// (and the enforced list does not) since its last request that resets the timer under the
/// enforced list + `group` (its first request counts), per API.
fn kept_alive_by(seen: &[Seen], token: &str, at: u64, group: &str) -> BTreeMap<Api, u64> {
    let mut counts = BTreeMap::new();
    let of_token = seen.iter().filter(|s| s.token_id.as_deref() == Some(token));
    for (i, s) in of_token.take_while(|s| s.time_ms < at).enumerate() {
        match s.label.as_deref() {
            _ if i == 0 => counts.clear(),
            None => counts.clear(),
            Some(label) if label == group => *counts.entry(s.api.clone()).or_default() += 1,
            Some(_) => {}
        }
    }
    counts
}

/// `idlegate har`'s would-be revocations of `group` on `file`: the what-if row (token → `at`),
/// which `--enable group` predicts as the tokens' `would_revoke_at` all the same.
fn what_if(file: &Path, cfg: &Config, group: &str, listed: usize) -> BTreeMap<String, String> {
    let har = analyze(file, cfg, &[]);
    let row = har.what_if.iter().find(|w| w.group == group);
    let expected: BTreeMap<String, String> = (row.expect("what-if").revoked_tokens.iter())
        .map(|r| (r.token_id.clone(), r.at.clone()))
        .collect();
    assert_eq!(expected.len(), listed, "{group}: {}", har.to_text());
    let enabled = analyze(file, cfg, &[group]);
    for (token, at) in &expected {
        let row = enabled.tokens.iter().find(|t| &t.token_id == token);
        let predicted = row.and_then(|t| t.would_revoke_at.as_deref());
        assert_eq!(predicted, Some(at.as_str()), "--enable {group}");
    }
    expected
}

/// The gateway refused exactly the requests that `idlegate har` predicts the enforced list
/// refuses: a token's requests at or after its `would_revoke_at`.
fn refused_as_predicted(file: &Path, cfg: &Config, seen: &[Seen], statuses: &[StatusCode]) {
    let har = analyze(file, cfg, &[]);
    let revoked: BTreeMap<&str, u64> = (har.tokens.iter())
        .filter_map(|t| {
            Some((
                t.token_id.as_str(),
                parse_rfc3339_ms(t.would_revoke_at.as_ref()?)?,
            ))
        })
        .collect();
    for (s, status) in seen.iter().zip(statuses) {
        let at = s.token_id.as_deref().and_then(|t| revoked.get(t));
        let refused = at.is_some_and(|&at| s.time_ms >= at);
        assert_eq!(!status.is_success(), refused, "{status} at {}", s.time_ms);
    }
}

/// The live trial list of a replay under `group` has the what-if of `idlegate har` on the same
/// recording (first listing per token), kept alive by what the recording says.
async fn trial((name, timeout, enabled, group, listed): Trial) {
    let (file, env) = (fixture(name), "IDLEGATE_ADMIN_TOKEN_T_REPLAY_TRIAL");
    let extra = format!("[timeout]\n{timeout}\n[exclusions]\nenabled_defaults = {enabled:?}\n");
    let mut cfg = config(upstream().await, &extra, env);
    let expected = what_if(&file, &cfg, group, listed);

    cfg.exclusions.trial_defaults = vec![group.to_owned()];
    let mut trial_groups = cfg.exclusions.enabled_defaults.clone();
    trial_groups.push(group.to_owned());
    let (groups, custom) = (&cfg.exclusions.groups, &cfg.exclusions.custom);
    let no_touch = cfg.tokens.no_touch_header.is_some();
    let classifier = Classifier::new(groups, &trial_groups, custom, no_touch);
    let names = carried(&cfg);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let recording = read_recording(&file, &names);
    let seen = seen(&recording, &cfg, &classifier);
    let gw = gateway_for(cfg.clone(), &recording).await;
    let statuses = replay(&gw, &recording).await;
    // The trial refuses nothing: only the enforced list does.
    refused_as_predicted(&file, &cfg, &seen, &statuses);
    let reply = get(&gw, "/api/v1/evidence/trial").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let listings = first_listings(&reply.json());
    let live: BTreeMap<String, String> = (listings.iter())
        .map(|(token, (_, at, _))| (token.clone(), at.clone()))
        .collect();
    assert_eq!(
        live, expected,
        "{name} {extra} {group}: live (left), idlegate har (right)"
    );
    for (token, (_, at, kept)) in &listings {
        let at_ms = parse_rfc3339_ms(at).expect("at");
        let wanted = kept_alive_by(&seen, token, at_ms, group);
        assert!(!wanted.is_empty(), "{name}: {token} kept alive by nothing");
        assert_eq!(
            kept, &wanted,
            "{name} {extra} {group}: {token} kept alive by"
        );
    }
}

#[tokio::test]
async fn a_replayed_recording_under_a_trial_lists_the_what_if_of_idlegate_har() {
    let mut listed = 0;
    for t in TRIALS {
        trial(t).await;
        listed += t.4;
    }
    // Not vacuous: the what-ifs list tokens.
    assert!(listed >= 5, "{listed}");
}
