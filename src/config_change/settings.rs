//! A change of the admin settings (`PUT /api/v1/settings`): the settings are written into the
//! config file's text, that text is checked as `idlegate check` would check the file, then
//! the config it yields is applied, and only then is the file replaced.
//!
//! A gateway without a config file (tests, `demo`) applies the settings to its live config;
//! so does one whose file cannot be edited (unreadable, not valid TOML): the change is live
//! and the answer says why it was not saved.

use super::catalog_lint;
use super::outcome::{Applied, Rejected, Saved};
use super::steps::{self, check};
use crate::app::App;
use crate::classify::Pattern;
use crate::config::save::{self, EditedFile, Settings};
use crate::config::text_digest as digest;
use crate::config::{Config, TimeoutPolicy};
use crate::telemetry::audit_file;

/// Validated settings: the values, and the custom patterns as parsed.
#[derive(Clone, Debug)]
pub struct SettingsChange {
    pub settings: Settings,
    pub patterns: Vec<Pattern>,
    /// The trial list's custom patterns as parsed.
    pub trial_patterns: Vec<Pattern>,
}

/// Where a validated change goes once applied.
enum Target {
    NoFile,
    File(EditedFile),
    /// The file could not be edited (why).
    Unsaveable(String),
}

/// The config a change yields, what checking it found, and where it is to be written.
struct Candidate {
    config: Config,
    warnings: Vec<crate::config::Diagnostic>,
    target: Target,
}

pub(super) fn save(
    app: &App,
    last_text: &mut Option<[u8; 32]>,
    change: &SettingsChange,
    who: &str,
) -> Result<Applied, Rejected> {
    let current = app.config();
    let changes = describe(&Settings::of(&current), &change.settings);
    let candidate = candidate(&current, change)?;
    if changes.is_empty() {
        let saved = match current.path {
            Some(_) => Saved::InFile,
            None => Saved::NoFile,
        };
        return Ok(Applied {
            changed: false,
            restart: Vec::new(),
            warnings: candidate.warnings,
            saved,
        });
    }
    let restart = steps::apply(app, candidate.config);
    let saved = persist(last_text, candidate.target);
    let changes = serde_json::Value::from(changes);
    tracing::info!(
        target: "audit",
        event = "settings_change",
        who = %who,
        changes = %changes,
        saved = saved == Saved::InFile,
    );
    let fields = serde_json::json!({ "changes": changes, "saved": saved == Saved::InFile });
    audit_file::admin("settings_change", Some(who), app.clock.now_ms(), fields);
    Ok(Applied {
        changed: true,
        restart,
        warnings: candidate.warnings,
        saved,
    })
}

fn candidate(current: &Config, change: &SettingsChange) -> Result<Candidate, Rejected> {
    let live_only = |target: Target| {
        let config = config_with(current, change);
        let warnings = catalog_lint::warnings(&config, "");
        Candidate {
            config,
            warnings,
            target,
        }
    };
    let Some(path) = &current.path else {
        return Ok(live_only(Target::NoFile));
    };
    match save::edit_file(path, &change.settings) {
        Ok(edited) => {
            let loaded = check(&edited.new_text, path).map_err(Rejected::Config)?;
            Ok(Candidate {
                config: loaded.config,
                warnings: loaded.warnings,
                target: Target::File(edited),
            })
        }
        Err(e) => Ok(live_only(Target::Unsaveable(e.to_string()))),
    }
}

/// Writes the file and remembers its text, so that the file watch does not reload it again.
fn persist(last_text: &mut Option<[u8; 32]>, target: Target) -> Saved {
    let error = match target {
        Target::NoFile => return Saved::NoFile,
        Target::Unsaveable(error) => error,
        Target::File(edited) => match edited.write() {
            Ok(()) => {
                *last_text = Some(digest(&edited.new_text));
                return Saved::InFile;
            }
            Err(e) => e.to_string(),
        },
    };
    tracing::error!(error = %error, "settings applied live but not saved");
    Saved::Failed(error)
}

/// The live config with a validated change applied.
pub(crate) fn config_with(current: &Config, change: &SettingsChange) -> Config {
    let mut config = current.clone();
    config.timeout.enabled = change.settings.enabled;
    config.timeout.idle = change.settings.idle;
    config.timeout.mode = change.settings.mode;
    config.timeout.policies = change.settings.policies.clone();
    config.timeout.warn_before = change.settings.warn_before;
    config.exclusions.enabled_defaults = change.settings.enabled_defaults.clone();
    config.exclusions.custom = change.patterns.clone();
    config.exclusions.trial_defaults = change.settings.trial_defaults.clone();
    config.exclusions.trial_custom = change.trial_patterns.clone();
    config
}

/// Human-readable changes for the audit event, e.g. `idle_seconds: 1800 -> 900`.
pub(crate) fn describe(old: &Settings, new: &Settings) -> Vec<String> {
    let mut out = Vec::new();
    if old.enabled != new.enabled {
        out.push(format!("enabled: {} -> {}", old.enabled, new.enabled));
    }
    if old.idle != new.idle {
        out.push(format!(
            "idle_seconds: {} -> {}",
            old.idle.as_secs(),
            new.idle.as_secs()
        ));
    }
    if old.mode != new.mode {
        out.push(format!(
            "mode: {} -> {}",
            old.mode.as_str(),
            new.mode.as_str()
        ));
    }
    list_changes(
        &mut out,
        "default_exclusions",
        &old.enabled_defaults,
        &new.enabled_defaults,
    );
    list_changes(&mut out, "custom_exclusions", &old.custom, &new.custom);
    let (old_trial, new_trial) = (&old.trial_defaults, &new.trial_defaults);
    list_changes(&mut out, "trial.defaults", old_trial, new_trial);
    list_changes(
        &mut out,
        "trial.custom",
        &old.trial_custom,
        &new.trial_custom,
    );
    if old.warn_before != new.warn_before {
        out.push(format!(
            "warn_before_seconds: {} -> {}",
            old.warn_before.as_secs(),
            new.warn_before.as_secs()
        ));
    }
    policy_changes(&mut out, &old.policies, &new.policies);
    out
}

/// `policies: +"name"`, `-"name"`, `~"name"` (its groups, timeouts or priority changed), or
/// `policies: reordered` when only the order of equal priorities changed.
fn policy_changes(out: &mut Vec<String>, old: &[TimeoutPolicy], new: &[TimeoutPolicy]) {
    let find = |list: &[TimeoutPolicy], name: &str| list.iter().position(|p| p.name == name);
    let before = out.len();
    for p in new {
        match find(old, &p.name) {
            None => out.push(format!("policies: +{:?}", p.name)),
            Some(i) if old[i] != *p => out.push(format!("policies: ~{:?}", p.name)),
            Some(_) => {}
        }
    }
    let removed = old.iter().filter(|p| find(new, &p.name).is_none());
    out.extend(removed.map(|p| format!("policies: -{:?}", p.name)));
    if out.len() == before && old != new {
        out.push("policies: reordered".to_string());
    }
}

fn list_changes(out: &mut Vec<String>, name: &str, old: &[String], new: &[String]) {
    let added = new.iter().filter(|x| !old.contains(x));
    let removed = old.iter().filter(|x| !new.contains(x));
    let before = out.len();
    out.extend(added.map(|x| format!("{name}: +{x:?}")));
    out.extend(removed.map(|x| format!("{name}: -{x:?}")));
    if out.len() == before && old != new {
        out.push(format!("{name}: reordered"));
    }
}
