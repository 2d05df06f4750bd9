//! HAR and live agree (issue 15, point 4): a recording replayed through the real gateway, each
//! request sent when the gateway's paused clock reads its recorded time, gives the candidates
//! of `idlegate har` on that file under the same config (token sources, hash key, catalog,
//! exclusions).
//!
//! The two rules ask the same question of one user's recording, as operators collect them:
//! the HAR analysis calls a row periodic over the intervals of all its tokens pooled, live
//! evidence counts the tokens periodic on their own and needs `min_tokens` (1 here) of them.
//! With one user, whose tokens follow one another, both ask whether this user's calls to the
//! API recur periodically.

mod admin_support;
mod common;
mod replay_support;

use std::path::Path;

use admin_support::get;
use common::upstream;
use idlegate::har::Report;
use replay_support::{analyze, carried, config, fixture, gateway_for, read_recording, replay};
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
