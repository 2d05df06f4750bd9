//! The operator's steps in the admin UI, driven like a person would: keyboard for the sign-in,
//! the group switch and the type-ahead, clicks for Save and Remove from list.

use serde_json::{json, Value};

use super::webdriver::{keys, Session, WdResult};

pub const PICKED: &str = "GET /api/v2/users/{userId}/routingstatus";
pub const PASTED: &str = "POST /api/v2/diagnostics/trace";
/// Added, refused by the server on Save (unclosed `{`), then removed again.
pub const REMOVED: &str = "GET /api/v2/users/{userId";
pub const GROUP: &str = "presence-polling";

/// Signs in with a wrong token first (the page must say so), then with the right one.
pub async fn sign_in(s: &Session<'_>, admin_url: &str, token: &str) -> WdResult<()> {
    s.goto(admin_url).await?;
    let field = s.find("#admin-token").await?;
    s.send_keys(&field, &format!("not-the-admin-token{}", keys::ENTER))
        .await?;
    s.wait_text("#signin-error", "not accepted").await?;
    let field = s.find("#admin-token").await?;
    s.send_keys(&field, &format!("{token}{}", keys::ENTER))
        .await?;
    s.find("#enabled").await?;
    let stored = s
        .execute(
            "return [sessionStorage.getItem('idlegate.adminToken'), localStorage.length, document.cookie]",
            json!([]),
        )
        .await?;
    if stored != json!([token, 0, ""]) {
        return Err(format!(
            "admin token must live in sessionStorage only; saw {stored}"
        ));
    }
    Ok(())
}

/// Switches the group on with the keyboard (Space on the focused switch).
pub async fn switch_group_on(s: &Session<'_>, id: &str) -> WdResult<()> {
    let switch = s.find(&format!("#group-{id}")).await?;
    s.send_keys(&switch, keys::SPACE).await?;
    s.wait_until(
        "the group switch to be on",
        &format!("return document.getElementById('group-{id}').checked === true"),
    )
    .await
}

/// Types part of a name, checks Escape closes the list, reopens it with ArrowDown, walks the
/// options with ArrowDown to `pattern` and picks it with Enter.
pub async fn pick_suggestion(s: &Session<'_>, typed: &str, pattern: &str) -> WdResult<()> {
    let input = s.find("#custom-input").await?;
    s.send_keys(&input, typed).await?;
    let option = format!("#suggestions [data-pattern=\"{pattern}\"]");
    s.find(&option).await?;
    s.send_keys(&input, keys::ESCAPE).await?;
    s.wait_until(
        "Escape to close the suggestions",
        "return document.getElementById('suggestions').hidden === true",
    )
    .await?;
    s.send_keys(&input, keys::ARROW_DOWN).await?;
    s.find(&option).await?;
    let options = s
        .execute(
            "return document.querySelectorAll('#suggestions [role=option]').length",
            json!([]),
        )
        .await?
        .as_u64()
        .unwrap_or(0);
    for _ in 0..options {
        s.send_keys(&input, keys::ARROW_DOWN).await?;
        if active_option(s).await? == pattern {
            s.send_keys(&input, keys::ENTER).await?;
            return wait_listed(s, pattern).await;
        }
    }
    Err(format!("ArrowDown never reached the suggestion {pattern}"))
}

async fn active_option(s: &Session<'_>) -> WdResult<String> {
    let v = s
        .execute(
            "const id = document.getElementById('custom-input').getAttribute('aria-activedescendant');\
             const o = id && document.getElementById(id); return o ? o.dataset.pattern : ''",
            json!([]),
        )
        .await?;
    Ok(v.as_str().unwrap_or_default().to_string())
}

/// Types (as if pasted) a whole `METHOD /path` and presses Enter.
pub async fn paste_pattern(s: &Session<'_>, pattern: &str) -> WdResult<()> {
    let input = s.find("#custom-input").await?;
    s.send_keys(&input, &format!("{pattern}{}", keys::ENTER))
        .await?;
    wait_listed(s, pattern).await
}

async fn wait_listed(s: &Session<'_>, pattern: &str) -> WdResult<()> {
    s.wait_text("#customs", pattern).await.map(drop)
}

/// Clicks *Remove from list* on the row showing `pattern`.
pub async fn remove(s: &Session<'_>, pattern: &str) -> WdResult<()> {
    let index = custom_index(s, pattern).await?;
    let button = s.find(&format!("#custom-remove-{index}")).await?;
    let label = s.text(&button).await?;
    if label != "Remove from list" {
        return Err(format!("remove button reads {label:?}"));
    }
    s.click(&button).await?;
    s.wait_until(
        "the row to go",
        &format!(
            "return ![...document.querySelectorAll('#customs .custom-pattern')]\
             .some(e => e.textContent === {})",
            Value::String(pattern.into())
        ),
    )
    .await
}

async fn custom_index(s: &Session<'_>, pattern: &str) -> WdResult<u64> {
    let v = s
        .execute(
            "return [...document.querySelectorAll('#customs .custom-pattern')]\
             .findIndex(e => e.textContent === arguments[0])",
            json!([pattern]),
        )
        .await?;
    v.as_i64()
        .filter(|i| *i >= 0)
        .map(|i| i as u64)
        .ok_or_else(|| format!("{pattern} is not in the custom list"))
}

/// Clicks Save and answers the change summary shown before anything is sent.
pub async fn open_summary(s: &Session<'_>) -> WdResult<String> {
    let save = s.find("#save").await?;
    s.click(&save).await?;
    let headline = s.find("#summary-headline").await?;
    s.text(&headline).await
}

/// Clicks the confirm button of the summary.
pub async fn confirm(s: &Session<'_>) -> WdResult<()> {
    let confirm = s.find("#confirm").await?;
    s.click(&confirm).await
}

/// Saves with the invalid pattern in the list and checks the server's error is shown next to
/// that pattern.
pub async fn save_is_refused_inline(s: &Session<'_>, pattern: &str) -> WdResult<String> {
    let index = custom_index(s, pattern).await?;
    open_summary(s).await?;
    confirm(s).await?;
    s.wait_until(
        "an inline error next to the refused pattern",
        &format!("return document.getElementById('custom-error-{index}').textContent.length > 0"),
    )
    .await?;
    let error = s
        .text(&s.find(&format!("#custom-error-{index}")).await?)
        .await?;
    s.wait_until(
        "the refused row to be marked invalid",
        &format!(
            "return document.getElementById('custom-row-{index}').classList.contains('invalid')"
        ),
    )
    .await?;
    Ok(error)
}

/// Waits for the live figures to have loaded once.
pub async fn figures_loaded(s: &Session<'_>) -> WdResult<()> {
    s.wait_until(
        "the live figures",
        "return /^[0-9]/.test(document.getElementById('fig-tracked').textContent) \
         && document.getElementById('fig-mode').textContent !== '–'",
    )
    .await
}

/// Picks a *Timeout minutes* choice with the keyboard (typing its digits on the select).
pub async fn choose_timeout(s: &Session<'_>, minutes: u64) -> WdResult<()> {
    let select = s.find("#idle").await?;
    s.send_keys(&select, &minutes.to_string()).await?;
    s.wait_until(
        "the timeout choice",
        &format!(
            "return document.getElementById('idle').value === '{}'",
            minutes * 60
        ),
    )
    .await
}
