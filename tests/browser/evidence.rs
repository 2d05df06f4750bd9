//! The *Evidence* view's scenario (docs/reference.md, "Admin UI", "Evidence"): tokens poll an
//! activity API, which live evidence (every token sampled, one periodic token enough) lists as
//! a candidate; the operator puts it in the trial, a token kept alive only by it shows as one
//! the trial would have signed out, and the operator promotes the trial. Then the settings
//! must hold the pattern as a custom exclusion and an empty trial.

use std::path::PathBuf;
use std::time::Duration;

use http::StatusCode;
use serde_json::{json, Value};

use super::webdriver::{Session, WdResult};
use super::{admin_get, admin_url, common, flow, look_at, ADMIN_TOKEN};

/// The candidate: a catalog operation that no default group holds.
pub const CANDIDATE: &str = "GET /api/v2/users/{userId}/station";
const TEMPLATE: &str = "/api/v2/users/{userId}/station";
const STATION: &str = "/api/v2/users/3f1c2a8e-1b2c-4d5e-8f90-123456789abc/station";
/// A timer-resetting route of the shipped config (its group, `token-checks`, is off).
const ACTIVITY: &str = "/api/v2/users/me";
const POLLERS: [&str; 3] = ["ev-poller-a", "ev-poller-b", "ev-poller-c"];
const POLL: Duration = Duration::from_secs(60);
/// Polls per seeding token: five regular intervals, periodic by the rule (at least four).
const ROUNDS: u32 = 6;
/// The token the trial would have signed out.
pub const KEPT_ALIVE: &str = "ev-kept-alive-by-the-trial";
/// The shipped `timeout.idle`.
const IDLE: Duration = Duration::from_secs(30 * 60);

/// A gateway on the shipped config with every token sampled and one periodic token enough
/// for a candidate.
pub async fn gateway() -> (common::Gateway, PathBuf, tempfile::TempDir) {
    super::gateway_on_shipped_config_with(|mut config, _| {
        config.evidence.settings.sample = 1;
        config.evidence.settings.min_tokens = 1;
        config
    })
    .await
}

/// Three tokens poll the candidate once a minute on the gateway's clock.
pub async fn seed_polling(gw: &common::Gateway) {
    for round in 0..ROUNDS {
        if round > 0 {
            gw.clock.advance(POLL);
        }
        for token in POLLERS {
            assert_eq!(gw.get(STATION, Some(token)).await.status, StatusCode::OK);
        }
    }
}

/// One timer-resetting request, then only polls of the trial's API, once a minute, for longer
/// than the idle timeout, then one more request after the trial's deadline. Enforced, every
/// poll still resets the timer: each is served.
async fn keep_alive_by_the_trial(gw: &common::Gateway) {
    let served = |status: StatusCode| assert_eq!(status, StatusCode::OK);
    served(gw.get(ACTIVITY, Some(KEPT_ALIVE)).await.status);
    let polls = IDLE.as_secs() / POLL.as_secs() + 1;
    for _ in 0..polls {
        gw.clock.advance(POLL);
        served(gw.get(STATION, Some(KEPT_ALIVE)).await.status);
    }
    gw.clock.advance(2 * POLL);
    served(gw.get(STATION, Some(KEPT_ALIVE)).await.status);
}

/// What the page showed and sent, and what the admin API answered on the way.
pub struct Seen {
    /// The candidate's row, as text, before it was added.
    pub candidate: String,
    /// The APIs table's row of the candidate: `[API, requests, tokens, class, periodicity]`.
    pub api_row: Vec<String>,
    /// The bodies of the PUTs sent by *Add to trial*.
    pub add_puts: Vec<Value>,
    /// The settings' `trial` right after.
    pub trial_after_add: Value,
    /// The row of `KEPT_ALIVE` among the would-be revocations: `[token id (title), subject,
    /// when, kept alive by]`, and the entry of `GET /api/v1/evidence/trial` for it.
    pub revoke_row: Vec<String>,
    pub revoke_entry: Value,
    pub question: String,
    /// PUTs sent between *Add to trial* and the confirm step (none).
    pub puts_before_confirm: usize,
    pub promote_puts: Vec<Value>,
    pub status: String,
}

/// Records the method, URL, status and request body of every `fetch` from now on.
async fn spy_on_requests(s: &Session<'_>) -> WdResult<()> {
    s.execute(
        "window.sent = []; const real = window.fetch.bind(window); \
         window.fetch = async (url, init) => { const r = await real(url, init); \
           window.sent.push([(init && init.method) || 'GET', String(url), r.status, \
             (init && init.body) || null]); return r; }; return true",
        json!([]),
    )
    .await
    .map(drop)
}

/// The bodies of the PUTs recorded so far.
async fn puts(s: &Session<'_>) -> WdResult<Vec<Value>> {
    let v = s
        .execute(
            "return window.sent.filter(c => c[0] === 'PUT').map(c => c[3])",
            json!([]),
        )
        .await?;
    let bodies: Vec<String> = serde_json::from_value(v).map_err(|e| e.to_string())?;
    bodies
        .iter()
        .map(|b| serde_json::from_str(b).map_err(|e| e.to_string()))
        .collect()
}

/// The cells of the rows of a table body, as text; `title_first` takes the first cell's
/// title instead (the full token id).
async fn rows(s: &Session<'_>, tbody: &str, title_first: bool) -> WdResult<Vec<Vec<String>>> {
    let v = s
        .execute(
            "return [...document.querySelectorAll(arguments[0] + ' tr')].map(tr => \
             [...tr.cells].map((c, i) => i === 0 && arguments[1] ? c.title : c.textContent))",
            json!([tbody, title_first]),
        )
        .await?;
    serde_json::from_value(v).map_err(|e| e.to_string())
}

pub async fn drive(s: &Session<'_>, gw: &common::Gateway) -> Result<Seen, String> {
    flow::sign_in(s, &admin_url(gw), ADMIN_TOKEN).await?;
    let add = format!("#candidates button[data-pattern=\"{CANDIDATE}\"]");
    let button = s.find(&add).await?;
    let candidate = s
        .execute(
            "return document.querySelector(arguments[0]).closest('li').textContent",
            json!([add]),
        )
        .await?
        .as_str()
        .unwrap_or_default()
        .to_string();
    let api_row = rows(s, "#apis", false)
        .await?
        .into_iter()
        .find(|r| r.first().is_some_and(|c| c == CANDIDATE))
        .ok_or("the candidate is not in the APIs table")?;

    spy_on_requests(s).await?;
    s.click(&button).await?;
    s.wait_text("#trial-status", "is on trial").await?;
    s.wait_text("#trial-custom", CANDIDATE).await?;
    s.wait_text("#candidates", "in trial").await?;
    let add_puts = puts(s).await?;
    let (status, settings) = admin_get(gw, "/api/v1/settings").await;
    if status != StatusCode::OK {
        return Err(format!("GET /api/v1/settings: {status} {settings}"));
    }

    keep_alive_by_the_trial(gw).await;
    s.click(&s.find("#evidence-refresh").await?).await?;
    let id = common::token_id(KEPT_ALIVE);
    s.wait_until(
        "the token kept alive by the trial's API to be listed",
        &format!(
            "return [...document.querySelectorAll('#revoke tr')].some(tr => tr.cells[0].title === '{id}')"
        ),
    )
    .await?;
    let revoke_row = rows(s, "#revoke", true)
        .await?
        .into_iter()
        .find(|r| r.first() == Some(&id))
        .ok_or("the row went away")?;
    let (_, would) = admin_get(gw, "/api/v1/evidence/trial").await;
    let revoke_entry = would["would_revoke"]
        .as_array()
        .and_then(|list| list.iter().find(|w| w["token_id"] == id.as_str()))
        .cloned()
        .unwrap_or(Value::Null);
    look_at(s, "trial-custom-title", "admin-ui-evidence.png").await?;

    s.click(&s.find("#trial-promote").await?).await?;
    let question = s.text(&s.find("#trial-question").await?).await?;
    let puts_before_confirm = puts(s).await?.len() - add_puts.len();
    s.click(&s.find("#trial-yes").await?).await?;
    let status = s.wait_text("#trial-status", "enforced").await?;
    // The settings above are reloaded: the pattern is in the custom list.
    s.wait_text("#customs", CANDIDATE).await?;
    s.find("#trial-custom-empty").await?;
    let promote_puts = puts(s).await?.split_off(add_puts.len());
    Ok(Seen {
        candidate,
        api_row,
        add_puts,
        trial_after_add: settings["trial"].clone(),
        revoke_row,
        revoke_entry,
        question,
        puts_before_confirm,
        promote_puts,
        status,
    })
}

/// "kept alive by GET /x (12 requests), POST /y (3)", from the API's entry.
fn kept_alive_text(entry: &Value) -> String {
    let parts: Vec<String> = entry["kept_alive_by"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, k)| {
            let n = k["count"].as_u64().unwrap_or(0);
            let count = match (i, n) {
                (0, 1) => "1 request".to_string(),
                (0, n) => format!("{n} requests"),
                (_, n) => n.to_string(),
            };
            format!(
                "{} {} ({count})",
                k["method"].as_str().unwrap_or(""),
                k["template"].as_str().unwrap_or("")
            )
        })
        .collect();
    format!("kept alive by {}", parts.join(", "))
}

pub fn check_seen(seen: &Seen) {
    assert!(
        seen.candidate.contains(CANDIDATE) && seen.candidate.contains("every 60 s on 3 tokens"),
        "{}",
        seen.candidate
    );
    let requests = (POLLERS.len() as u32 * ROUNDS).to_string();
    assert_eq!(
        seen.api_row,
        [
            CANDIDATE,
            &requests,
            "3",
            "activity",
            "every 60 s on 3 tokens"
        ],
    );
    assert_eq!(seen.add_puts, [json!({"trial": {"custom": [CANDIDATE]}})]);
    assert_eq!(seen.trial_after_add["custom"], json!([CANDIDATE]));

    let entry = &seen.revoke_entry;
    assert_eq!(entry["kept_alive_by"][0]["method"], "GET", "{entry}");
    assert_eq!(entry["kept_alive_by"][0]["template"], TEMPLATE, "{entry}");
    let id = common::token_id(KEPT_ALIVE);
    assert_eq!(seen.revoke_row[0], id);
    assert_eq!(seen.revoke_row[1], "–", "no [identity]: no subject");
    assert!(
        seen.revoke_row[2].ends_with(" UTC"),
        "{:?}",
        seen.revoke_row
    );
    assert_eq!(seen.revoke_row[3], kept_alive_text(entry));

    assert!(
        seen.question.starts_with("Enforce the trial?"),
        "{}",
        seen.question
    );
    assert_eq!(
        seen.puts_before_confirm, 0,
        "PUT sent before the confirm step"
    );
    assert_eq!(seen.promote_puts, [json!({"promote_trial": true})]);
    assert_eq!(seen.status, "The trial is enforced.");
}

/// The admin API's settings: the pattern is a custom exclusion, and the trial is empty.
pub async fn check_promoted(gw: &common::Gateway) {
    let (status, settings) = admin_get(gw, "/api/v1/settings").await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    assert_eq!(settings["custom_exclusions"], json!([CANDIDATE]));
    assert_eq!(settings["trial"], json!({"defaults": [], "custom": []}));
    // Enforced now: polls of the candidate no longer keep a token alive.
    let token = "ev-after-promotion";
    assert_eq!(gw.get(ACTIVITY, Some(token)).await.status, StatusCode::OK);
    gw.clock.advance(IDLE - POLL);
    assert_eq!(gw.get(STATION, Some(token)).await.status, StatusCode::OK);
    gw.clock.advance(2 * POLL);
    let refused = gw.get(STATION, Some(token)).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
}
