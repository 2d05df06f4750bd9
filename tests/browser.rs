//! The admin UI in a real headless Chromium, against the real gateway and its real admin API:
//! an operator signs in, switches a default group on, picks a custom API from the type-ahead,
//! pastes another, removes a third that the server refused, and saves. Then the change is
//! checked where it must have landed: the admin API, the config file (comments kept) and live
//! traffic. More sessions: an operator adds timeout policies, reorders and saves them; signs a
//! user out everywhere; tries a candidate of the live evidence in the trial and promotes it.
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/install-browser.sh`); without
//! them it skips loudly, except under CI, where it fails.

mod common;
#[path = "browser/everywhere.rs"]
mod everywhere;
#[path = "browser/evidence.rs"]
mod evidence;
#[path = "browser/exclusions.rs"]
mod exclusions;
#[path = "browser/flow.rs"]
mod flow;
mod identity_support;
#[path = "browser/sections.rs"]
mod sections;
#[path = "browser/sections_flow.rs"]
mod sections_flow;
#[path = "browser/webdriver.rs"]
mod webdriver;

use std::path::{Path, PathBuf};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use webdriver::{Browser, Driver};

const ADMIN_TOKEN_ENV: &str = "IDLEGATE_BROWSER_TEST_ADMIN_TOKEN";
const ADMIN_TOKEN: &str = "browser-test-admin-token-7f3a";
const SCREENSHOT: &str = "docs/admin-ui.png";
/// What the operator picks in *Timeout minutes* (the shipped config has 30).
const TIMEOUT_MINUTES: u64 = 15;

fn browser_or_skip() -> Option<Browser> {
    let browser = Browser::find();
    if browser.is_none() {
        common::skip::skip(
            "chromium and/or chromedriver not found (PATH, /usr/bin); \
             install them with .ci/install-browser.sh",
        );
    }
    browser
}

/// A copy of the shipped, commented config in a temp folder, pointed at the test upstream,
/// with an admin token variable of its own. Its timeout stays the shipped 30 minutes: the
/// test moves the gateway's clock instead of waiting.
fn write_config(dir: &Path, upstream: std::net::SocketAddr) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shipped = std::fs::read_to_string(root.join("config/idlegate.toml")).unwrap();
    let mut text = shipped.clone();
    for (from, to) in [
        (
            "upstream = \"http://127.0.0.1:9000\"",
            format!("upstream = \"http://{upstream}\""),
        ),
        (
            "token_env = \"IDLEGATE_ADMIN_TOKEN\"",
            format!("token_env = \"{ADMIN_TOKEN_ENV}\""),
        ),
        ("resolution = \"1s\"", "resolution = \"100ms\"".to_string()),
        (
            "snapshot = \"../data/idlegate.state\"",
            "snapshot = \"idlegate.state\"".to_string(),
        ),
    ] {
        assert!(
            text.contains(from),
            "the shipped config no longer has {from}"
        );
        text = text.replacen(from, &to, 1);
    }
    std::fs::create_dir_all(dir.join("catalog")).unwrap();
    std::fs::copy(
        root.join("config/catalog/genesys-cloud-apis.json"),
        dir.join("catalog/genesys-cloud-apis.json"),
    )
    .unwrap();
    let path = dir.join("idlegate.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A gateway on a copy of the shipped config; the temp folder holds the config file.
async fn gateway_on_shipped_config() -> (common::Gateway, PathBuf, tempfile::TempDir) {
    gateway_on_shipped_config_with(|config, _| config).await
}

/// The same, with `adjust` changing the loaded config (given the temp folder) before start.
async fn gateway_on_shipped_config_with(
    adjust: impl FnOnce(idlegate::config::Config, &Path) -> idlegate::config::Config,
) -> (common::Gateway, PathBuf, tempfile::TempDir) {
    std::env::set_var(ADMIN_TOKEN_ENV, ADMIN_TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let upstream = common::upstream().await;
    let config_path = write_config(dir.path(), upstream);
    let loaded = idlegate::config::load(&config_path).expect("the test config is valid");
    let config = adjust(loaded.config, dir.path());
    (common::gateway(config).await, config_path, dir)
}

fn admin_url(gw: &common::Gateway) -> String {
    format!("http://{}/", gw.running.admin_addr)
}

async fn admin_get(gw: &common::Gateway, path: &str) -> (StatusCode, Value) {
    let req = Request::get(format!("http://{}{path}", gw.running.admin_addr))
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = gw
        .client
        .request(req)
        .await
        .expect("admin listener answers");
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn png_size(png: &[u8]) -> (u32, u32) {
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    assert!(png.len() > 24 && &png[1..4] == b"PNG", "not a PNG");
    (be(&png[16..20]), be(&png[20..24]))
}

/// A look at one part of the page, kept under target/ only (for reviewing a change by eye).
async fn look_at(s: &webdriver::Session<'_>, id: &str, name: &str) -> Result<(), String> {
    s.execute(
        "document.getElementById(arguments[0]).scrollIntoView()",
        serde_json::json!([id]),
    )
    .await?;
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&tmp, s.screenshot().await?).map_err(|e| e.to_string())?;
    eprintln!("screenshot: {}", tmp.display());
    Ok(())
}

/// The README's screenshot: always kept under target/, written to docs/ when missing or when
/// UPDATE_SCREENSHOTS is set (so an ordinary test run leaves the work tree clean).
fn keep_screenshot(png: &[u8]) {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("admin-ui.png");
    std::fs::write(&tmp, png).unwrap();
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join(SCREENSHOT);
    if !docs.exists() || std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        std::fs::create_dir_all(docs.parent().unwrap()).unwrap();
        std::fs::write(&docs, png).unwrap();
    }
    eprintln!("admin UI screenshot: {}", tmp.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_changes_exclusions_in_the_admin_ui() {
    let Some(browser) = browser_or_skip() else {
        return;
    };
    let (gw, config_path, _dir) = gateway_on_shipped_config().await;
    exclusions::seed_traffic(&gw).await;

    let driver = Driver::start(&browser.chromedriver).await.unwrap();
    let profile = tempfile::tempdir().unwrap();
    let s = driver
        .new_session(&browser.chromium, profile.path())
        .await
        .unwrap();
    let result = drive(&s, &gw).await;
    s.quit().await;
    let summary = result.unwrap();
    assert_eq!(
        summary,
        "3 APIs will stop resetting the timer; timeout 30 → 15 minutes."
    );

    exclusions::check_settings_api(&gw).await;
    exclusions::check_config_file(&config_path);
    exclusions::check_live_traffic(&gw).await;
}

/// The operator's session; answers the change summary that Save showed.
async fn drive(s: &webdriver::Session<'_>, gw: &common::Gateway) -> Result<String, String> {
    s.cdp(
        "Emulation.setDeviceMetricsOverride",
        serde_json::json!({"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
    )
    .await?;
    flow::sign_in(s, &admin_url(gw), ADMIN_TOKEN).await?;
    flow::choose_timeout(s, TIMEOUT_MINUTES).await?;
    flow::switch_group_on(s, flow::GROUP).await?;
    flow::pick_suggestion(s, "routingstatus", flow::PICKED).await?;
    flow::paste_pattern(s, flow::PASTED).await?;
    flow::paste_pattern(s, flow::REMOVED).await?;
    let refused = flow::save_is_refused_inline(s, flow::REMOVED).await?;
    eprintln!("server refused {}: {refused}", flow::REMOVED);
    flow::remove(s, flow::REMOVED).await?;
    let summary = flow::open_summary(s).await?;
    flow::figures_loaded(s).await?;
    s.execute("window.scrollTo(0, 0)", serde_json::json!([]))
        .await?;
    let png = s.screenshot().await?;
    assert_eq!(png_size(&png), (1280, 900));
    keep_screenshot(&png);
    flow::confirm(s).await?;
    s.wait_text("#save-status", "Saved").await?;
    // The pasted route is not in the catalog: the check's warning is shown with the result.
    s.wait_text("#save-status", "matches no operation of the catalog")
        .await?;
    Ok(summary)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_adds_reorders_and_saves_timeout_policies_in_the_admin_ui() {
    let Some(browser) = browser_or_skip() else {
        return;
    };
    let (gw, config_path, _dir) = gateway_on_shipped_config().await;
    let driver = Driver::start(&browser.chromedriver).await.unwrap();
    let profile = tempfile::tempdir().unwrap();
    let s = driver
        .new_session(&browser.chromium, profile.path())
        .await
        .unwrap();
    let result = sections::drive_policies(&s, &gw).await;
    s.quit().await;
    let (refused, summary) = result.unwrap();
    assert!(refused.contains("invalid policy name"), "{refused}");
    assert_eq!(
        summary,
        "2 policies added; warning 2 minutes → 3 minutes before the timeout."
    );
    sections::check_policies_saved(&gw, &config_path).await;
}

/// A subject with no tokens on this replica: the box must say so and still send the DELETE
/// (other replicas may hold tokens of the subject).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_signs_a_user_out_everywhere_in_the_admin_ui() {
    let Some(browser) = browser_or_skip() else {
        return;
    };
    let (gw, _config_path, _dir) = gateway_on_shipped_config().await;
    let driver = Driver::start(&browser.chromedriver).await.unwrap();
    let profile = tempfile::tempdir().unwrap();
    let s = driver
        .new_session(&browser.chromium, profile.path())
        .await
        .unwrap();
    let result = sections::drive_sign_out(&s, &gw).await;
    s.quit().await;
    let (note, question, status, deletes, refreshed) = result.unwrap();
    assert_eq!(
        note,
        format!("0 tokens for {} on this replica.", sections::SUBJECT)
    );
    assert!(question.contains(sections::SUBJECT), "{question}");
    assert_eq!(status, "0 tokens revoked.");
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    let (_, url, code, body) = &deletes[0];
    assert_eq!((url.as_str(), *code), (sections::SUBJECT_PATH, 200));
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body, serde_json::json!({"revoked": 0}));
    assert!(
        refreshed,
        "the list was not asked for again after the DELETE"
    );
}

/// With `[identity]`: the operator finds a verified user's three tokens and signs them all out
/// with one DELETE; afterwards the proxy refuses each of them and still serves another user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_a_verified_user_out_everywhere_revokes_only_their_tokens() {
    let Some(browser) = browser_or_skip() else {
        return;
    };
    let (gw, signer, _dir) = everywhere::gateway_with_identity().await;
    let tokens = everywhere::send_tokens(&gw, &signer).await;
    let driver = Driver::start(&browser.chromedriver).await.unwrap();
    let profile = tempfile::tempdir().unwrap();
    let s = driver
        .new_session(&browser.chromium, profile.path())
        .await
        .unwrap();
    let result = everywhere::drive(&s, &gw).await;
    s.quit().await;
    everywhere::check_page(&result.unwrap(), &tokens);
    everywhere::check_proxy(&gw, &tokens).await;
}

/// The *Evidence* view: a polled API is a candidate, *Add to trial* puts it in the trial (one
/// PUT), a token kept alive only by it shows as one the trial would have signed out, and
/// *Promote* (after its confirm step) makes it a custom exclusion and empties the trial.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_tries_a_candidate_in_the_trial_and_promotes_it_in_the_admin_ui() {
    let Some(browser) = browser_or_skip() else {
        return;
    };
    let (gw, _config_path, _dir) = evidence::gateway().await;
    evidence::seed_polling(&gw).await;
    let driver = Driver::start(&browser.chromedriver).await.unwrap();
    let profile = tempfile::tempdir().unwrap();
    let s = driver
        .new_session(&browser.chromium, profile.path())
        .await
        .unwrap();
    let result = evidence::drive(&s, &gw).await;
    s.quit().await;
    evidence::check_seen(&result.unwrap());
    evidence::check_promoted(&gw).await;
}
