//! The trial list in the settings document (docs/reference.md, "Trial list"): rendered as
//! `"trial":{"defaults","custom"}`, changed by a `PUT` with `trial` (either key; one left out
//! keeps its value), and promoted to enforced in the same `PUT` with `"promote_trial": true`.
//! Also the reader of a list of `METHOD /path` patterns that custom exclusions share.

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::error::FieldError;
use crate::classify::Pattern;
use crate::config::Config;
use crate::config_change::SettingsChange;

/// The trial list: default groups and custom patterns tried in shadow.
#[derive(Clone, Debug, Serialize, PartialEq, ToSchema)]
pub(crate) struct TrialDoc {
    /// Default group ids, in file order.
    pub defaults: Vec<String>,
    /// `METHOD /path` patterns.
    pub custom: Vec<String>,
}

/// The `trial` of a `PUT` body: either list, complete.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct TrialChangeDoc {
    #[schema(nullable = false)]
    defaults: Option<Vec<String>>,
    #[schema(nullable = false)]
    custom: Option<Vec<String>>,
}

impl TrialDoc {
    pub(crate) fn of(config: &Config) -> TrialDoc {
        let ex = &config.exclusions;
        TrialDoc {
            defaults: ex.trial_defaults.clone(),
            custom: ex
                .trial_custom
                .iter()
                .map(|p| p.text().to_string())
                .collect(),
        }
    }
}

fn err(errors: &mut Vec<FieldError>, field: impl Into<String>, message: impl Into<String>) {
    errors.push(FieldError::new(field, message));
}

/// `trial` and `promote_trial` of a `PUT` body, onto `change` (read after the enforced lists,
/// so that a promotion adds to them as this body leaves them).
pub(crate) fn read_trial(
    obj: &Map<String, Value>,
    current: &Config,
    change: &mut SettingsChange,
    errors: &mut Vec<FieldError>,
) {
    if let Some(v) = obj.get("trial") {
        match v.as_object() {
            Some(trial) => read_trial_lists(trial, current, change, errors),
            None => err(
                errors,
                "trial",
                "must be an object {\"defaults\", \"custom\"}",
            ),
        }
    }
    match obj.get("promote_trial") {
        None | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => promote(change),
        Some(v) => err(
            errors,
            "promote_trial",
            format!("must be true or false (got {v})"),
        ),
    }
}

fn read_trial_lists(
    trial: &Map<String, Value>,
    current: &Config,
    change: &mut SettingsChange,
    errors: &mut Vec<FieldError>,
) {
    if let Some(v) = trial.get("defaults") {
        if let Some(ids) = read_group_ids(v, current, errors) {
            change.settings.trial_defaults = ids;
        }
    }
    if let Some(v) = trial.get("custom") {
        if let Some(parsed) = read_patterns(v, "trial.custom", errors) {
            change.settings.trial_custom = parsed.iter().map(|p| p.text().to_string()).collect();
            change.trial_patterns = parsed;
        }
    }
}

/// The trial list becomes enforced and is emptied.
fn promote(change: &mut SettingsChange) {
    let s = &mut change.settings;
    for id in std::mem::take(&mut s.trial_defaults) {
        if !s.enabled_defaults.contains(&id) {
            s.enabled_defaults.push(id);
        }
    }
    s.trial_custom.clear();
    for p in std::mem::take(&mut change.trial_patterns) {
        if !change.patterns.contains(&p) {
            s.custom.push(p.text().to_string());
            change.patterns.push(p);
        }
    }
}

/// `["group-id", …]`: known groups, each once, in the order given.
fn read_group_ids(
    v: &Value,
    current: &Config,
    errors: &mut Vec<FieldError>,
) -> Option<Vec<String>> {
    let groups = &current.exclusions.groups;
    let Some(items) = v.as_array() else {
        err(
            errors,
            "trial.defaults",
            "must be a list of default group ids",
        );
        return None;
    };
    let before = errors.len();
    let mut ids: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("trial.defaults[{i}]");
        match item.as_str() {
            None => err(errors, field, format!("must be a group id (got {item})")),
            Some(id) if !groups.iter().any(|g| g.id == id) => {
                let known: Vec<&str> = groups.iter().map(|g| g.id.as_str()).collect();
                let msg = format!("unknown default group {id:?} (known: {})", known.join(", "));
                err(errors, field, msg);
            }
            Some(id) if ids.iter().any(|i| i == id) => {
                err(errors, field, format!("group {id:?} is listed twice"));
            }
            Some(id) => ids.push(id.to_string()),
        }
    }
    (errors.len() == before).then_some(ids)
}

/// A list of `METHOD /path` patterns; each error named `name[i]`.
pub(crate) fn read_patterns(
    v: &Value,
    name: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Vec<Pattern>> {
    let Some(items) = v.as_array() else {
        err(errors, name, "must be a list of \"METHOD /path\" patterns");
        return None;
    };
    let before = errors.len();
    let mut patterns: Vec<Pattern> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("{name}[{i}]");
        let Some(text) = item.as_str() else {
            let msg = format!("must be a \"METHOD /path\" string (got {item})");
            err(errors, field, msg);
            continue;
        };
        if let Some(first) = patterns.iter().position(|p| p.text() == text) {
            let msg = format!("duplicate pattern {text:?} (also {name}[{first}])");
            err(errors, field, msg);
            continue;
        }
        match Pattern::parse(text) {
            Ok(p) => patterns.push(p),
            Err(e) => err(errors, field, e.to_string()),
        }
    }
    (errors.len() == before).then_some(patterns)
}
