//! The operator's steps in the *Timeouts by group* section and the *Sign a user out
//! everywhere* box: typing into fields, clicks for the buttons, Enter to find tokens.

use serde_json::{json, Value};

use super::webdriver::{keys, Session, WdResult};

const BACKSPACE: &str = "\u{E003}";

/// Clicks *Add policy* and fills in the new (last) row; answers its index.
pub async fn add_policy(
    s: &Session<'_>,
    name: &str,
    groups: &str,
    idle_minutes: Option<u64>,
) -> WdResult<usize> {
    s.click(&s.find("#policy-add").await?).await?;
    let index = policy_count(s)
        .await?
        .checked_sub(1)
        .ok_or("no policy row")?;
    // The new row's name field has the focus, as a keyboard user expects.
    s.wait_until(
        "the focus on the new policy's name",
        &format!("return document.activeElement.id === 'policy-name-{index}'"),
    )
    .await?;
    replace_text(s, &format!("#policy-name-{index}"), name).await?;
    replace_text(s, &format!("#policy-groups-{index}"), groups).await?;
    if let Some(minutes) = idle_minutes {
        replace_text(s, &format!("#policy-idle-{index}"), &minutes.to_string()).await?;
    }
    Ok(index)
}

/// Deletes what the field holds with Backspace, then types `text`.
pub async fn replace_text(s: &Session<'_>, css: &str, text: &str) -> WdResult<()> {
    let field = s.find(css).await?;
    let held = s
        .execute(
            "return document.querySelector(arguments[0]).value.length",
            json!([css]),
        )
        .await?
        .as_u64()
        .unwrap_or(0);
    let erase = BACKSPACE.repeat(held as usize);
    s.send_keys(&field, &format!("{erase}{text}")).await
}

async fn policy_count(s: &Session<'_>) -> WdResult<usize> {
    let v = s
        .execute(
            "return document.querySelectorAll('#policies > li').length",
            json!([]),
        )
        .await?;
    Ok(v.as_u64().unwrap_or(0) as usize)
}

/// The policies as listed, top first: `[name, priority text]`.
pub async fn listed_policies(s: &Session<'_>) -> WdResult<Vec<(String, String)>> {
    let v = s
        .execute(
            "return [...document.querySelectorAll('#policies > li')].map(li => \
             [li.querySelector('.policy-title').textContent, \
              li.querySelector('.policy-priority').textContent])",
            json!([]),
        )
        .await?;
    serde_json::from_value(v).map_err(|e| e.to_string())
}

/// Clicks *Move up* on row `index`; the focus must follow the moved policy, so a keyboard
/// user can go on moving it.
pub async fn move_up(s: &Session<'_>, index: usize) -> WdResult<()> {
    let button = s.find(&format!("#policy-up-{index}")).await?;
    let label = s.text(&button).await?;
    if label != "Move up" {
        return Err(format!("move-up button reads {label:?}"));
    }
    s.click(&button).await?;
    let above = index
        .checked_sub(1)
        .ok_or("the first policy cannot move up")?;
    s.wait_until(
        "the focus to follow the moved policy",
        &format!("return !!document.activeElement.closest('#policy-row-{above}')"),
    )
    .await
}

/// Waits for the server's error to show next to policy `index`; answers it.
pub async fn policy_error(s: &Session<'_>, index: usize) -> WdResult<String> {
    s.wait_until(
        "an inline error next to the refused policy",
        &format!(
            "return document.getElementById('policy-error-{index}').textContent.length > 0 \
             && document.getElementById('policy-row-{index}').classList.contains('invalid')"
        ),
    )
    .await?;
    s.text(&s.find(&format!("#policy-error-{index}")).await?)
        .await
}

/// Records every `fetch` the page makes from now on: `[method, url, status, body]`.
pub async fn spy_on_fetch(s: &Session<'_>) -> WdResult<()> {
    s.execute(
        "window.seen = []; const real = window.fetch.bind(window); \
         window.fetch = async (url, init) => { const r = await real(url, init); \
           const body = await r.clone().text(); \
           window.seen.push([(init && init.method) || 'GET', String(url), r.status, body]); \
           return r; }; return true",
        json!([]),
    )
    .await
    .map(drop)
}

/// The recorded calls of `method`.
pub async fn seen(s: &Session<'_>, method: &str) -> WdResult<Vec<(String, String, u16, String)>> {
    let v = s
        .execute(
            "return window.seen.filter(c => c[0] === arguments[0])",
            json!([method]),
        )
        .await?;
    serde_json::from_value(v).map_err(|e| e.to_string())
}

/// Types the subject and presses Enter; waits for the answer to be shown.
pub async fn find_tokens(s: &Session<'_>, subject: &str) -> WdResult<String> {
    let input = s.find("#subject").await?;
    s.send_keys(&input, &format!("{subject}{}", keys::ENTER))
        .await?;
    s.wait_text("#tokens-note", subject).await
}

/// The token rows shown.
pub async fn token_rows(s: &Session<'_>) -> WdResult<u64> {
    let v: Value = s
        .execute(
            "return document.querySelectorAll('#tokens tr').length",
            json!([]),
        )
        .await?;
    Ok(v.as_u64().unwrap_or(0))
}

/// Clicks *Sign out everywhere*; the confirm step must appear and nothing be sent yet.
pub async fn ask_sign_out(s: &Session<'_>) -> WdResult<String> {
    s.click(&s.find("#everywhere-start").await?).await?;
    let question = s.text(&s.find("#everywhere-question").await?).await?;
    if !seen(s, "DELETE").await?.is_empty() {
        return Err("DELETE sent before the operator confirmed".into());
    }
    Ok(question)
}

/// Confirms the sign-out; answers the status it shows.
pub async fn confirm_sign_out(s: &Session<'_>) -> WdResult<String> {
    s.click(&s.find("#everywhere-yes").await?).await?;
    s.wait_text("#everywhere-status", "revoked").await
}

/// Clicks *Remove policy* on row `index`; the row count must drop by one.
pub async fn remove_policy(s: &Session<'_>, index: usize) -> WdResult<()> {
    let before = policy_count(s).await?;
    s.click(&s.find(&format!("#policy-remove-{index}")).await?)
        .await?;
    s.wait_until(
        "the policy row to go",
        &format!(
            "return document.querySelectorAll('#policies > li').length === {}",
            before - 1
        ),
    )
    .await
}
