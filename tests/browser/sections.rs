//! The scenarios of the *Timeouts by group* and *Sign a user out everywhere* tests: what the
//! operator does in the page, and where the result must have landed.

use std::path::Path;
use std::time::Duration;

use http::StatusCode;

use super::{admin_get, admin_url, common, flow, look_at, sections_flow, webdriver, ADMIN_TOKEN};

/// Policies the operator adds: `(name, groups, idle minutes)`; the second is typed with an
/// invalid name first, and moved above the first.
pub const STAFF: (&str, &str, u64) = ("staff", "employees", 30);
pub const CONTRACTORS: (&str, &str, u64) = ("contractors", "contractors, vendors", 5);
pub const WARN_BEFORE_MINUTES: u64 = 3;

/// Answers the error shown next to the misnamed policy and the summary of the final Save.
pub async fn drive_policies(
    s: &webdriver::Session<'_>,
    gw: &common::Gateway,
) -> Result<(String, String), String> {
    flow::sign_in(s, &admin_url(gw), ADMIN_TOKEN).await?;
    sections_flow::add_policy(s, STAFF.0, STAFF.1, None).await?;
    let last =
        sections_flow::add_policy(s, "Contractors", CONTRACTORS.1, Some(CONTRACTORS.2)).await?;
    sections_flow::move_up(s, last).await?;
    let scratch = sections_flow::add_policy(s, "scratch", "nobody", None).await?;
    sections_flow::remove_policy(s, scratch).await?;
    let listed = sections_flow::listed_policies(s).await?;
    let expected = |first: &str| {
        vec![
            (first.to_string(), "priority 10".to_string()),
            (STAFF.0.to_string(), "priority 20".to_string()),
        ]
    };
    if listed != expected("Contractors") {
        return Err(format!("after Move up the list reads {listed:?}"));
    }
    sections_flow::replace_text(s, "#warn-before", &WARN_BEFORE_MINUTES.to_string()).await?;
    flow::open_summary(s).await?;
    flow::confirm(s).await?;
    let refused = sections_flow::policy_error(s, 0).await?;
    look_at(s, "policies", "admin-ui-policies.png").await?;
    sections_flow::replace_text(s, "#policy-name-0", CONTRACTORS.0).await?;
    let summary = flow::open_summary(s).await?;
    flow::confirm(s).await?;
    s.wait_text("#save-status", "Saved").await?;
    let listed = sections_flow::listed_policies(s).await?;
    if listed != expected(CONTRACTORS.0) {
        return Err(format!("after Save the list reads {listed:?}"));
    }
    Ok((refused, summary))
}

pub async fn check_policies_saved(gw: &common::Gateway, path: &Path) {
    let (status, settings) = admin_get(gw, "/api/v1/settings").await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    let policy = |(name, _, minutes): (&str, &str, u64), groups: &[&str], priority: u64| {
        serde_json::json!({"name": name, "groups": groups, "idle_seconds": minutes * 60,
            "absolute_seconds": null, "priority": priority})
    };
    assert_eq!(
        settings["policies"],
        serde_json::json!([
            policy(CONTRACTORS, &["contractors", "vendors"], 10),
            policy(STAFF, &["employees"], 20),
        ])
    );
    assert_eq!(settings["warn_before_seconds"], WARN_BEFORE_MINUTES * 60);

    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains("[[timeout.policies]]"), "{text}");
    let timeout = idlegate::config::load(path)
        .expect("the saved file is valid")
        .config
        .timeout;
    let saved: Vec<_> = timeout
        .policies
        .iter()
        .map(|p| (p.name.as_str(), p.priority, p.idle))
        .collect();
    let idle = |minutes: u64| Some(Duration::from_secs(minutes * 60));
    assert_eq!(
        saved,
        [
            (CONTRACTORS.0, 10, idle(CONTRACTORS.2)),
            (STAFF.0, 20, idle(STAFF.2))
        ]
    );
    assert_eq!(
        timeout.warn_before,
        Duration::from_secs(WARN_BEFORE_MINUTES * 60)
    );
}

/// A subject with characters that must be percent-encoded in the URL path.
pub const SUBJECT: &str = "alice@example.com/ops x";
pub const SUBJECT_PATH: &str = "/api/v1/subjects/alice%40example.com%2Fops%20x/tokens";

pub type SignOutSeen = (
    String,
    String,
    String,
    Vec<(String, String, u16, String)>,
    bool,
);

/// Answers the list note, the confirm question, the status, the DELETE calls and whether the
/// list was fetched again afterwards.
pub async fn drive_sign_out(
    s: &webdriver::Session<'_>,
    gw: &common::Gateway,
) -> Result<SignOutSeen, String> {
    flow::sign_in(s, &admin_url(gw), ADMIN_TOKEN).await?;
    let note = sections_flow::find_tokens(s, SUBJECT).await?;
    if sections_flow::token_rows(s).await? != 0 {
        return Err("token rows listed for a subject without tokens".into());
    }
    sections_flow::spy_on_fetch(s).await?;
    let question = sections_flow::ask_sign_out(s).await?;
    let status = sections_flow::confirm_sign_out(s).await?;
    look_at(s, "everywhere", "admin-ui-everywhere.png").await?;
    let deletes = sections_flow::seen(s, "DELETE").await?;
    let refreshed = s
        .wait_until(
            "the list to be fetched again",
            &format!(
                "return window.seen.some(c => c[0] === 'GET' && c[1] === '{SUBJECT_PATH}' \
                 && c[2] === 200)"
            ),
        )
        .await
        .is_ok();
    Ok((note, question, status, deletes, refreshed))
}
