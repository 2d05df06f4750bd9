//! The settings document of the admin API: rendering it from the live config,
//! validating a `PUT` as a whole with every error named by its field, and naming the config
//! file's diagnostics by those fields too. Applying and saving is
//! [`crate::config_change`]'s.

use std::collections::HashSet;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::error::FieldError;
use super::settings_policies::{read_policies, PolicyChangeDoc, PolicyDoc};
use super::settings_trial::{read_patterns, read_trial, TrialDoc};
use crate::config::save::Settings;
use crate::config::{Config, Diagnostic, Mode, Severity};
use crate::config_change::SettingsChange;

/// Upper bound for `idle_seconds` (10 years): keeps deadline arithmetic far from overflow.
pub(crate) const MAX_IDLE_SECONDS: u64 = 10 * 366 * 24 * 3600;

/// The settings document (docs/reference.md, "Admin API", "Settings").
#[derive(Clone, Debug, Serialize, PartialEq, ToSchema)]
pub(crate) struct SettingsDoc {
    pub enabled: bool,
    pub idle_seconds: u64,
    pub mode: ModeName,
    /// Every default group, in file order.
    pub default_exclusions: Vec<GroupDoc>,
    pub custom_exclusions: Vec<String>,
    /// Timeouts by group, in priority order.
    pub policies: Vec<PolicyDoc>,
    pub warn_before_seconds: u64,
    /// The trial list, evaluated in shadow beside the enforced exclusions.
    pub trial: TrialDoc,
}

/// One default exclusion group and its switch.
#[derive(Clone, Debug, Serialize, PartialEq, ToSchema)]
pub(crate) struct GroupDoc {
    pub id: String,
    pub title: String,
    pub description: String,
    pub routes: Vec<String>,
    /// Null for a group without one.
    #[schema(required = true)]
    pub caution: Option<String>,
    pub enabled: bool,
}

/// `timeout.mode` as the admin API names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ModeName {
    Enforce,
    Shadow,
}

impl From<Mode> for ModeName {
    fn from(mode: Mode) -> ModeName {
        match mode {
            Mode::Enforce => ModeName::Enforce,
            Mode::Shadow => ModeName::Shadow,
        }
    }
}

/// A `PUT /api/v1/settings` body: any part of the settings document. A field left out keeps
/// its current value; unknown fields are ignored, so the `GET` document can be sent back as is.
// Only the OpenAPI document uses this type: `read_put` reads the body field by field, so that
// every error is named by its field.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct SettingsChangeDoc {
    #[schema(nullable = false)]
    enabled: Option<bool>,
    #[schema(nullable = false, minimum = 1, maximum = 316224000)]
    idle_seconds: Option<u64>,
    #[schema(nullable = false)]
    mode: Option<ModeName>,
    /// Switches for some default groups; a group left out keeps its state.
    #[schema(nullable = false)]
    default_exclusions: Option<Vec<GroupSwitch>>,
    /// The complete new list of custom patterns (`METHOD /path`).
    #[schema(nullable = false)]
    custom_exclusions: Option<Vec<String>>,
    /// The complete new list of policies (`[]` removes every policy), at most 32.
    #[schema(nullable = false, max_items = 32)]
    policies: Option<Vec<PolicyChangeDoc>>,
    #[schema(nullable = false, minimum = 1, maximum = 316224000)]
    warn_before_seconds: Option<u64>,
    /// The trial list; a key left out keeps its value.
    #[schema(nullable = false)]
    trial: Option<super::settings_trial::TrialChangeDoc>,
    /// `true`: the trial list (as it is after this body's `trial`) becomes enforced — its
    /// groups switched on, its patterns added to the custom exclusions — and is emptied.
    #[schema(nullable = false)]
    promote_trial: Option<bool>,
}

/// One default group's switch in a `PUT` body.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct GroupSwitch {
    id: String,
    enabled: bool,
}

impl SettingsDoc {
    pub(crate) fn of(config: &Config) -> SettingsDoc {
        let ex = &config.exclusions;
        SettingsDoc {
            enabled: config.timeout.enabled,
            idle_seconds: config.timeout.idle.as_secs(),
            mode: config.timeout.mode.into(),
            default_exclusions: ex
                .groups
                .iter()
                .map(|g| GroupDoc {
                    id: g.id.clone(),
                    title: g.title.clone(),
                    description: g.description.clone(),
                    routes: g.routes.iter().map(|r| r.text().to_string()).collect(),
                    caution: g.caution.clone(),
                    enabled: ex.enabled_defaults.contains(&g.id),
                })
                .collect(),
            custom_exclusions: ex.custom.iter().map(|p| p.text().to_string()).collect(),
            policies: config.timeout.policies.iter().map(PolicyDoc::of).collect(),
            warn_before_seconds: config.timeout.warn_before.as_secs(),
            trial: TrialDoc::of(config),
        }
    }
}

fn err(errors: &mut Vec<FieldError>, field: impl Into<String>, message: impl Into<String>) {
    errors.push(FieldError::new(field, message));
}

/// Validates a `PUT` body against the live config. A field left out keeps its current value
/// (the UI sends the whole document; a script may send one field). Unknown fields are
/// ignored, so the GET document (with its descriptive group fields) can be sent back as is.
pub(crate) fn read_put(body: &Value, current: &Config) -> Result<SettingsChange, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Some(obj) = body.as_object() else {
        err(
            &mut errors,
            "",
            "expected a JSON object (the settings document)",
        );
        return Err(errors);
    };
    let mut settings = Settings::of(current);
    if let Some(v) = obj.get("enabled") {
        match v.as_bool() {
            Some(b) => settings.enabled = b,
            None => err(&mut errors, "enabled", "must be true or false"),
        }
    }
    if let Some(v) = obj.get("idle_seconds") {
        match v.as_u64().filter(|n| (1..=MAX_IDLE_SECONDS).contains(n)) {
            Some(n) => settings.idle = Duration::from_secs(n),
            None => err(
                &mut errors,
                "idle_seconds",
                format!("must be a whole number of seconds from 1 to {MAX_IDLE_SECONDS} (got {v})"),
            ),
        }
    }
    if let Some(v) = obj.get("mode") {
        match v.as_str() {
            Some("enforce") => settings.mode = Mode::Enforce,
            Some("shadow") => settings.mode = Mode::Shadow,
            _ => err(
                &mut errors,
                "mode",
                format!("must be \"enforce\" or \"shadow\" (got {v})"),
            ),
        }
    }
    if let Some(v) = obj.get("default_exclusions") {
        if let Some(ids) = read_groups(v, current, &mut errors) {
            settings.enabled_defaults = ids;
        }
    }
    read_timeouts_by_group(obj, &mut settings, &mut errors);
    let mut patterns = current.exclusions.custom.clone();
    if let Some(v) = obj.get("custom_exclusions") {
        if let Some(parsed) = read_patterns(v, "custom_exclusions", &mut errors) {
            settings.custom = parsed.iter().map(|p| p.text().to_string()).collect();
            patterns = parsed;
        }
    }
    let mut change = SettingsChange {
        settings,
        patterns,
        trial_patterns: current.exclusions.trial_custom.clone(),
    };
    read_trial(obj, current, &mut change, &mut errors);
    if errors.is_empty() {
        Ok(change)
    } else {
        Err(errors)
    }
}

/// `policies` (the complete new list) and `warn_before_seconds`.
fn read_timeouts_by_group(
    obj: &Map<String, Value>,
    settings: &mut Settings,
    errors: &mut Vec<FieldError>,
) {
    if let Some(v) = obj.get("policies") {
        if let Some(policies) = read_policies(v, MAX_IDLE_SECONDS, errors) {
            settings.policies = policies;
        }
    }
    if let Some(v) = obj.get("warn_before_seconds") {
        match v.as_u64().filter(|n| (1..=MAX_IDLE_SECONDS).contains(n)) {
            Some(n) => settings.warn_before = Duration::from_secs(n),
            None => err(
                errors,
                "warn_before_seconds",
                format!("must be a whole number of seconds from 1 to {MAX_IDLE_SECONDS} (got {v})"),
            ),
        }
    }
}

/// `[{"id","enabled"}, …]` → the enabled ids in group (file) order. A group left out of the
/// list keeps its current state.
fn read_groups(v: &Value, current: &Config, errors: &mut Vec<FieldError>) -> Option<Vec<String>> {
    let groups = &current.exclusions.groups;
    let Some(items) = v.as_array() else {
        err(
            errors,
            "default_exclusions",
            "must be a list of {\"id\", \"enabled\"}",
        );
        return None;
    };
    let mut enabled: HashSet<String> = current
        .exclusions
        .enabled_defaults
        .iter()
        .cloned()
        .collect();
    let mut seen = HashSet::new();
    let before = errors.len();
    let empty = Map::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("default_exclusions[{i}]");
        let obj = item.as_object().unwrap_or(&empty);
        let id = obj.get("id").and_then(Value::as_str);
        let on = obj.get("enabled").and_then(Value::as_bool);
        match id {
            None => err(errors, format!("{field}.id"), "missing group id"),
            Some(id) if !groups.iter().any(|g| g.id == id) => {
                let known: Vec<&str> = groups.iter().map(|g| g.id.as_str()).collect();
                let msg = format!("unknown default group {id:?} (known: {})", known.join(", "));
                err(errors, format!("{field}.id"), msg);
            }
            Some(id) if !seen.insert(id) => {
                err(
                    errors,
                    format!("{field}.id"),
                    format!("group {id:?} is listed twice"),
                );
            }
            Some(_) => {}
        }
        if on.is_none() {
            err(errors, format!("{field}.enabled"), "must be true or false");
        }
        if let (Some(id), Some(on)) = (id, on) {
            if on {
                enabled.insert(id.to_string());
            } else {
                enabled.remove(id);
            }
        }
    }
    if errors.len() != before {
        return None;
    }
    let unchanged = enabled.len() == current.exclusions.enabled_defaults.len()
        && current
            .exclusions
            .enabled_defaults
            .iter()
            .all(|id| enabled.contains(id));
    if unchanged {
        // Keep the file's order: nothing to rewrite.
        return Some(current.exclusions.enabled_defaults.clone());
    }
    let ids = groups.iter().filter(|g| enabled.contains(&g.id));
    Some(ids.map(|g| g.id.clone()).collect())
}

/// Config diagnostics as the settings fields they are about, split into (errors, warnings).
/// A key outside the settings (a problem elsewhere in the config file, or in the catalog)
/// keeps its dotted config key as the field and its file position in the message.
pub(crate) fn field_errors(diagnostics: &[Diagnostic]) -> (Vec<FieldError>, Vec<FieldError>) {
    let (mut errors, mut warnings) = (Vec::new(), Vec::new());
    for d in diagnostics {
        let error = match settings_field(&d.key) {
            Some(field) => FieldError::new(field, d.message.clone()),
            None => {
                let at = format!("{}:{}:{}", d.file.display(), d.line, d.column);
                FieldError::new(d.key.clone(), format!("{at}: {}", d.message))
            }
        };
        match d.severity {
            Severity::Error => errors.push(error),
            Severity::Warning => warnings.push(error),
        }
    }
    (errors, warnings)
}

/// The settings field a config key holds: `timeout.idle` → `idle_seconds`,
/// `exclusions.custom[2]` → `custom_exclusions[2]`, `timeout.policies[1].idle` →
/// `policies[1].idle_seconds` (the file holds the policies in the document's order).
fn settings_field(key: &str) -> Option<String> {
    if let Some(rest) = key.strip_prefix("timeout.policies") {
        let rest = rest
            .replace(".idle", ".idle_seconds")
            .replace(".absolute", ".absolute_seconds");
        return (rest.is_empty() || rest.starts_with('[')).then(|| format!("policies{rest}"));
    }
    let field = match key {
        "timeout.enabled" => "enabled",
        "timeout.idle" => "idle_seconds",
        "timeout.mode" => "mode",
        "timeout.warn_before" => "warn_before_seconds",
        _ if key.starts_with("exclusions.enabled_defaults") => "default_exclusions",
        _ if key.starts_with("exclusions.trial_defaults") => "trial.defaults",
        _ if key.starts_with("exclusions.trial_custom") => {
            let index = &key["exclusions.trial_custom".len()..];
            return Some(format!("trial.custom{index}"));
        }
        _ => {
            let index = key.strip_prefix("exclusions.custom")?;
            let whole_or_item = index.is_empty() || index.starts_with('[');
            return whole_or_item.then(|| format!("custom_exclusions{index}"));
        }
    };
    Some(field.to_string())
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
